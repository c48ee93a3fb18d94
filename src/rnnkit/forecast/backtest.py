"""Rolling-origin evaluation of forecasters, baselines side by side, with conformal intervals.

Shape legend: T series length, F series (columns), N origins, h horizon, L window length.

An origin t splits the series into the history x[:t] and the targets x[t : t + h]. Origins
run every ``step`` steps up to the last one with a full horizon, t_N = T - h::

    fit  --------------|                          model fitted on x[:t_1] (expanding)
                       t_1  predict x[t_1 : t_1 + h] from x[:t_1]       or on x[t_1 - L : t_1]
    ...                     t_2 ...                                      (sliding)
    refit every k origins (k = 0: fit once at the first origin); between refits the fitted
    model only reads the newer history.

No forecast sees a value at or after its origin: models are fitted and fed only x[:t] (or
its last L values), missing values in it are filled from that history alone (linear between
observed values, the last one carried forward), and the MASE scale of each origin is the
seasonal-naive error of the same history. Missing targets are left out of the errors.

Intervals are split-conformal (:mod:`rnnkit.forecast.conformal`), computed online: the band
at origin t_i, step k, is calibrated on the step-k residuals of the earlier origins whose
target was already observed at t_i (t_j + k <= t_i), optionally only the latest
``calibration_window`` of them. Points with too few such residuals get no band and are left
out of the coverage (``BacktestResult.n_calibrated`` counts the rest).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from ..models.base import check_int_param
from . import metrics as fm
from .baselines import make_baseline
from .conformal import check_adapt, check_levels, conformal_offsets, min_residuals

#: What :func:`backtest` evaluates: an object with ``fit(series)`` and ``predict(history, horizon)``
#: (a Forecaster, a baseline, any duck-typed model), or a factory returning one.
ModelLike: TypeAlias = Any

__all__ = ["BacktestResult", "backtest", "fill_history", "online_conformal", "rolling_origins", "rolling_residuals"]

WINDOWS = ("expanding", "sliding")


def rolling_origins(
    T: int, horizon: int, *, n_origins: int | None = None, initial: int | None = None, step: int = 1
) -> np.ndarray:
    """Origins t (history x[:t], targets x[t:t+h]) ending at T - horizon, every ``step``.

    Either the last ``n_origins`` such origins, or every one from ``initial`` on (default:
    from T // 2).
    """
    h = check_int_param("horizon", horizon)
    step = check_int_param("step", step)
    if h >= T:
        raise ValueError(
            f"horizon: expected fewer steps than the series' {T} values, got {h}; "
            "hint: a shorter horizon or a longer series"
        )
    last = T - h
    if n_origins is not None:
        n = check_int_param("n_origins", n_origins)
        first = last - step * (n - 1)
        if first < 1:
            room = (last - 1) // step + 1
            raise ValueError(
                f"n_origins: a series of {T} values has room for {room} origin(s) with "
                f"horizon {h} and step {step}, got {n}; hint: fewer origins, a smaller "
                "step or horizon"
            )
        return np.arange(first, last + 1, step)
    first = T // 2 if initial is None else check_int_param("initial", initial)
    if first > last:
        raise ValueError(
            f"initial: expected a first origin <= T - horizon = {last}, got {first}; hint: a smaller initial or horizon"
        )
    return np.arange(first, last + 1, step)


def fill_history(x: np.ndarray) -> np.ndarray:
    """NaN filled from the history alone: linear between observed values, ends carried."""
    x = np.array(x, dtype=np.float64)
    cols = x[:, None] if x.ndim == 1 else x
    idx = np.arange(len(cols))
    for f in range(cols.shape[1]):
        ok = np.isfinite(cols[:, f])
        if ok.all():
            continue
        if not ok.any():
            raise ValueError(f"series: column {f} has no observed value before the origin")
        cols[:, f] = np.interp(idx, idx[ok], cols[ok, f])  # flat beyond the first/last observed
    return x


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


def _fit(model: ModelLike, data: np.ndarray, name: str) -> Any:
    """Fit (or build from a factory and fit); returns the fitted model."""
    if not hasattr(model, "fit") and callable(model):
        model = model()
    fitted = model.fit(data)
    return model if fitted is None else fitted


def _predict(model: Any, history: np.ndarray, h: int, name: str) -> Any:
    """``predict(history, horizon=h)``, or positionally for a predict without that keyword."""
    try:
        takes_keyword = "horizon" in inspect.signature(model.predict).parameters
    except (TypeError, ValueError):  # a builtin or C-level callable: no signature to read
        takes_keyword = False
    return model.predict(history, horizon=h) if takes_keyword else model.predict(history, h)


@dataclasses.dataclass
class BacktestResult:
    """Everything a backtest produced; :meth:`metrics` and :meth:`by_step` summarize it.

    Attributes:
        origins: (N,) the origins t.
        truth: (N, h, F) x[t : t + h], NaN where missing.
        forecasts: {name: (N, h, F)} point forecasts.
        intervals: {name: {level: (lo, hi)}}, each (N, h, F), NaN where not calibrated.
        scales: (N, F) MASE scale of each origin's history.
        period: the season length used by MASE and seasonal naive (1: none).
        univariate: the series was 1-D.
        fit_origins: the origins where the models were (re)fitted.
    """

    origins: np.ndarray
    truth: np.ndarray
    forecasts: dict
    intervals: dict
    scales: np.ndarray
    period: int
    univariate: bool
    fit_origins: np.ndarray
    columns: list

    @property
    def horizon(self) -> int:
        return self.truth.shape[1]

    def residuals(self, name: str) -> np.ndarray:
        """y - yhat, (N, h) for a 1-D series, else (N, h, F)."""
        r = self.truth - self.forecasts[name]
        return r[..., 0] if self.univariate else r

    def recalibrate(
        self,
        levels: float | Sequence[float] = (80, 95),
        *,
        interval_method: str = "absolute",
        calibration_window: int | None = None,
        adapt: float | None = None,
    ) -> BacktestResult:
        """The same forecasts with intervals calibrated anew (no model is refitted): to
        compare split conformal with a calibration window or adaptive conformal inference
        (see :func:`backtest` for the arguments)."""
        lv, calibration_window, adapt = _check_calibration(
            levels, interval_method, calibration_window, adapt, len(self.origins)
        )
        intervals = (
            {
                name: online_conformal(self.truth, fc, self.origins, lv, interval_method, calibration_window, adapt)
                for name, fc in self.forecasts.items()
            }
            if lv
            else {}
        )
        return dataclasses.replace(self, intervals=intervals)

    def n_calibrated(self, name: str, level: float) -> int:
        lo, _ = self.intervals[name][level]
        return int((np.isfinite(lo) & np.isfinite(self.truth)).sum())

    def _select(self, column: int | str | None) -> int | slice:
        if column is None:
            return slice(None)
        if isinstance(column, str):
            if column not in self.columns:
                raise ValueError(f"column: expected one of {self.columns}, got {column!r}")
            column = self.columns.index(column)
        return slice(column, column + 1)

    def metrics(self, column: int | str | None = None) -> dict[str, dict[str, float]]:
        """{name: {"mae", "rmse", "smape", "mase", "coverage_80", ...}}, over all columns
        (or one column, by index or name)."""
        sel = self._select(column)
        y = self.truth[..., sel]
        out = {}
        for name, fc in self.forecasts.items():
            yhat = fc[..., sel]
            row = {k: f(y, yhat) for k, f in fm.METRICS.items()}
            row["mase"] = fm.mase(y, yhat, self.scales[:, sel])
            for level, (lo, hi) in self.intervals.get(name, {}).items():
                lo, hi = lo[..., sel], hi[..., sel]
                ok = np.isfinite(lo) & np.isfinite(y)
                row[f"coverage_{level:g}"] = float(100.0 * ((lo <= y) & (y <= hi))[ok].mean()) if ok.any() else math.nan
            out[name] = row
        return out

    def by_step(self, column: int | str | None = None) -> dict[str, dict[str, np.ndarray]]:
        """{name: {"mae": (h,), "rmse": (h,), "mase": (h,), "coverage_80": (h,), ...}}."""
        sel = self._select(column)
        y = self.truth[..., sel]
        out = {}
        for name, fc in self.forecasts.items():
            yhat = fc[..., sel]
            row = {k: fm.by_step(k, y, yhat) for k in ("mae", "rmse", "smape")}
            row["mase"] = fm.by_step("mase", y, yhat, scale=self.scales[:, sel])
            for level, (lo, hi) in self.intervals.get(name, {}).items():
                lo, hi = lo[..., sel], hi[..., sel]
                inside = ((lo <= y) & (y <= hi)).astype(float)
                ok = np.isfinite(lo) & np.isfinite(y)
                inside[~ok] = np.nan
                with np.errstate(invalid="ignore"):
                    cnt = ok.sum(axis=(0, 2))
                    row[f"coverage_{level:g}"] = np.where(
                        cnt > 0, 100.0 * np.nansum(inside, axis=(0, 2)) / np.maximum(cnt, 1), np.nan
                    )
            out[name] = row
        return out

    def table(self, column: int | str | None = None) -> str:
        """A plain-text table: one row per model, MAE RMSE sMAPE MASE and coverages."""
        m = self.metrics(column)
        keys = list(next(iter(m.values())).keys())
        heads = {"mae": "MAE", "rmse": "RMSE", "smape": "sMAPE%", "mase": "MASE"}
        names = [heads.get(k, k.replace("coverage_", "cover") + "%") for k in keys]
        width = max(len(n) for n in m) + 2
        lines = ["model".ljust(width) + "".join(n.rjust(10) for n in names)]
        for name, row in m.items():
            lines.append(name.ljust(width) + "".join(_fmt(row[k]).rjust(10) for k in keys))
        return "\n".join(lines)

    def to_csv(self) -> str:
        """model,step,<metric>... for every model and horizon step (step 0: all steps)."""
        overall, steps = self.metrics(), self.by_step()
        keys = list(next(iter(overall.values())).keys())
        rows = ["model,step," + ",".join(keys)]
        for name in self.forecasts:
            rows.append(f"{name},all," + ",".join(_fmt(overall[name][k], csv=True) for k in keys))
            for k in range(self.horizon):
                rows.append(f"{name},{k + 1}," + ",".join(_fmt(steps[name][key][k], csv=True) for key in keys))
        return "\n".join(rows) + "\n"


def _fmt(v: float | None, csv: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "" if csv else "-"
    return f"{v:.6g}" if csv else f"{v:.4g}"


def _check_series(series: ArrayLike, missing: str) -> np.ndarray:
    if hasattr(series, "to_numpy"):
        series = series.to_numpy()
    try:
        x = np.asarray(series, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"series: expected numbers (T,) or (T, F), got {type(series).__name__}") from None
    if x.ndim not in (1, 2) or len(x) < 2:
        raise ValueError(f"series: expected an array (T,) or (T, F) with T >= 2, got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError("series: contains inf")
    gaps = np.flatnonzero(np.isnan(x).any(axis=1) if x.ndim == 2 else np.isnan(x))
    if len(gaps) and missing == "error":
        raise ValueError(
            f"series: value missing at index {gaps[0]} ({len(gaps)} missing in all); "
            "hint: missing='interpolate' fills each history from its own past"
        )
    return x


def backtest(
    models: ModelLike | dict[str, ModelLike],
    series: ArrayLike,
    horizon: int,
    *,
    n_origins: int | None = None,
    initial: int | None = None,
    step: int = 1,
    refit_every: int = 1,
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
    progress: Callable[[int, int], object] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of ``models`` and baselines on one (multivariate) series.

    Args:
        models: a fitted-or-not model with ``fit(series)`` and ``predict(history, horizon)``
            (a Forecaster, a baseline), a factory returning one, or a dict of them by name.
        series: (T,) or (T, F); pandas Series/DataFrame are read as their values.
        horizon: steps forecast at each origin.
        n_origins: use the last ``n_origins`` origins (:func:`rolling_origins`).
        initial: or every origin from ``initial`` on (default: from T // 2).
        step: steps between two origins.
        refit_every: refit every k origins (1: at every origin; 0: once, at the first).
        window: "expanding" (fit on all of x[:t]) or "sliding" (its last ``window_length``).
        period: the season length: adds seasonal naive and scales MASE by it (None: 1).
        baselines: names from :data:`rnnkit.forecast.baselines.BASELINES` to add
            (seasonal_naive only with a period).
        levels: conformal interval levels in percent (empty: none).
        calibration_window: calibrate each band on at most this many latest residuals.
        adapt: gamma of adaptive conformal inference (e.g. 0.05; None: off): each band's
            level moves with the misses of the earlier bands (see :func:`online_conformal`).
        missing: "error" on NaN in the series, or "interpolate" (see the module docstring).
        columns: names of the F series, for tables.
        progress: ``f(i, N)`` called after each origin.

    Returns:
        a :class:`BacktestResult`.
    """
    if missing not in ("error", "interpolate"):
        raise ValueError(f"missing: expected 'error' or 'interpolate', got {missing!r}")
    if window not in WINDOWS:
        raise ValueError(f"window: expected one of {', '.join(WINDOWS)}, got {window!r}")
    x = _check_series(series, missing)
    univariate = x.ndim == 1
    x2 = x[:, None] if univariate else x  # (T, F)
    T, F = x2.shape
    h = check_int_param("horizon", horizon)
    origins = rolling_origins(T, h, n_origins=n_origins, initial=initial, step=step)
    refit_every = check_int_param("refit_every", refit_every, 0)
    m = check_int_param("period", period, allow_none=True) or 1
    if window == "sliding":
        if window_length is None:
            raise ValueError("window_length: the sliding window needs a length, got None")
        L = check_int_param("window_length", window_length, 2)
    lv, calibration_window, adapt = _check_calibration(levels, interval_method, calibration_window, adapt, len(origins))
    named = dict(models) if isinstance(models, dict) else {"model": models}
    for b in baselines:
        if b == "seasonal_naive" and m == 1:
            continue
        if b not in named:
            named[b] = make_baseline(b, period=m if m > 1 else None)
    if columns is None:
        columns = [str(c) for c in getattr(series, "columns", range(F))] if F > 1 else ["y"]

    truth = np.stack([x2[t : t + h] for t in origins])  # (N, h, F)
    fc = {name: np.empty((len(origins), h, F)) for name in named}
    scales = np.empty((len(origins), F))
    fitted, fit_origins = {}, []
    for i, t in enumerate(origins):
        lo_t = t - L if window == "sliding" else 0
        hist_raw = x2[max(lo_t, 0) : t]
        hist = fill_history(hist_raw) if missing == "interpolate" else hist_raw
        scales[i] = fm.seasonal_naive_scale(hist_raw, m if len(hist_raw) > m else 1)
        data = hist[:, 0] if univariate else hist
        refit = i == 0 or (refit_every > 0 and i % refit_every == 0)
        if refit:
            fit_origins.append(int(t))
        for name, model in named.items():
            try:
                if refit:
                    fitted[name] = _fit(model, data, name)
                fc[name][i] = _as_point(_predict(fitted[name], data, h, name), h, F, name)
            except (ValueError, TypeError) as exc:
                raise type(exc)(
                    f"model {name!r} at origin {t} (history of {len(data)} values): {' '.join(str(exc).split())}"
                ) from None
        if progress is not None:
            progress(i + 1, len(origins))
    if np.any(~np.isfinite(scales) | (scales <= 0)):
        raise ValueError("series: a history with no change at all (MASE scale 0); cannot score it")
    intervals = (
        {
            name: online_conformal(truth, fc[name], origins, lv, interval_method, calibration_window, adapt)
            for name in named
        }
        if lv
        else {}
    )
    return BacktestResult(origins, truth, fc, intervals, scales, m, univariate, np.asarray(fit_origins), list(columns))


def _check_calibration(
    levels: float | Sequence[float], method: str, cal_window: int | None, adapt: float | None, n_origins: int
) -> tuple[tuple[float, ...], int | None, float | None]:
    """(levels, calibration_window, adapt), checked."""
    lv = check_levels(levels) if levels else ()
    if lv and n_origins <= max(min_residuals(v, method) for v in lv):
        need = max(min_residuals(v, method) for v in lv)
        raise ValueError(
            f"levels: {max(lv):g}% intervals need more than {need} origins to calibrate "
            f"on, got {n_origins}; hint: more origins (n_origins, step) or levels=()"
        )
    if cal_window is not None:
        cal_window = check_int_param("calibration_window", cal_window)
    return lv, cal_window, check_adapt(adapt)


def online_conformal(
    truth: np.ndarray,
    pred: np.ndarray,
    origins: np.ndarray,
    levels: Sequence[float],
    method: str,
    cal_window: int | None,
    adapt: float | None = None,
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """{level: (lo, hi)} (N, h, F): bands from earlier origins' observed residuals only.

    truth, pred (N, h, F) at the increasing ``origins`` (N,) (truth NaN where unknown);
    ``method`` "absolute" or "signed"; ``cal_window`` the latest residuals to use (None:
    all). The band at origin t_i, step k, is calibrated on the step-k residuals of origins
    t_j with t_j + k + 1 <= t_i.

    With ``adapt`` = gamma > 0 each band's level follows adaptive conformal inference
    (Gibbs and Candes 2021): alpha_i = alpha + gamma * sum_j (alpha - miss_j) over the
    earlier bands j of the same step whose targets were observed by origin i, miss_j = 1
    when the truth fell outside band j. Too many misses lower alpha_i (wider bands), too
    few raise it, so the long-run miss rate approaches alpha even when the errors' size
    drifts. alpha_i <= 1 / (n + 1) takes the widest finite band (the largest residual),
    alpha_i >= 1 a band of width 0.
    """
    N, h, F = truth.shape
    res = truth - pred  # (N, h, F)
    out = {v: (np.full_like(pred, np.nan), np.full_like(pred, np.nan)) for v in levels}
    for k in range(h):
        for f in range(F):
            for v in levels:
                lo, hi = out[v]
                alpha = 1.0 - v / 100.0
                for i in range(N):
                    # earlier origins whose step-k target x[t_j + k] (0-based k) was seen by t_i
                    seen = np.flatnonzero(origins + k + 1 <= origins[i])
                    usable = seen if cal_window is None else seen[-cal_window:]
                    if len(usable) == 0:
                        continue
                    r = res[usable, k, f]
                    level = v
                    if adapt:
                        ok = np.isfinite(lo[seen, k, f]) & np.isfinite(truth[seen, k, f])
                        y = truth[seen, k, f][ok]
                        miss = (y < lo[seen, k, f][ok]) | (y > hi[seen, k, f][ok])
                        a_i = alpha + adapt * float(np.sum(alpha - miss))
                        level = 100.0 * min(max(1.0 - a_i, 0.0), 1.0)
                    a, b = _band(r, level, v, method)
                    if not math.isnan(a):
                        lo[i, k, f], hi[i, k, f] = pred[i, k, f] + a, pred[i, k, f] + b
    return out


def _band(r: np.ndarray, level: float, nominal: float, method: str) -> tuple[float, float]:
    """conformal_offsets at ``level`` (0-100, adjusted); when that needs more residuals
    than there are, the widest finite band, as long as ``nominal`` has enough."""
    r = r[np.isfinite(r)]
    if len(r) < min_residuals(nominal, method):
        return math.nan, math.nan
    if level <= 0.0:
        return 0.0, 0.0
    a, b = conformal_offsets(r, level, method) if level < 100.0 else (math.nan, math.nan)
    if math.isnan(a):
        q = float(np.max(np.abs(r)))
        return (-q, q) if method == "absolute" else (min(float(r.min()), 0.0), max(float(r.max()), 0.0))
    return a, b


def rolling_residuals(model: ModelLike, series: ArrayLike, horizon: int, **kwargs: Any) -> np.ndarray:
    """y - yhat of ``model`` on rolling origins: (N, h) for a 1-D series, else (N, h, F).

    The calibration set for :func:`rnnkit.forecast.conformal.conformal_intervals`. Keyword
    arguments are those of :func:`backtest` (``n_origins``, ``refit_every``, ``window``...);
    no baselines or intervals are computed.
    """
    kwargs = dict(kwargs, baselines=(), levels=())
    return backtest({"model": model}, series, horizon, **kwargs).residuals("model")
