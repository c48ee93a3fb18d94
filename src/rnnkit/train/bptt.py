"""Truncated backpropagation through time over long streams: TBPTT(k1, k2).

Shape legend: k steps in a chunk, B parallel streams (batch rows), F features (absent
for token ids). Every array is time-major: (k, B) or (k, B, F).

What k1 and k2 mean (Williams & Peng 1990, whose BPTT(h; h') has h = k2, h' = k1):

- ``k1``: the number of *new* time steps read between two parameter updates. The loss
  of an update is the mean loss over these k1 steps, and only over these: every step's
  loss is counted exactly once in the whole stream.
- ``k2``: the number of time steps the gradient flows back through, counted back from
  the newest step: the update differentiates the k1 new losses through a window of the
  last k2 steps, the k1 new ones plus the k2 - k1 steps just before them. The window is
  re-run forward with the current parameters from the state saved at its start, which is
  a constant (no gradient flows into it). The loss at the oldest new step therefore sees
  k2 - k1 + 1 steps of history, the newest sees k2. Precisely, the window is the new
  steps plus the k2 - k1 steps before them (fewer at the start of a stream), so a last,
  shorter chunk of n < k1 steps back-propagates through n + k2 - k1 steps.
- ``k1 = k2 = k`` is the common case (char-rnn's ``seq_length``, PyTorch's
  word_language_model ``--bptt``): cut the stream into chunks of k steps, carry the
  hidden state from chunk to chunk, back-propagate within each chunk. The forward work
  is one pass; ``k2 > k1`` costs k2 / k1 forward passes over the stream.
- ``k2 < k1`` is refused: the losses of the first k1 - k2 new steps would lie outside
  the window and never reach the parameters.

With one chunk covering the whole sequence (k1 = k2 = T) the gradient equals full BPTT.

Streams. :class:`Stream` cuts data into chunks of k = k1 steps for B rows:

- one long array (or ``numpy.memmap``) of N token ids (N,) or feature vectors (N, F) is
  split into B contiguous rows of R steps each (the remainder is dropped), and row b
  reads its own part from start to end, as char-rnn does; targets are the next step
  (inputs ``x[t]``, targets ``x[t+1]``) unless an aligned ``targets`` array is given.
  Chunks are sliced on demand, so memory stays O(k * B) however long the stream.
- an iterable of documents (arrays, or ``(inputs, targets)`` pairs): each row takes the
  next document from the iterable when its current one ends (the row that runs out
  first, in time, is served first; ties go to the lower row). When the iterable runs
  out, the rows still going are padded and their padding is marked invalid.

Document boundaries. A chunk carries ``resets`` (k, B) bool: ``resets[t, b]`` True means
row b starts over from ``model.init_state`` just before step t (a new document). The
hidden state then does not leak across documents, and no gradient flows across the
boundary. With an array source pass ``resets`` (N,) aligned with ``data``; a document
source sets them itself. A chunk with ``index == 0`` starts a stream: every row starts
from ``init_state`` and nothing is carried over from a previous stream.

The stream-model protocol (a Module with three more methods)::

    init_state(B) -> state                     # a pytree of arrays; None means zeros
    chunk_forward(inputs, targets, state, loss_mask=None)
        -> (loss_sum, count, new_state, cache)   # loss summed over counted (t, b)
    chunk_backward(cache, dloss_scale, dstate) -> dstate0
        # accumulate gradients of dloss_scale * loss_sum, plus dstate (the gradient
        # w.r.t. new_state, may be None); return the gradient w.r.t. state

``loss_mask`` is (k, B) bool, or None when every step counts. State leaves hold the
batch on axis 1 when 3-D (rnnkit's (L*D, B, H)) and on axis 0 otherwise; a model with
another layout sets ``state_batch_axis``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from ..nn._checks import positive_int
from .streams import Chunk, Stream

__all__ = ["Chunk", "Stream", "TBPTT"]


# -- state pytrees -----------------------------------------------------------------------
def _tree_map(fn: Callable[..., Any], *trees: Any) -> Any:
    t = trees[0]
    if t is None:
        return None
    if isinstance(t, np.ndarray):
        return fn(*trees)
    if isinstance(t, (tuple, list)):
        return type(t)(_tree_map(fn, *(tr[i] for tr in trees)) for i in range(len(t)))
    if isinstance(t, dict):
        return {key: _tree_map(fn, *(tr[key] for tr in trees)) for key in t}
    raise TypeError(f"state: expected arrays, or tuples, lists or dicts of arrays (or None), got {type(t).__name__}")


def _flatten(tree: Any, leaves: list) -> Any:
    """A JSON description of ``tree``'s structure; its arrays are appended to ``leaves``."""
    if tree is None:
        return None
    if isinstance(tree, np.ndarray):
        leaves.append(tree)
        return {"leaf": len(leaves) - 1}
    if isinstance(tree, (tuple, list)):
        return {type(tree).__name__: [_flatten(t, leaves) for t in tree]}
    if isinstance(tree, dict):
        return {"dict": {k: _flatten(v, leaves) for k, v in tree.items()}}
    raise TypeError(f"state: expected arrays, or tuples, lists or dicts of arrays, got {type(tree).__name__}")


