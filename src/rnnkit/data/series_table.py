"""Many time series from one CSV file: single, long and wide layouts, with their dates.

Layouts (``layout="auto"`` picks: ``long`` when an id column is named or found, else
``wide`` when several value columns are read, else ``single``):

- ``single``: one row per time step; the value columns are the features of one series.
- ``long``: one row per (series, time step), like NeuralForecast's ``unique_id, ds, y``;
  series may differ in length and start date; rows may come in any order.
- ``wide``: one row per time step and one column per series; a series starts at its
  column's first value and ends at its last, so lengths and start dates may differ.

Dates are parsed and their frequency inferred (:mod:`rnnkit.data.series_dates`); a missing
row (a gap in the dates), a repeated date or a date off the grid is an error naming the
first one, unless ``fill`` says how to fill gaps. An empty cell inside a series is a
missing value, filled by linear interpolation (reported in ``n_missing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validate import DataFormatError
from .date_reading import read_dates
from .series_dates import fill_missing, infer_frequency, regularize
from .tabular import DATE_NAMES, guess_date_column, number, read_table

ID_NAMES = ("unique_id", "id", "series_id", "series", "item_id", "store", "sku")
LAYOUTS = ("auto", "single", "long", "wide")


@dataclass
class SeriesSet:
    """Series read from a file. ``values[i]`` is (T_i, F); ``extra[i]`` (T_i, E) holds the
    covariate columns ``extra_names`` on the same steps; ``dates[i]`` is (T_i,) datetime64
    or None when the file has no dates."""

    ids: list[str]
    values: list[np.ndarray]
    value_names: list[str]
    dates: list | None = None
    freq: str | None = None
    extra: list = field(default_factory=list)
    extra_names: list[str] = field(default_factory=list)
    extra_after: list = field(default_factory=list)  # (k_i, E) covariate rows after the last value
    layout: str = "single"
    id_column: str | None = None
    date_column: str | None = None
    n_filled: int = 0
    missing: list = field(default_factory=list)  # (T_i, F) bool: the empty value cells, filled by interpolation
    notes: list[str] = field(default_factory=list)  # what was decided reading the dates, for the user

    @property
    def n_missing(self) -> int:
        """How many empty value cells the reader filled."""
        return sum(int(m.sum()) for m in self.missing)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(v) for v in value]


def read_series_table(
    path,
    *,
    layout: str = "auto",
    id_column=None,
    date_column=None,
    value_columns=None,
    extra_columns=(),
    fill: str | None = None,
    guess_dates: bool = True,
    encoding: str = "utf-8",
    date_format: str | None = None,
) -> SeriesSet:
    """Read series from a CSV file (see the module docstring).

    Args:
        layout: one of :data:`LAYOUTS`.
        id_column: the series id column (long layout); None: looked for among
            :data:`ID_NAMES` when ``layout`` is auto or long.
        date_column: the time-stamp column; None: guessed when ``guess_dates``.
        value_columns: the target columns (names or positions, a list or a comma-separated
            string); None: every column that is not the id, the date or an extra column.
        extra_columns: covariate columns read beside the values (not in the wide layout).
        fill: how to fill missing dates: None (an error), "interpolate", "ffill" or "zero".
        encoding: the file's text encoding.
        date_format: strftime codes of the time stamps (``%d/%m/%Y``); None: inferred
            (:mod:`rnnkit.data.date_reading`; what it decided is in ``notes``).

    Raises:
        DataFormatError: a missing column, a cell that is not a number, a repeated date,
            a gap without ``fill``, a series without values, or an infinite value or one
            beyond float32's range (naming its line and column).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout: expected one of {list(LAYOUTS)}, got {layout!r}")
    table = read_table(path, encoding=encoding)
    header = table.header
    extra = _as_list(extra_columns)
    if id_column is None and layout in ("auto", "long"):
        found = [h for h in header if h.lower() in ID_NAMES]
        id_column = found[0] if found else None
        if layout == "long" and id_column is None:
            raise DataFormatError(path, f"no id column among {list(ID_NAMES)}", hint="name it with --id-column")
    id_index = table.column(id_column) if id_column is not None else None
    if date_column is None and guess_dates:
        date_column = guess_date_column(table) if id_index is None else _guess_long_date(table, id_index)
        lower = {h.lower(): h for h in header}
        if date_column is not None and date_column.lower() == "year":
            part = next((lower[k] for k in ("quarter", "month") if k in lower), None)
            date_column = [date_column, part] if part else date_column
    date_parts = [table.column(c) for c in _as_list(date_column)]
    if len(date_parts) > 2:
        raise DataFormatError(path, f"expected one date column, or year and quarter/month, got {date_column}")
    date_index = date_parts[0] if date_parts else None
    extra_index = [table.column(c) for c in extra]
    taken = {id_index, *date_parts, *extra_index}
    if value_columns is None:
        value_index = [i for i, h in enumerate(header) if i not in taken and h]
    else:
        value_index = [table.column(c) for c in _as_list(value_columns)]
    if not value_index:
        raise DataFormatError(
            path, "no value columns besides the id, date and covariate columns", hint="pick them with --value-column"
        )
    if layout == "auto":
        layout = "long" if id_index is not None else ("wide" if len(value_index) > 1 else "single")
    cols = value_index + extra_index
    names = [table.name(i) for i in cols]
    grid = np.empty((len(table.rows), len(cols)))  # (rows, C)
    for r, (line, cells) in enumerate(table.rows):
        for j, k in enumerate(cols):
            grid[r, j] = number(
                table,
                line,
                names[j],
                cells[k],
                hint=None if date_column else "if this column holds time stamps, pass --date-column",
            )
    if layout == "long":
        assert id_index is not None  # the long layout has an id column (checked above)
        keys = table.values(id_index)
        ids = list(dict.fromkeys(keys))
        key_arr = np.array(keys, dtype=object)
        groups: list[tuple[str, Any]] = [(i, np.flatnonzero(key_arr == i)) for i in ids]
    elif layout == "wide":
        if extra_index:
            raise DataFormatError(
                path, "covariate columns need the long or single layout", hint="in a wide file every column is a series"
            )
        ids = [table.name(i) for i in value_index]
        groups = [(names[j], j) for j in range(len(value_index))]
    else:
        ids = [names[0] if len(value_index) == 1 else "series"]
        groups = [(ids[0], np.arange(len(table.rows)))]
    dates, reading = None, None
    if date_index is not None:
        cells = table.values(date_index)
        if len(date_parts) == 2:  # year and quarter (1..4) or month (1..12) columns
            kind = "Q" if table.name(date_parts[1]).lower().startswith("q") else "-"
            cells = [
                f"{y}{kind}{int(float(p)):02d}" if kind == "-" else f"{y}Q{int(float(p))}"
                for y, p in zip(cells, table.values(date_parts[1]), strict=False)
            ]
        try:
            reading = read_dates(
                cells,
                f"{path}: column {table.name(date_index)!r}",
                date_format=date_format,
                groups=[g for _, g in groups] if layout == "long" else None,
                lines=[line for line, _ in table.rows],
            )
        except ValueError as exc:
            raise DataFormatError(path, str(exc).removeprefix(f"{path}: ")) from None
        dates = reading.dates
    out = SeriesSet(
        ids=[],
        values=[],
        value_names=names[: len(value_index)],
        layout=layout,
        extra_names=names[len(value_index) :],
        id_column=table.name(id_index) if id_index is not None else None,
        date_column=",".join(table.name(i) for i in date_parts) or None,
        notes=list(reading.notes) if reading is not None else [],
    )
    gap_hint = None
    if reading is not None and reading.guessed:
        gap_hint = (
            f"the dates were read as {reading.format!r} because that order steps most evenly; "
            f"say how to read them with --date-format '{reading.format}' or --date-format '{reading.other}' "
            "before filling gaps"
        )
    freqs = []
    F = len(value_index)
    for key, sel in groups:
        if layout == "wide":
            col = grid[:, sel]
            known = np.flatnonzero(np.isfinite(col))
            if len(known) == 0:
                raise DataFormatError(path, f"series {key!r} has no values")
            rows = np.arange(known[0], known[-1] + 1)
            v, e = col[rows, None], np.empty((len(rows), 0))
        else:
            rows = sel
            v, e = grid[rows, :F], grid[rows, F:]
        d = dates[rows] if dates is not None else None
        name = f"{path}: series {key!r}" if layout != "single" else str(path)
        if d is not None:
            order = np.argsort(d, kind="stable")
            d, v, e = d[order], v[order], e[order]
            try:
                freq = infer_frequency(d, name)
                both, n_filled = np.concatenate([v, e], axis=1), 0
                d, both, n_filled = regularize(d, both, freq, fill=fill, name=name, gap_hint=gap_hint)
            except ValueError as exc:
                raise DataFormatError(path, str(exc).removeprefix(f"{path}: ")) from None
            v, e = both[:, :F], both[:, F:]
            out.n_filled += n_filled
            freqs.append(freq)
        known = np.flatnonzero(np.isfinite(v).any(axis=1))
        end = int(known[-1]) + 1 if len(known) else 0
        after = e[end:]  # rows past the last value: future covariates only
        v, e = v[:end], e[:end]
        if d is not None:
            d = d[:end]
        if np.isnan(after).any():
            raise DataFormatError(
                path,
                f"series {key!r}: a covariate is missing after the last value",
                hint="known-future covariates need a value at every step",
            )
        if np.isnan(v).all(axis=0).any():
            raise DataFormatError(
                path,
                f"series {key!r}: a value column without any number",
                hint="pick the value columns with --value-column",
            )
        if np.isnan(e).any():
            missing = out.extra_names[int(np.flatnonzero(np.isnan(e).any(axis=0))[0])]
            step = int(np.flatnonzero(np.isnan(e).any(axis=1))[0])
            raise DataFormatError(
                path,
                f"series {key!r}: covariate {missing!r} is missing at step {step}"
                + (f" ({str(d[step])[:10]})" if d is not None else ""),
                hint="covariates need a value at every step",
            )
        out.missing.append(np.isnan(v))
        v = _interpolate(v)
        out.ids.append(str(key))
        out.values.append(v)
        out.extra.append(e)
        out.extra_after.append(after)
        if d is not None:
            out.dates = (out.dates or []) + [d]
    if freqs:
        if len(set(freqs)) > 1:
            raise DataFormatError(path, f"the series have different frequencies: {sorted(set(freqs))}")
        out.freq = freqs[0]
    return out


def _interpolate(v):
    if not np.isnan(v).any():
        return v

    return fill_missing(v, "interpolate")


def _guess_long_date(table, id_index):
    named = [h for i, h in enumerate(table.header) if i != id_index and h.lower() in DATE_NAMES]
    return named[0] if len(named) == 1 else None
