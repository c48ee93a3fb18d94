"""Checks of numeric arguments shared by the optimizers, schedules, initializers and
gradient clipping: each error names the argument, the range expected and the value that
came."""

from __future__ import annotations

import math
import numbers

import numpy as np


def _expected_range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return "a finite number"
    if high is None:
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"a finite number {'<' if high_open else '<='} {high:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_number(
    arg: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float after checking that it is a finite real in the range.

    The error names the argument, the expected range and the value received, e.g.
    ``lr: expected a finite number >= 0, got -0.1``.
    """
    expected = _expected_range(low, high, low_open, high_open)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg}: expected {expected}, got {type(value).__name__} {value!r}")
    v = float(value)
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        raise ValueError(f"{arg}: expected {expected}, got {value!r}")
    return v
