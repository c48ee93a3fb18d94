"""Streams for truncated BPTT: :class:`Stream` cuts data into :class:`Chunk` s of k steps.

Shape legend: k steps in a chunk, B parallel streams (batch rows), F features (absent
for token ids). Every array is time-major: (k, B) or (k, B, F). How rows read a long
array or a sequence of documents, and how document boundaries reset the state, is
described in :mod:`rnnkit.train.bptt`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..distributed import world
from ..nn._checks import positive_int

__all__ = ["Chunk", "Stream"]


@dataclass(frozen=True)
class Chunk:
    """k consecutive steps of B parallel streams; see the module docstring."""

    inputs: np.ndarray  # (k, B) ids or (k, B, F) features
    targets: np.ndarray  # (k, B) or (k, B, F)
    resets: np.ndarray | None  # (k, B) bool: row b restarts before step t
    valid: np.ndarray | None  # (k, B) bool: False on padding; None when all valid
    index: int  # position in the stream; 0 starts a stream

    @property
    def start(self) -> bool:
        return self.index == 0

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[1]

    def __len__(self) -> int:
        return self.inputs.shape[0]


class Stream:
    """Chunks of ``k`` steps over ``batch_size`` parallel rows of a long stream.

    Args:
        data: a long array / memmap (N,) or (N, F), or an iterable of documents (arrays,
            or ``(inputs, targets)`` pairs of equal length).
        batch_size: B, the number of parallel rows.
        k: steps per chunk (use the TBPTT's k1; the last chunk may be shorter).
        targets: for an array source, aligned targets (N, ...); None: next-step targets.
        resets: for an array source, (N,) bools: True where a document starts.
        pad_value: what fills the padded steps of finished rows (document sources).
        shard: under mpiexec, this rank reads only its part: of an array source, a contiguous
            block of the ``batch_size`` rows (the 1-process run's rows, so N ranks follow
            its trajectory); of a document source, every N-th document into its share of
            the rows. ``sharded`` then says each rank holds a disjoint part.

    Iterating yields :class:`Chunk`; an array source can be iterated again (same chunks),
    a document source as often as its iterable can.
    """

    def __init__(
        self,
        data: Any,
        batch_size: int,
        k: int,
        *,
        targets: Any = None,
        resets: Any = None,
        pad_value: float = 0,
        shard: bool = False,
    ) -> None:
        self.batch_size = positive_int("batch_size", batch_size)
        self.k = positive_int("k", k)
        self.pad_value = pad_value
        w = world()
        self.sharded = bool(shard) and w.active
        self.rows = (0, self.batch_size)  # this rank's rows [start, stop) of an array source
        if self.sharded:
            if self.batch_size < w.size:
                raise ValueError(
                    f"batch_size: {self.batch_size} parallel streams cannot be split across "
                    f"{w.size} MPI ranks; hint: batch_size >= the number of ranks (mpiexec -n "
                    f"{self.batch_size} or fewer)"
                )
            self.rows = w.bounds(self.batch_size)
            self._rank, self._size = w.rank, w.size
        if isinstance(data, (str, bytes)):
            raise TypeError(
                "data: expected token ids or features, got a string; hint: encode the text to "
                "integer ids first (e.g. with rnnkit.models.Vocab)"
            )
        if isinstance(data, np.ndarray) or (isinstance(data, (list, tuple)) and data and np.isscalar(data[0])):
            self._init_array(data, targets, resets)
        elif hasattr(data, "__iter__"):
            if targets is not None or resets is not None:
                raise ValueError(
                    "targets, resets: expected None for a stream of documents (documents start "
                    "rows over by themselves); hint: give (inputs, targets) pairs as documents"
                )
            if isinstance(data, (list, tuple)) and not data:
                raise ValueError("data: expected at least one document, got an empty list")
            self.data, self.mode = data, "documents"
        else:
            raise TypeError(
                f"data: expected an array, a numpy.memmap or an iterable of documents, got {type(data).__name__}"
            )

    def _init_array(self, data: Any, targets: Any, resets: Any) -> None:
        data = data if isinstance(data, np.ndarray) else np.asarray(data)
        _check_numeric("data", data)
        N, B = data.shape[0] if data.ndim else 0, self.batch_size
        if data.ndim == 0 or N == 0:
            raise ValueError(f"data: expected a non-empty stream (N,) or (N, F), got shape {data.shape}")
        if targets is None:
            R = (N - 1) // B
            need = f"next-step targets need at least batch_size + 1 = {B + 1} steps"
        else:
            targets = targets if isinstance(targets, np.ndarray) else np.asarray(targets)
            _check_numeric("targets", targets)
            if targets.shape[:1] != (N,):
                raise ValueError(f"targets: expected one target per step, shape ({N}, ...), got {targets.shape}")
            R = N // B
            need = f"at least batch_size = {B} steps"
        if R < 1:
            raise ValueError(f"data: a stream of {N} steps is too short for batch_size={B}; {need}")
        if resets is not None:
            resets = np.asarray(resets)
            if resets.shape != (N,) or not (resets.dtype == bool or np.issubdtype(resets.dtype, np.integer)):
                raise ValueError(
                    f"resets: expected ({N},) bools aligned with data, got shape {resets.shape} "
                    f"and dtype {resets.dtype}"
                )
        self.data, self.targets, self.resets, self.mode = data, targets, resets, "array"
        self.steps_per_row = R
        if self.sharded:
            head = slice(0, 1 << 20)  # the length and the first million steps: cheap on a huge memmap
            world().check_same(
                "data", N, *(None if a is None else np.asarray(a[head]) for a in (data, targets, resets))
            )

    def __len__(self) -> int:
        if self.mode != "array":
            raise TypeError("len: a stream of documents does not know its length in advance")
        return -(-self.steps_per_row // self.k)

    def __iter__(self) -> Iterator[Chunk]:
        return self._iter_array() if self.mode == "array" else self._iter_documents()

    def _iter_array(self) -> Iterator[Chunk]:
        R = self.steps_per_row
        starts = np.arange(*self.rows) * R  # (B,) first step of each row
        for i, s in enumerate(range(0, R, self.k)):
            idx = np.arange(s, min(s + self.k, R))[:, None] + starts  # (k, B) positions in the stream
            x = np.asarray(self.data[idx])
            y = np.asarray(self.data[idx + 1] if self.targets is None else self.targets[idx])
            r = None if self.resets is None else np.asarray(self.resets[idx], bool)
            yield Chunk(x, y, r, None, i)

    def _iter_documents(self) -> Iterator[Chunk]:
        docs = iter(self.data)
        B, k = self.batch_size, self.k
        if self.sharded:  # every N-th document, into this rank's share of the rows
            docs = itertools.islice(docs, self._rank, None, self._size)
            B = self.rows[1] - self.rows[0]
        rows: list = [None] * B  # per row: [inputs, targets, position]
        done = [False] * B
        proto = None  # (inputs trailing shape, dtype, targets trailing shape, dtype)
        seen = 0

        def next_doc() -> list | None:
            nonlocal seen, proto
            for doc in docs:
                x, y = _split_document(doc, seen)
                seen += 1
                if proto is None:
                    proto = (x.shape[1:], x.dtype, y.shape[1:], y.dtype)
                elif (
                    x.shape[1:] != proto[0]
                    or y.shape[1:] != proto[2]
                    or x.dtype.kind != proto[1].kind
                    or y.dtype.kind != proto[3].kind
                ):
                    raise ValueError(
                        f"data[{seen - 1}]: expected steps of shape {proto[0]} ({proto[1].kind} kind) "
                        f"like the first document, got {x.shape[1:]} ({x.dtype})"
                    )
                if len(x):
                    return [x, y, 0]
            return None

        index = 0
        while True:
            filled = []  # (b, t, inputs, targets) pieces, written once shapes are known
            resets = np.zeros((k, B), bool)
            pos = [0] * B  # steps of this chunk filled, per row
            while True:  # serve the row whose document ends first (ties: lower row)
                waiting = [(pos[b], b) for b in range(B) if not done[b] and pos[b] < k]
                if not waiting:
                    break
                t, b = min(waiting)
                if rows[b] is None or rows[b][2] == len(rows[b][0]):
                    rows[b] = next_doc()
                    if rows[b] is None:
                        done[b] = True
                        continue
                    resets[t, b] = True
                x, y, p = rows[b]
                m = min(k - t, len(x) - p)
                filled.append((b, t, x[p : p + m], y[p : p + m]))
                rows[b][2] += m
                pos[b] += m
            if not filled:
                if index == 0:
                    raise ValueError(
                        "data: the stream is empty (no document with at least one step "
                        "of input and target; next-step targets need documents of 2+ steps)"
                    )
                return
            assert proto is not None  # set by the first document, which filled a row
            steps = max(t + len(xs) for _, t, xs, _ in filled)
            X = np.full((steps, B) + proto[0], self.pad_value, proto[1])
            Y = np.full((steps, B) + proto[2], self.pad_value, proto[3])
            valid = np.zeros((steps, B), bool)
            for b, t, xs, ys in filled:
                X[t : t + len(xs), b] = xs
                Y[t : t + len(xs), b] = ys
                valid[t : t + len(xs), b] = True
            r = resets[:steps]
            yield Chunk(X, Y, r if r.any() else None, None if valid.all() else valid, index)
            index += 1


def _check_numeric(name: str, a: np.ndarray) -> None:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name}: expected numeric token ids or features, got dtype {a.dtype}")


def _split_document(doc: Any, i: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(doc, tuple):
        if len(doc) != 2:
            raise ValueError(f"data[{i}]: expected an array or an (inputs, targets) pair, got a {len(doc)}-tuple")
        x, y = np.asarray(doc[0]), np.asarray(doc[1])
        if x.ndim == 0 or y.shape[:1] != x.shape[:1]:
            raise ValueError(
                f"data[{i}]: expected inputs and targets of one length, got shapes {x.shape} and {y.shape}"
            )
    else:
        if isinstance(doc, (str, bytes)):
            raise TypeError(
                f"data[{i}]: expected an array of token ids or features, got a string; "
                "hint: encode the text to integer ids first"
            )
        a = np.asarray(doc)
        if a.ndim == 0:
            raise ValueError(f"data[{i}]: expected a sequence (n,) or (n, F), got a scalar")
        x, y = a[:-1], a[1:]
    _check_numeric(f"data[{i}]", x)
    _check_numeric(f"data[{i}]", y)
    return x, y
