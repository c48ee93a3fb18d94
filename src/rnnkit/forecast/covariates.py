"""Covariates of the Forecaster: checks, calendar features, and the network's input rows.

Shape legend: N windows, W window, D decoder steps (forecast steps with known-future
covariates; 0 without them), F targets, P past covariates, K known-future covariates
(user columns, then calendar features), S static values per series.

Three kinds of covariates, as in Darts and NeuralForecast:

- **past** (P): known only up to the forecast origin (a sensor read with the target).
  The network reads them at the window's steps. Recursive forecasts past the origin
  hold them at their last known value; values after the origin are never read.
- **known-future** (K): known for the forecast steps too (prices, holidays, the
  calendar). Read at the window's steps and at D decoder steps after it, so the network
  sees them for the steps it forecasts; they are never forecast.
- **static** (S): one row per series (a store's size), repeated at every step.

Input row of one step (I = F + P + K + S + [1 if K]):

    window step   [u (F), past (P), future (K), static (S), 0]
    decoder step  [0 (F), 0 (P),    future (K), static (S), 1]

with u the normalised target (see :mod:`.scaling`).
"""

from __future__ import annotations

import numpy as np

from ..data.series_dates import FREQUENCIES

CALENDAR = ("month", "quarter", "dayofweek", "hour", "dayofyear")
#: what calendar="auto" uses per frequency family (H: every step under a day)
AUTO_CALENDAR = {
    "H": ("hour", "dayofweek"),
    "D": ("dayofweek", "dayofyear"),
    "B": ("dayofweek", "dayofyear"),
    "W": ("dayofyear",),
    "M": ("month",),
    "Q": ("quarter",),
    "Y": (),
}
_CYCLE = {"month": 12, "quarter": 4, "dayofweek": 7, "hour": 24, "dayofyear": 365.25}


def parse_calendar(value, freq) -> tuple[str, ...]:
    """None/"none"/"auto"/"month,hour"/a tuple -> the calendar feature names (checked)."""
    if value is None or value == "none" or value == ():
        return ()
    if value == "auto":
        return AUTO_CALENDAR.get(FREQUENCIES[freq].family, ()) if freq else ()
    parts = tuple(p.strip() for p in value.split(",")) if isinstance(value, str) else tuple(value)
    bad = [p for p in parts if p not in CALENDAR]
    if bad:
        raise ValueError(f"calendar: expected 'auto', 'none' or names from {list(CALENDAR)}, got {bad[0]!r}")
    return parts


def calendar_features(dates, names) -> np.ndarray:
    """dates (T,) datetime64 -> (T, 2 * len(names)): sin and cos of each cycle's phase."""
    d = np.asarray(dates, dtype="datetime64[s]")
    days = d.astype("datetime64[D]")
    cols = []
    for name in names:
        if name == "month":
            value = d.astype("datetime64[M]").astype(np.int64) % 12
        elif name == "quarter":
            value = (d.astype("datetime64[M]").astype(np.int64) % 12) // 3
        elif name == "dayofweek":
            value = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        elif name == "hour":
            value = (d - days).astype(np.int64) // 3600
        else:
            value = (days - d.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
        phase = 2 * np.pi * value / _CYCLE[name]
        cols += [np.sin(phase), np.cos(phase)]
    return np.stack(cols, axis=1) if cols else np.empty((len(d), 0))


def as_covariate_list(cov, n_series, lengths, name, *, at_least=False, extra=0, note=""):
    """One (T_i, C) float array per series from an array, or a list of them.

    ``at_least``: each needs lengths[i] + extra rows or more (known-future covariates
    cover the forecast steps); otherwise exactly lengths[i]. Raises on NaN or a wrong
    length, saying how many steps are missing.
    """
    if cov is None:
        return None
    items = [cov] if n_series == 1 and not isinstance(cov, (list, tuple)) else list(cov)
    if len(items) != n_series:
        raise ValueError(f"{name}: expected one array per series ({n_series}), got {len(items)}")
    out = []
    for i, c in enumerate(items):
        where = name if n_series == 1 else f"{name}[{i}]"
        try:
            a = np.asarray(c, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where}: expected numbers, got {type(c).__name__}") from None
        a = a[:, None] if a.ndim == 1 else a
        if a.ndim != 2:
            raise ValueError(f"{where}: expected shape (T,) or (T, C), got {a.shape}")
        if not np.all(np.isfinite(a)):
            row = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
            raise ValueError(
                f"{where}: NaN or inf at step {row}; expected a value at every step; "
                "hint: fill missing covariate values first"
            )
        need = lengths[i] + extra
        if (a.shape[0] < need) if at_least else (a.shape[0] != need):
            if at_least and extra and a.shape[0] >= lengths[i]:
                raise ValueError(
                    f"{where}: the known-future covariates stop {need - a.shape[0]} "
                    f"step(s) before the end of the horizon; expected {need} rows "
                    f"(the history's {lengths[i]} and {extra} forecast steps{note}), "
                    f"got {a.shape[0]}"
                )
            raise ValueError(
                f"{where}: expected {'at least ' if at_least else ''}{need} rows (one per "
                f"step of the series), got {a.shape[0]}"
            )
        out.append(a)
    return out


def make_inputs(zw, pw, fw, fd, st, flag):
    """The network's inputs for N windows.

    Args:
        zw (N, W, F) normalised targets; pw (N, W, P) past covariates; fw (N, W, K) and
        fd (N, D, K) known-future covariates at the window and decoder steps; st (N, S)
        static values; flag: add the decoder-step indicator column (K > 0).
    Returns:
        x (W + D, N, I) float64, time-major.
    """
    N, W, F = zw.shape
    D = fd.shape[1]
    S = st.shape[1]
    enc = [zw, pw, fw, np.broadcast_to(st[:, None], (N, W, S))]
    parts = [np.concatenate(enc + ([np.zeros((N, W, 1))] if flag else []), axis=2)]
    if D:
        dec = [np.zeros((N, D, F + pw.shape[2])), fd, np.broadcast_to(st[:, None], (N, D, S)), np.ones((N, D, 1))]
        parts.append(np.concatenate(dec, axis=2))
    x = np.concatenate(parts, axis=1)  # (N, W + D, I)
    return x.transpose(1, 0, 2)
