"""CSV readers: one time series (one row per step) and many sequences (long or wide).

What real files do, and what is read:

- the separator is ``,``, ``;`` or a tab, guessed from the first line (or ``delimiter``);
  with ``;`` or a tab a decimal comma (``3,5``) is read as ``3.5``;
- the header row is optional: a first row of numbers is data, and the columns are then
  named by their 0-based position (``"0"``, ``"1"``, ...);
- a column may be picked by name, by a name that differs only in case, or by its 0-based
  position (``"2"``);
- a missing value (an empty cell, ``NA``, ``N/A``, ``NaN``, ``null``, ``?``) is NaN;
- a column with an empty name and no values (a trailing separator) is dropped, and one
  with an empty name and values (a spreadsheet's row index) is not read as a feature;
- quoted fields follow Python's ``csv``; ``"1,234.5"`` is a number with a thousands
  separator.

Any other cell that is not a number, inf, or a number beyond float32's range is a
:class:`DataFormatError` naming the file, the line and the column. Shapes: ``T`` time steps, ``F`` features.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..utils import memory
from ._validate import DataFormatError, PathLike, check_value, read_text_file

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "-"})
DELIMITERS = (",", ";", "\t")
# Column names that hold time stamps (compared in lower case).
DATE_NAMES = frozenset(
    {"date", "datetime", "timestamp", "time", "ds", "day", "week", "month", "year", "period", "index"}
)
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


@dataclass
class Table:
    """A CSV file read as text: column names, ``(line number, cells)`` rows, and how."""

    path: PathLike
    header: list[str]
    rows: list[tuple[int, list[str]]]
    delimiter: str
    has_header: bool

    def column(self, name: str) -> int:
        """The position of a column given by name, name in another case, or 0-based index."""
        if name in self.header:
            return self.header.index(name)
        folded = [i for i, h in enumerate(self.header) if h.lower() == str(name).strip().lower()]
        if len(folded) == 1:
            return folded[0]
        text = str(name).strip()
        if text.lstrip("-").isdigit() and -len(self.header) <= int(text) < len(self.header):
            return int(text) % len(self.header)
        shown = ", ".join(f"{i} {h!r}" for i, h in enumerate(self.header[:30]))
        more = f" ... ({len(self.header)} in all)" if len(self.header) > 30 else ""
        raise DataFormatError(
            self.path,
            f"no column {name!r}; available columns: {shown}{more}",
            hint="give a column by name or by 0-based position",
        )

    def name(self, index: int) -> str:
        return self.header[index] or str(index)

    def values(self, index: int) -> list[str]:
        return [cells[index] for _, cells in self.rows]

    def is_empty(self, index: int) -> bool:
        return all(c.strip().lower() in MISSING for c in self.values(index))


def read_table(path: PathLike, delimiter: str | None = None, encoding: str = "utf-8") -> Table:
    """Read a CSV file (see the module docstring); blank lines are skipped.

    Raises:
        DataFormatError: an empty file, rows of another length than the first row, or
            malformed quoting.
    """
    text = read_text_file(path, encoding)
    if delimiter is None:
        delimiter = sniff_delimiter(text)
    # the cells about to be parsed (lines x the first line's fields), before any is allocated
    first = next((line for line in text.split("\n", 64)[:64] if line.strip()), "")
    n_cells = (text.count("\n") + 1) * (first.count(delimiter) + 1)
    memory.check_expansion(path, n_cells, memory.CELL_BYTES, "CSV cells (lines x fields)")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    raw: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                raw.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise DataFormatError(path, f"malformed CSV ({exc})", line=reader.line_num) from exc
    if not raw:
        raise DataFormatError(path, "the file is empty; expected a header row and data rows")
    width = len(raw[0][1])
    for line, cells in raw:
        while len(cells) > width and not cells[-1]:  # a trailing separator
            cells.pop()
        if len(cells) < width and len(cells) > 1:  # short rows end in missing cells
            cells += [""] * (width - len(cells))
        if len(cells) != width:
            what = "the header" if _looks_like_header(raw) else "the first row"
            raise DataFormatError(
                path,
                f"expected {width} fields as in {what}, got {len(cells)}",
                line=line,
                hint=f"fields are separated by {_NAMES[delimiter]}; a field holding one must be quoted",
            )
    has_header = _looks_like_header(raw)
    if has_header:
        header, rows = raw[0][1], raw[1:]
    else:
        header, rows = [str(i) for i in range(width)], raw
    if not rows:
        raise DataFormatError(path, "the file has a header but no data rows")
    table = Table(path, list(header), rows, delimiter, has_header)
    _drop_empty_unnamed(table)
    return table


_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


def sniff_delimiter(text: str) -> str:
    """``;`` or a tab when the first line has at least as many of them as commas, else ``,``."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    first = re.sub(r'"[^"]*"', "", first)  # separators inside quotes do not count
    counts = {d: first.count(d) for d in DELIMITERS}
    for d in ("\t", ";"):
        if counts[d] and counts[d] >= counts[","]:
            return d
    return ","


def _is_number(cell: str) -> bool:
    return _parse(cell, decimal_comma=True) is not None


def _looks_like_header(raw: list[tuple[int, list[str]]]) -> bool:
    """A first row is a header when it holds no number, or one of its cells is text above
    a number."""
    first = raw[0][1]
    if len(raw) == 1 or not any(_is_number(c) and c.lower() not in MISSING for c in first):
        return not all(_is_number(c) or c.lower() in MISSING for c in first)
    second = raw[1][1]
    return any(
        not _is_number(a) and a.lower() not in MISSING and _is_number(b) for a, b in zip(first, second, strict=False)
    )


def _drop_empty_unnamed(table: Table) -> None:
    keep = [i for i, h in enumerate(table.header) if h or not table.is_empty(i)]
    if len(keep) < len(table.header):
        table.header = [table.header[i] for i in keep]
        table.rows = [(line, [cells[i] for i in keep]) for line, cells in table.rows]


def _parse(cell: str, decimal_comma: bool) -> float | None:
    """The number in ``cell``, NaN for a missing value, or None when it is not one."""
    text = cell.strip()
    if text.lower() in MISSING:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        pass
    if decimal_comma and _DECIMAL_COMMA.match(text):  # 3,5 and 1.234,5 beside ';' or tabs
        return float(text.replace(".", "").replace(",", "."))
    if _THOUSANDS.match(text):  # "1,234.5" quoted in a CSV
        return float(text.replace(",", ""))
    return None


def number(table: Table, line: int, column: str | None, cell: str, hint: str | None = None) -> float:
    """A cell as a float (NaN when missing); anything else, inf or a number beyond float32's
    range (:func:`rnnkit.data._validate.check_value`) is a DataFormatError."""
    value = _parse(cell, decimal_comma=table.delimiter != ",")
    if value is None:
        raise DataFormatError(table.path, f"expected a number, got {cell!r}", line=line, column=column, hint=hint)
    return check_value(value, table.path, line=line, column=column)


def guess_date_column(table: Table) -> str | None:
    """A time-stamp column: the one named like one (date, time, year, ...), else the one
    column whose first value is text, when the file has another column."""
    if len(table.header) < 2:
        return None
    named = [h for h in table.header if h.lower() in DATE_NAMES]
    if len(named) == 1:
        return named[0]
    first = table.rows[0][1]
    text = [table.header[i] for i, cell in enumerate(first) if not _is_number(cell) and cell.lower() not in MISSING]
    return text[0] if len(text) == 1 else None


# -- one series --------------------------------------------------------------------------
def read_series_csv(
    path: PathLike,
    value_column: str | Sequence[str] | None = None,
    date_column: str | None = None,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> tuple[np.ndarray, list[str] | None]:
    """Read a time series: one row per time step.

    Args:
        path: a CSV file (header optional; see the module docstring).
        value_column: a column (name or 0-based position) or a list of them to read as
            features; None reads every column except ``date_column`` and an unnamed index.
        date_column: a column of time stamps, returned as strings (not parsed), or None.
        delimiter: the separator; None guesses it.
        encoding: the file's text encoding.

    Returns:
        ``(values, dates)``: values (T, F) float64 with NaN where a value is missing, and
        dates, a list of T strings or None.

    Raises:
        DataFormatError: an empty file, no data rows, a missing column (the message lists
            the available ones), a row of the wrong length or a cell that is not a number.
    """
    table = read_table(path, delimiter, encoding)
    date_index = table.column(date_column) if date_column is not None else None
    if value_column is None:
        index = [i for i, h in enumerate(table.header) if i != date_index and h]
        if not index:
            raise DataFormatError(path, "no value columns besides the date column")
    else:
        wanted = [value_column] if isinstance(value_column, (str, int)) else list(value_column)
        index = [table.column(str(c)) for c in wanted]
    values = np.empty((len(table.rows), len(index)), dtype=np.float64)  # (T, F)
    for i, (line, row) in enumerate(table.rows):
        for j, k in enumerate(index):
            hint = None
            if date_column is None:
                hint = f"if this column holds time stamps, pass date_column={table.name(k)!r} (--date-column)"
            values[i, j] = number(table, line, table.name(k), row[k], hint)
    dates = table.values(date_index) if date_index is not None else None
    return values, dates


def series_columns(
    path: PathLike,
    value_column: str | Sequence[str] | None = None,
    date_column: str | None = None,
    encoding: str = "utf-8",
) -> list[str]:
    """The names of the columns :func:`read_series_csv` reads as values, in order."""
    table = read_table(path, encoding=encoding)
    date_index = table.column(date_column) if date_column is not None else None
    if value_column is None:
        return [h for i, h in enumerate(table.header) if i != date_index and h]
    wanted = [value_column] if isinstance(value_column, (str, int)) else list(value_column)
    return [table.name(table.column(str(c))) for c in wanted]


def interpolate_missing(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN in each column of (T, F) ``values`` linearly between the known values
    around it (the nearest known value at either end).

    Returns:
        ``(filled, count)``: a new array and how many values were filled.

    Raises:
        ValueError: a column without any known value.
    """
    values = np.array(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    t = np.arange(len(values))
    for f in range(values.shape[1]):
        bad = missing[:, f]
        if bad.all():
            raise ValueError(f"values: column {f} has no known value")
        if bad.any():
            values[bad, f] = np.interp(t[bad], t[~bad], values[~bad, f])
    return values, int(missing.sum())


# -- many sequences ----------------------------------------------------------------------
def read_sequences_csv(
    path: PathLike,
    *,
    id_column: str = "seq_id",
    time_column: str | None = "t",
    label_column: str | None = "label",
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> tuple[list[np.ndarray], list[str] | None]:
    """Read many sequences, in one of three layouts (chosen from the header):

    - long (the header has ``id_column``): one row per (sequence, time step).
      ``time_column`` (optional: used when the header has it) orders the steps within a
      sequence, otherwise file order is kept; ``label_column`` (optional: used when
      present) gives the sequence's label, the same on all its rows; every other column
      is a numeric feature. Sequences come out in order of first appearance.
    - wide (no ``id_column``, but a ``label_column``): one row per univariate sequence,
      the label in its column and the values in the others, in order; trailing missing
      values end a shorter sequence.
    - UCR (no header row): one row per univariate sequence, the label first.

    Returns:
        ``(sequences, labels)``: a list of (T_i, F) float64 arrays (NaN where a value is
        missing) and a list of label strings (None when the file has no labels).

    Raises:
        DataFormatError: as :func:`read_series_csv`, plus a label that changes within a
            sequence or a repeated time within a sequence.
    """
    table = read_table(path, delimiter, encoding)
    if id_column in table.header:
        return _read_long(table, id_column, time_column, label_column)
    if not table.has_header:
        return _read_wide(table, 0)
    if label_column is not None and label_column in table.header:
        return _read_wide(table, table.header.index(label_column))
    shown = ", ".join(repr(h) for h in table.header[:12]) + (" ..." if len(table.header) > 12 else "")
    raise DataFormatError(
        path,
        f"no column {id_column!r} (long format) or {label_column!r} (wide format); columns: {shown}",
        hint="long format (one row per step) names its sequence column with --id-column; wide "
        "format (one row per sequence) names its label column with --label-column",
    )


def _read_long(
    table: Table, id_column: str, time_column: str | None, label_column: str | None
) -> tuple[list[np.ndarray], list[str] | None]:
    path, header = table.path, table.header
    special = {id_column, time_column, label_column}
    features = [i for i, c in enumerate(header) if c not in special and c]
    if not features:
        raise DataFormatError(path, f"no feature columns besides {sorted(c for c in special if c)}")
    id_i = header.index(id_column)
    time_i = header.index(time_column) if time_column in header else None
    label_i = header.index(label_column) if label_column in header else None
    steps: dict[str, list] = {}
    labels: dict[str, str] = {}
    for line, row in table.rows:
        key = row[id_i]
        x = [number(table, line, header[c], row[c]) for c in features]
        t = 0.0
        if time_i is not None:
            t = number(table, line, time_column, row[time_i])
            if t != t:
                raise DataFormatError(path, "a missing time", line=line, column=time_column)
        steps.setdefault(key, []).append((t, line, x))
        if label_i is not None:
            label = row[label_i]
            if labels.setdefault(key, label) != label:
                raise DataFormatError(
                    path,
                    f"sequence {key!r} has label {label!r} here but {labels[key]!r} before",
                    line=line,
                    column=label_column,
                    hint="a sequence has one label",
                )
    sequences = []
    for key, items in steps.items():
        if time_i is not None:
            items.sort(key=lambda item: item[0])  # stable: ties keep file order
            for (t0, _, _), (t1, line, _) in zip(items, items[1:], strict=False):
                if t0 == t1:
                    raise DataFormatError(path, f"sequence {key!r} repeats time {t1:g}", line=line, column=time_column)
        sequences.append(np.array([x for _, _, x in items], dtype=np.float64))  # (T_i, F)
    return sequences, ([labels[k] for k in steps] if label_i is not None else None)


def _read_wide(table: Table, label_index: int) -> tuple[list[np.ndarray], list[str] | None]:
    sequences, labels = [], []
    value_index = [i for i in range(len(table.header)) if i != label_index and table.header[i]]
    for line, row in table.rows:
        x = np.array([number(table, line, table.name(i), row[i]) for i in value_index])
        known = np.flatnonzero(np.isfinite(x))
        if len(known) == 0:
            raise DataFormatError(table.path, "a sequence without values", line=line)
        sequences.append(x[: known[-1] + 1, None])  # (T_i, 1)
        labels.append(_label_text(row[label_index]))
    return sequences, labels


def _label_text(cell: str) -> str:
    """``1.0000000e+00`` (old UCR files) -> ``1``; other labels unchanged."""
    try:
        value = float(cell)
    except ValueError:
        return cell
    return str(int(value)) if value.is_integer() else cell
