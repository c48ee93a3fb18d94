"""Frequencies of dated series: the step between dates, the season, future dates, the grid,
gaps and duplicates (reading the dates themselves is :mod:`rnnkit.data.date_reading`).

Dates are NumPy ``datetime64[s]`` arrays. A frequency is a code (:func:`frequency` reads
any of them; :data:`FREQUENCIES` maps each to its :class:`Frequency`):

================  ===============  ==================  ===========================================
code              step             season m            pandas' name
================  ===============  ==================  ===========================================
``30s``, ``15min``  n seconds or     steps per day       ``30s``, ``15min``, ``h``, ``3h``
``H``, ``3H``     minutes, hours   (96 for 15min)
                  (dividing a day)
D                 1 day            7                   ``D``
B                 1 business day   5                   ``B`` (Monday to Friday)
W-SUN, W-MON, ..  7 days           52                  ``W-SUN``, ``W-MON``, ...
M                 1 month          12                  ``MS`` (starts), ``ME`` (ends)
Q                 3 months         4                   ``QS-JAN``, ``QE-DEC``, ...
Y                 12 months        none                ``YS-JAN``, ``YE-DEC``, ...
================  ===============  ==================  ===========================================

Monthly, quarterly and yearly steps are calendar steps (the same day of each month, or
the month's last day when the series uses month ends); business days skip Saturdays and
Sundays (a weekend is no gap); weeks keep their weekday; the others are fixed durations.
``W`` (weeks on the first date's weekday) is still read, as models saved before the
anchored codes name it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

DAY = 86400
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class Frequency:
    """One frequency: a fixed step of ``seconds``, or ``months`` calendar months, or one
    business day (``business``); its usual ``season`` length, its ``name`` and its ``family``
    (H for steps under a day, else the code without its anchor: D, B, W, M, Q, Y)."""

    code: str
    seconds: int
    months: int
    season: int | None
    name: str
    family: str
    business: bool = False


def _fixed(seconds: int) -> Frequency:
    """A step under a day (dividing it): hourly, n hours, n minutes or n seconds."""
    if seconds % 3600 == 0:
        n, code, unit = seconds // 3600, "H", "hour"
    elif seconds % 60 == 0:
        n, code, unit = seconds // 60, "min", "minute"
    else:
        n, code, unit = seconds, "s", "second"
    text = "H" if seconds == 3600 else f"{n}{code}"
    name = "hourly" if seconds == 3600 else f"{n}-{unit}"
    return Frequency(text, seconds, 0, DAY // seconds, name, "H")


_NAMED = {
    "D": Frequency("D", DAY, 0, 7, "daily", "D"),
    "B": Frequency("B", 0, 0, 5, "business-day", "B", business=True),
    "W": Frequency("W", 7 * DAY, 0, 52, "weekly", "W"),
    **{f"W-{w}": Frequency(f"W-{w}", 7 * DAY, 0, 52, f"weekly ({w.title()})", "W") for w in WEEKDAYS},
    "M": Frequency("M", 0, 1, 12, "monthly", "M"),
    "Q": Frequency("Q", 0, 3, 4, "quarterly", "Q"),
    "Y": Frequency("Y", 0, 12, None, "yearly", "Y"),
}
_CODE = re.compile(r"^(\d+)(s|min|H)$")


def frequency(code: str) -> Frequency:
    """The :class:`Frequency` of a code (see the module docstring); a ValueError names the
    codes there are."""
    if code in _NAMED:
        return _NAMED[code]
    if code == "H":
        return _fixed(3600)
    m = _CODE.match(code) if isinstance(code, str) else None
    if m:
        seconds = int(m.group(1)) * {"s": 1, "min": 60, "H": 3600}[m.group(2)]
        if 0 < seconds < DAY and DAY % seconds == 0 and _fixed(seconds).code == code:
            return _fixed(seconds)
    raise ValueError(
        f"freq: expected a frequency such as 15min, H, D, B, W-MON, M, Q or Y (steps under a day "
        f"must divide it: 30s, 5min, 3H), got {code!r}"
    )


class _Table(Mapping):
    """code -> what ``get`` says of :func:`frequency` (code); lists the usual codes and looks
    up any valid one (``15min`` or ``20min`` alike)."""

    _USUAL = ("1min", "5min", "10min", "15min", "30min", "H", "D", "B", *(f"W-{w}" for w in WEEKDAYS), "M", "Q", "Y")

    def __init__(self, get: Callable[[Frequency], Any]) -> None:
        self._get = get

    def __getitem__(self, code: str) -> Any:
        try:
            return self._get(frequency(code))
        except ValueError:
            raise KeyError(code) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._USUAL)

    def __len__(self) -> int:
        return len(self._USUAL)


#: code -> :class:`Frequency`, for every code :func:`frequency` reads
FREQUENCIES: Mapping[str, Frequency] = _Table(lambda f: f)
#: code -> its name in messages ("monthly", "15-minute", "business-day", "weekly (Mon)")
FREQUENCY_NAMES: Mapping[str, str] = _Table(lambda f: f.name)


def _months(d: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each date."""
    return d.astype("datetime64[M]").astype(np.int64)


