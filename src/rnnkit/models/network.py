"""The network inside the many-to-one and aligned many-to-many estimators.

Shape legend: T time, B batch, F features, V vocabulary, E embedding, H hidden,
D directions, K outputs (classes or regression targets).

    inputs (T, B, F) floats ----------------------------.
    inputs (T, B) ids -> Embedding (T, B, E) ------------+-> recurrent stack (T, B, D*H)
                        -> pooling (B, D*H) or none (T, B, D*H) -> Linear head (B or T, B, K)

Pooling over the valid steps t < len_b of each row:

    last : z_b = [h^fwd_{len_b - 1}, h^rev_0]   (the reverse direction ends at t = 0)
    mean : z_b = (1 / len_b) sum_t h_t
    max  : z_b[j] = max_t h_t[j]                (gradient flows to the argmax step)
    none : one output per step (aligned tagging / per-step regression)

The loss is softmax cross-entropy (``"ce"``, integer targets) or squared error (``"mse"``)
averaged over rows, or over valid steps when ``pooling="none"``. While training, the
objective adds the AR/TAR penalty of the recurrent stack's outputs over the valid steps
(``activation_reg``, ``temporal_activation_reg``: :mod:`rnnkit.nn.activation_reg`), and
``loss_and_grad`` returns that objective; ``evaluate_batch`` the loss alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..nn import Embedding, Linear
from ..nn.activation_reg import ActivationReg
from ..nn.losses import cross_entropy, mse
from ..nn.module import Module
from ._data import FEATURES, Batch, step_mask
from .base import make_recurrent

POOLINGS = ("last", "mean", "max", "none")


# -- pooling: forward/backward pairs -----------------------------------------------------
def pool_forward(out, lengths, mode, H):
    """out (T, B, D*H), lengths (B,) -> (z, cache); z (B, D*H), or ``out`` itself for none."""
    T, B, DH = out.shape
    rows = np.arange(B)
    if mode == "none":
        return out, None
    if mode == "last":
        z = out[lengths - 1, rows].copy()  # (B, D*H): forward half is right
        if DH > H:
            z[:, H:] = out[0, :, H:]  # reverse direction's last step is t = 0
        return z, (T, B, DH, lengths)
    mask = step_mask(lengths, T)[:, :, None]  # (T, B, 1)
    if mode == "mean":
        z = np.where(mask, out, 0).sum(axis=0) / lengths[:, None].astype(out.dtype)
        return z, (T, B, DH, lengths)
    # max: padded steps can never win
    masked = np.where(mask, out, -np.inf)
    arg = masked.argmax(axis=0)  # (B, D*H) time index of the max
    z = np.take_along_axis(out, arg[None], axis=0)[0]
    return z, (T, B, DH, arg)


def pool_backward(dz, cache, mode, H):
    """dz (B, D*H) -> dout (T, B, D*H)."""
    if mode == "none":
        return dz
    T, B, DH, extra = cache
    dout = np.zeros((T, B, DH), dz.dtype)
    rows = np.arange(B)
    if mode == "last":
        lengths = extra
        dout[lengths - 1, rows, :H] = dz[:, :H]
        if DH > H:
            dout[0, :, H:] += dz[:, H:]
    elif mode == "mean":
        lengths = extra
        mask = step_mask(lengths, T)[:, :, None]
        dout[...] = np.where(mask, dz[None] / lengths[None, :, None].astype(dz.dtype), 0)
    else:
        np.put_along_axis(dout, extra[None], dz[None], axis=0)
    return dout


# -- the network -------------------------------------------------------------------------
class BatchProtocol:
    """The training protocol of :class:`rnnkit.train.Trainer` for a net that has
    ``forward(inputs, lengths) -> (y, cache)``, ``backward(dy, cache)`` and
    ``_loss(y, batch) -> (mean loss, dL/dy, count)``."""

    # What the net provides, declared for the type checker.
    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[..., Any]
    _loss: Callable[[Any, Batch], tuple[float, np.ndarray, int]]

    def loss_and_grad(self, batch: Batch) -> float:
        """The batch's mean loss plus, while training, its AR/TAR penalty (the objective whose
        gradient is accumulated)."""
        y, cache = self.forward(batch.inputs, batch.lengths)
        loss, dy, _ = self._loss(y, batch)
        self.backward(dy, cache)
        return loss + self._penalty(cache)

    def _penalty(self, cache: Any) -> float:
        """The regularization penalty ``forward`` added to the objective (none here)."""
        return 0.0

    def batch_count(self, batch: Batch) -> int:
        """What the batch's mean loss is over (steps when pooling is none, else rows): the
        batch's weight when ranks sum their gradients (see rnnkit.distributed)."""
        if getattr(self, "pooling", None) == "none":
            return int(batch.mask.sum()) if batch.mask is not None else batch.inputs.shape[0] * len(batch.lengths)
        return len(batch.lengths)

    def evaluate_batch(self, batch: Batch) -> tuple[float, int]:
        y, _ = self.forward(batch.inputs, batch.lengths)
        loss, _, count = self._loss(y, batch)
        return loss * count, count


