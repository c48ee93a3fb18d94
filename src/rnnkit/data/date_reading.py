"""Reading time stamps: text cells -> ``datetime64[s]``, in one format for all cells."""

from __future__ import annotations

import datetime as _dt

import numpy as np

# Tried in order; the first that reads every cell wins.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%b-%d-%Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%Y-%m",
    "%Y/%m",
    "%b-%Y",
    "%b %Y",
    "%Y%m",
    "%Y",
)


def parse_dates(cells, name: str = "dates") -> np.ndarray:
    """Text time stamps (one format for all) -> ``datetime64[s]`` (T,).

    Also reads ``1959Q1``/``1959-Q1`` quarters. Raises ValueError naming the first cell no
    format reads.
    """
    cells = [str(c).strip() for c in cells]
    if not cells:
        return np.array([], dtype="datetime64[s]")
    quarters = [_quarter(c) for c in cells]
    if all(q is not None for q in quarters):
        return np.array(quarters, dtype="datetime64[s]")
    best, best_bad = None, None
    for fmt in DATE_FORMATS:
        try:
            out = [_dt.datetime.strptime(c, fmt) for c in cells]
        except ValueError:
            continue
        if fmt == "%Y" and not all(d.year >= 1000 for d in out):
            continue
        best = out
        break
    if best is None:
        for c in cells:
            if not any(_parses(c, fmt) for fmt in DATE_FORMATS) and _quarter(c) is None:
                best_bad = c
                break
        raise ValueError(
            f"{name}: expected time stamps such as 2024-01-31, 20240131, Jan-31-2024 "
            f"or 2024Q1, got {best_bad if best_bad is not None else cells[0]!r}; "
            "hint: all dates of a file need one format"
        )
    return np.array(best, dtype="datetime64[s]")


def _parses(cell, fmt) -> bool:
    try:
        _dt.datetime.strptime(cell, fmt)
        return True
    except ValueError:
        return False


def _quarter(cell: str):
    text = cell.upper().replace("-", "").replace(" ", "")
    if len(text) == 6 and text[4] == "Q" and text[:4].isdigit() and text[5] in "1234":
        return _dt.datetime(int(text[:4]), 3 * int(text[5]) - 2, 1)
    return None
