"""The forecasts a learned model must beat, with the Forecaster's fit/predict interface.

Shape legend: T history length, F series (columns, each forecast on its own), h horizon,
p autoregressive order, m season length.

Every baseline has ``fit(series) -> self`` and ``predict(history, horizon)`` returning
(h,) for a (T,) history, (h, F) for (T, F) and a list for a list, like
:class:`~rnnkit.forecast.Forecaster`, so :func:`rnnkit.forecast.backtest.backtest` treats them
alike. For a history x[0..T-1] and k = 1..h::

    NaiveForecaster           x^[T-1+k] = x[T-1]
    SeasonalNaiveForecaster   x^[T-1+k] = x[T-1+k - m * ceil(k / m)]     (last season again)
    DriftForecaster           x^[T-1+k] = x[T-1] + k (x[T-1] - x[0]) / (T - 1)
    ARForecaster              x[t] = c + a_1 x[t-1] + ... + a_p x[t-p] + e[t], fitted by
                              least squares, forecast recursively from the last p values

The first three read only the history given to ``predict`` (``fit`` only checks its input).
The AR model learns c and a from ``fit`` and applies them to any later history; with
``p=None`` the order is chosen by AIC = n log(RSS / n) + 2 (p + 1) over p = 0..max_p, every
order fitted on the same n rows so the criterion compares like with like. A list of series
given to ``fit`` is pooled into one regression (one AR model for all of them).

``naive_forecast`` and ``seasonal_naive_forecast`` are the first two as plain functions of
one history, for plots and quick checks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from ..models.base import check_int_param
from .inputs import as_series_list

__all__ = [
    "BASELINES",
    "Baseline",
    "ARForecaster",
    "DriftForecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "make_baseline",
    "naive_forecast",
    "seasonal_naive_forecast",
]


def _as_items(series: np.ndarray | Sequence[ArrayLike], name: str) -> tuple[list[np.ndarray], bool]:
    """(list of (T_i,) or (T_i, F) float64 arrays as given, was a single series). Each is
    checked by the Forecaster's parser (:func:`rnnkit.forecast.inputs.as_series_list`);
    anything that is not a list or tuple (an array, a pandas Series) is one series."""
    single = not isinstance(series, (list, tuple)) or (len(series) > 0 and np.isscalar(series[0]))
    items = [series] if single else list(series)
    if not items:
        raise ValueError(f"{name}: expected at least one series, got an empty list")
    out = []
    for i, s in enumerate(items):
        where = name if single else f"{name}[{i}]"
        a = s if isinstance(s, np.ndarray) else _as_array(s, where)
        (one,), was_1d, _ = as_series_list(a, where)
        out.append(one[:, 0] if was_1d else one)
    return out, single


def _as_array(s: object, where: str) -> np.ndarray:
    try:
        return np.asarray(s, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected numbers, got {type(s).__name__}") from None


def _horizon(horizon: int) -> int:
    return check_int_param("horizon", horizon)


class Baseline:
    """What the baselines share: input checks, one column at a time, list handling."""

    min_history = 1
    predicts_lists = True  # predict takes a list of histories (backtest batches them)

    def fit(self, series: np.ndarray | Sequence[ArrayLike], y: object = None) -> Self:
        """Check the series; the local baselines learn nothing. ``y`` is ignored."""
        items, _ = _as_items(series, "series")
        self._fit_items(items)
        self.fitted_ = True
        return self

    def _fit_items(self, items: list[np.ndarray]) -> None:
        pass

    def predict(self, history: np.ndarray | Sequence[ArrayLike], horizon: int = 1) -> np.ndarray | list[np.ndarray]:
        """Forecast ``horizon`` steps after ``history``: (h,), (h, F) or a list of them."""
        if not getattr(self, "fitted_", False):
            raise ValueError(f"{type(self).__name__}: call fit(series) before predict")
        h = _horizon(horizon)
        items, single = _as_items(history, "history")
        outs = []
        for a in items:
            if len(a) < self.min_history:
                raise ValueError(
                    f"history: {type(self).__name__} needs at least {self.min_history} values, got {len(a)}"
                )
            cols = a[:, None] if a.ndim == 1 else a
            pred = np.stack([self._forecast(cols[:, f], h, f) for f in range(cols.shape[1])], axis=1)
            outs.append(pred[:, 0] if a.ndim == 1 else pred)  # (h,) or (h, F)
        return outs[0] if single else outs

    def _forecast(self, x: np.ndarray, h: int, column: int) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and k != "min_history")
        return f"{type(self).__name__}({args})"


class NaiveForecaster(Baseline):
    """Repeat the last value."""

    def _forecast(self, x: np.ndarray, h: int, column: int) -> np.ndarray:
        return np.full(h, x[-1])


class SeasonalNaiveForecaster(Baseline):
    """Repeat the last season of ``period`` steps."""

    def __init__(self, period: int):
        self.period = check_int_param("period", period)
        self.min_history = self.period

    def _forecast(self, x: np.ndarray, h: int, column: int) -> np.ndarray:
        k = np.arange(1, h + 1)
        return x[len(x) - 1 + k - self.period * np.ceil(k / self.period).astype(int)]


class DriftForecaster(Baseline):
    """The straight line through the first and last values, continued."""

    min_history = 2

    def _forecast(self, x: np.ndarray, h: int, column: int) -> np.ndarray:
        slope = (x[-1] - x[0]) / (len(x) - 1)
        return x[-1] + slope * np.arange(1, h + 1)


class ARForecaster(Baseline):
    """Linear autoregression AR(p) with an intercept, by least squares.

    Args:
        p: the order; None chooses it by AIC over 0..max_p.
        max_p: the largest order tried (default: max(10 log10 T, period + 1), at most T / 3).
        period: the season length, only to make max_p reach a full season by default.

    Attributes after ``fit``: ``p_`` the order, ``coef_`` (F, p + 1) as [c, a_1, ..., a_p]
    per column, ``sigma2_`` (F,) the residual variance.
    """

    def __init__(self, p: int | None = None, *, max_p: int | None = None, period: int | None = None):
        self.p = check_int_param("p", p, 0, allow_none=True)
        self.max_p = check_int_param("max_p", max_p, 0, allow_none=True)
        self.period = check_int_param("period", period, allow_none=True)

    def _fit_items(self, items):
        F = {a.shape[1] if a.ndim == 2 else 1 for a in items}
        if len(F) > 1:
            raise ValueError(f"series: expected every series to have the same columns, got {sorted(F)}")
        cols = [a[:, None] if a.ndim == 1 else a for a in items]
        T = min(len(c) for c in cols)
        if self.p is not None:
            orders = [self.p]
        else:
            default = max(int(10 * math.log10(max(T, 1))), (self.period or 0) + 1)
            top = min(default if self.max_p is None else self.max_p, T // 3)
            orders = list(range(max(top, 0) + 1))
        need = orders[-1] + 2
        if need > T:
            raise ValueError(
                f"series: AR({orders[-1]}) needs at least {need} values per series, got {T}; hint: pass a smaller p"
            )
        F = cols[0].shape[1]
        self.coef_, self.sigma2_, chosen = [], [], []
        for f in range(F):
            xs = [c[:, f] for c in cols]
            p = orders[0] if len(orders) == 1 else self._aic_order(xs, orders)
            coef, rss, n = self._lstsq(xs, p, p)
            chosen.append(p)
            self.coef_.append(np.concatenate([coef, np.zeros(max(orders) - p)]))
            self.sigma2_.append(rss / max(n - p - 1, 1))
        # one order per column; coef_ is padded with zero lags so it stacks as (F, max p + 1)
        self.p_ = max(chosen)
        self.orders_ = chosen
        self.coef_ = np.stack(self.coef_)[:, : self.p_ + 1]
        self.sigma2_ = np.asarray(self.sigma2_)
        self.min_history = max(self.p_, 1)

    @staticmethod
    def _lstsq(xs: list[np.ndarray], p: int, skip: int) -> tuple[np.ndarray, float, int]:
        """Least squares of x[t] on [1, x[t-1], ..., x[t-p]] for t >= skip, pooled over xs."""
        rows, targets = [], []
        for x in xs:
            n = len(x) - skip
            if n <= 0:
                continue
            # (n, p): x[t-1..t-p]
            lags = sliding_window_view(x[:-1], p)[skip - p :][:, ::-1] if p else np.empty((n, 0))
            rows.append(np.hstack([np.ones((n, 1)), lags]))
            targets.append(x[skip:])
        A, b = np.concatenate(rows), np.concatenate(targets)  # (n, p + 1), (n,)
        coef = np.linalg.lstsq(A, b, rcond=None)[0]
        return coef, float(((A @ coef - b) ** 2).sum()), len(b)

    def _aic_order(self, xs: list[np.ndarray], orders: list[int]) -> int:
        skip = orders[-1]
        best, best_aic = orders[0], math.inf
        for p in orders:
            _, rss, n = self._lstsq(xs, p, skip)
            aic = n * math.log(max(rss, 1e-300) / n) + 2 * (p + 1)
            if aic < best_aic - 1e-12:
                best, best_aic = p, aic
        return best

    def _forecast(self, x: np.ndarray, h: int, column: int) -> np.ndarray:
        if column >= len(self.coef_):
            raise ValueError(f"history: expected {len(self.coef_)} columns (as in fit), got more")
        c, a = self.coef_[column, 0], self.coef_[column, 1:]  # (), (p,)
        p = len(a)
        buf = list(x[-p:]) if p else []
        out = np.empty(h)
        for k in range(h):
            out[k] = c + (np.dot(a, buf[::-1]) if p else 0.0)
            if p:
                buf = buf[1:] + [out[k]]
        return out

    def predict(self, history: np.ndarray | Sequence[ArrayLike], horizon: int = 1) -> np.ndarray | list[np.ndarray]:
        items, _ = _as_items(history, "history")
        F = {1 if a.ndim == 1 else a.shape[1] for a in items}
        if getattr(self, "fitted_", False) and {len(self.coef_)} != F:
            raise ValueError(f"history: expected {len(self.coef_)} column(s) (as in fit), got {sorted(F)}")
        return super().predict(history, horizon)


# -- the same two as plain functions of a history ------------------------------------------
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


BASELINES = {
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "drift": DriftForecaster,
    "ar": ARForecaster,
}


def make_baseline(name: str, period: int | None = None) -> Baseline:
    """A baseline by name (``naive``, ``seasonal_naive``, ``drift``, ``ar``)."""
    if name not in BASELINES:
        raise ValueError(f"baseline: expected one of {', '.join(BASELINES)}, got {name!r}")
    if name == "seasonal_naive":
        if period is None:
            raise ValueError("period: the seasonal_naive baseline needs the season length, got None")
        return SeasonalNaiveForecaster(period)
    if name == "ar":
        return ARForecaster(period=period)
    return BASELINES[name]()
