"""Conformal prediction intervals: the split-conformal order statistics, and the bands of a
fitted point Forecaster calibrated on its own errors or on those of refitted copies.

Shape legend: n calibration forecasts, h horizon steps, F series (or features), N series.

The residuals r = y - yhat of past forecasts calibrate the intervals of a new point
forecast yhat, separately for each horizon step k (errors grow with k). For a level L in
percent and alpha = 1 - L / 100, with n residuals at step k:

    "absolute"  q = the ceil((n + 1)(1 - alpha))-th smallest |r|;   [yhat - q, yhat + q]
    "signed"    lo = the floor((n + 1) alpha / 2)-th smallest r,
                hi = the ceil((n + 1)(1 - alpha / 2))-th smallest r;  [yhat + lo, yhat + hi]

If the new error is exchangeable with the calibration errors, the interval holds the truth
with probability at least L (split conformal prediction, Vovk et al. 2005; Lei et al.
2018). "absolute" is symmetric about the forecast; "signed" follows a biased or skewed
error. A level needs enough residuals: ceil((n + 1)(1 - alpha)) <= n, so n >= 4 for 80%,
n >= 19 for 95% ("signed": n >= 9 and n >= 39).

A fitted point Forecaster's bands (:func:`point_intervals`, behind
``Forecaster.predict_intervals`` and ``rnnkit forecast --intervals``) need residuals of
forecasts whose targets the model never trained on; errors on trained steps are smaller
than on new data and give bands that are too narrow. Two ways to get them::

    own errors   x_i  -----------trained-----------|....held out....|
                 the fitted model (no refit) forecasts from the last origins whose
                 whole horizon lies in the held-out end of each series
    cross-fit    fold 1  fit x[:e_1]  forecast from e_1 <= t < e_2   (K refits of a copy
                 fold 2  fit x[:e_2]  forecast from e_2 <= t < e_3    with the model's
                 fold K  fit x[:e_K]  forecast from e_K <= t < T      settings)

"own errors" is used when the held-out end is known and leaves ``MIN_ORIGINS`` origins
whose whole horizon lies in it; otherwise "cross-fit": each origin t reads x[:t] and its
targets x[t:t+h] (those before the series' end) lie after its fold's training data. Its
cost is K fits of the model's own size, each on less data than the model itself.

The band widens with the horizon as the errors do: per series and column, the error scale
s_k at step k (the root mean square of the step-k residuals, made non-decreasing in k;
beyond the last step with a residual it grows as sqrt(k)) normalises every residual, and
the conformal quantile q of all |r| / s_k pooled over origins and steps gives the band
yhat_k +- q s_k. Pooling over steps lets a short series calibrate 95% bands 48 steps ahead
from a few origins; the per-step scale keeps the band's shape. Errors from overlapping
horizons share their ups and downs, so s_k rests on about nu independent error paths (the
horizons that fit without overlap in the steps the targets span, at least one per refitted
copy); the band widens by t_nu / z, Student's t quantile over the normal one, as a
prediction interval from a scale estimated on nu values does (3 copies on a 96-step series
48 ahead: nu = 3, 1.28x at 80%, 1.62x at 95%; 40 origins 12 ahead: nu = 4.25).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .scaling import history_steps

__all__ = [
    "Calibration",
    "check_adapt",
    "check_levels",
    "conformal_intervals",
    "conformal_offsets",
    "min_residuals",
    "point_intervals",
    "step_half_widths",
]

#: Refitted copies of the model for cross-fit calibration.
FOLDS = 3
#: The fewest origins per series for "own errors" on a held-out end.
MIN_ORIGINS = 10
INTERVAL_METHODS = ("auto", "own-errors", "cross-fit")

METHODS = ("absolute", "signed")


def check_levels(levels: Any) -> tuple[float, ...]:
    """Levels in percent, each in (0, 100), e.g. ``(80, 95)``."""
    if isinstance(levels, (int, float)) and not isinstance(levels, bool):
        levels = (levels,)
    try:
        out = tuple(float(v) for v in levels)
    except (TypeError, ValueError):
        raise TypeError(f"levels: expected numbers in percent such as (80, 95), got {levels!r}") from None
    for v in out:
        if not 0 < v < 100:
            raise ValueError(f"levels: expected percentages strictly between 0 and 100, got {v:g}")
    return out


def check_adapt(adapt: float | None) -> float | None:
    """The step gamma of adaptive conformal inference: None (off) or a number in (0, 1)."""
    if adapt is not None and (isinstance(adapt, bool) or not isinstance(adapt, (int, float)) or not 0 < adapt < 1):
        raise ValueError(f"adapt: expected a step size gamma in (0, 1) such as 0.1, or None, got {adapt!r}")
    return adapt


def _key(level: float) -> str:
    return f"{level:g}"


def min_residuals(level: float, method: str = "absolute") -> int:
    """The fewest residuals that give a finite interval at ``level`` percent."""
    alpha = 1.0 - level / 100.0
    tail = alpha if method == "absolute" else alpha / 2
    # ceil((n + 1)(1 - tail)) <= n  <=>  n >= (1 - tail) / tail, up to rounding
    n = max(1, math.ceil((1.0 - tail) / tail - 1e-9))
    while math.ceil((n + 1) * (1.0 - tail) - 1e-9) > n:
        n += 1
    return n


def conformal_offsets(residuals: ArrayLike, level: float, method: str = "absolute") -> tuple[float, float]:
    """(lo, hi) to add to a point forecast, from 1-D residuals y - yhat (NaN skipped).

    Returns (nan, nan) when there are too few residuals for ``level`` (see
    :func:`min_residuals`).
    """
    r = np.asarray(residuals, dtype=np.float64).ravel()
    r = np.sort(r[np.isfinite(r)])
    n = len(r)
    alpha = 1.0 - level / 100.0
    if method == "absolute":
        k = math.ceil((n + 1) * (1.0 - alpha) - 1e-9)
        if k > n or n == 0:
            return math.nan, math.nan
        q = float(np.sort(np.abs(r))[k - 1])
        return -q, q
    k_hi = math.ceil((n + 1) * (1.0 - alpha / 2) - 1e-9)
    k_lo = math.floor((n + 1) * (alpha / 2) + 1e-9)
    if k_hi > n or k_lo < 1:
        return math.nan, math.nan
    return float(r[k_lo - 1]), float(r[k_hi - 1])


def _by_step(residuals_by_step: np.ndarray | Sequence[ArrayLike]) -> tuple[list[np.ndarray], bool]:
    """-> list over steps of (n_k, F) arrays, and whether the input was per-series (F given)."""
    if isinstance(residuals_by_step, np.ndarray) or (
        isinstance(residuals_by_step, (list, tuple))
        and residuals_by_step
        and not isinstance(residuals_by_step[0], (list, tuple, np.ndarray))
    ):
        r = np.asarray(residuals_by_step, dtype=np.float64)
        if r.ndim not in (2, 3):
            raise ValueError(
                f"residuals_by_step: expected an array (n, h) or (n, h, F), or a list of h arrays, got shape {r.shape}"
            )
        r3 = r[:, :, None] if r.ndim == 2 else r
        return [r3[:, k] for k in range(r3.shape[1])], r.ndim == 3
    steps = []
    for k, rk in enumerate(residuals_by_step):
        a = np.asarray(rk, dtype=np.float64)
        if a.ndim not in (1, 2):
            raise ValueError(f"residuals_by_step[{k}]: expected (n,) or (n, F), got shape {a.shape}")
        steps.append(a[:, None] if a.ndim == 1 else a)
    if not steps:
        raise ValueError("residuals_by_step: expected residuals for at least one step, got none")
    if len({s.shape[1] for s in steps}) > 1:
        raise ValueError("residuals_by_step: expected the same number of series at every step")
    return steps, any(np.ndim(rk) == 2 for rk in residuals_by_step)


def conformal_intervals(
    residuals_by_step: np.ndarray | Sequence[ArrayLike],
    point_forecast: ArrayLike,
    levels: float | Sequence[float] = (80, 95),
    *,
    method: str = "absolute",
) -> dict[str, np.ndarray]:
    """Prediction intervals around ``point_forecast`` from past residuals, per horizon step.

    Args:
        residuals_by_step: y - yhat of past forecasts: an array (n, h) or (n, h, F) (NaN:
            a missing observation, skipped), or a list of h arrays (n_k,) or (n_k, F).
            Steps beyond the forecast's length are ignored.
        point_forecast: (h,) or (h, F), the forecast to put the bands around.
        levels: coverage levels in percent.
        method: "absolute" (symmetric) or "signed" (see the module docstring).

    Returns:
        ``{"forecast": point, "lo_80": (h[, F]), "hi_80": ..., "lo_95": ..., "hi_95": ...}``
        (keys named by ``f"{level:g}"``), each the shape of ``point_forecast``.

    Raises:
        ValueError: fewer residuals at some step than a level needs, or mismatched shapes.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    lv = check_levels(levels)
    point = np.asarray(point_forecast, dtype=np.float64)
    if point.ndim not in (1, 2) or len(point) == 0:
        raise ValueError(f"point_forecast: expected (h,) or (h, F), got shape {point.shape}")
    if not np.all(np.isfinite(point)):
        raise ValueError("point_forecast: contains NaN or inf")
    steps, _ = _by_step(residuals_by_step)
    h = len(point)
    p2 = point[:, None] if point.ndim == 1 else point  # (h, F)
    if len(steps) < h:
        raise ValueError(
            f"residuals_by_step: expected residuals for all {h} forecast steps, got "
            f"{len(steps)}; hint: calibrate with a horizon of at least {h}"
        )
    if steps[0].shape[1] != p2.shape[1]:
        raise ValueError(
            f"residuals_by_step: expected {p2.shape[1]} series (as in point_forecast), got {steps[0].shape[1]}"
        )
    out = {"forecast": point}
    for level in lv:
        lo, hi = np.empty_like(p2), np.empty_like(p2)
        for k in range(h):
            for f in range(p2.shape[1]):
                a, b = conformal_offsets(steps[k][:, f], level, method)
                if math.isnan(a):
                    n = int(np.isfinite(steps[k][:, f]).sum())
                    raise ValueError(
                        f"residuals_by_step: {level:g}% intervals need at least "
                        f"{min_residuals(level, method)} residuals per step, got {n} at "
                        f"step {k + 1}; hint: more origins, or a lower level"
                    )
                lo[k, f], hi[k, f] = p2[k, f] + a, p2[k, f] + b
        shape = point.shape
        out[f"lo_{_key(level)}"], out[f"hi_{_key(level)}"] = lo.reshape(shape), hi.reshape(shape)
    return out


