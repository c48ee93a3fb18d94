"""Small probe networks for the experiments, each speaking the training protocol
(``loss_and_grad(batch) -> float``, ``evaluate_batch(batch) -> (loss_sum, count)``).

Shape legend
    B  batch    T  time steps    I  input features    H  hidden units    V  vocabulary

They are deliberately minimal, so that what an experiment varies (the cell, the
recurrent weight, the initialization) is the only thing that differs between its runs.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..nn import Linear
from ..nn.cells import CELLS
from ..nn.functional import softmax
from ..nn.losses import cross_entropy, mse
from ..nn.module import Module


def make_layer(cell: str, input_size: int, hidden_size: int, *, dtype="float32", rng):
    """A batch-first layer of a registered cell (:data:`rnnkit.nn.cells.CELLS`)."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    return nn.make_layer(cell, input_size, hidden_size, batch_first=True, dtype=dtype, rng=rng)


class LastStepRegressor(Module):
    """Many-to-one: x (B, T, I) -> recurrent layer -> Linear(h_T) -> prediction (B, 1); MSE.

    The loss sits at the last step only, so ||dL/dh_t|| measures exactly how much of the
    gradient reaches t from T: the quantity the vanishing/exploding analysis is about.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, *, dtype="float32", rng):
        super().__init__()
        self.rnn = self.add_module("rnn", make_layer(cell, input_size, hidden_size, dtype=dtype, rng=rng))
        self.head = self.add_module("head", Linear(hidden_size, 1, dtype=dtype, rng=rng))

    def _forward(self, x):
        out, _, cache = self.rnn.forward(x)  # (B, T, H)
        pred, hcache = self.head.forward(out[:, -1])  # (B, 1)
        return out, pred, cache, hcache

    def loss_and_grad(self, batch) -> float:
        x, y = batch
        out, pred, cache, hcache = self._forward(x)
        loss, dpred = mse(pred, y)
        dout = np.zeros_like(out)
        dout[:, -1] = self.head.backward(dpred, hcache)
        self.rnn.backward(dout, None, cache)
        return loss

    def evaluate_batch(self, batch):
        x, y = batch
        _, pred, _, _ = self._forward(x)
        return mse(pred, y)[0] * len(y), len(y)


def one_hot(ids, V: int, dtype=np.float32) -> np.ndarray:
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (V,), dtype)
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


class CharRNN(Module):
    """Next-character prediction with memory: one-hot (B, T, V) -> recurrent layer -> Linear -> softmax.

    A batch is ``(inputs (B, T), targets (B, T))`` of character ids; a target of -100
    is not counted (padding).
    """

    def __init__(self, cell: str, vocab_size: int, hidden_size: int, *, dtype="float32", rng):
        super().__init__()
        self.V = vocab_size
        self.rnn = self.add_module("rnn", make_layer(cell, vocab_size, hidden_size, dtype=dtype, rng=rng))
        self.head = self.add_module("head", Linear(hidden_size, vocab_size, dtype=dtype, rng=rng))

    def _forward(self, inputs):
        x = one_hot(inputs, self.V, self.rnn.dtype)  # (B, T, V)
        out, _, cache = self.rnn.forward(x)  # (B, T, H)
        logits, hcache = self.head.forward(out)  # (B, T, V)
        return out, logits, cache, hcache

    def loss_and_grad(self, batch) -> float:
        inputs, targets = batch
        out, logits, cache, hcache = self._forward(inputs)
        loss, dlogits = cross_entropy(logits, targets)
        self.rnn.backward(self.head.backward(dlogits, hcache), None, cache)
        return loss

    def evaluate_batch(self, batch):
        return _evaluate(self, batch)

    def predict_proba(self, inputs) -> np.ndarray:
        return softmax(self._forward(inputs)[1].astype(np.float64))  # (B, T, V)


class CharFeedForward(Module):
    """Next-character prediction without memory: each step sees only its own character.

    one-hot x_t (V) -> Linear -> tanh -> Linear -> softmax, the same weights at every t;
    the best it can do is p(next char | current char).
    """

    def __init__(self, vocab_size: int, hidden_size: int, *, dtype="float32", rng):
        super().__init__()
        self.V = vocab_size
        self.hidden = self.add_module("hidden", Linear(vocab_size, hidden_size, dtype=dtype, rng=rng))
        self.head = self.add_module("head", Linear(hidden_size, vocab_size, dtype=dtype, rng=rng))

    def _forward(self, inputs):
        x = one_hot(inputs, self.V, self.hidden.dtype)  # (B, T, V)
        a, c1 = self.hidden.forward(x)  # (B, T, H)
        z = np.tanh(a)
        logits, c2 = self.head.forward(z)  # (B, T, V)
        return z, logits, c1, c2

    def loss_and_grad(self, batch) -> float:
        inputs, targets = batch
        z, logits, c1, c2 = self._forward(inputs)
        loss, dlogits = cross_entropy(logits, targets)
        dz = self.head.backward(dlogits, c2)
        self.hidden.backward(dz * (1.0 - z * z), c1)  # tanh' = 1 - z^2
        return loss

    def evaluate_batch(self, batch):
        return _evaluate(self, batch)

    def predict_proba(self, inputs) -> np.ndarray:
        return softmax(self._forward(inputs)[1].astype(np.float64))


def _evaluate(net, batch):
    inputs, targets = batch
    logits = net._forward(inputs)[1]
    count = int(np.sum(targets != -100))
    return cross_entropy(logits, targets)[0] * count, count
