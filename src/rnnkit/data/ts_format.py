"""The ``.ts`` format of the UEA & UCR time-series classification archive.

A header of ``@key value`` lines, then ``@data`` and one case per line::

    # comments start with '#'
    @problemName Waveforms
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 2
    @equalLength true
    @seriesLength 4
    @classLabel true sine square
    @data
    0.1,0.5,0.9,0.5:1.0,0.8,0.6,0.4:sine

Dimensions are separated by ``:``, values within a dimension by ``,``, and the class label
(or, with ``@targetLabel true``, a numeric regression target) comes last. ``?`` is a
missing value (NaN). Cases may differ in length (``@equalLength false``); within one case,
a dimension shorter than the others is padded with NaN at the end. In time-stamped files
(``@timeStamps true``) a dimension is a list of ``(timestamp,value)`` pairs; the values are
read in file order and the time stamps are dropped. Header keys and ``true``/``false`` are
case-insensitive; blank lines and ``#`` comments may appear anywhere.

:func:`read_ucr` reads the older UCR archive layouts: one case per line, the class label
first, then the values, separated by commas (UCR 2015 ``*_TRAIN``), tabs (UCR 2018
``*_TRAIN.tsv``, NaN padding unequal lengths) or spaces (``*_TRAIN.txt``).

Shapes: ``T`` time steps, ``D`` dimensions.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..utils import files
from ..utils.atomic import atomic_write
from ._validate import DataFormatError, PathLike, check_value, read_text_file


def read_ts(path: PathLike, encoding: str = "utf-8") -> tuple[list[np.ndarray], list | None]:
    """Read a ``.ts`` file.

    Returns:
        ``(sequences, labels)``: a list of (T_i, D) float64 arrays (NaN where missing) and
        a list of class-label strings, of floats (``@targetLabel true``), or None when the
        file has neither.

    Raises:
        DataFormatError: a malformed header, no ``@data``, a non-numeric value, a label
            not declared in ``@classLabel``, or a case with the wrong number of dimensions
            or (``@equalLength true``) the wrong length.
    """
    header: dict[str, list[str]] = {}
    sequences, labels = [], []
    in_data = False
    for number, line in enumerate(read_text_file(path, encoding).split("\n"), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataFormatError(
                    path, f"expected a header line '@key value' or @data, got {line[:40]!r}", line=number
                )
            key, *values = line.split()
            key = key[1:].lower()
            if key == "data":
                _check_header(path, header, number)
                in_data = True
            else:
                header[key] = values
            continue
        x, label = _parse_case(path, header, line, number)
        sequences.append(x)
        labels.append(label)
    if not in_data:
        raise DataFormatError(path, "no @data line: not a .ts file, or an empty one")
    if not sequences:
        raise DataFormatError(path, "no cases after @data")
    return sequences, (labels if _labelled(header) else None)


def _flag(header: dict, key: str) -> bool:
    values = header.get(key.lower(), [])
    return bool(values) and values[0].lower() == "true"


def _labelled(header: dict) -> bool:
    return _flag(header, "classLabel") or _flag(header, "targetLabel")


def _check_header(path: PathLike, header: dict, line: int) -> None:
    for key in ("dimensions", "seriesLength"):
        values = header.get(key.lower())
        if values is not None and (len(values) != 1 or not values[0].isdigit()):
            raise DataFormatError(path, f"@{key} expects one integer, got {' '.join(values)!r}")


def _expected_dims(header: dict) -> int | None:
    if "dimensions" in header:
        return int(header["dimensions"][0])
    if _flag(header, "univariate"):
        return 1
    return None


def _parse_case(path: PathLike, header: dict, line: str, number: int) -> tuple[np.ndarray, str | float | None]:
    label: str | float | None = None
    if _labelled(header):
        if ":" not in line:
            raise DataFormatError(path, "expected values then ':' and a label", line=number)
        line, label = line.rsplit(":", 1)
        label = label.strip()
        if _flag(header, "targetLabel"):
            label = _value(path, label, number, "target")
        else:
            declared = header["classlabel"][1:]
            if declared and label not in declared:
                raise DataFormatError(
                    path, f"class label {label!r} is not declared in @classLabel {declared}", line=number
                )
    if _flag(header, "timeStamps"):
        dims = [
            [_value(path, v, number, f"dimension {d}") for v in _stamped_values(part)]
            for d, part in enumerate(_split_stamped(line), start=1)
        ]
    else:
        dims = [
            [_value(path, v, number, f"dimension {d}") for v in part.split(",")]
            for d, part in enumerate(line.split(":"), start=1)
        ]
    expected = _expected_dims(header)
    if expected is not None and len(dims) != expected:
        raise DataFormatError(path, f"expected {expected} dimension(s) separated by ':', got {len(dims)}", line=number)
    T = max(len(values) for values in dims)
    if _flag(header, "equalLength") and "serieslength" in header and int(header["serieslength"][0]) != T:
        raise DataFormatError(path, f"expected @seriesLength {header['serieslength'][0]} values, got {T}", line=number)
    x = np.full((T, len(dims)), np.nan)  # (T, D)
    for d, values in enumerate(dims):
        x[: len(values), d] = values
    return x, label


_PAIR = re.compile(r"\(([^()]*),([^(),]*)\)")


def _split_stamped(line: str) -> list[str]:
    """Dimensions of a time-stamped case: ':' outside parentheses separates them (a time
    stamp such as ``2019-01-01 10:00:00`` has colons of its own)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        depth += ch == "("
        depth -= ch == ")"
        if ch == ":" and depth == 0:
            parts.append(line[start:i])
            start = i + 1
    parts.append(line[start:])
    return parts