def _weekday(d: ArrayLike) -> np.ndarray:
    """Monday 0 ... Sunday 6 (1970-01-01 was a Thursday)."""
    return (np.asarray(d).astype("datetime64[D]").astype(np.int64) + 3) % 7


def _time_of_day(d: ArrayLike) -> np.ndarray:
    d = np.asarray(d, dtype="datetime64[s]")
    return d - d.astype("datetime64[D]").astype("datetime64[s]")


def infer_frequency(dates: ArrayLike, name: str = "dates") -> str:
    """The frequency code from the most common step between (sorted) dates: a step under
    a day that divides it, days (business days when no date falls on a weekend and some
    step crosses one), weeks (anchored on their weekday), months, quarters or years.

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
    if step < DAY and DAY % step == 0:
        return _fixed(step).code
    if step == DAY:
        days = np.unique(d.astype("datetime64[D]"))
        crosses = np.busday_count(days[:-1], days[1:]) < np.diff(days).astype(np.int64)
        return "B" if np.is_busday(days).all() and crosses.any() else "D"
    if step == 7 * DAY:
        return f"W-{WEEKDAYS[int(_weekday(d[:1])[0])]}"
    for freq, low, high in (("M", 28, 31), ("Q", 89, 92), ("Y", 365, 366)):
        if low * DAY <= step <= high * DAY:
            return freq
    raise ValueError(
        f"{name}: the most common step between dates is {_duration(step)}; expected steps of "
        "a fixed number of seconds, minutes or hours dividing a day, or daily, business-day, weekly, "
        "monthly, quarterly or yearly stamps; hint: resample the series to one of those first"
    )


def _duration(seconds: int) -> str:
    if seconds % DAY == 0 or seconds > DAY:
        return f"{seconds / DAY:g} days"
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def season_length(freq: str) -> int | None:
    """The usual season of a frequency: steps per day under a day (hourly 24, 15min 96),
    daily 7, business days 5, weekly 52, monthly 12, quarterly 4, yearly none."""
    return frequency(freq).season


def _month_end(d: np.ndarray) -> bool:
    nxt = d.astype("datetime64[D]") + np.timedelta64(1, "D")
    return bool(len(d)) and bool(np.all(nxt.astype("datetime64[M]") != d.astype("datetime64[M]")))


def step_dates(last: Any, freq: str, k: np.ndarray, *, month_end: bool = False) -> np.ndarray:
    """The dates ``k`` steps after ``last`` (k an int array), as datetime64[s]."""
    f = frequency(freq)
    last = np.datetime64(last, "s")
    k = np.asarray(k, dtype=np.int64)
    if f.seconds:
        return last + (k * f.seconds).astype("timedelta64[s]")
    time_of_day = last - last.astype("datetime64[D]").astype("datetime64[s]")
    if f.business:
        day = np.busday_offset(last.astype("datetime64[D]"), k, roll="forward")
        return day.astype("datetime64[s]") + time_of_day
    months = _months(np.array([last]))[0] + k * f.months
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    end = (months + 1).astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    if month_end:
        day = end
    else:
        offset = last.astype("datetime64[D]") - last.astype("datetime64[M]").astype("datetime64[D]")
        day = np.minimum(first + offset, end)
    return day.astype("datetime64[s]") + time_of_day


def future_dates(dates: ArrayLike, freq: str, horizon: int) -> np.ndarray:
    """The ``horizon`` dates after the last of ``dates``."""
    d = np.asarray(dates, dtype="datetime64[s]")
    return step_dates(d[-1], freq, np.arange(1, horizon + 1), month_end=_month_end(d))


def grid_positions(dates: ArrayLike, freq: str) -> np.ndarray:
    """Each date's step number counted from the first date (int64); off-grid dates get -1
    (for business days a weekend date or another time of day; for anchored weeks another
    weekday)."""
    f = frequency(freq)
    d = np.asarray(dates, dtype="datetime64[s]")
    if f.seconds:
        delta = (d - d[0]).astype(np.int64)
        pos = delta // f.seconds
        ok = delta % f.seconds == 0
        if f.code.startswith("W-"):
            ok &= _weekday(d) == WEEKDAYS.index(f.code[2:])
        return np.where(ok, pos, -1)
    if f.business:
        days = d.astype("datetime64[D]")
        pos = np.busday_count(days[0], days).astype(np.int64)
        return np.where(np.is_busday(days) & (_time_of_day(d) == _time_of_day(d[:1])), pos, -1)
    months = _months(d) - _months(d[:1])[0]
    pos = months // f.months
    expected = step_dates(d[0], freq, pos, month_end=_month_end(d))
    return np.where((months % f.months == 0) & (expected == d), pos, -1)


def pandas_frequency(freq: str, dates: ArrayLike) -> str | None:
    """What ``pandas.infer_freq`` calls these dates of frequency ``freq`` (pandas 2.2 and
    later): ``15min``, ``h``, ``D``, ``B``, ``W-MON``, ``MS``/``ME``, ``QS-JAN``/``QE-DEC``,
    ``YS-JAN``/``YE-DEC``; None where pandas names none (months on another day than the first
    or the last, or a time of day)."""
    f = frequency(freq)
    d = np.asarray(dates, dtype="datetime64[s]")
    if f.family == "H":
        return f.code.replace("H", "h")
    if f.code == "W":
        return f"W-{WEEKDAYS[int(_weekday(d[:1])[0])]}"
    if not f.months:
        return f.code
    if (_time_of_day(d) != np.timedelta64(0, "s")).any():
        return None
    month = int(_months(d[:1])[0] % 12)
    if _month_end(d):
        end = (month % f.months) + 12 - f.months  # the anchor: the cycle's month in the year's last step
        return {"M": "ME", "Q": f"QE-{MONTHS[end]}", "Y": f"YE-{MONTHS[month]}"}[f.code]
    if (d.astype("datetime64[D]") == d.astype("datetime64[M]").astype("datetime64[D]")).all():
        return {"M": "MS", "Q": f"QS-{MONTHS[month % 3]}", "Y": f"YS-{MONTHS[month]}"}[f.code]
    return None


def regularize(
    dates: ArrayLike,
    values: ArrayLike,
    freq: str,
    *,
    fill: str | None = None,
    name: str = "series",
    gap_hint: str | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Check that ``dates`` step by ``freq`` without gaps or repeats; optionally fill gaps.

    Args:
        dates: (T,) datetime64, increasing. values: (T, F) float64.
        fill: None (a gap is an error), ``"interpolate"`` (linear between the known
            neighbours), ``"ffill"`` (carry the last value) or ``"zero"``.
        name: the series' name, for messages.
        gap_hint: the hint of the error about a gap (default: how ``--fill`` fills it).

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
            f"without gaps; hint: {gap_hint or '--fill interpolate (or ffill, zero) fills them'}"
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


def _show(date: Any) -> str:
    text = str(np.datetime64(date, "s"))
    return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")


def format_dates(dates: ArrayLike) -> list[str]:
    """``2024-01-31`` for midnight stamps, ``2024-01-31 13:00:00`` otherwise."""
    return [_show(d) for d in np.asarray(dates, dtype="datetime64[s]")]
