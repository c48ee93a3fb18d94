"""CSV readers: one time series (wide format) and many sequences (long format).

Both expect a header row, comma-separated fields and Python's ``csv`` quoting. Numbers
are parsed with ``float`` (so ``nan`` and ``inf`` are accepted); anything else, including
an empty cell, is a :class:`DataFormatError` naming the file, the line and the column.

Shapes: ``T`` time steps, ``F`` features.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from ._common import DataFormatError, read_text_file


def read_series_csv(path, value_column=None, date_column=None, *, delimiter: str = ","):
    """Read a time series: one row per time step.

    Args:
        path: a CSV file with a header row.
        value_column: a column name or a list of names to read as features; None reads
            every column except ``date_column``.
        date_column: a column of time stamps, returned as strings (not parsed), or None.

    Returns:
        ``(values, dates)``: values (T, F) float64 and dates, a list of T strings or None.

    Raises:
        DataFormatError: an empty file, no data rows, a missing column (the message lists
            the available ones), a row of the wrong length or a non-numeric cell.
    """
    header, rows = _read_csv(path, delimiter)
    if value_column is None:
        names = [c for c in header if c != date_column]
    else:
        names = [value_column] if isinstance(value_column, str) else list(value_column)
    wanted = names + ([date_column] if date_column is not None else [])
    index = _column_index(path, header, wanted)
    values = np.empty((len(rows), len(names)), dtype=np.float64)   # (T, F)
    for i, (line, row) in enumerate(rows):
        for j, name in enumerate(names):
            values[i, j] = _number(path, line, name, row[index[name]], date_column is None)
    dates = [row[index[date_column]] for _, row in rows] if date_column is not None else None
    return values, dates


def read_sequences_csv(path, *, id_column: str = "seq_id", time_column: str | None = "t",
                       label_column: str | None = "label", delimiter: str = ","):
    """Read many sequences stored in long format: one row per (sequence, time step).

    Columns: ``id_column`` names the sequence; ``time_column`` (optional: used when the
    header has it) orders the steps within a sequence, otherwise file order is kept;
    ``label_column`` (optional: used when present) gives the sequence's label, which must be
    the same on all its rows; every other column is a numeric feature. Sequences come out
    in order of first appearance.

    Returns:
        ``(sequences, labels)``: a list of (T_i, F) float64 arrays and a list of label
        strings (None when the file has no label column).

    Raises:
        DataFormatError: as :func:`read_series_csv`, plus a label that changes within a
            sequence or a repeated time within a sequence.
    """
    header, rows = _read_csv(path, delimiter)
    _column_index(path, header, [id_column])
    special = {id_column, time_column, label_column}
    features = [c for c in header if c not in special]
    if not features:
        raise DataFormatError(path, f"no feature columns besides {sorted(c for c in special if c)}")
    index = {c: header.index(c) for c in header}
    has_time, has_label = time_column in index, label_column in index
    steps: dict[str, list] = {}
    labels: dict[str, str] = {}
    for line, row in rows:
        key = row[index[id_column]]
        x = [_number(path, line, c, row[index[c]], False) for c in features]
        t = _number(path, line, time_column, row[index[time_column]], False) if has_time else 0.0
        steps.setdefault(key, []).append((t, line, x))
        if has_label:
            label = row[index[label_column]]
            if labels.setdefault(key, label) != label:
                raise DataFormatError(
                    path, f"sequence {key!r} has label {label!r} here but {labels[key]!r} before",
                    line=line, column=label_column, hint="a sequence has one label",
                )
    sequences = []
    for key, items in steps.items():
        if has_time:
            items.sort(key=lambda item: item[0])  # stable: ties keep file order
            for (t0, _, _), (t1, line, _) in zip(items, items[1:]):
                if t0 == t1:
                    raise DataFormatError(path, f"sequence {key!r} repeats time {t1:g}",
                                          line=line, column=time_column)
        sequences.append(np.array([x for _, _, x in items], dtype=np.float64))  # (T_i, F)
    return sequences, ([labels[k] for k in steps] if has_label else None)


def _read_csv(path, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, cells)`` rows; blank lines are skipped."""
    text = read_text_file(path)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = None
    rows = []
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                continue
            if len(cells) != len(header):
                raise DataFormatError(
                    path, f"expected {len(header)} fields as in the header, got {len(cells)}",
                    line=reader.line_num,
                )
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DataFormatError(path, f"malformed CSV ({exc})", line=reader.line_num) from exc
    if header is None:
        raise DataFormatError(path, "the file is empty; expected a header row and data rows")
    if not rows:
        raise DataFormatError(path, "the file has a header but no data rows")
    return header, rows


def _column_index(path, header: list[str], wanted: list[str]) -> dict[str, int]:
    for name in wanted:
        if name not in header:
            raise DataFormatError(
                path, f"no column {name!r}; available columns: {header}",
                hint="column names are case-sensitive",
            )
    return {name: header.index(name) for name in wanted}


def _number(path, line: int, column: str, cell: str, suggest_date: bool) -> float:
    try:
        return float(cell)
    except ValueError:
        hint = f"if this column holds time stamps, pass date_column={column!r}" if suggest_date else None
        raise DataFormatError(path, f"expected a number, got {cell!r}", line=line,
                              column=column, hint=hint) from None
