"""Point and interval forecast errors, overall and by horizon step.

Shape legend: N forecasts (origins), h horizon steps, F series (features). Every metric
takes ``y`` (the truth) and ``yhat`` (the forecasts) of one shape, (h,), (N, h) or
(N, h, F); a NaN in ``y`` is a missing observation and is left out of every average (the
forecasts must be finite). With e = y - yhat and the averages over the kept points::

    MAE   = mean |e|
    RMSE  = sqrt(mean e^2)
    sMAPE = 100 * mean( 2 |e| / (|y| + |yhat|) )         in percent, 0..200; 0/0 counts 0
    MASE  = mean( |e| / s )       s = mean over t of |x[t] - x[t - m]| of the in-sample
                                  series x, the seasonal-naive error (m = 1: naive);
                                  one s per forecast (N,) or per forecast and series (N, F)
    NRMSE = sqrt(mean( (e / s)^2 ))   s a scale per forecast, e.g. the standard deviation
                                  of each series' scored targets (:func:`spread_scale`)
    coverage = 100 * mean( lo <= y <= hi )               in percent

``by_step(metric, y, yhat, ...)`` gives any of them per horizon step, shape (h,).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "METRICS",
    "by_step",
    "coverage",
    "mae",
    "mase",
    "nrmse",
    "rmse",
    "seasonal_naive_scale",
    "smape",
    "spread_scale",
]


def _pair(y: ArrayLike, yhat: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    yhat = np.asarray(yhat, dtype=np.float64)
    if y.shape != yhat.shape:
        raise ValueError(f"yhat: expected the shape of y {y.shape}, got {yhat.shape}")
    if y.size == 0:
        raise ValueError("y: expected at least one value, got an empty array")
    if not np.all(np.isfinite(yhat)):
        raise ValueError("yhat: contains NaN or inf; forecasts must be finite")
    keep = np.isfinite(y)
    if not keep.any():
        raise ValueError("y: every value is missing (NaN); nothing to score")
    return y, yhat, keep


def mae(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean absolute error over the observed points."""
    y, yhat, keep = _pair(y, yhat)
    return float(np.abs(y - yhat)[keep].mean())


def rmse(y: ArrayLike, yhat: ArrayLike) -> float:
    """Root mean squared error over the observed points."""
    y, yhat, keep = _pair(y, yhat)
    return float(np.sqrt(((y - yhat)[keep] ** 2).mean()))


def smape(y: ArrayLike, yhat: ArrayLike) -> float:
    """Symmetric MAPE in percent (0..200); a point with y = yhat = 0 counts 0."""
    y, yhat, keep = _pair(y, yhat)
    num = 2.0 * np.abs(y - yhat)[keep]
    den = (np.abs(y) + np.abs(yhat))[keep]
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(100.0 * ratio.mean())


def seasonal_naive_scale(insample: ArrayLike, period: int = 1) -> float | np.ndarray:
    """MASE's scale: the mean absolute seasonal difference of the in-sample series.

    Args:
        insample: (T,) or (T, F); NaN (missing) differences are skipped.
        period: m, the season length (1: the naive one-step difference).

    Returns:
        a float for (T,), (F,) for (T, F).
    """
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"period: expected an int >= 1, got {period!r}")
    x = np.asarray(insample, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"insample: expected shape (T,) or (T, F), got {x.shape}")
    if len(x) <= period:
        raise ValueError(f"insample: expected more than period={period} values to scale MASE, got {len(x)}")
    d = np.abs(x[period:] - x[:-period])  # (T - m[, F])
    n = np.isfinite(d).sum(axis=0)
    if np.any(n == 0):
        raise ValueError("insample: no two observed values a period apart; cannot scale MASE")
    s = np.nansum(d, axis=0) / n
    return float(s) if x.ndim == 1 else s


def _scale_like(y: np.ndarray, keep: np.ndarray, scale: float | ArrayLike) -> np.ndarray:
    """``scale`` (a float, (N,) or (N, F)) broadcast to y's shape (N, h[, F]), checked positive."""
    s = np.asarray(scale, dtype=np.float64)
    if s.ndim >= 1 and y.ndim > s.ndim and s.shape[0] == y.shape[0]:
        # one scale per forecast (N,) or per forecast and series (N, F): (N, 1[, F])
        s = s.reshape((s.shape[0],) + (1,) * (y.ndim - s.ndim) + s.shape[1:])
    try:
        s = np.broadcast_to(s, y.shape)
    except ValueError:
        raise ValueError(
            f"scale: expected a float, (N,) or (N, F) for y of shape {y.shape}, got shape {np.shape(scale)}"
        ) from None
    if np.any(s[keep] <= 0) or not np.all(np.isfinite(s[keep])):
        raise ValueError(
            "scale: expected positive finite values (a constant in-sample series "
            "has no seasonal-naive error to scale by)"
        )
    return s