# -- bands that widen with the horizon ---------------------------------------------------------
def t_quantile(p: float, nu: float) -> float:
    """The p-quantile (p > 1/2) of Student's t with nu > 0 degrees of freedom (its density
    integrated numerically: NumPy only)."""
    x = np.concatenate([np.linspace(0.0, 10.0, 20001), np.geomspace(10.0, 1e6, 20001)[1:]])
    log_c = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
    pdf = np.exp(log_c - (nu + 1) / 2 * np.log1p(x * x / nu))
    cdf = 0.5 + np.concatenate([[0.0], np.cumsum(np.diff(x) * (pdf[1:] + pdf[:-1]) / 2)])
    return float(np.interp(p, cdf, x))


def step_half_widths(
    residuals: ArrayLike, levels: Sequence[float], horizon: int | None = None, paths: float | None = None
) -> dict:
    """{level: (h,) half-widths} from residuals (n, h') of one column (NaN: none there).

    The step scale s_k times the conformal quantile of all |r| / s_k, widened by t_nu / z
    for nu = ``paths`` (None: many); see the module docstring. ``horizon``: the steps
    wanted (default h').

    Raises:
        ValueError: fewer pooled residuals than a level needs.
    """
    r = np.asarray(residuals, dtype=np.float64)
    r = r.reshape(len(r), -1)  # (n, h')
    h = r.shape[1] if horizon is None else horizon
    r = r[:, :h]
    ok = np.isfinite(r)
    count = ok.sum(axis=0)  # (h',)
    seen = np.flatnonzero(count)
    if not len(seen):
        raise ValueError("residuals: expected at least one observed residual, got none")
    scale = np.full(h, np.nan)
    scale[seen] = np.sqrt(np.where(ok, r * r, 0.0).sum(axis=0)[seen] / count[seen])
    last = int(seen[-1])
    for k in range(h):
        if k > last:
            scale[k] = scale[last] * math.sqrt((k + 1) / (last + 1))
        elif np.isnan(scale[k]):
            scale[k] = scale[k - 1] if k else scale[seen[0]]
    scale = np.maximum.accumulate(np.maximum(scale, np.finfo(np.float64).tiny))
    scores = (np.abs(r) / scale[: r.shape[1]])[ok]
    out = {}
    for level in levels:
        _, q = conformal_offsets(scores, level)
        if math.isnan(q):
            raise ValueError(
                f"residuals: {level:g}% intervals need at least {min_residuals(level)} residuals, got {len(scores)}"
            )
        if paths is not None:
            p = 0.5 + level / 200
            q *= t_quantile(p, max(paths, 1.0)) / t_quantile(p, 1e9)
        out[level] = q * scale
    return out


