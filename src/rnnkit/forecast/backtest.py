"""Rolling-origin evaluation of forecasters beside baselines: the one evaluation engine.

Shape legend: T series length, F features, N origins, h horizon, L window length.

An origin t splits a series into the history x[:t] and the targets x[t : t + h]. Origins
run every ``step`` steps up to the last one with a full horizon, t_N = T - h::

    fit  --------------|                          model fitted on x[:t_1] (expanding)
                       t_1  predict x[t_1 : t_1 + h] from x[:t_1]       or on x[t_1 - L : t_1]
    ...                     t_2 ...                                      (sliding)
    refit every k origins (k = 0: fit once at the first origin); between refits the fitted
    model only reads the newer history.

Several series (a list, of any lengths, or a long pandas frame) are backtested together,
their origins aligned at their ends: round r holds each series' r-th origin from its end,
and one global model is (re)fitted on the histories of every series with an origin in the
round; the baselines the engine adds are local, each fitted on one series' history alone.
A series too short for one origin is skipped (``BacktestResult.skipped``).

Covariates are given as :meth:`rnnkit.forecast.Forecaster.fit` takes them, covering each
whole series: past ones are cut at the origin (x[:t]'s rows only), known-future ones run
to the last forecast step (t + h, or the model's whole direct blocks), static ones are one
row per series; dates are cut like the history. Baselines read no covariates.

No forecast sees a value at or after its origin: models are fitted and fed only x[:t] (or
its last L values), missing values in it are filled from that history alone (linear between
observed values, the last one carried forward), and the MASE scale of each origin is the
seasonal-naive error of the same history. Missing targets are left out of the errors. The
scores and the online conformal intervals are :mod:`rnnkit.forecast.backtest_result`'s.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from ..models.base import check_int_param
from . import metrics as fm
from .backtest_result import BacktestResult, check_calibration, online_conformal
from .baselines import Baseline, make_baseline
from .inputs import SeriesLike
from .origins import (
    Series,
    default_ids,
    fill_history,
    gather,
    has_covariates,
    read_series,
    rolling_origins,
    series_origins,
)

#: What :func:`backtest` evaluates: an object with ``fit(series)`` and ``predict(history, horizon)``
#: (a Forecaster, a baseline, any duck-typed model), or a factory returning one.
ModelLike: TypeAlias = Any

__all__ = ["BacktestResult", "backtest", "fill_history", "online_conformal", "rolling_origins", "rolling_residuals"]

WINDOWS = ("expanding", "sliding")
CHUNK = 1024  # histories per predict call: bounded memory on long series


def _as_point(out: Any, h: int, F: int, name: str) -> np.ndarray:
    """A model's predict output -> (h, F) float64 (arrays, pandas, dicts with a point key)."""
    if isinstance(out, dict):
        for key in ("forecast", "mean", "median", "point"):
            if key in out:
                out = out[key]
                break
    if hasattr(out, "to_numpy"):
        out = out.to_numpy()
    a = np.asarray(out, dtype=np.float64)
    if a.size != h * F:
        raise ValueError(f"model {name!r}: predict returned shape {a.shape}, expected ({h}, {F}) or ({h},)")
    return a.reshape(h, F)