class SequenceNet(BatchProtocol, Module):
    """[Embedding ->] recurrent stack -> pooling -> Linear head, with its loss.

    Args:
        kind: ``"features"`` (``input_size`` = F) or ``"tokens"`` (``input_size`` = V).
        output_size: K. pooling: one of :data:`POOLINGS`. loss: ``"ce"`` or ``"mse"``.
        word_dropout: while training, each non-PAD id becomes ``unk_id`` with this probability.
    """

    def __init__(
        self,
        *,
        kind,
        input_size,
        output_size,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        recurrent_dropout=0.0,
        embedding_dim=32,
        pooling="last",
        loss="ce",
        word_dropout=0.0,
        unk_id=1,
        embedding_dropout=0.0,
        activation_reg=0.0,
        temporal_activation_reg=0.0,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        assert pooling in POOLINGS and loss in ("ce", "mse"), (pooling, loss)
        self.kind, self.pooling, self.loss = kind, pooling, loss
        self.word_dropout, self.unk_id = float(word_dropout), int(unk_id)
        self.rng = rng
        rnn_in = input_size
        self.embedding = None
        if kind != FEATURES:
            emb = Embedding(input_size, embedding_dim, padding_idx=0, dropout=embedding_dropout, dtype=dtype, rng=rng)
            self.embedding = self.add_module("embedding", emb)
            rnn_in = embedding_dim
        elif embedding_dropout:
            raise ValueError(
                f"embedding_dropout: feature-vector inputs have no embedding, got {embedding_dropout!r}; "
                "hint: leave it at 0.0, or give token inputs (lists of str or int ids)"
            )
        self.reg = ActivationReg(activation_reg, temporal_activation_reg)
        self.rnn = self.add_module(
            "rnn",
            make_recurrent(
                cell,
                rnn_in,
                hidden_size,
                num_layers,
                bidirectional=bidirectional,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                dtype=dtype,
                rng=rng,
            ),
        )
        D = 2 if bidirectional else 1
        self.head = self.add_module("head", Linear(D * hidden_size, output_size, dtype=dtype, rng=rng))
        self.dtype = self.rnn.dtype

    def forward(self, inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, tuple]:
        """inputs (T, B, F) or (T, B) ids; lengths (B,) -> (y, cache), y (B, K) or (T, B, K)."""
        emb_cache = None
        x = inputs
        if self.embedding is not None:
            ids = inputs
            if self.training and self.word_dropout > 0:
                drop = (self.rng.random(ids.shape) < self.word_dropout) & (ids != 0)
                ids = np.where(drop, self.unk_id, ids)
            x, emb_cache = self.embedding.forward(ids)  # (T, B, E)
        T = x.shape[0]
        lens = None if np.all(lengths == T) else lengths
        out, _, rnn_cache = self.rnn.forward(x, None, lens)  # (T, B, D*H)
        reg = self.reg.forward(out, rnn_cache, step_mask(lengths, T)) if self.training else (0.0, None)
        z, pool_cache = pool_forward(out, lengths, self.pooling, self.rnn.hidden_size)
        y, head_cache = self.head.forward(z)  # (B, K) or (T, B, K)
        return y, (emb_cache, rnn_cache, pool_cache, head_cache, reg)

    def _penalty(self, cache):
        return cache[-1][0]

    def backward(self, dy, cache):
        """Accumulate the gradients of every parameter given dL/dy (and dL/dpenalty = 1)."""
        emb_cache, rnn_cache, pool_cache, head_cache, (_, c_reg) = cache
        dz = self.head.backward(dy, head_cache)
        dout = pool_backward(dz, pool_cache, self.pooling, self.rnn.hidden_size)
        dout, doutput = self.reg.backward(1.0, c_reg, dout)
        dx, _ = self.rnn.backward(dout, None, rnn_cache, doutput)
        if self.embedding is not None:
            self.embedding.backward(dx, emb_cache)

    def _loss(self, y, batch: Batch):
        mask = batch.mask if self.pooling == "none" else None
        assert batch.targets is not None  # training and evaluation batches carry targets
        if self.loss == "ce":
            loss, dy = cross_entropy(y, batch.targets, mask=mask)
        else:
            loss, dy = mse(y, batch.targets, mask=mask)
        count = int(mask.sum()) if mask is not None else y.shape[0]
        return loss, dy, count
