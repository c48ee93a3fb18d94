"""What a recurrent layer keeps between forward and backward, and its pool of large arrays."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np


class _Workspace:
    """Large arrays kept for reuse by later calls, once nothing else refers to them.

    A fresh multi-megabyte array costs a page fault per 4 KiB the first time it is
    written, which on small problems takes longer than the arithmetic. An array is handed
    out again only when its reference count shows that the pool alone holds it: no cache,
    output or view of it is alive anywhere, so reuse can never overwrite data in use.
    Contents are stale: every caller writes an array in full before reading it.
    """

    PER_SHAPE = 8  # arrays kept per (shape, dtype): a training loop holds two calls' worth at once

    def __init__(self) -> None:
        self._kept: dict[tuple, list[np.ndarray]] = {}

    def empty(self, shape, dtype) -> np.ndarray:
        key = (tuple(shape), np.dtype(dtype).str)
        kept = self._kept.setdefault(key, [])
        for a in kept:
            if sys.getrefcount(a) <= 3:  # the list, the loop variable, getrefcount's argument
                return a
        a = np.empty(shape, dtype)
        if len(kept) < self.PER_SHAPE:
            kept.append(a)
        return a


@dataclass
class _DirectionCache:
    store: dict  # the cell's per-step arrays, each (T, B, ...)
    h_prev: np.ndarray  # (T, B, H) state fed into the step at time t
    c_prev: np.ndarray | None
    rec_mask: np.ndarray | None  # (B, H) variational recurrent dropout mask
    h_time: np.ndarray  # (T, B, H) state produced by the step at time t
    weight_mask: np.ndarray | None = None  # (G, H) weight drop's M / (1 - p) (see rnnkit.nn._weight_drop)


@dataclass
class _LayerCache:
    x: np.ndarray  # (T, B, I_k) this layer's input
    dirs: list
    drop_mask: np.ndarray | None  # (T, B, D*H), or (1, B, D*H) locked: dropout on this layer's output


@dataclass
class RecurrentCache:
    """What ``backward`` needs from one ``forward``; opaque to users."""

    owner: int
    T: int
    B: int
    batch_first: bool
    mask: np.ndarray | None  # (T, B, 1) bool, None when every row has length T
    layers: list = field(default_factory=list)
    input_mask: np.ndarray | None = None  # (1, B, I) locked input dropout (rnnkit.nn._dropout)
    output: np.ndarray | None = None  # (T, B, D*H) the top layer's outputs before output dropout
    output_mask: np.ndarray | None = None  # (1, B, D*H) locked output dropout