def mase(y: ArrayLike, yhat: ArrayLike, scale: float | ArrayLike) -> float:
    """Mean absolute scaled error; ``scale`` from :func:`seasonal_naive_scale`.

    ``scale`` is a float, (N,) (one per forecast), or (N, F) for (N, h, F) forecasts.
    """
    y, yhat, keep = _pair(y, yhat)
    s = _scale_like(y, keep, scale)
    return float((np.abs(y - yhat)[keep] / s[keep]).mean())


def nrmse(y: ArrayLike, yhat: ArrayLike, scale: float | ArrayLike) -> float:
    """RMSE of the errors each divided by its scale: a float, (N,) or (N, F) as for :func:`mase`."""
    y, yhat, keep = _pair(y, yhat)
    s = _scale_like(y, keep, scale)
    return float(np.sqrt((((y - yhat)[keep] / s[keep]) ** 2).mean()))


def spread_scale(y: ArrayLike, groups: ArrayLike) -> np.ndarray:
    """(N, F) scales of forecasts y (N, h, F): the standard deviation of the observed targets
    of each forecast's group (its series), per feature; 1 where that is 0 or unknown."""
    y = np.asarray(y, dtype=np.float64)
    g = np.asarray(groups)
    if y.ndim != 3 or g.shape != y.shape[:1]:
        raise ValueError(f"groups: expected one group per forecast {y.shape[:1]} of y (N, h, F), got {g.shape}")
    out = np.ones((len(y), y.shape[2]))
    for k in np.unique(g):
        part = y[g == k]
        n = np.isfinite(part).sum(axis=(0, 1))
        mean = np.nansum(part, axis=(0, 1)) / np.maximum(n, 1)  # (F,)
        sd = np.sqrt(np.nansum((part - mean) ** 2, axis=(0, 1)) / np.maximum(n, 1))
        out[g == k] = np.where((n > 0) & (sd > 0), sd, 1.0)
    return out


def coverage(y: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Percent of the observed points inside [lo, hi]."""
    y, lo, keep = _pair(y, lo)
    hi = np.asarray(hi, dtype=np.float64)
    if hi.shape != y.shape:
        raise ValueError(f"hi: expected the shape of y {y.shape}, got {hi.shape}")
    if np.any(hi < lo):
        raise ValueError("hi: expected hi >= lo everywhere, got a lower bound above its upper one")
    inside = (lo <= y) & (y <= hi)
    return float(100.0 * inside[keep].mean())


METRICS = {"mae": mae, "rmse": rmse, "smape": smape}


def by_step(metric: str | Callable[..., float], y: ArrayLike, *arrays: ArrayLike, **kwargs: Any) -> np.ndarray:
    """``metric`` per horizon step: (h,) from forecasts (N, h) or (N, h, F).

    ``metric`` is a name in ``METRICS``, ``"mase"`` (pass ``scale=``), ``"coverage"`` (pass
    ``lo`` and ``hi`` as the arrays) or any ``f(y, yhat, ...) -> float``. A step with no
    observed point gives NaN.
    """
    fns: dict[str, Callable[..., float]] = dict(METRICS, mase=mase, coverage=coverage)
    if isinstance(metric, str):
        if metric not in fns:
            raise ValueError(f"metric: expected one of {sorted(fns)} or a function, got {metric!r}")
        metric = fns[metric]
    y = np.asarray(y, dtype=np.float64)
    if y.ndim < 2:
        raise ValueError(f"y: expected forecasts of shape (N, h) or (N, h, F), got {y.shape}")
    scale = kwargs.pop("scale", None)
    out = np.full(y.shape[1], np.nan)
    for k in range(y.shape[1]):
        if not np.isfinite(y[:, k]).any():
            continue
        extra = {} if scale is None else {"scale": scale}
        out[k] = metric(y[:, k], *(np.asarray(a)[:, k] for a in arrays), **kwargs, **extra)
    return out