# -- a fitted point Forecaster's bands -----------------------------------------------------------
@dataclasses.dataclass
class Calibration:
    """The forecasts that calibrate a point model's bands, per series.

    Attributes:
        method: "own-errors" or "cross-fit".
        point: [(h, F)] the model's forecasts from each series' end.
        origins: [(n_i,)] the calibration origins, oldest first.
        truth: [(n_i, h, F)] x[t : t + h], NaN beyond the series' end.
        pred: [(n_i, h, F)] the calibration forecasts.
        refits: copies of the model fitted (0 for own errors).
        lengths: [T_i] the series' lengths.
    """

    method: str
    point: list
    origins: list
    truth: list
    pred: list
    refits: int = 0
    lengths: list = dataclasses.field(default_factory=list)

    def paths(self, i: int) -> float:
        """nu, the independent error paths behind series i's bands: the horizons that fit
        without overlap in the steps its calibration targets span, at least one per copy."""
        h = len(self.point[i])
        return max(1.0, float(self.refits), (self.lengths[i] - int(self.origins[i][0])) / h)

    def bands(self, levels: Sequence[float]) -> dict[str, list]:
        """``{"point": [(h, F)...], "lo_80": [...], "hi_80": [...], ...}`` (see
        :func:`step_half_widths`); a series with too few residuals is named."""
        out: dict[str, list] = {"point": self.point}
        for i, (p, y, yhat) in enumerate(zip(self.point, self.truth, self.pred, strict=True)):
            h, F = p.shape
            half = {lv: np.empty((h, F)) for lv in levels}
            for f in range(F):
                try:
                    widths = step_half_widths(y[:, :, f] - yhat[:, :, f], levels, h, self.paths(i))
                except ValueError as exc:
                    raise ValueError(f"intervals: series {i}: {exc}; hint: {_HINT}") from None
                for lv in levels:
                    half[lv][:, f] = widths[lv]
            for lv in levels:
                out.setdefault(f"lo_{lv:g}", []).append(p - half[lv])
                out.setdefault(f"hi_{lv:g}", []).append(p + half[lv])
        return out

    def calibrated_steps(self) -> int:
        """The steps with an observed calibration error in every series (later ones grow as sqrt(k))."""
        seen = [np.isfinite(y - p).any(axis=(0, 2)) for y, p in zip(self.truth, self.pred, strict=True)]
        return min(int(np.flatnonzero(s)[-1]) + 1 for s in seen)

    def describe(self, horizon: int) -> str:
        n = [len(o) for o in self.origins]
        many = f"{min(n)}-{max(n)}" if max(n) > min(n) else f"{min(n)}"
        nu = min(self.paths(i) for i in range(len(self.point)))
        t = f", and by Student's t for the {nu:.3g} independent error paths behind them"
        k = self.calibrated_steps()
        beyond = f" (errors seen up to step {k}; beyond it the bands grow as sqrt(k))" if k < horizon else ""
        if self.method == "own-errors":
            return (
                f"split conformal on the model's own {horizon}-step errors at the last {many} origins of each "
                f"series, whose targets lie in the part held out of training (no refit){t}"
            )
        return (
            f"cross-fit conformal: {self.refits} copies of the model refitted on earlier history ({self.refits} "
            f"fits of the model's size), their errors at {many} origins per series, each after its copy's data; "
            f"the bands widen with the horizon as those errors do{t}{beyond}"
        )


