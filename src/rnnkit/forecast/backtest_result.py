"""What a backtest produced, and its scores: per series and pooled, by horizon step, as a
table or CSV; and the online conformal bands calibrated on earlier origins.

Shape legend: N forecasts (origins of every series, in order), h horizon, F features.

Every score comes from :mod:`rnnkit.forecast.metrics`. The scores of one series average
over its origins, steps and features; the pooled scores average over every forecast of
every series alike, so MASE (each origin's errors scaled by its own series' history) and
sMAPE pool series of any size; MAE and RMSE pool in the series' own units. A model with a
forecast that is not finite (it overflowed) scores NaN, and so does MASE where a history
never changes (no seasonal-naive error to scale by).

Intervals are split-conformal (:mod:`rnnkit.forecast.conformal`), computed online within
each series: the band at origin t_i, step k, is calibrated on the step-k residuals of the
same series' earlier origins whose target was already observed at t_i (t_j + k < t_i),
optionally only the latest ``calibration_window`` of them. Points with too few such
residuals get no band and are left out of the coverage.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ..models.base import check_int_param
from . import metrics as fm
from .conformal import check_adapt, check_levels, conformal_offsets, min_residuals

__all__ = ["BacktestResult", "online_conformal"]


@dataclasses.dataclass
class BacktestResult:
    """Everything a backtest produced; :meth:`metrics`, :meth:`per_series` and
    :meth:`by_step` summarize it, :meth:`pooled_mase` is the one number to rank models by.

    Attributes:
        origins: (N,) the origin t of each forecast, in its own series' steps.
        truth: (N, h, F) x[t : t + h], NaN where missing.
        forecasts: {name: (N, h, F)} point forecasts.
        intervals: {name: {level: (lo, hi)}}, each (N, h, F), NaN where not calibrated.
        scales: (N, F) MASE scale of each origin's history.
        period: the season length used by MASE and seasonal naive (1: none).
        univariate: the series were 1-D.
        fit_origins: the origins where the models were (re)fitted (of the first series
            with an origin in that round).
        columns: the names of the F features.
        series: (N,) which series each forecast belongs to (an index into ``ids``).
        ids: the series' names.
        skipped: the series too short for a single origin (left out).
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
    series: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ids: list = dataclasses.field(default_factory=lambda: ["y"])
    skipped: list = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.series) != len(self.origins):  # one series: every forecast is its
            self.series = np.zeros(len(self.origins), dtype=np.int64)

    @property
    def horizon(self) -> int:
        return self.truth.shape[1]

    @property
    def n_series(self) -> int:
        """How many series were scored (the skipped ones not counted)."""
        return len(np.unique(self.series))

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
        (see :func:`rnnkit.forecast.backtest.backtest` for the arguments)."""
        lv, calibration_window, adapt = check_calibration(
            levels, interval_method, calibration_window, adapt, self._most_origins()
        )
        intervals = (
            {
                name: self._conformal(fc, lv, interval_method, calibration_window, adapt)
                for name, fc in self.forecasts.items()
            }
            if lv
            else {}
        )
        return dataclasses.replace(self, intervals=intervals)

    def _most_origins(self) -> int:
        return int(np.bincount(self.series).max()) if len(self.origins) else 0

    def _conformal(
        self, pred: np.ndarray, levels: Sequence[float], method: str, cal_window: int | None, adapt: float | None
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """:func:`online_conformal` within each series (its own earlier residuals only)."""
        out = {v: (np.full_like(pred, np.nan), np.full_like(pred, np.nan)) for v in levels}
        for s in np.unique(self.series):
            rows = np.flatnonzero(self.series == s)
            bands = online_conformal(
                self.truth[rows], pred[rows], self.origins[rows], levels, method, cal_window, adapt
            )
            for v, (lo, hi) in bands.items():
                out[v][0][rows], out[v][1][rows] = lo, hi
        return out

    def n_calibrated(self, name: str, level: float) -> int:
        lo, _ = self.intervals[name][level]
        return int((np.isfinite(lo) & np.isfinite(self.truth)).sum())

    def _select(self, column: int | str | None, series: int | str | None) -> tuple[np.ndarray, slice]:
        """(rows, feature slice) of one series and/or one feature (None: all)."""
        rows = np.arange(len(self.origins))
        if series is not None:
            if isinstance(series, str):
                if series not in self.ids:
                    raise ValueError(f"series: expected one of {self.ids}, got {series!r}")
                series = self.ids.index(series)
            rows = np.flatnonzero(self.series == series)
            if not len(rows):
                raise ValueError(f"series: {self.ids[series]!r} has no origin (too short); it was skipped")
        if column is None:
            return rows, slice(None)
        if isinstance(column, str):
            if column not in self.columns:
                raise ValueError(f"column: expected one of {self.columns}, got {column!r}")
            column = self.columns.index(column)
        return rows, slice(column, column + 1)

    def metrics(
        self, column: int | str | None = None, *, series: int | str | None = None
    ) -> dict[str, dict[str, float]]:
        """{name: {"mae", "rmse", "smape", "mase", "coverage_80", ...}}: pooled over every
        series, origin, step and feature, or of one series (by index or id) and/or one
        feature (by index or name)."""
        rows, sel, y, scale, scaled = self._scored(column, series)
        out = {}
        for name, fc in self.forecasts.items():
            yhat = fc[rows][..., sel]
            if not np.all(np.isfinite(yhat)):  # a model that overflowed has no score (NaN), not an error
                out[name] = dict.fromkeys(self._metric_keys(name), math.nan)
                continue
            row = {k: f(y, yhat) for k, f in fm.METRICS.items()}
            row["mase"] = fm.mase(y, yhat, scale) if scaled else math.nan
            for level, lo, hi in self._bands(name, rows, sel):
                ok = np.isfinite(lo) & np.isfinite(y)
                row[f"coverage_{level:g}"] = fm.coverage(y[ok], lo[ok], hi[ok]) if ok.any() else math.nan
            out[name] = row
        return out

    def _scored(
        self, column: int | str | None, series: int | str | None
    ) -> tuple[np.ndarray, slice, np.ndarray, np.ndarray, bool]:
        """What :meth:`metrics` and :meth:`by_step` score: the rows and feature slice of
        :meth:`_select`, their truth (n, h, f) and MASE scales (n, f), and whether MASE is
        defined (every scale positive)."""
        rows, sel = self._select(column, series)
        scale = self.scales[rows][:, sel]
        scaled = bool(np.all(scale > 0))  # a history that never changes leaves MASE undefined
        return rows, sel, self.truth[rows][..., sel], scale, scaled

    def _bands(self, name: str, rows: np.ndarray, sel: slice) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """(level, lower, upper) of model ``name``'s intervals, on the chosen rows and features."""
        return [
            (level, lo[rows][..., sel], hi[rows][..., sel]) for level, (lo, hi) in self.intervals.get(name, {}).items()
        ]

    def _metric_keys(self, name: str) -> list[str]:
        """The keys of model ``name``'s scores: the point metrics, MASE and its coverages."""
        return [*fm.METRICS, "mase", *(f"coverage_{level:g}" for level in self.intervals.get(name, {}))]

    def per_series(self, column: int | str | None = None) -> dict[str, dict[str, dict[str, float]]]:
        """{series id: {name: {metric: value}}}: :meth:`metrics` of each scored series."""
        return {self.ids[s]: self.metrics(column, series=int(s)) for s in np.unique(self.series)}

    def pooled_mase(self, name: str = "model") -> float:
        """The pooled MASE of model ``name``: the mean over every forecast step of every
        origin of every series (and feature) of |error| / that origin's seasonal-naive scale
        (the series' own in-sample error, so series of any size count alike). Lower is
        better; below 1 beats the in-sample (seasonal) naive forecast. ``name`` is a key of
        ``forecasts`` ("model" for a single model given to ``backtest``)."""
        if name not in self.forecasts:
            raise ValueError(f"name: expected one of {list(self.forecasts)}, got {name!r}")
        return self.metrics()[name]["mase"]

    def by_step(
        self, column: int | str | None = None, *, series: int | str | None = None
    ) -> dict[str, dict[str, np.ndarray]]:
        """{name: {"mae": (h,), "rmse": (h,), "smape": (h,), "mase": (h,), "coverage_80": (h,), ...}}."""
        rows, sel, y, scale, scaled = self._scored(column, series)
        out = {}
        for name, fc in self.forecasts.items():
            yhat = fc[rows][..., sel]
            if not np.all(np.isfinite(yhat)):
                out[name] = {k: np.full(self.horizon, np.nan) for k in self._metric_keys(name)}
                continue
            row = {k: fm.by_step(k, y, yhat) for k in fm.METRICS}
            row["mase"] = fm.by_step("mase", y, yhat, scale=scale) if scaled else np.full(self.horizon, np.nan)
            for level, lo, hi in self._bands(name, rows, sel):
                cov = np.full(self.horizon, np.nan)
                for k in range(self.horizon):
                    ok = np.isfinite(lo[:, k]) & np.isfinite(y[:, k])
                    if ok.any():
                        cov[k] = fm.coverage(y[:, k][ok], lo[:, k][ok], hi[:, k][ok])
                row[f"coverage_{level:g}"] = cov
            out[name] = row
        return out

    def table(self, column: int | str | None = None, *, series: int | str | None = None) -> str:
        """A plain-text table: one row per model, MAE RMSE sMAPE MASE and coverages."""
        m = self.metrics(column, series=series)
        keys = list(next(iter(m.values())).keys())
        width = max(len(n) for n in m) + 2
        lines = ["model".ljust(width) + "".join(_head(k).rjust(10) for k in keys)]
        for name, row in m.items():
            lines.append(name.ljust(width) + "".join(_fmt(row[k]).rjust(10) for k in keys))
        return "\n".join(lines)

    def series_table(self, column: int | str | None = None) -> str:
        """A plain-text table of MASE, sMAPE, RMSE and coverages: one row per series and
        model, then the pooled rows ("all")."""
        per = self.per_series(column)
        per["all"] = self.metrics(column)
        first = next(iter(per["all"].values()))
        keys = ["mase", "smape", "rmse"] + [k for k in first if k.startswith("coverage_")]
        sw = max(len(s) for s in [*per, "series"]) + 2
        mw = max(len(n) for n in [*self.forecasts, "model"]) + 2
        lines = ["series".ljust(sw) + "model".ljust(mw) + "".join(_head(k).rjust(10) for k in keys)]
        for sid, models in per.items():
            for name, row in models.items():
                lines.append(sid.ljust(sw) + name.ljust(mw) + "".join(_fmt(row[k]).rjust(10) for k in keys))
        return "\n".join(lines)

    def to_csv(self) -> str:
        """series,model,step,<metric>...: every series (and "all", pooled, when there are
        several), model and horizon step ("all": every step)."""
        scored = [self.ids[s] for s in np.unique(self.series)]
        groups: list[tuple[str, int | str | None]] = [(sid, sid) for sid in scored]
        if len(scored) > 1:
            groups.append(("all", None))
        keys = list(next(iter(self.metrics().values())).keys())
        rows = ["series,model,step," + ",".join(keys)]
        for label, which in groups:
            overall, steps = self.metrics(series=which), self.by_step(series=which)
            for name in self.forecasts:
                rows.append(
                    f"{_csv_text(label)},{_csv_text(name)},all,"
                    + ",".join(_fmt(overall[name][k], csv=True) for k in keys)
                )
                for k in range(self.horizon):
                    rows.append(
                        f"{_csv_text(label)},{_csv_text(name)},{k + 1},"
                        + ",".join(_fmt(steps[name][key][k], csv=True) for key in keys)
                    )
        return "\n".join(rows) + "\n"


def _head(key: str) -> str:
    heads = {"mae": "MAE", "rmse": "RMSE", "smape": "sMAPE%", "mase": "MASE"}
    return heads.get(key, key.replace("coverage_", "cover") + "%")


def _csv_text(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def _fmt(v: float | None, csv: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "" if csv else "-"
    return f"{v:.6g}" if csv else f"{v:.4g}"


def check_calibration(
    levels: float | Sequence[float], method: str, cal_window: int | None, adapt: float | None, n_origins: int
) -> tuple[tuple[float, ...], int | None, float | None]:
    """(levels, calibration_window, adapt), checked; ``n_origins`` the most origins of a series."""
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
