"""The two baselines every forecast is printed beside: naive and seasonal naive.

``naive`` repeats the last value, x^[T + k] = x[T - 1]; ``seasonal_naive`` repeats the
last season, x^[T + k] = x[T + k - m * (floor(k / m) + 1)] for period m.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..models.base import check_int_param


def naive_forecast(history: ArrayLike, horizon: int) -> np.ndarray:
    """Repeat the last value: (T,) or (T, F) -> (horizon,) or (horizon, F)."""
    h = check_int_param("horizon", horizon)
    a = np.asarray(history, dtype=np.float64)
    if a.ndim not in (1, 2) or len(a) == 0:
        raise ValueError(f"history: expected a non-empty (T,) or (T, F) array, got shape {a.shape}")
    return np.repeat(a[-1:], h, axis=0)


def seasonal_naive_forecast(history: ArrayLike, horizon: int, period: int) -> np.ndarray:
    """Repeat the last full season of ``period`` steps (needs T >= period)."""
    h, m = check_int_param("horizon", horizon), check_int_param("period", period)
    a = np.asarray(history, dtype=np.float64)
    if a.ndim not in (1, 2) or len(a) < m:
        raise ValueError(f"history: expected at least period={m} values, got shape {a.shape}")
    k = np.arange(h)
    return a[len(a) + k - m * (k // m + 1)]
