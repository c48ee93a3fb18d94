"""Rolling origins, and what a forecast at an origin may read.

Shape legend: T series length, F features, h horizon, L window length.

An origin t splits a series into the history x[:t] and the targets x[t : t + h]; origins
run every ``step`` steps up to the last one with a full horizon, t_N = T - h
(:func:`rolling_origins`). What a model fitted or forecasting at t reads (:func:`cut`):

    history             x[lo : t], lo = 0 (expanding) or t - L (sliding); missing values
                        filled from it alone (:func:`fill_history`)
    past covariates     rows lo .. t - 1: never past the origin
    future covariates   rows lo .. t + D - 1, D the forecast steps (whole direct blocks)
    static covariates   the series' row
    dates               lo .. t - 1

Several series (a list of any lengths, or a long pandas frame; :func:`read_series`) each get
their own origins (:func:`series_origins`); a series too short for one is given none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..models.base import check_int_param
from .covariates import as_covariate_list
from .inputs import SeriesLike, from_pandas

__all__ = [
    "Series",
    "cut",
    "default_ids",
    "fill_history",
    "gather",
    "has_covariates",
    "read_series",
    "rolling_origins",
    "series_origins",
]


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


@dataclasses.dataclass
class Series:
    """One series of a backtest and what goes with it (None where absent)."""

    x: np.ndarray  # (T, F), NaN where missing
    past: np.ndarray | None  # (>= T, P)
    future: np.ndarray | None  # (>= T, K), may run past the last value
    static: np.ndarray | None  # (S,)
    dates: np.ndarray | None  # (T,) datetime64


def _check_series(series: ArrayLike, missing: str, where: str) -> np.ndarray:
    try:
        x = np.asarray(series, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected numbers (T,) or (T, F), got {type(series).__name__}") from None
    if x.ndim not in (1, 2) or len(x) < 2:
        raise ValueError(f"{where}: expected an array (T,) or (T, F) with T >= 2, got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError(f"{where}: contains inf")
    gaps = np.flatnonzero(np.isnan(x).any(axis=1) if x.ndim == 2 else np.isnan(x))
    if len(gaps) and missing == "error":
        raise ValueError(
            f"{where}: value missing at index {gaps[0]} ({len(gaps)} missing in all); "
            "hint: missing='interpolate' fills each history from its own past"
        )
    return x


def read_series(
    series: SeriesLike, past: Any, future: Any, static: Any, dates: Any, missing: str
) -> tuple[list[Series], bool, bool, list[str] | None, list[str] | None]:
    """(series, single, univariate, ids from pandas, columns from pandas)."""
    raw, ids, dates, meta = from_pandas(series, dates, "series")
    single = not isinstance(raw, (list, tuple)) or (len(raw) > 0 and np.isscalar(raw[0]))
    items = [raw] if single else list(raw)
    if not items:
        raise ValueError("series: expected at least one series, got an empty list")
    xs = [_check_series(s, missing, "series" if single else f"series[{i}]") for i, s in enumerate(items)]
    widths = sorted({1 if x.ndim == 1 else x.shape[1] for x in xs})
    if len(widths) > 1:
        raise ValueError(f"series: expected every series to have the same number of features, got {widths}")
    n, lengths = len(xs), [len(x) for x in xs]
    pc = as_covariate_list(past, n, lengths, "past_covariates", at_least=True)
    fc = as_covariate_list(future, n, lengths, "future_covariates", at_least=True)
    st = None
    if static is not None:
        st = np.asarray(static, dtype=np.float64)
        st = st.reshape(n, -1) if st.ndim < 2 else st
        if st.shape[0] != n or not np.all(np.isfinite(st)):
            raise ValueError(f"static_covariates: expected {n} finite row(s) (one per series), got shape {st.shape}")
    if dates is not None and (len(dates) != n or any(len(d) < len(x) for d, x in zip(dates, xs, strict=True))):
        raise ValueError(f"dates: expected one date per step of each of the {n} series")
    out = [
        Series(
            x[:, None] if x.ndim == 1 else x,
            None if pc is None else pc[i],
            None if fc is None else fc[i],
            None if st is None else st[i],
            None if dates is None else dates[i],
        )
        for i, x in enumerate(xs)
    ]
    return out, single, all(x.ndim == 1 for x in xs), ids, meta.get("columns")


def has_covariates(items: list[Series]) -> bool:
    """Whether the series come with covariates or dates (then models other than the
    baselines are given them)."""
    s = items[0]
    return any(v is not None for v in (s.past, s.future, s.static, s.dates))


def default_ids(single: bool, n: int, columns: Sequence[str] | None, F: int) -> list[str]:
    """Names of series given without ids: a single series' column name (or "y"), else positions."""
    if single:
        return [str(columns[0])] if columns and F == 1 else ["y"]
    return [str(i) for i in range(n)]


def series_origins(
    items: list[Series], h: int, need: int, n_origins: int | None, starts: list, step: int, single: bool
) -> list[np.ndarray]:
    """Each series' origins; none for a series too short (an error for a single series)."""
    out = []
    for s, first in zip(items, starts, strict=True):
        T = len(s.x) if s.future is None else min(len(s.x), len(s.future) - need + h)
        try:
            out.append(rolling_origins(T, h, n_origins=n_origins, initial=first, step=step))
        except ValueError:
            if single:
                raise
            out.append(np.empty(0, dtype=np.int64))
    if not any(len(o) for o in out):
        raise ValueError(
            f"series: no series has room for a forecast origin with horizon {h}, got lengths "
            f"{[len(s.x) for s in items]}; hint: a shorter horizon, fewer origins or a smaller initial"
        )
    return out


def cut(s: Series, t: int, L: int, missing: str, extra: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The history x[lo:t] (filled from itself) and the covariates one forecast may read."""
    lo = max(t - L, 0) if L else 0
    hist = s.x[lo:t]
    if missing == "interpolate":
        hist = fill_history(hist)
    cov: dict[str, Any] = {}
    if s.past is not None:
        cov["past_covariates"] = s.past[lo:t]  # never past the origin
    if s.future is not None:
        cov["future_covariates"] = s.future[lo : t + extra]  # known for the forecast steps
    if s.static is not None:
        cov["static_covariates"] = s.static
    if s.dates is not None:
        cov["dates"] = s.dates[lo:t]
    return hist, cov


def gather(
    items: list[Series], tasks: list[tuple[int, int]], L: int, missing: str, extra: int, as_one: bool, univariate: bool
) -> tuple[Any, dict[str, Any]]:
    """The histories and covariates of ``tasks`` as one model call takes them: one array
    (``as_one``) or a list; static rows stacked."""
    parts = [cut(items[i], t, L, missing, extra) for i, t in tasks]
    hists = [h[:, 0] if univariate else h for h, _ in parts]
    cov: dict[str, Any] = {}
    for key in parts[0][1]:
        values = [c[key] for _, c in parts]
        cov[key] = np.stack(values) if key == "static_covariates" else (values[0] if as_one else values)
    return (hists[0] if as_one else hists), cov