def _unflatten(spec: Any, leaves: Sequence[np.ndarray]) -> Any:
    if spec is None:
        return None
    if "leaf" in spec:
        return np.array(leaves[spec["leaf"]])
    if "dict" in spec:
        return {k: _unflatten(v, leaves) for k, v in spec["dict"].items()}
    kind = "tuple" if "tuple" in spec else "list"
    return (tuple if kind == "tuple" else list)(_unflatten(s, leaves) for s in spec[kind])


@dataclass
class _Window:
    """The steps kept for the next update's window and the state at the window's start."""

    inputs: np.ndarray  # (h, B, ...)
    targets: np.ndarray  # (h, B, ...)
    resets: np.ndarray  # (h, B) bool
    state0: object  # state before step 0 of the window (before its resets)


class TBPTT:
    """Truncated BPTT(k1, k2) for a stream model, in the Trainer's batch protocol.

    Each batch is a :class:`Chunk` of at most k1 new steps. ``loss_and_grad(chunk)``
    re-runs the window of the last k2 steps, accumulates the gradient of the mean loss
    over the new steps and carries the state on; ``evaluate_batch(chunk)`` runs the chunk
    forward only, carrying its own state. Parameters, ``zero_grad``, ``train``/``eval``
    and ``state_dict`` are the wrapped model's::

        tbptt = TBPTT(model, k1=32, k2=64)
        Trainer(tbptt, config).fit(lambda epoch, rng: tbptt.stream(ids, batch_size=16),
                                   val=lambda: tbptt.stream(val_ids, batch_size=4))

    A non-finite carried state is dropped: the rows start over from ``init_state``.
    """

    def __init__(self, model: Any, k1: int, k2: int | None = None) -> None:
        missing = [
            m
            for m in ("init_state", "chunk_forward", "chunk_backward", "named_parameters", "zero_grad")
            if not callable(getattr(model, m, None))
        ]
        if missing:
            raise TypeError(
                f"model: expected a stream model (see rnnkit.train.bptt), got a {type(model).__name__} "
                f"lacking {missing}"
            )
        self.k1 = positive_int("k1", k1)
        self.k2 = self.k1 if k2 is None else positive_int("k2", k2)
        if self.k2 < self.k1:
            raise ValueError(
                f"k2: expected k2 >= k1 = {self.k1}, got {self.k2}. k1 is the number of new steps whose "
                f"losses an update counts and k2 the number of steps it back-propagates through, counted "
                f"from the newest; with k2 < k1 the losses of the oldest {self.k1 - self.k2} new steps would "
                "get no gradient at all; hint: k2=k1 for plain chunked TBPTT, or a smaller k1"
            )
        self.model = model
        self.state: Any = None  # the state after the newest step trained on
        self._win: _Window | None = None
        self._eval_state = None
        self._batch: int | None = None
        self._eval_batch: int | None = None

    # -- the wrapped model's parameters and mode ----------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        return self.model.named_parameters(prefix)

    def parameters(self) -> dict[str, np.ndarray]:
        return self.model.parameters()

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.model.grads

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state)

    def zero_grad(self) -> None:
        self.model.zero_grad()

    @property
    def training(self) -> bool:
        return getattr(self.model, "training", True)

    def train(self, mode: bool = True) -> Self:
        self.model.train(mode)
        return self

    def eval(self) -> Self:
        return self.train(False)

    def stream(self, data: Any, batch_size: int, **kwargs: Any) -> Stream:
        """``Stream(data, batch_size, k=self.k1, shard=True, **kwargs)``: under mpiexec each rank
        reads its own rows of the stream."""
        return Stream(data, batch_size, self.k1, **dict({"shard": True}, **kwargs))

    def reset(self) -> None:
        """Forget every carried state (training and evaluation)."""
        self.state, self._win, self._eval_state = None, None, None

    # -- training -------------------------------------------------------------------------
    def loss_and_grad(self, chunk: Chunk) -> float:
        """One TBPTT update's gradient: mean loss over the chunk's counted steps (see module doc)."""
        c = self._check_chunk(chunk, self.k1)
        B = c.batch_size
        if c.start or self._win is None or self._batch != B:
            if not c.start and self._batch is not None and self._batch != B:
                raise ValueError(
                    f"chunk: expected batch size {self._batch} as the stream so far, got {B}; "
                    "hint: a new stream must start with a chunk of index 0"
                )
            h0 = np.zeros((0,) + c.inputs.shape[1:], c.inputs.dtype)
            self._win = _Window(
                h0,
                np.zeros((0,) + c.targets.shape[1:], c.targets.dtype),
                np.zeros((0, B), bool),
                self.model.init_state(B),
            )
            self._batch = B
        w = self._win
        h, n = len(w.inputs), len(c)
        if h:
            inputs = np.concatenate([w.inputs, c.inputs])  # (h + n, B, ...)
            targets = np.concatenate([w.targets, c.targets])
        else:
            inputs, targets = c.inputs, c.targets
        resets = np.concatenate([w.resets, np.zeros((n, B), bool) if c.resets is None else c.resets])
        counted = np.zeros((h + n, B), bool)  # losses of the new steps only
        counted[h:] = True if c.valid is None else c.valid
        total = h + n
        split = total - min(self.k2 - self.k1, total)  # the next window starts here
        bounds = sorted({0, split, total} | {t for t in range(1, total) if resets[t].any()})
        state, next_state0, loss_sum, count, caches = w.state0, None, 0.0, 0, []
        for a, b in zip(bounds[:-1], bounds[1:], strict=False):
            if a == split:
                next_state0 = state
            state, reset_rows = self._reset_rows(state, resets[a], B)
            mask = None if (a >= h and c.valid is None) else counted[a:b]
            ls, cnt, state, cache = self.model.chunk_forward(inputs[a:b], targets[a:b], state, loss_mask=mask)
            loss_sum, count = loss_sum + float(ls), count + int(cnt)
            caches.append((cache, reset_rows))
        if split == total:
            next_state0 = state
        if count:
            dstate = None
            for cache, reset_rows in reversed(caches):
                dstate = self.model.chunk_backward(cache, 1.0 / count, dstate)
                if reset_rows is not None:  # a reset row's earlier state gets no gradient
                    dstate = _tree_map(lambda d, rows=reset_rows: np.where(self._rows(d, rows, B), 0, d), dstate)
        if _finite(state) and _finite(next_state0):
            self._win = _Window(inputs[split:], targets[split:], resets[split:], next_state0)
            self.state = state
        else:
            self._win, self.state = None, None
        return loss_sum / count if count else 0.0

    def batch_count(self, chunk: Chunk) -> int:
        """The new steps whose losses ``chunk``'s update counts: its weight when ranks sum
        their gradients (see rnnkit.distributed)."""
        return int(chunk.valid.sum()) if chunk.valid is not None else len(chunk) * chunk.batch_size

    # -- evaluation -----------------------------------------------------------------------
    def evaluate_batch(self, chunk: Chunk) -> tuple[float, int]:
        """Forward only, carrying the evaluation state: ``(loss_sum, count)`` over valid steps."""
        c = self._check_chunk(chunk, None)
        B = c.batch_size
        if not c.start and self._eval_state is not None and self._eval_batch != B:
            raise ValueError(
                f"chunk: expected batch size {self._eval_batch} as the stream so far, got {B}; "
                "hint: a new stream must start with a chunk of index 0"
            )
        state = self.model.init_state(B) if c.start or self._eval_state is None else self._eval_state
        self._eval_batch = B
        n = len(c)
        cuts = [] if c.resets is None else [t for t in range(1, n) if c.resets[t].any()]
        bounds = [0] + cuts + [n]
        loss_sum, count = 0.0, 0
        for a, b in zip(bounds[:-1], bounds[1:], strict=False):
            if c.resets is not None:
                state, _ = self._reset_rows(state, c.resets[a], B)
            mask = None if c.valid is None else c.valid[a:b]
            ls, cnt, state, _ = self.model.chunk_forward(c.inputs[a:b], c.targets[a:b], state, loss_mask=mask)
            loss_sum, count = loss_sum + float(ls), count + int(cnt)
        self._eval_state = state
        return loss_sum, count

    # -- resume (Trainer.save / Trainer.load) ---------------------------------------------
    def trainer_state(self) -> tuple[dict, dict]:
        """The carried window as (JSON meta, arrays), so a paused run resumes exactly."""
        if self._win is None:
            return {"k1": self.k1, "k2": self.k2, "window": None}, {}
        leaves: list = []
        spec = _flatten(self._win.state0, leaves)
        arrays = {"inputs": self._win.inputs, "targets": self._win.targets, "resets": self._win.resets}
        arrays.update((f"state.{i}", a) for i, a in enumerate(leaves))
        return {"k1": self.k1, "k2": self.k2, "window": {"batch_size": self._batch, "state": spec}}, arrays

    def load_trainer_state(self, meta: dict, arrays: dict) -> None:
        if (meta["k1"], meta["k2"]) != (self.k1, self.k2):
            raise ValueError(
                f"k1, k2: saved run used ({meta['k1']}, {meta['k2']}), this TBPTT has ({self.k1}, {self.k2})"
            )
        self.reset()
        if meta["window"] is not None:
            n = sum(1 for k in arrays if k.startswith("state."))
            state0 = _unflatten(meta["window"]["state"], [arrays[f"state.{i}"] for i in range(n)])
            self._win = _Window(
                np.array(arrays["inputs"]), np.array(arrays["targets"]), np.array(arrays["resets"], bool), state0
            )
            self._batch = meta["window"]["batch_size"]

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _check_chunk(chunk: Chunk, k_max: int | None) -> Chunk:
        if not isinstance(chunk, Chunk):
            raise TypeError(
                f"chunk: expected a rnnkit.train.bptt.Chunk, got {type(chunk).__name__}; "
                "hint: iterate a Stream (tbptt.stream(data, batch_size))"
            )
        if chunk.inputs.ndim < 2 or chunk.targets.shape[:2] != chunk.inputs.shape[:2] or len(chunk) == 0:
            raise ValueError(
                f"chunk: expected inputs and targets of shape (k, B, ...) with k >= 1, got "
                f"{chunk.inputs.shape} and {chunk.targets.shape}"
            )
        if k_max is not None and len(chunk) > k_max:
            raise ValueError(
                f"chunk: expected at most k1 = {k_max} steps, got {len(chunk)}; "
                "hint: build the stream with tbptt.stream(data, batch_size), whose chunks have k1 steps"
            )
        for name in ("resets", "valid"):
            a = getattr(chunk, name)
            if a is not None and a.shape != chunk.inputs.shape[:2]:
                raise ValueError(f"chunk.{name}: expected shape {chunk.inputs.shape[:2]} (k, B), got {a.shape}")
        return chunk

    def _rows(self, leaf: np.ndarray, rows: np.ndarray, B: int) -> np.ndarray:
        """``rows`` (B,) bool shaped to broadcast against ``leaf`` along its batch axis."""
        axis = getattr(self.model, "state_batch_axis", None)
        if axis is None:
            axis = 1 if leaf.ndim >= 3 else 0
        if leaf.ndim <= axis or leaf.shape[axis] != B:
            raise ValueError(
                f"state: a state array of shape {leaf.shape} has no batch axis of size {B} at axis "
                f"{axis}; hint: set state_batch_axis on the model"
            )
        shape = [1] * leaf.ndim
        shape[axis] = B
        return rows.reshape(shape)

    def _reset_rows(self, state: Any, rows: np.ndarray, B: int) -> tuple[Any, np.ndarray | None]:
        """Rows flagged in ``rows`` start over from ``init_state``; returns (state, rows or None)."""
        if not rows.any():
            return state, None
        if state is None:  # already the initial state
            return None, rows
        init = self.model.init_state(B)
        if init is None:
            init = _tree_map(np.zeros_like, state)
        return _tree_map(lambda s, i: np.where(self._rows(s, rows, B), i, s), state, init), rows


def _finite(tree: Any) -> bool:
    ok = [True]

    def check(a: np.ndarray) -> np.ndarray:
        ok[0] = ok[0] and bool(np.isfinite(a).all())
        return a

    _tree_map(check, tree)
    return ok[0]
