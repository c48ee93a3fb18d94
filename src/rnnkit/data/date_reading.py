"""Reading time stamps as pandas reads them, without pandas: text cells -> ``datetime64[s]``.

One format for all cells of a column, found in this order:

1. ``date_format`` (strftime codes, ``--date-format``) when given: every cell must match it.
2. Quarters: ``2015Q1``, ``2015-Q1``, ``2015 q1``.
3. ISO 8601: ``2015-01-31``, ``2015-01-31 13:45``, ``2015-01-31T13:45:10.250``, with an
   offset ``Z``, ``+01:00``, ``+0100`` or ``-05``. Stamps with offsets are converted to UTC
   (one zone for the whole file; stamps without an offset are taken as UTC), fractional
   seconds are rounded to whole seconds; a note says so.
4. :data:`DATE_FORMATS`, tried in order; the first that reads every cell wins, except for
   dates whose day and month could swap (``01/02/2015``, ``01.02.2015``, ``01-02-2015``):
   both readings are tried, and the one whose dates step evenly (no gaps, no stamp off the
   frequency's grid, in every series) wins. When both do, month first wins, as in pandas.
   When neither does, it is an error that names both formats for ``--date-format``.

The result, :class:`DateReading`, carries the notes to show the user and whether the
day/month order was guessed (then a gap is not filled blindly: the hint is
``--date-format``, not ``--fill``).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .series_dates import FREQUENCY_NAMES, grid_positions, infer_frequency

# Dates whose day and month may swap: (month first, day first), with an optional time of day.
_SWAPPABLE = tuple(
    (f"%m{sep}%d{sep}{year}{time}", f"%d{sep}%m{sep}{year}{time}")
    for sep in "/.-"
    for year in ("%Y", "%y")
    for time in ("", " %H:%M", " %H:%M:%S")
)
#: Formats tried in order after ISO 8601 (a pair: the two orders of day and month).
DATE_FORMATS: tuple[str | tuple[str, str], ...] = (
    "%Y-%m-%d",  # ISO 8601 without zero padding (2015-1-5)
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y%m%d",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d%H%M",
    "%Y%m%d %H:%M",
    *_SWAPPABLE,
    "%b-%d-%Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%Y-%m",
    "%Y/%m",
    "%m/%Y",
    "%b-%Y",
    "%b %Y",
    "%B %Y",
    "%Y%m",
    "%Y",
)
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_ORDER = {"%m": "month/day/year", "%d": "day/month/year"}


@dataclass
class DateReading:
    """Dates read from text: ``dates`` (N,) datetime64[s], the ``format`` that read them
    ("ISO 8601", "quarters" or strftime codes), ``notes`` for the user, and, when the
    day/month order was chosen by the dates' regularity, ``guessed`` True and
    ``other`` the format of the other order."""

    dates: np.ndarray
    format: str
    notes: list[str] = field(default_factory=list)
    guessed: bool = False
    other: str | None = None


def parse_dates(cells: Iterable[object], name: str = "dates", *, date_format: str | None = None) -> np.ndarray:
    """Text time stamps (one format for all) -> ``datetime64[s]`` (T,); see
    :func:`read_dates`, which also returns what was decided."""
    return read_dates(cells, name, date_format=date_format).dates


def read_dates(
    cells: Iterable[object],
    name: str = "dates",
    *,
    date_format: str | None = None,
    groups: Sequence[np.ndarray] | None = None,
    lines: Iterable[int] | None = None,
) -> DateReading:
    """Read a column of time stamps (see the module docstring).

    Args:
        cells: the text of each cell.
        name: what the column is called in messages (the file and the column).
        date_format: strftime codes (``%d/%m/%Y %H:%M``) every cell must match; None: inferred.
        groups: index arrays of the rows of each series (a long file); None: one series.
            The day/month order is judged per series.
        lines: the file's line number of each cell, for messages; None: row numbers from 1.

    Raises:
        ValueError: a cell that no format reads (or that does not match ``date_format``),
            naming its line and text; dates whose day/month order neither reading makes
            regular, naming both formats for ``--date-format``.
    """
    text = [str(c).strip() for c in cells]
    where = [int(x) for x in lines] if lines is not None else list(range(1, len(text) + 1))
    if not text:
        return DateReading(np.array([], dtype="datetime64[s]"), date_format or "none")
    if date_format is not None:
        return _with_format(text, date_format, name, where)
    quarters = [_quarter(c) for c in text]
    if all(q is not None for q in quarters):
        return DateReading(np.array(quarters, dtype="datetime64[s]"), "quarters")
    iso = _iso(text)
    if iso is not None:
        return iso
    for fmt in DATE_FORMATS:
        if isinstance(fmt, tuple):
            readings = {f: _strptime_all(text, f) for f in fmt}
            found = {f: d for f, d in readings.items() if d is not None}
            if len(found) == 2:
                return _choose_order(text, found, groups, name)
            if found:
                (f, d), other = next(iter(found.items())), [g for g in fmt if g not in found][0]
                example = _unswappable(text, other)
                why = f" ({example} has no other reading)" if example else ""
                return DateReading(d, f, [f"dates read as {_ORDER[f[:2]]}{why}"])
            continue
        read = _strptime_all(text, fmt)
        if read is not None and (fmt != "%Y" or read.astype("datetime64[Y]").astype(np.int64).min() >= 1000 - 1970):
            return DateReading(read, fmt)
    bad, line = _first_unread(text, where)
    raise ValueError(
        f"{name}, line {line}: expected time stamps such as 2024-01-31, 2024-01-31T13:00:00+01:00, "
        f"01/31/2024, 20240131, Jan-31-2024 or 2024Q1, got {bad!r}; hint: all dates of a file need one "
        "format; --date-format (strftime codes such as '%d.%m.%Y %H:%M') reads any other"
    )


def _with_format(cells: list[str], fmt: str, name: str, where: list[int]) -> DateReading:
    out, offsets = [], set()
    for cell, line in zip(cells, where, strict=True):
        try:
            d = _dt.datetime.strptime(cell, fmt)
        except ValueError:
            raise ValueError(
                f"{name}, line {line}: time stamp {cell!r} does not match the date format {fmt!r} (--date-format); "
                "hint: strftime codes such as %Y-%m-%d, %d/%m/%Y %H:%M or %m/%d/%Y"
            ) from None
        if d.tzinfo is not None:
            offsets.add(_offset_text(d.utcoffset()))
            d = d.astimezone(_dt.UTC).replace(tzinfo=None)
        out.append(d)
    dates = np.array(out, dtype="datetime64[us]")
    notes = [_utc_note(offsets)] if offsets else []
    return DateReading(_whole_seconds(dates, notes), fmt, notes)


def _strptime_all(cells: list[str], fmt: str) -> np.ndarray | None:
    try:
        return np.array([_dt.datetime.strptime(c, fmt) for c in cells], dtype="datetime64[s]")
    except ValueError:
        return None


def _quarter(cell: str) -> _dt.datetime | None:
    text = cell.upper().replace("-", "").replace(" ", "")
    if len(text) == 6 and text[4] == "Q" and text[:4].isdigit() and text[5] in "1234":
        return _dt.datetime(int(text[:4]), 3 * int(text[5]) - 2, 1)
    return None


def _iso(cells: list[str]) -> DateReading | None:
    """ISO 8601 stamps, offsets converted to UTC; None when a cell is not one."""
    micros = np.empty(len(cells), dtype=np.int64)  # microseconds since 1970, UTC
    offsets = set()
    epoch = _dt.datetime(1970, 1, 1)
    for i, cell in enumerate(cells):
        m = _ISO.match(cell)
        if m is None:
            return None
        y, mo, d, h, mi, s, frac, tz = m.groups()
        try:
            stamp = _dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        except ValueError:
            return None  # a month 13 or a day 32: not ISO (perhaps 2015-31-01 reads another way)
        shift = 0
        if tz is not None:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            shift = 0 if tz == "Z" else sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
            offsets.add("Z" if tz == "Z" else _offset_text(_dt.timedelta(seconds=shift)))
        fraction = int((frac or "0").ljust(6, "0")[:6])
        micros[i] = ((stamp - epoch) // _dt.timedelta(seconds=1) - shift) * 1_000_000 + fraction
    notes = [_utc_note(offsets)] if offsets else []
    dates = _whole_seconds(micros.astype("datetime64[us]"), notes)
    return DateReading(dates, "ISO 8601", notes)


def _offset_text(delta: _dt.timedelta | None) -> str:
    minutes = int(delta.total_seconds()) // 60 if delta is not None else 0
    if minutes == 0:
        return "+00:00"
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _utc_note(offsets: set[str]) -> str:
    return f"time stamps with UTC offsets ({', '.join(sorted(offsets))}) converted to UTC"


def _whole_seconds(dates: np.ndarray, notes: list[str]) -> np.ndarray:
    """datetime64[us] -> datetime64[s], rounded to the nearest second (a note when it changed any)."""
    us = dates.astype(np.int64)
    if np.any(us % 1_000_000):
        notes.append("fractional seconds rounded to whole seconds")
        us = (us + 500_000) // 1_000_000 * 1_000_000
    return us.astype("datetime64[us]").astype("datetime64[s]")


def _fit(dates: np.ndarray, groups: Sequence[np.ndarray] | None) -> tuple[int, set[str]] | None:
    """(missing steps, frequency names) when every series steps evenly on its frequency's
    grid, else None."""
    missing, names = 0, set()
    for sel in groups if groups is not None else [np.arange(len(dates))]:
        d = np.sort(dates[sel])
        if len(d) < 2:
            continue
        if np.any(d[1:] == d[:-1]):
            return None
        try:
            freq = infer_frequency(d)
        except ValueError:
            return None
        pos = grid_positions(d, freq)
        if np.any(pos < 0):
            return None
        missing += int(pos[-1]) + 1 - len(d)
        names.add(FREQUENCY_NAMES[freq])
    return missing, names


def _swapped_example(cells: list[str], fmt: str) -> str | None:
    """The first cell that reads another way with day and month swapped (``fmt``), or None."""
    for c in cells:
        parts = re.split(r"[/.\-]", c)
        if len(parts) >= 2 and parts[0] != parts[1] and _strptime_all([c], fmt) is not None:
            return c
    return None


def _unswappable(cells: list[str], fmt: str) -> str | None:
    """The first cell that ``fmt`` (the other day/month order) does not read, or None."""
    return next((c for c in cells if _strptime_all([c], fmt) is None), None)


def _choose_order(
    cells: list[str], found: dict[str, np.ndarray], groups: Sequence[np.ndarray] | None, name: str
) -> DateReading:
    """Both day/month orders read every cell: keep the one whose dates step evenly."""
    (mf, d_mf), (df, d_df) = found.items()
    fits = {mf: _fit(d_mf, groups), df: _fit(d_df, groups)}
    clean = [f for f, fit in fits.items() if fit is not None and fit[0] == 0]
    regular = [f for f, fit in fits.items() if fit is not None]
    if not regular:
        raise ValueError(
            f"{name}: the dates step evenly neither as month/day/year nor as day/month/year (read either way, "
            "some fall off every daily, weekly, monthly ... grid or repeat); hint: say how to read them with "
            f"--date-format '{mf}' or --date-format '{df}'"
        )
    # month first when both are regular, as pandas reads them; when both have gaps, the one
    # with fewer missing steps (a gap's error then hints --date-format, not --fill)
    pick = clean[0] if clean else min(regular, key=lambda f: fits[f][0])  # type: ignore[index]
    other = df if pick == mf else mf
    example = _swapped_example(cells, other) or cells[0]
    what = ", ".join(sorted(fits[pick][1])) or "one date"  # type: ignore[index]
    note = f"read {example} as {_ORDER[pick[:2]]} ({what})"
    if len(clean) == 2:
        note += f"; {_ORDER[other[:2]]} is regular too: --date-format '{other}' reads it so"
    elif not clean:
        note += f"; read either way the dates have gaps, fewer as {_ORDER[pick[:2]]}"
    else:
        note += "; --date-format to change"
    return DateReading(d_mf if pick == mf else d_df, pick, [note], guessed=True, other=other)


def _first_unread(cells: list[str], where: list[int]) -> tuple[str, int]:
    for c, line in zip(cells, where, strict=True):
        if _quarter(c) is not None or _ISO.match(c):
            continue
        flat = [f for fmt in DATE_FORMATS for f in (fmt if isinstance(fmt, tuple) else (fmt,))]
        if not any(_strptime_all([c], f) is not None for f in flat):
            return c, line
    return cells[0], where[0]
