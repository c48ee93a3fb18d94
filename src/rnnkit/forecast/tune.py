"""Tuning a Forecaster by rolling-origin backtest: random search or Optuna, with pruning.

Shape legend: T series length, F features, h horizon, K folds, k origins per fold.

The objective is the pooled MASE of rolling-origin forecasts over the *last* part of the
series given (pass the training part only: the part a user holds out for testing must
not be seen while choosing). The last ``n_origins`` origins, ``step`` apart, are cut
into ``folds`` consecutive blocks of k; a trial fits one model per fold on the history
before the fold's first origin and forecasts the fold's k origins from it, as a backtest
refitting every k origins would (:func:`rnnkit.forecast.backtest.backtest` does the
forecasting and the scales)::

    history ----------------|fold 1: k origins|fold 2 ...|fold K|      (then the user's test part)
    fit on x[:t_1]           t_1 ... t_1 + (k-1) step
    MASE so far = mean |e| / s over every forecast point of the folds scored

Folds are scored oldest first. After each fold but the last, a trial whose running MASE
is worse than the median of the completed trials' running MASE at the same fold is
pruned (Optuna's ``MedianPruner``, and the same rule written out for the random search),
once ``startup_trials`` trials have completed. Inside a trial, training stops early by
the Forecaster's own ``patience`` (on ``validation_fraction`` of each history).

The first trial is the base settings (``params``, the Forecaster's defaults otherwise)
whenever they lie in the space. Every trial trains with the same ``seed``: trials differ
by their settings.

The lowest search score is biased low (the winner's curse: the best of many noisy scores
is picked partly for its luck), so the trial chosen is not simply the search's best: the
``confirm`` best trials and the base trial are re-scored on the same folds with fresh
seeds, and the base settings are kept unless the best re-scored candidate beats them by
more than ``margin`` standard errors of the paired difference
(:mod:`rnnkit.forecast.tune_confirm`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np

from ..data.series_dates import infer_frequency, season_length
from ..models.base import check_int_param
from ..train.faults import TrainingError
from .backtest import BacktestResult, backtest, fill_history, rolling_origins
from .forecaster import Forecaster
from .tune_confirm import confirm as confirm_trials
from .tune_optuna import import_optuna, optuna_installed, optuna_search
from .tune_result import Trial, TuneResult
from .tune_space import Space, check_space, default_space, in_space, sample

__all__ = ["BACKENDS", "Trial", "TuneResult", "tune"]

BACKENDS = ("auto", "optuna", "random")
# what a trial may raise and still leave the search going: settings the series cannot take,
# a training run that diverged, forecasts that are not finite
_FAILURES = (ValueError, ArithmeticError, TrainingError, np.linalg.LinAlgError)


# -- the data a trial is scored on ------------------------------------------------------------
@dataclasses.dataclass
class _Folds:
    """The series, their covariates, and the origins of each fold per series."""

    series: list[np.ndarray]
    past: list[np.ndarray] | None
    future: list[np.ndarray] | None
    static: np.ndarray | None
    dates: list[np.ndarray] | None
    horizon: int
    step: int
    per_fold: int
    origins: list[np.ndarray]  # per series: (K * k,) increasing
    period: int | None
    held_out: int = 0  # the last folds left to the re-scoring (the search scores the others)

    @property
    def n_folds(self) -> int:
        return -(-len(self.origins[0]) // self.per_fold)

    @property
    def searched(self) -> range:
        return range(self.n_folds - self.held_out)

    @property
    def confirmed(self) -> range:
        return range(self.n_folds - self.held_out, self.n_folds) if self.held_out else range(self.n_folds)

    def fold(self, j: int) -> list[np.ndarray]:
        return [o[j * self.per_fold : (j + 1) * self.per_fold] for o in self.origins]


class _Fitted:
    """A model already fitted for a fold, as a backtest model: ``fit`` keeps it, ``predict``
    adds the covariates of the history it is given (and of the horizon, for future ones)."""

    def __init__(self, model: Forecaster, folds: _Folds, i: int) -> None:
        self.model, self.folds, self.i = model, folds, i

    def fit(self, data: np.ndarray) -> _Fitted:
        return self

    def predict(self, history: np.ndarray, horizon: int) -> Any:
        f, i, n = self.folds, self.i, len(history)
        kw: dict[str, Any] = {}
        if f.past is not None:
            kw["past_covariates"] = f.past[i][:n]
        if f.future is not None:
            kw["future_covariates"] = f.future[i][: n + horizon]
        if f.static is not None:
            kw["static_covariates"] = f.static[i : i + 1]
        if f.dates is not None:
            kw["dates"] = f.dates[i][:n]
        return self.model.predict(history, horizon, **kw)


def _score_fold(params: dict[str, Any], folds: _Folds, j: int) -> tuple[np.ndarray, np.ndarray]:
    """|e| / s of every forecast point of fold j (all series), flat (N,), and the block of
    origins of each point (N,): one model fitted on each series' history before the fold's
    first origin, forecasting the fold's origins. Blocks are ceil(h / step) consecutive
    origins of one series, numbered across folds (the batches of the paired comparison)."""
    origins = folds.fold(j)
    starts = [int(o[0]) for o in origins]
    cut = lambda arrs: None if arrs is None else [a[:t] for a, t in zip(arrs, starts, strict=True)]  # noqa: E731
    model = Forecaster(**params)
    model.fit(
        [fill_history(x[:t]) for x, t in zip(folds.series, starts, strict=True)],
        past_covariates=cut(folds.past),
        future_covariates=cut(folds.future),
        static_covariates=folds.static,
        dates=cut(folds.dates),
    )
    errors, blocks = [], []
    per_block = -(-folds.horizon // folds.step)
    for i, (x, o) in enumerate(zip(folds.series, origins, strict=True)):
        end = int(o[-1]) + folds.horizon
        result = backtest(
            {"model": _Fitted(model, folds, i)},
            x[:end],
            folds.horizon,
            n_origins=len(o),
            step=folds.step,
            refit_every=0,
            period=folds.period,
            baselines=(),
            levels=(),
            missing="interpolate",
        )
        e, origin = _scaled_errors(result)
        errors.append(e)
        blocks.append(i * len(folds.origins[i]) + (j * folds.per_fold + origin) // per_block)
    return np.concatenate(errors), np.concatenate(blocks)


def _scaled_errors(result: BacktestResult) -> tuple[np.ndarray, np.ndarray]:
    """|y - yhat| / s of every observed forecast point of a backtest, flat (pooled MASE is
    their mean), and the origin (0 .. n_origins - 1) of each."""
    e = np.abs(result.truth - result.forecasts["model"]) / result.scales[:, None, :]  # (n, h, F)
    seen = np.isfinite(result.truth)
    origin = np.broadcast_to(np.arange(e.shape[0])[:, None, None], e.shape)  # (n, h, F)
    return e[seen], origin[seen]


# -- the search ---------------------------------------------------------------------------------
def tune(
    series: Any,
    horizon: int,
    *,
    space: Mapping[str, Any] | None = None,
    exclude: Sequence[str] = (),
    n_trials: int = 20,
    timeout: float | None = None,
    folds: int = 3,
    n_origins: int | None = None,
    step: int = 1,
    params: Mapping[str, Any] | None = None,
    past_covariates: Any = None,
    future_covariates: Any = None,
    static_covariates: Any = None,
    dates: Any = None,
    seed: int = 0,
    backend: str = "auto",
    startup_trials: int = 3,
    enqueue: Sequence[Mapping[str, Any]] = (),
    progress: Callable[[Trial], object] | None = None,
    confirm: int = 3,
    confirm_seeds: int = 2,
    margin: float = 1.0,
    holdout: bool = False,
) -> TuneResult:
    """Search Forecaster settings by the pooled MASE of a rolling-origin backtest.

    Args:
        series: the training part: (T,) or (T, F), or a list of them (one global model).
        horizon: steps forecast at each origin (and the Forecaster's horizon).
        space: parameter -> list of values or :class:`~rnnkit.forecast.tune_space.Range`
            (default: :func:`~rnnkit.forecast.tune_space.default_space` around ``params``).
        exclude: keys the default space leaves out: they keep their ``params`` value.
        n_trials: configurations to try at most.
        timeout: stop starting trials after this many seconds (None: no limit).
        folds: blocks of origins, each scored by one fit (a refit per block).
        n_origins: origins in all, ``step`` apart, the last ones of each series (default:
            those of the last third of the shortest series, at most 60 or ``folds`` blocks
            of ceil(horizon / step) when more).
        params: fixed Forecaster settings (epochs, patience, strategy, period, ...).
        past_covariates: (T, P) known to the origin only, as :meth:`Forecaster.fit` takes
            them (a list, one per series, for a list of series).
        future_covariates: (T, K) known for the forecast steps too (rows up to each
            series' end suffice: no fold forecasts past it).
        static_covariates: (n_series, S), one row per series.
        dates: (T,) datetime64 per series, for calendar features and the season length.
        seed: the seed of the search and of every trial's training.
        backend: "optuna" (TPE sampler, median pruner), "random" (a seeded random search),
            or "auto" (optuna when installed, else random).
        startup_trials: completed trials before pruning starts.
        enqueue: settings to try first, after the base settings (each a dict of searched
            keys; a key left out takes its base value), as Optuna's ``enqueue_trial``.
        progress: ``f(trial)`` called after each trial.
        confirm: the best complete trials re-scored, with the base trial, on fresh seeds
            before choosing (0: choose the lowest search score, as a plain search does).
        confirm_seeds: fresh seeds (``seed + 1``, ...) each of them is re-scored with.
        margin: standard errors of the paired difference by which the best re-scored
            candidate must beat the base settings to be chosen (0: the lowest re-scored).
        holdout: leave the last fold out of the search: trials are scored and pruned on
            the first ``folds - 1``, and the re-scoring on fresh seeds scores the last one
            alone, origins no trial was chosen on (the nearest to the part after them).

    Returns:
        a :class:`TuneResult`; its ``best_trial`` is the trial chosen, its ``confirmation``
        the re-scoring (None when there was nothing to compare).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    n_trials = check_int_param("n_trials", n_trials)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
    startup_trials = check_int_param("startup_trials", startup_trials, 0)
    confirm = check_int_param("confirm", confirm, 0)
    confirm_seeds = check_int_param("confirm_seeds", confirm_seeds)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0:
        raise ValueError(f"margin: expected a number of standard errors >= 0, got {margin!r}")
    if backend == "optuna":
        import_optuna()
    elif backend == "auto":
        backend = "optuna" if optuna_installed() else "random"
    base = _base_params(params, horizon, seed)
    data = _folds(series, horizon, folds, n_origins, step, base, past_covariates, future_covariates,
                  static_covariates, dates)  # fmt: skip
    base["period"] = data.period
    if holdout and (data.n_folds < 2 or confirm < 1):
        raise ValueError(
            f"holdout: needs 2 folds or more and confirm >= 1 (a fold to re-score the best on), got "
            f"{data.n_folds} fold(s) and confirm={confirm}"
        )
    data.held_out = int(holdout)
    steps = horizon if base.get("strategy") == "direct" else 1
    if space is None:
        shortest = min(int(o[0]) for o in data.origins)
        space = default_space(
            window=base["window"],
            period=data.period,
            shortest=shortest,
            steps=steps,
            validation_fraction=base["validation_fraction"],
        )
        unknown = [k for k in exclude if k not in space]
        if unknown:
            raise ValueError(f"exclude: expected keys of the default space ({', '.join(space)}), got {unknown}")
        space = {k: v for k, v in space.items() if k not in exclude}
        if not space:
            raise ValueError("exclude: every key of the default space is fixed, leaving nothing to search")
    elif exclude:
        raise ValueError("exclude: only for the default space (space=None); leave the keys out of the space instead")
    checked = check_space(space, data.period)
    first = in_space(checked, base)
    queue = [] if first is None else [first]
    for i, e in enumerate(enqueue):
        if not isinstance(e, Mapping):
            raise TypeError(f"enqueue[{i}]: expected a dict of settings, got {type(e).__name__}")
        queue.append(cast(dict, in_space(checked, {**{k: base.get(k) for k in checked}, **e}, f"enqueue[{i}]")))
    run = _Runner(data, base, progress)
    if backend == "optuna":
        optuna_search(run, checked, queue, n_trials, timeout, seed, startup_trials)
    else:
        _random_search(run, checked, queue, n_trials, timeout, seed, startup_trials)
    result = TuneResult(run.trials, dict(base), horizon, len(data.searched), backend, None if first is None else 0)
    result.best_trial  # noqa: B018  (no completed trial: the error says why)
    ranked = [t.number for t in sorted(run.trials, key=lambda t: t.mase) if t.state == "complete"]
    base_done = result.base_trial if result.base_trial in ranked else None
    result.confirmation = confirm_trials(
        ranked,
        base_done,
        lambda n: run.trials[n].params,
        lambda p, s: _score_all({**base, **p, "seed": s}, data),
        k=confirm,
        seeds=[seed + 1 + i for i in range(confirm_seeds)],
        margin=float(margin),
    )
    return result


def _score_all(params: dict[str, Any], data: _Folds) -> tuple[np.ndarray, np.ndarray] | None:
    """The scaled errors and blocks of the folds the re-scoring scores (every fold, or the one
    held out), concatenated (None when a fit fails)."""
    try:
        scored = [_score_fold(params, data, j) for j in data.confirmed]
    except _FAILURES:
        return None
    return np.concatenate([e for e, _ in scored]), np.concatenate([b for _, b in scored])


def _base_params(params: Mapping[str, Any] | None, horizon: int, seed: int) -> dict[str, Any]:
    known = Forecaster().get_params(deep=False)
    given = dict(params or {})
    unknown = [k for k in given if k not in known]
    if unknown:
        raise ValueError(f"params: expected Forecaster settings such as {', '.join(list(known)[:6])}, got {unknown}")
    h = check_int_param("horizon", horizon)
    base = {**known, **given, "horizon": h, "seed": seed}
    Forecaster(**base)._validate_params()
    return base


def _as_list(value: Any, single: bool, n: int, name: str) -> list[np.ndarray] | None:
    if value is None:
        return None
    items = [value] if single else list(value)
    if len(items) != n:
        raise ValueError(f"{name}: expected one per series ({n}), got {len(items)}")
    return [np.asarray(a) for a in items]


def _folds(
    series: Any,
    horizon: int,
    folds: int,
    n_origins: int | None,
    step: int,
    base: dict[str, Any],
    past: Any,
    future: Any,
    static: Any,
    dates: Any,
) -> _Folds:
    single = not isinstance(series, (list, tuple))
    items = [np.asarray(s, dtype=np.float64) for s in ([series] if single else series)]
    if not items or any(x.ndim not in (1, 2) for x in items):
        raise ValueError("series: expected an array (T,) or (T, F), or a non-empty list of them")
    folds = check_int_param("folds", folds)
    step = check_int_param("step", step)
    h = base["horizon"]
    shortest = min(len(x) for x in items)
    room = max(0, (shortest - h - -(-2 * shortest // 3)) // step + 1)  # origins in the last third
    if n_origins is None:  # every origin of the last third, at least a horizon per fold, at most 60 when more fit
        n_origins = max(min(room, max(folds * -(-h // step), 60)), folds)
    n_origins = check_int_param("n_origins", n_origins)
    if n_origins < folds:
        raise ValueError(f"n_origins: expected at least one origin per fold ({folds}), got {n_origins}")
    origins = []
    for i, x in enumerate(items):
        try:
            origins.append(rolling_origins(len(x), h, n_origins=n_origins, step=step))
        except ValueError as exc:
            who = "series" if single else f"series {i}"
            raise ValueError(f"{who}: {' '.join(str(exc).split())}") from None
    date_list = _as_list(dates, single, len(items), "dates")
    period = base.get("period")
    if period is None and date_list is not None:
        freq = infer_frequency(max(date_list, key=len), "dates")
        period = season_length(freq) if freq else None
    return _Folds(
        items,
        _as_list(past, single, len(items), "past_covariates"),
        _as_list(future, single, len(items), "future_covariates"),
        None if static is None else np.asarray(static, dtype=np.float64).reshape(len(items), -1),
        date_list,
        h,
        step,
        -(-n_origins // folds),
        origins,
        period,
    )


class _Runner:
    """Runs trials and keeps their records; ``should_prune(j, running)`` decides after fold j."""

    def __init__(self, data: _Folds, base: dict[str, Any], progress: Callable[[Trial], object] | None) -> None:
        self.data, self.base, self.progress = data, base, progress
        self.trials: list[Trial] = []

    def __call__(self, params: dict[str, Any], should_prune: Callable[[int, float], bool]) -> Trial:
        t0 = time.perf_counter()
        pooled: list[np.ndarray] = []
        fold_mase: list[float] = []
        running: list[float] = []
        state, message = "complete", ""
        try:
            for j in self.data.searched:
                e, _ = _score_fold({**self.base, **params}, self.data, j)
                pooled.append(e)
                fold_mase.append(float(e.mean()))
                running.append(float(np.concatenate(pooled).mean()))
                if j < len(self.data.searched) - 1 and should_prune(j, running[-1]):
                    state = "pruned"
                    break
        except _FAILURES as exc:
            state, message = "failed", " ".join(str(exc).split()) or type(exc).__name__
        mase = running[-1] if running and state != "failed" else math.nan
        trial = Trial(len(self.trials), params, fold_mase, running, mase, state, time.perf_counter() - t0, message)
        self.trials.append(trial)
        if self.progress is not None:
            self.progress(trial)
        return trial


def _median_rule(trials: list[Trial], startup: int) -> Callable[[int, float], bool]:
    """Optuna's MedianPruner, written out: prune after fold j when the running MASE is above
    the median of the completed trials' running MASE after fold j."""
    done = [t for t in trials if t.state == "complete"]

    def should_prune(j: int, running: float) -> bool:
        if len(done) < max(startup, 1):
            return False
        return running > float(np.median([t.running[j] for t in done]))

    return should_prune


def _random_search(
    run: _Runner,
    space: Space,
    queue: list[dict[str, Any]],
    n_trials: int,
    timeout: float | None,
    seed: int,
    startup: int,
) -> None:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for n in range(n_trials):
        if n and timeout is not None and time.perf_counter() - t0 >= timeout:
            break  # as Optuna: the time is checked after each trial
        params = queue[n] if n < len(queue) else sample(space, rng)
        run(params, _median_rule(run.trials, startup))