def _takes_keyword(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin or C-level callable: no signature to read
        return False


def _future_steps(model: Any, h: int) -> int:
    """Known-future rows a forecast of h steps reads after its origin (whole direct blocks)."""
    steps = getattr(model, "future_steps", None)
    return int(steps(h)) if callable(steps) else h


class _Runner:
    """Fits and forecasts one model over the origins of a backtest."""

    def __init__(self, name: str, model: ModelLike, fit: bool, covariates: bool, local: bool = False):
        self.name, self.model, self.fit_it, self.local = name, model, fit, local
        self.fitted: Any = None if fit else model
        # baselines read the history alone; other models get the covariates and dates
        self.covariates = covariates and not isinstance(model, Baseline)

    @property
    def lists(self) -> bool:
        """The model's predict takes a list of histories (a factory's model once built)."""
        return bool(getattr(self.model if self.fitted is None else self.fitted, "predicts_lists", False))

    def fit(self, data: Any, cov: dict[str, Any]) -> None:
        if not self.fit_it:
            return
        model = self.model
        if not hasattr(model, "fit") and callable(model):
            model = model()
        fitted = model.fit(data, **(cov if self.covariates else {}))
        self.fitted = model if fitted is None else fitted

    def predict(self, data: Any, h: int, cov: dict[str, Any]) -> Any:
        model = self.fitted
        kw = cov if self.covariates else {}
        if _takes_keyword(model.predict, "horizon"):
            return model.predict(data, horizon=h, **kw)
        return model.predict(data, h, **kw)


@dataclass(frozen=True)
class _Rounds:
    """What every fit and forecast of a backtest reads: the series, the horizon ``h``, the
    window ``L`` (0: the whole history), the missing-value policy, whether there is one
    series and whether it is scored univariate, and ``need``, the future steps of
    covariates a forecast reads."""

    items: list[Series]
    h: int
    L: int
    missing: str
    single: bool
    univariate: bool
    need: int


def backtest(
    models: ModelLike | dict[str, ModelLike],
    series: SeriesLike,
    horizon: int,
    *,
    past_covariates: SeriesLike = None,
    future_covariates: SeriesLike = None,
    static_covariates: ArrayLike | None = None,
    dates: SeriesLike = None,
    n_origins: int | None = None,
    initial: int | Sequence[int | None] | None = None,
    step: int = 1,
    refit_every: int = 1,
    fit: bool = True,
    window: str = "expanding",
    window_length: int | None = None,
    period: int | None = None,
    baselines: Sequence[str] = ("naive", "seasonal_naive", "drift", "ar"),
    levels: float | Sequence[float] = (80, 95),
    interval_method: str = "absolute",
    calibration_window: int | None = None,
    adapt: float | None = None,
    missing: str = "error",
    columns: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of ``models`` and baselines on one series or many.

    Example::

        result = backtest(Forecaster(window=24, horizon=12), series, 12, n_origins=36, refit_every=12, period=12)
        result.pooled_mase()        # the model's MASE over every series, origin and step
        result.per_series()         # {series id: {model: {"mase", "smape", "rmse", ...}}}
        print(result.series_table())

    Args:
        models: a fitted-or-not model with ``fit(series)`` and ``predict(history, horizon)``
            (a Forecaster, a baseline), a factory returning one, or a dict of them by name
            (a single model is named "model").
        series: (T,) or (T, F), a list of them (any lengths), or pandas (a Series, a
            DataFrame, a long frame ``unique_id, ds, y``), as :meth:`Forecaster.fit` takes.
        horizon: steps forecast at each origin.
        past_covariates: as :meth:`rnnkit.forecast.Forecaster.fit` takes them, covering
            each whole series; each forecast reads only its share (see the module docstring).
        future_covariates: likewise; known-future ones may run past the series' end.
        static_covariates: one row per series, as ``Forecaster.fit`` takes them.
        dates: the series' dates, as ``Forecaster.fit`` takes them.
        n_origins: use the last ``n_origins`` origins of each series (:func:`rolling_origins`).
        initial: or every origin from ``initial`` on (default: from T // 2); one for every
            series or a list with one per series.
        step: steps between two origins.
        refit_every: refit every k rounds of origins (1: at every origin; 0: once, at the first).
        fit: False: the models are fitted already and are never (re)fitted (the baselines
            still are): :meth:`Forecaster.evaluate`.
        window: "expanding" (fit on all of x[:t]) or "sliding" (its last ``window_length``).
        period: the season length: adds seasonal naive and scales MASE by it (None: 1).
        baselines: names from :data:`rnnkit.forecast.baselines.BASELINES` to add
            (seasonal_naive only with a period).
        levels: conformal interval levels in percent (empty: none).
        calibration_window: calibrate each band on at most this many latest residuals.
        adapt: gamma of adaptive conformal inference (e.g. 0.05; None: off): each band's
            level moves with the misses of the earlier bands (see :func:`online_conformal`).
        missing: "error" on NaN in the series, or "interpolate" (see the module docstring).
        columns: names of the F features, for tables.
        ids: names of the series (default: a long frame's ids, else their positions).
        progress: ``f(i, N)`` called as origins are done.

    Returns:
        a :class:`BacktestResult`: forecasts and truth per origin, scores per series and
        pooled (``metrics``, ``per_series``, ``pooled_mase``, ``by_step``).
    """
    if missing not in ("error", "interpolate"):
        raise ValueError(f"missing: expected 'error' or 'interpolate', got {missing!r}")
    if window not in WINDOWS:
        raise ValueError(f"window: expected one of {', '.join(WINDOWS)}, got {window!r}")
    items, single, univariate, pd_ids, pd_cols = read_series(
        series, past_covariates, future_covariates, static_covariates, dates, missing
    )
    F = items[0].x.shape[1]
    h = check_int_param("horizon", horizon)
    step = check_int_param("step", step)
    if n_origins is not None:
        check_int_param("n_origins", n_origins)
    starts = list(initial) if isinstance(initial, (list, tuple)) else [initial] * len(items)
    if len(starts) != len(items):
        raise ValueError(f"initial: expected one first origin per series ({len(items)}), got {len(starts)}")
    starts = [check_int_param("initial", v, allow_none=True) for v in starts]
    refit_every = check_int_param("refit_every", refit_every, 0)
    m = check_int_param("period", period, allow_none=True) or 1
    L = 0
    if window == "sliding":
        if window_length is None:
            raise ValueError("window_length: the sliding window needs a length, got None")
        L = check_int_param("window_length", window_length, 2)
    named = dict(models) if isinstance(models, dict) else {"model": models}
    runners = [
        _Runner(
            name,
            model,
            fit,
            has_covariates(items),
        )
        for name, model in named.items()
    ]
    for b in baselines:
        if not (b == "seasonal_naive" and m == 1) and b not in named:
            runners.append(_Runner(b, make_baseline(b, period=m if m > 1 else None), True, False, local=True))
    need = max([h] + [_future_steps(r.model, h) for r in runners if r.covariates])
    origins = series_origins(items, h, need, n_origins, starts, step, single)
    ids = list(ids) if ids is not None else pd_ids or default_ids(single, len(items), columns or pd_cols, F)
    if columns is None:
        columns = pd_cols if pd_cols and len(pd_cols) == F else ([str(c) for c in range(F)] if F > 1 else ["y"])
    lv, calibration_window, adapt = check_calibration(
        levels, interval_method, calibration_window, adapt, max(len(o) for o in origins)
    )

    job = _Rounds(items, h, L, missing, single, univariate, need)
    tasks_all, preds, fit_origins = _forecast_rounds(runners, job, origins, step, refit_every, progress)
    which = np.array([i for i, _ in tasks_all], dtype=np.int64)
    ts = np.array([t for _, t in tasks_all], dtype=np.int64)
    truth = np.stack([items[i].x[t : t + h] for i, t in tasks_all])  # (N, h, F)
    scales = np.stack([_scale(items[i].x[max(t - L, 0) if L else 0 : t], m) for i, t in tasks_all])  # (N, F)
    result = BacktestResult(
        ts,
        truth,
        {name: np.stack(p) for name, p in preds.items()},
        {},
        scales,
        m,
        univariate,
        np.asarray(fit_origins),
        list(columns),
        which,
        [str(i) for i in ids],
        [str(ids[i]) for i, o in enumerate(origins) if not len(o)],
    )
    if lv:
        result.intervals = {
            name: result._conformal(fc, lv, interval_method, calibration_window, adapt)
            for name, fc in result.forecasts.items()
        }
    return result


def _forecast_rounds(
    runners: list[_Runner],
    job: _Rounds,
    origins: list[np.ndarray],
    step: int,
    refit_every: int,
    progress: Callable[[int, int], object] | None,
) -> tuple[list[tuple[int, int]], dict[str, list[np.ndarray]], list[int]]:
    """Fit and forecast round after round: ``(tasks, {name: forecasts}, fit origins)``, a
    task being (series, origin), in the order the forecasts were made."""
    # round r: each series' r-th origin from its end; earliest first, refits at every k-th
    ranks = [(o[-1] - o) // step if len(o) else o for o in origins]
    rounds = sorted({int(r) for rk in ranks for r in rk}, reverse=True)
    at = [dict(zip(rk.tolist(), o.tolist(), strict=True)) for rk, o in zip(ranks, origins, strict=True)]
    blocks: list[list[int]] = []  # the rounds one fit serves
    for g, r in enumerate(rounds):
        if g == 0 or (refit_every > 0 and g % refit_every == 0):
            blocks.append([])
        blocks[-1].append(r)
    tasks_all: list[tuple[int, int]] = []
    preds: dict[str, list[np.ndarray]] = {r.name: [] for r in runners}
    fit_origins: list[int] = []
    total = sum(len(o) for o in origins)
    for block in blocks:
        members = [(i, a[block[0]]) for i, a in enumerate(at) if block[0] in a]
        fit_origins.append(members[0][1])
        tasks = [(i, a[r]) for r in block for i, a in enumerate(at) if r in a]
        for runner in runners:
            if runner.local and not job.single:  # a baseline of its own for each series
                preds[runner.name] += _local_forecasts(runner, job, members, tasks)
                continue
            _fit_runner(runner, job, members, job.single)
            preds[runner.name] += _predict_runner(runner, job, tasks)
        tasks_all += tasks
        if progress is not None:
            progress(len(tasks_all), total)
    return tasks_all, preds, fit_origins


def _local_forecasts(
    runner: _Runner, job: _Rounds, members: list[tuple[int, int]], tasks: list[tuple[int, int]]
) -> list[np.ndarray]:
    """The forecasts of ``tasks`` by a model fitted on each series alone (at the round's
    first origin, or the series' first task in it)."""
    got: list[Any] = [None] * len(tasks)
    for i in dict.fromkeys(i for i, _ in tasks):
        own = [k for k, task in enumerate(tasks) if task[0] == i]
        fit_at = next((task for task in members if task[0] == i), tasks[own[0]])
        _fit_runner(runner, job, [fit_at], True)
        out = _predict_runner(runner, job, [tasks[k] for k in own])
        for k, p in zip(own, out, strict=True):
            got[k] = p
    return got


def _scale(history: np.ndarray, m: int) -> np.ndarray:
    """MASE scale (F,) of a history; 0 where it never changes (its MASE is then undefined)."""
    return np.asarray(fm.seasonal_naive_scale(history, m if len(history) > m else 1), dtype=np.float64)


def _wrap(runner: _Runner, exc: Exception, job: _Rounds, task: tuple[int, int]) -> Exception:
    i, t = task
    n = min(t, job.L) if job.L else t
    where = f"origin {t}" + ("" if job.single else f" of series {i}")
    return type(exc)(f"model {runner.name!r} at {where} (history of {n} values): {' '.join(str(exc).split())}")


def _fit_runner(runner: _Runner, job: _Rounds, members: list[tuple[int, int]], as_one: bool) -> None:
    data, cov = gather(job.items, members, job.L, job.missing, 0, as_one, job.univariate)
    try:
        runner.fit(data, cov)
    except (ValueError, TypeError) as exc:
        raise _wrap(runner, exc, job, members[0]) from None


def _predict_runner(runner: _Runner, job: _Rounds, tasks: list[tuple[int, int]]) -> list[np.ndarray]:
    """(h, F) forecasts of ``tasks``: in lists of up to CHUNK for a model that takes them."""
    h, F = job.h, job.items[0].x.shape[1]
    size = CHUNK if runner.lists and len(tasks) > 1 else 1
    out = []
    for k in range(0, len(tasks), size):
        part = tasks[k : k + size]
        as_one = size == 1  # a model that may not take lists gets one history at a time
        data, cov = gather(job.items, part, job.L, job.missing, job.need, as_one, job.univariate)
        try:
            got = runner.predict(data, h, cov)
            outs = [got] if as_one else list(got)
            out += [_as_point(o, h, F, runner.name) for o in outs]
        except (ValueError, TypeError) as exc:
            raise _wrap(runner, exc, job, part[0]) from None
    return out


def rolling_residuals(model: ModelLike, series: ArrayLike, horizon: int, **kwargs: Any) -> np.ndarray:
    """y - yhat of ``model`` on rolling origins: (N, h) for a 1-D series, else (N, h, F).

    The calibration set for :func:`rnnkit.forecast.conformal.conformal_intervals`. Keyword
    arguments are those of :func:`backtest` (``n_origins``, ``refit_every``, ``window``...);
    no baselines or intervals are computed.
    """
    kwargs = dict(kwargs, baselines=(), levels=())
    return backtest({"model": model}, series, horizon, **kwargs).residuals("model")
