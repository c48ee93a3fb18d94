"""Input validation at the public boundary of the layers.

Every refusal names the argument, what was expected and what came, with a hint where one
helps. Validation never modifies its inputs.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import DTypeLike


class NonFiniteError(ValueError):
    """An array holds NaN or inf where the layers need finite values (``x``, ``dout``...).

    A ValueError, so callers that validate their input see the usual class; the training
    loop turns it into its fault policy's clean stop (:mod:`rnnkit.train.faults`).
    """


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a float in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name}: expected a float in [0, 1), got {value}")
    return float(value)


def float_array(name: str, value: Any, dtype: DTypeLike, ndim: int | tuple[int, ...], hint: str = "") -> np.ndarray:
    """``value`` as an array of ``dtype`` with the given rank and only finite entries."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__} ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(
            f"{name}: expected a real array, got complex dtype {arr.dtype}; "
            "hint: pass the real part (x.real), the magnitude (abs(x)) or both as features"
        )
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ValueError(f"{name}: expected a {want} array, got shape {arr.shape}" + (f"; {hint}" if hint else ""))
    arr = arr.astype(dtype, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise NonFiniteError(f"{name}: contains NaN or inf (first at index {tuple(int(i) for i in bad)})")
    return arr


def lengths_array(lengths: Any, T: int, B: int) -> np.ndarray | None:
    """Per-row valid lengths (right padding): ints in [1, T], one per batch row."""
    if lengths is None:
        return None
    if hasattr(lengths, "detach"):
        lengths = lengths.detach().cpu().numpy()
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.shape[0] != B:
        raise ValueError(f"lengths: expected one length per batch row, shape ({B},), got shape {arr.shape}")
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    ):
        raise TypeError(f"lengths: expected integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 1 or arr.max() > T):
        raise ValueError(
            f"lengths: expected every length in [1, {T}] (T, the padded length), "
            f"got min {arr.min()} and max {arr.max()}"
        )
    return arr
