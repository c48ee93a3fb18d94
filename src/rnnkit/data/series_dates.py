"""Time stamps of a series: parsing, the frequency, future dates, gaps and duplicates.

Dates are NumPy ``datetime64[s]`` arrays. A frequency is one of :data:`FREQUENCIES`:

=====  ===========  ===========  ===========================================
name   step         season m     read from
=====  ===========  ===========  ===========================================
H      1 hour       24           hourly stamps
D      1 day        7            daily stamps (the weekly cycle)
W      7 days       52           weekly stamps
M      1 month      12           monthly stamps (any fixed day of the month)
Q      3 months     4            quarterly stamps
Y      12 months    none         yearly stamps (``1871`` or ``1871-01-01``)
=====  ===========  ===========  ===========================================

Monthly, quarterly and yearly steps are calendar steps (the same day of each month, or
the month's last day when the series uses month ends); the others are fixed durations.
"""

from __future__ import annotations

import numpy as np

#: frequency -> (seconds per step, or months per step as a negative number; season length)
FREQUENCIES = {"H": (3600, 24), "D": (86400, 7), "W": (7 * 86400, 52), "M": (-1, 12), "Q": (-3, 4), "Y": (-12, None)}
FREQUENCY_NAMES = {"H": "hourly", "D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "Y": "yearly"}


def _months(d: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each date."""
    return d.astype("datetime64[M]").astype(np.int64)


def infer_frequency(dates, name: str = "dates") -> str:
    """The frequency (a key of :data:`FREQUENCIES`) from the most common step between dates.

    Raises ValueError when the dates are too few or the step is none of the known ones.
    """
    d = np.asarray(dates, dtype="datetime64[s]")
    if len(d) < 2:
        raise ValueError(f"{name}: expected at least 2 time stamps to tell the frequency, got {len(d)}")
    seconds = np.diff(d).astype(np.int64)
    seconds = seconds[seconds > 0]
    if len(seconds) == 0:
        raise ValueError(f"{name}: every time stamp is the same; expected increasing dates")
    values, counts = np.unique(seconds, return_counts=True)
    step = int(values[np.argmax(counts)])
    day = 86400
    for freq in ("H", "D", "W"):
        if step == FREQUENCIES[freq][0]:
            return freq
    for freq, low, high in (("M", 28, 31), ("Q", 89, 92), ("Y", 365, 366)):
        if low * day <= step <= high * day:
            return freq
    raise ValueError(
        f"{name}: the most common step between dates is {step / day:g} days; expected "
        "hourly, daily, weekly, monthly, quarterly or yearly stamps; hint: resample "
        "the series to one of those first"
    )


def season_length(freq: str) -> int | None:
    """The usual season of a frequency: hourly 24, daily 7, weekly 52, monthly 12,
    quarterly 4, yearly none."""
    return FREQUENCIES[freq][1]


def _month_end(d: np.ndarray) -> bool:
    nxt = d.astype("datetime64[D]") + np.timedelta64(1, "D")
    return bool(len(d)) and bool(np.all(nxt.astype("datetime64[M]") != d.astype("datetime64[M]")))


def step_dates(last, freq: str, k: np.ndarray, *, month_end: bool = False) -> np.ndarray:
    """The dates ``k`` steps after ``last`` (k an int array), as datetime64[s]."""
    last = np.datetime64(last, "s")
    k = np.asarray(k, dtype=np.int64)
    size = FREQUENCIES[freq][0]
    if size > 0:
        return last + (k * size).astype("timedelta64[s]")
    months = _months(np.array([last]))[0] + k * (-size)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    if month_end:
        day = (months + 1).astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    else:
        offset = last.astype("datetime64[D]") - last.astype("datetime64[M]").astype("datetime64[D]")
        end = (months + 1).astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
        day = np.minimum(first + offset, end)
    time_of_day = last - last.astype("datetime64[D]").astype("datetime64[s]")
    return day.astype("datetime64[s]") + time_of_day


def future_dates(dates, freq: str, horizon: int) -> np.ndarray:
    """The ``horizon`` dates after the last of ``dates``."""
    d = np.asarray(dates, dtype="datetime64[s]")
    return step_dates(d[-1], freq, np.arange(1, horizon + 1), month_end=_month_end(d))


def grid_positions(dates, freq: str) -> np.ndarray:
    """Each date's step number counted from the first date (int64); off-grid dates get -1."""
    d = np.asarray(dates, dtype="datetime64[s]")
    size = FREQUENCIES[freq][0]
    if size > 0:
        delta = (d - d[0]).astype(np.int64)
        pos = delta // size
        return np.where(delta % size == 0, pos, -1)
    months = _months(d) - _months(d[:1])[0]
    pos = months // (-size)
    expected = step_dates(d[0], freq, pos, month_end=_month_end(d))
    return np.where((months % (-size) == 0) & (expected == d), pos, -1)


def regularize(dates, values, freq: str, *, fill: str | None = None, name: str = "series"):
    """Check that ``dates`` step by ``freq`` without gaps or repeats; optionally fill gaps.

    Args:
        dates: (T,) datetime64, increasing. values: (T, F) float64.
        fill: None (a gap is an error), ``"interpolate"`` (linear between the known
            neighbours), ``"ffill"`` (carry the last value) or ``"zero"``.
        name: the series' name, for messages.

    Returns:
        ``(dates, values, n_filled)`` on the regular grid.

    Raises:
        ValueError: a repeated time stamp, a date off the grid, or a gap without ``fill``;
            each names the first place it happens.
    """
    d = np.asarray(dates, dtype="datetime64[s]")
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(d, kind="stable")
    d, v = d[order], v[order]
    same = np.flatnonzero(d[1:] == d[:-1])
    if len(same):
        raise ValueError(
            f"{name}: time stamp {_show(d[same[0]])} appears more than once; "
            "expected one row per time step; hint: aggregate or drop duplicates first"
        )
    pos = grid_positions(d, freq)
    off = np.flatnonzero(pos < 0)
    if len(off):
        raise ValueError(
            f"{name}: time stamp {_show(d[off[0]])} is off the "
            f"{FREQUENCY_NAMES[freq]} grid that starts at {_show(d[0])}; expected "
            "evenly spaced dates; hint: resample the series first"
        )
    n = int(pos[-1]) + 1
    if n == len(d):
        return d, v, 0
    gap = int(np.flatnonzero(np.diff(pos) > 1)[0])
    if fill is None:
        missing = step_dates(d[0], freq, np.array([pos[gap] + 1]), month_end=_month_end(d))[0]
        raise ValueError(
            f"{name}: a gap after {_show(d[gap])}: {n - len(d)} missing step(s) in all, "
            f"the first {_show(missing)}; expected {FREQUENCY_NAMES[freq]} dates "
            "without gaps; hint: --fill interpolate (or ffill, zero) fills them"
        )
    full = np.full((n, v.shape[1]), np.nan)
    full[pos] = v
    grid = step_dates(d[0], freq, np.arange(n), month_end=_month_end(d))
    return grid, fill_missing(full, fill), n - len(d)


FILLS = ("interpolate", "ffill", "zero")


def fill_missing(values: np.ndarray, how: str) -> np.ndarray:
    """Fill NaN in each column of (T, F) ``values``: linearly, with the last value, or 0."""
    v = np.array(values, dtype=np.float64)
    if how not in FILLS:
        raise ValueError(f"fill: expected one of {list(FILLS)}, got {how!r}")
    if how == "zero":
        return np.where(np.isfinite(v), v, 0.0)
    t = np.arange(len(v))
    for f in range(v.shape[1]):
        good = np.isfinite(v[:, f])
        if not good.any() or good.all():
            continue
        if how == "interpolate":
            v[~good, f] = np.interp(t[~good], t[good], v[good, f])
        else:
            idx = np.maximum.accumulate(np.where(good, t, 0))
            v[:, f] = v[idx, f]
            v[: np.argmax(good), f] = v[np.argmax(good), f]
    return v


def _show(date) -> str:
    text = str(np.datetime64(date, "s"))
    return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")


def format_dates(dates) -> list[str]:
    """``2024-01-31`` for midnight stamps, ``2024-01-31 13:00:00`` otherwise."""
    return [_show(d) for d in np.asarray(dates, dtype="datetime64[s]")]
