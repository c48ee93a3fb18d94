"""Global attention for the encoder-decoder (Luong et al. 2015, "general" score).

Shape legend
    S  source steps    T  target steps    B  batch (or beams)
    K  encoder output size (D*H)          H  decoder hidden units

The decoder's top-layer outputs o_t attend over the encoder outputs m_s (the memory):

    k_s   = W_a m_s                                  keys,       (S, B, H)
    e_ts  = o_t . k_s        (-inf where s is padding)           (T, B, S)
    a_t   = softmax_s(e_t)                           alignment,  (T, B, S)
    c_t   = sum_s a_ts m_s                           context,    (T, B, K)
    z_t   = tanh(W_c [c_t; o_t] + b_c)               attentional state, (T, B, H)

and z_t replaces o_t as the input of the output layer. There is no input feeding, so a
teacher-forced decoder still runs over all T steps at once and attention follows as a
few batched products. The backward pass:

    dpre = dz (1 - z^2);   [dc; do1] = W_c^T dpre
    da   = dc . m_s;       de = a (da - sum_s a da)       softmax
    do   = do1 + sum_s de_ts k_s;   dk_s = sum_t de_ts o_t;   dm_s = sum_t a_ts dc_t + W_a^T dk_s
"""

from __future__ import annotations

import numpy as np

from ..nn import Linear
from ..nn.module import Module


class Attention(Module):
    """``memory(m, mask)`` once per source batch, then ``forward(o, memory)`` per decoder run."""

    def __init__(self, hidden_size: int, memory_size: int, *, dtype="float32", rng=None):
        super().__init__()
        self.key = self.add_module("key", Linear(memory_size, hidden_size, bias=False, dtype=dtype, rng=rng))
        self.combine = self.add_module("combine", Linear(memory_size + hidden_size, hidden_size, dtype=dtype, rng=rng))

    # -- the memory: encoder outputs and their keys ------------------------------------------
    def memory(self, m, mask):
        """m (S, B, K), mask (S, B) bool -> memory tuple (m, keys, mask), each with B on axis 1."""
        keys, _ = self.key.forward(m)  # (S, B, H)
        return (m, keys, mask)

    def memory_backward(self, dm_context, dkeys, memory):
        """dL/dm (S, B, K) from the contexts and from the keys; accumulates dW_a."""
        m = memory[0]
        return dm_context + self.key.backward(dkeys, m)

    # -- attention over the memory -------------------------------------------------------------
    def forward(self, o: np.ndarray, memory: tuple) -> tuple[np.ndarray, tuple]:
        """o (T, B, H) -> (z (T, B, H), cache)."""
        m, keys, mask = memory
        ob = o.transpose(1, 0, 2)  # (B, T, H)
        e = ob @ keys.transpose(1, 2, 0)  # (B, T, H) x (B, H, S)
        e = np.where(mask.T[:, None, :], e, -np.inf)  # (B, T, S)
        e -= e.max(axis=2, keepdims=True)  # a valid s always exists
        a = np.exp(e)
        a /= a.sum(axis=2, keepdims=True)
        c = a @ m.transpose(1, 0, 2)  # (B, T, S) x (B, S, K)
        cat = np.concatenate([c.transpose(1, 0, 2), o], axis=2)  # (T, B, K + H)
        pre, c_lin = self.combine.forward(cat)
        z = np.tanh(pre)
        return z, (o, a, z, c_lin, memory)

    def backward(self, dz, cache):
        """dz (T, B, H) -> (do (T, B, H), dm_context (S, B, K), dkeys (S, B, H))."""
        o, a, z, c_lin, (m, keys, _) = cache
        K = m.shape[2]
        dcat = self.combine.backward(dz * (1.0 - z * z), c_lin)  # (T, B, K + H)
        dc = dcat[:, :, :K].transpose(1, 0, 2)  # (B, T, K)
        do = dcat[:, :, K:]
        mb = m.transpose(1, 0, 2)  # (B, S, K)
        da = dc @ mb.transpose(0, 2, 1)  # (B, T, K) x (B, K, S)
        dm_context = (a.transpose(0, 2, 1) @ dc).transpose(1, 0, 2)  # (B, S, T) x (B, T, K)
        de = a * (da - np.sum(a * da, axis=2, keepdims=True))  # (B, T, S)
        do = do + (de @ keys.transpose(1, 0, 2)).transpose(1, 0, 2)  # (B, T, S) x (B, S, H)
        dkeys = (de.transpose(0, 2, 1) @ o.transpose(1, 0, 2)).transpose(1, 0, 2)  # (S, B, H)
        return do, dm_context, dkeys
