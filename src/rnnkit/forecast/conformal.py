"""Split-conformal prediction intervals for any point forecaster, per horizon step.

Shape legend: n calibration forecasts, h horizon steps, F series.

The residuals r = y - yhat of past forecasts (from rolling origins, see
:func:`rnnkit.forecast.backtest.rolling_residuals`) calibrate the intervals of a new point
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

Example (what the Forecaster calls)::

    res = rolling_residuals(model, series, horizon=12, n_origins=60)    # (60, 12[, F])
    bands = conformal_intervals(res, model.predict(series, 12), levels=(80, 95))
    bands["lo_80"], bands["hi_80"]                                       # (12,) or (12, F)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["check_adapt", "check_levels", "conformal_intervals", "conformal_offsets", "min_residuals"]

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
