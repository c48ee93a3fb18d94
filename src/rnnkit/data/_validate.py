"""Shared helpers for the data package: seeded generators, argument checks, file errors."""

from __future__ import annotations

import codecs
import math
import numbers
import os
from pathlib import Path

import numpy as np

from ..utils import files, memory

#: a file path, as open() takes it
PathLike = str | os.PathLike[str]


class DataFormatError(ValueError):
    """A data file breaks its format. ``path``, ``line`` (1-based) and ``column`` say where."""

    def __init__(
        self,
        path: PathLike,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path, self.line, self.column = Path(path), line, column
        where = f"{path}" + (f", line {line}" if line is not None else "")
        where += f", column {column!r}" if column is not None else ""
        super().__init__(f"{where}: {problem}" + (f"; hint: {hint}" if hint else ""))


#: the largest magnitude a value read from a file may have: float32's range. The models
#: compute in float32; a value beyond it overflows, and its square overflows the float64
#: statistics the scaling computes, so the run would train on inf and NaN.
VALUE_LIMIT = float(np.finfo(np.float32).max)


def check_value(value: float, path: PathLike, *, line: int | None = None, column: str | None = None) -> float:
    """``value`` when it is finite and within :data:`VALUE_LIMIT`, or NaN (a missing value,
    which the readers report or fill); inf, -inf and a larger magnitude are a
    :class:`DataFormatError` naming the file, the line and the column. Every reader of
    numbers checks its values with this (or :func:`check_values`), so inf is treated the
    same in every format."""
    if math.isnan(value) or abs(value) <= VALUE_LIMIT:
        return value
    raise DataFormatError(path, _beyond(value), line=line, column=column, hint=_hint(value))


def check_values(values: np.ndarray, path: PathLike, name: str) -> None:
    """:func:`check_value` for a whole array read from ``path`` (array ``name``): the first
    value out of range is a :class:`DataFormatError` naming the array and its index."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        return  # integers are within float32's range
    with np.errstate(invalid="ignore"):
        bad = np.abs(values.astype(np.float64)) > VALUE_LIMIT  # NaN compares False: missing, allowed
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"array {name!r} at index {index if len(index) > 1 else index[0]}"
        value = float(values[index])
        raise DataFormatError(path, f"{where}: {_beyond(value)}", hint=_hint(value))


def _beyond(value: float) -> str:
    if math.isinf(value):
        return f"an infinite value ({value}); expected a finite number or a missing one"
    return f"{value:.4g} is beyond float32's range (|x| <= {VALUE_LIMIT:.4g}), which the models compute in"


def _hint(value: float) -> str:
    if math.isinf(value):
        return "replace or drop the infinite values (a missing value may be left empty)"
    return "rescale the column (other units, or a log) so its values fit float32"


def resolve_rng(rng: np.random.Generator | None, seed: int | None, where: str) -> np.random.Generator:
    """Exactly one of ``rng`` (a Generator) or ``seed`` (an int): data is always reproducible."""
    if rng is not None and seed is not None:
        raise TypeError(f"{where}: pass rng or seed, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"{where}: rng: expected a numpy.random.Generator, got {type(rng).__name__}; "
                "hint: rng=numpy.random.default_rng(0)"
            )
        return rng
    if seed is None:
        raise TypeError(
            f"{where}: expected rng=numpy.random.Generator or seed=int, got neither; "
            "hint: generated data is always seeded, e.g. seed=0"
        )
    return np.random.default_rng(check_int(seed, "seed", 0))


def check_int(value: object, name: str, minimum: int) -> int:
    """An integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_float(value: object, name: str, *, positive: bool = False) -> float:
    """A real number (not a bool); optionally > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    if positive and not value > 0:  # type: ignore[operator]  # numbers.Real declares no __gt__ in typeshed
        raise ValueError(f"{name}: expected a number > 0, got {value}")
    return float(value)


def read_text_file(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole file as text with ``\\n`` line ends (a UTF-8 byte-order mark is dropped).

    A decoding failure is a :class:`DataFormatError` naming the line.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; expected a file")
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(
            f"encoding: unknown text encoding {encoding!r}; expected e.g. 'utf-8', 'latin-1' or 'cp1252'"
        ) from None
    raw = files.read_regular_bytes(path, what="a text file", max_bytes=files.MAX_TEXT_BYTES)
    if encoding.replace("-", "").lower() == "utf8" and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFormatError(
            path,
            f"cannot decode byte {raw[exc.start]:#04x} as {encoding}",
            line=line,
            hint="pass encoding='latin-1' (on the command line: --encoding latin-1), or the file's real encoding",
        ) from exc
    # every parser of a text file yields at most one token or value per character
    memory.check_expansion(path, len(text), memory.TOKEN_BYTES, "characters (as token ids or values)")
    return text.replace("\r\n", "\n").replace("\r", "\n")