def _stamped_values(part: str) -> list[str]:
    return [value for _, value in _PAIR.findall(part)] or [part]


def _value(path: PathLike, text: str, number: int, where: str) -> float:
    text = text.strip()
    if text == "?" or text.lower() == "nan":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataFormatError(path, f"{where}: expected a number or '?', got {text!r}", line=number) from None
    return check_value(value, path, line=number, column=where)


def read_ucr(path: PathLike, encoding: str = "utf-8") -> tuple[list[np.ndarray], list[str]]:
    """Read the older UCR layout (see the module docstring): label first, then values.

    Returns:
        ``(sequences, labels)``: (T_i, 1) float64 arrays with trailing NaN padding removed,
        and the labels as strings (``1.0000000e+00`` becomes ``1``).

    Raises:
        DataFormatError: a value that is not a number, or a line with fewer than 2 fields.
    """
    sequences, labels = [], []
    for number, line in enumerate(read_text_file(path, encoding).split("\n"), start=1):
        fields = _ucr_fields(line)
        if not fields:
            continue
        if len(fields) < 2:
            raise DataFormatError(path, "expected a label and at least one value", line=number)
        x = np.array([_value(path, v, number, f"value {i}") for i, v in enumerate(fields[1:], 1)])
        known = np.flatnonzero(np.isfinite(x))
        if len(known) == 0:
            raise DataFormatError(path, "a case without values", line=number)
        sequences.append(x[: known[-1] + 1, None])  # (T_i, 1)
        labels.append(_label_text(fields[0]))
    if not sequences:
        raise DataFormatError(path, "no cases: the file is empty")
    return sequences, labels


def looks_like_ucr(path: PathLike, encoding: str = "utf-8") -> bool:
    """True when the first lines are all numbers, at least 3 per line (label + values)."""
    try:
        raw = files.open_regular(path, what="a .ts or UCR file", max_bytes=files.MAX_TEXT_BYTES)
        with io.TextIOWrapper(raw, encoding=encoding, errors="replace") as fh:
            lines = [line for _, line in zip(range(5), fh, strict=False) if line.strip()]
    except (OSError, files.FileRefusedError):  # the reader says why
        return False
    if not lines:
        return False
    for line in lines:
        fields = _ucr_fields(line.lstrip("\ufeff"))
        if len(fields) < 3:
            return False
        for value in fields:
            try:
                float(value)
            except ValueError:
                return False
    return True


def _ucr_fields(line: str) -> list[str]:
    line = line.strip()
    if not line:
        return []
    if "\t" in line:
        return [f.strip() for f in line.split("\t")]
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def _label_text(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else text


def write_ts(
    path: PathLike,
    sequences: Sequence[ArrayLike],
    labels: Sequence,
    *,
    problem_name: str,
    class_labels: Sequence[str] | None = None,
    digits: int = 4,
) -> None:
    """Write (T_i, D) arrays and class labels as a ``.ts`` classification file.

    Values are written with ``digits`` significant digits; NaN becomes ``?``.
    ``class_labels`` (the declared label list) defaults to the sorted distinct labels.
    """
    arrays = [np.asarray(s, dtype=np.float64) for s in sequences]
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    if not arrays:
        raise ValueError("sequences: expected at least one (T_i, D) array, got none")
    if len(labels) != len(arrays):
        raise ValueError(f"labels: expected one per sequence ({len(arrays)}), got {len(labels)}")
    D = arrays[0].shape[1]
    if any(a.ndim != 2 or a.shape[1] != D for a in arrays):
        raise ValueError(f"sequences: expected (T_i, {D}) arrays throughout")
    labels = [str(label) for label in labels]
    class_labels = sorted(set(labels)) if class_labels is None else [str(c) for c in class_labels]
    lengths = {len(a) for a in arrays}
    head = [
        f"@problemName {problem_name}",
        "@timeStamps false",
        f"@missing {str(any(np.isnan(a).any() for a in arrays)).lower()}",
        f"@univariate {str(D == 1).lower()}",
        f"@dimensions {D}",
        f"@equalLength {str(len(lengths) == 1).lower()}",
    ]
    if len(lengths) == 1:
        head.append(f"@seriesLength {lengths.pop()}")
    head += ["@classLabel true " + " ".join(class_labels), "@data"]

    def fmt(v: float) -> str:
        return "?" if math.isnan(v) else f"{v:.{digits}g}"

    rows = [
        ":".join(",".join(fmt(v) for v in a[:, d]) for d in range(D)) + ":" + label
        for a, label in zip(arrays, labels, strict=False)
    ]
    with atomic_write(path, "w", parents=False) as fh:
        fh.write("\n".join(head + rows) + "\n")