_HINT = "a longer history, a shorter horizon or a lower level, or a model with loss 'quantile' or 'gaussian'"


def _cut(cov: dict, i: int, t: int, rows: int) -> dict:
    """Series i's covariates and dates for a history x[:t] (known-future rows to t + rows)."""
    past, fut, dates = cov.get("past_covariates"), cov.get("future_covariates"), cov.get("dates")
    return {
        "past_covariates": None if past is None else past[i][:t],
        "future_covariates": None if fut is None else fut[i][: t + rows],
        "dates": None if dates is None else dates[i][:t],
    }


def _forecast_at(model: Any, xs: list, pairs: list, horizon: int, cov: dict) -> tuple[np.ndarray, np.ndarray]:
    """(truth, pred), each (len(pairs), h, F): ``model`` forecasts from each (series, origin)."""
    D = model.horizon if model.strategy == "direct" else 1
    rows = -(-horizon // D) * D  # known-future rows predict reads after each history
    cuts = [_cut(cov, i, t, rows) for i, t in pairs]
    kw: dict[str, Any] = {
        key: None if cuts[0][key] is None else [c[key] for c in cuts]
        for key in ("past_covariates", "future_covariates", "dates")
    }
    static = cov.get("static_covariates")
    kw["static_covariates"] = None if static is None else np.asarray(static)[[i for i, _ in pairs]]
    preds = model.predict([xs[i][:t] for i, t in pairs], horizon, **kw)
    F = xs[0].shape[1]
    truth = np.full((len(pairs), horizon, F), np.nan)
    for j, (i, t) in enumerate(pairs):
        y = xs[i][t : t + horizon]
        truth[j, : len(y)] = y
    return truth, np.stack([np.asarray(p, dtype=np.float64).reshape(horizon, F) for p in preds])


def _group(pairs: list, n_series: int, truth: np.ndarray, pred: np.ndarray) -> tuple[list, list, list]:
    """Flat (series, origin) rows -> per-series lists (origins, truth, pred), oldest first."""
    rows = [sorted((t, j) for j, (s, t) in enumerate(pairs) if s == i) for i in range(n_series)]
    idx = [[j for _, j in r] for r in rows]
    return [np.array([t for t, _ in r], dtype=np.int64) for r in rows], [truth[j] for j in idx], [pred[j] for j in idx]


def _own_errors(model: Any, xs: list, horizon: int, n: int, cov: dict) -> tuple[list, list, list]:
    pairs = [(i, len(x) - horizon - j + 1) for i, x in enumerate(xs) for j in range(1, n + 1)]
    return _group(pairs, len(xs), *_forecast_at(model, xs, pairs, horizon, cov))


def _cross_fit(
    model: Any, xs: list, horizon: int, folds: int, span: int, params: dict, cov: dict
) -> tuple[list, list, list]:
    """K refitted copies, each forecasting from the origins after its fold's end."""
    cuts = [round(span * (folds - k) / folds) for k in range(folds)] + [0]  # steps before each end
    pairs, truths, preds = [], [], []
    static = cov.get("static_covariates")
    for k in range(folds):
        ends = [len(x) - cuts[k] for x in xs]
        fit_cov = [_cut(cov, i, e, 0) for i, e in enumerate(ends)]
        copy = type(model)(**{**model.get_params(deep=False), **params})
        copy.fit(
            [x[:e] for x, e in zip(xs, ends, strict=True)],
            **{key: None if fit_cov[0][key] is None else [c[key] for c in fit_cov] for key in fit_cov[0]},
            static_covariates=static,
        )
        fold = [(i, t) for i, x in enumerate(xs) for t in range(len(x) - cuts[k], len(x) - cuts[k + 1])]
        y, p = _forecast_at(copy, xs, fold, horizon, cov)
        pairs += fold
        truths.append(y)
        preds.append(p)
    return _group(pairs, len(xs), np.concatenate(truths), np.concatenate(preds))


def fit_steps(model: Any, params: dict | None = None) -> int:
    """The fewest steps a copy of ``model`` (with ``params`` changed) fits on: the history
    a forecast reads, one window's targets, and the validation steps it holds out."""
    D = model.horizon if model.strategy == "direct" else 1
    vf = (params or {}).get("validation_fraction", model.validation_fraction)
    need = history_steps(model.parts_, model.period_, model.window) + D
    return need + (max(D, math.ceil(vf * need / (1 - vf))) if vf else 0)


def point_intervals(
    model: Any,
    series: Sequence[np.ndarray],
    horizon: int,
    levels: Sequence[float] = (80, 95),
    *,
    method: str = "auto",
    held_out: Sequence[int] | None = None,
    folds: int = FOLDS,
    n_origins: int = 40,
    refit_params: dict | None = None,
    past_covariates: Any = None,
    future_covariates: Any = None,
    static_covariates: Any = None,
    dates: Any = None,
) -> Calibration:
    """The calibration of a fitted point Forecaster's bands on ``series`` (see the module docstring).

    Args:
        model: a fitted :class:`rnnkit.forecast.Forecaster` with ``loss="mse"``.
        series: a list of (T_i, F) arrays; the bands are for the forecast after each.
        horizon: steps to forecast.
        levels: interval levels in percent (checked for enough residuals).
        method: "own-errors" (the fitted model's errors at the last ``n_origins`` whole
            horizons, trained on or not), "cross-fit" (``folds`` refitted copies), or
            "auto": own errors when ``held_out`` leaves ``MIN_ORIGINS`` whole horizons
            untrained at the end of every series, else cross-fit.
        held_out: per series, the steps at its end the model was not fitted on (None:
            unknown, so every step may have been).
        folds: refits for cross-fit.
        n_origins: the most calibration origins per series (own errors), or the steps the
            cross-fit folds cover (at least 2 horizons).
        refit_params: settings to change in the copies (e.g. ``validation_fraction``).
        past_covariates: as for ``predict``.
        future_covariates: as for ``predict``.
        static_covariates: as for ``predict``.
        dates: as for ``predict``.

    Returns:
        a :class:`Calibration` (``.bands(levels)`` gives the intervals).

    Raises:
        ValueError: a method name, or series too short to calibrate on (with a hint).
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method: expected one of {', '.join(INTERVAL_METHODS)}, got {method!r}")
    levels = check_levels(levels)
    xs = [np.asarray(x, dtype=np.float64).reshape(len(x), -1) for x in series]
    cov = {
        "past_covariates": past_covariates,
        "future_covariates": future_covariates,
        "static_covariates": static_covariates,
        "dates": dates,
    }
    point = [np.asarray(p, dtype=np.float64).reshape(horizon, -1) for p in model.predict(xs, horizon, **cov)]
    first = history_steps(model.parts_, model.period_, model.window)  # the shortest history
    shortest = min(len(x) for x in xs)
    need = max(min_residuals(lv) for lv in levels)
    if method == "auto":
        room = min(held_out) - horizon + 1 if held_out is not None else 0
        method = "own-errors" if room >= MIN_ORIGINS and shortest - horizon - room + 1 >= first else "cross-fit"
        n_origins = min(n_origins, room) if method == "own-errors" else n_origins
    if method == "own-errors":
        n = min(n_origins, shortest - horizon - first + 1)
        if n < 1 or n * horizon < need:
            raise ValueError(
                f"intervals: a series of {shortest} steps leaves room for {max(n, 0)} calibration origin(s) "
                f"(shortest history {first}, horizon {horizon}); {max(levels):g}% intervals need "
                f"{-(-need // horizon)}; hint: {_HINT}"
            )
        origins, truth, pred = _own_errors(model, xs, horizon, n, cov)
        return Calibration(method, point, origins, truth, pred, lengths=[len(x) for x in xs])
    params = dict(refit_params or {})
    span = min(shortest - fit_steps(model, params), max(n_origins, 2 * horizon))
    if span < folds or span * min(horizon, span) < need:
        raise ValueError(
            f"intervals: a series of {shortest} steps leaves {max(span, 0)} step(s) after the "
            f"{fit_steps(model, params)} a refitted copy needs, too few to calibrate {max(levels):g}% intervals "
            f"by cross-fitting {folds} copies; hint: {_HINT}"
        )
    origins, truth, pred = _cross_fit(model, xs, horizon, folds, span, params, cov)
    return Calibration(method, point, origins, truth, pred, refits=folds, lengths=[len(x) for x in xs])
