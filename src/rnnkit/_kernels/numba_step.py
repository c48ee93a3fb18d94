"""The online step (``layer.step``) for small batches: products and gate math in one call.

Shape legend: B batch (small), I input features, H hidden units, G gates x H (LSTM 4H in
the order i f g o, GRU 3H in the order r z n, RNN H).

At B = 1 a step is a matrix-vector product per weight matrix: its time goes to reading
the weights (a few hundred KiB) and, in NumPy, to a dozen calls of ~0.5 us each. Here one
call per layer reads each weight row once for all batch rows, four rows at a time (every
element of x and h is loaded once for four products), then applies the gate math in
loops that vectorize (one per gate block). The weights are read raw, as stored (no
prepared copy that an optimizer step could leave stale), and nothing is kept between
calls: the small (B, G) workspace is allocated here, so concurrent calls cannot collide.

``reassoc`` lets the dot products vectorize; there is no ``nnan``/``ninf``, so the
finiteness test still sees NaN and inf. Each kernel returns False when a pre-activation
or a new cell state is not finite, which is how a NaN or inf in x, h or c shows; the
caller then runs the validating NumPy path, which names the culprit.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from .numba_math import _JIT, th

_DOT: dict[str, Any] = dict(_JIT, fastmath={"reassoc", "contract"})


@numba.njit(inline="always", **_DOT)
def _products(W, v, out, accumulate):
    """out[r, j] (+)= W[j] . v[r] for W (G, K), v (B, K), out (B, G); four rows of W at once."""
    G, K = W.shape
    B = v.shape[0]
    zero = out.dtype.type(0)
    j = 0
    while j + 4 <= G:
        w0, w1, w2, w3 = W[j], W[j + 1], W[j + 2], W[j + 3]
        for r in range(B):
            vr = v[r]
            s0 = s1 = s2 = s3 = zero
            for k in range(K):
                vk = vr[k]
                s0 += w0[k] * vk
                s1 += w1[k] * vk
                s2 += w2[k] * vk
                s3 += w3[k] * vk
            o = out[r]
            if accumulate:
                o[j] += s0
                o[j + 1] += s1
                o[j + 2] += s2
                o[j + 3] += s3
            else:
                o[j], o[j + 1], o[j + 2], o[j + 3] = s0, s1, s2, s3
        j += 4
    for jj in range(j, G):  # G not a multiple of 4
        w0 = W[jj]
        for r in range(B):
            vr = v[r]
            s0 = zero
            for k in range(K):
                s0 += w0[k] * vr[k]
            if accumulate:
                out[r, jj] += s0
            else:
                out[r, jj] = s0


@numba.njit(inline="always", **_DOT)
def _add_bias(p, b1, b2):
    """p += b1 + b2 for one row; returns the sum of p - p (0 iff every entry is finite)."""
    bad = p.dtype.type(0)
    for j in range(p.shape[0]):
        p[j] += b1[j] + b2[j]
    for j in range(p.shape[0]):
        bad += p[j] - p[j]
    return bad


@numba.njit(**_DOT)
def lstm_step(x, h, c, k, W_ih, W_hh, b_ih, b_hh, h_out, c_out):
    """One LSTM step of layer k: x (B, I_k), h[k], c[k] -> h_out[k], c_out[k] (each (B, H),
    the states (L, B, H)); True iff all finite."""
    h, c, h_out, c_out = h[k], c[k], h_out[k], c_out[k]
    B, H = h.shape
    pre = np.empty((B, 4 * H), h.dtype)  # (B, 4H)
    _products(W_ih, x, pre, False)
    _products(W_hh, h, pre, True)
    half = pre.dtype.type(0.5)
    bad = pre.dtype.type(0)
    for r in range(B):
        p = pre[r]
        bad += _add_bias(p, b_ih, b_hh)
        for j in range(2 * H):  # i, f = sigmoid
            p[j] = half * th(half * p[j]) + half
        for j in range(2 * H, 3 * H):  # g = tanh
            p[j] = th(p[j])
        for j in range(3 * H, 4 * H):  # o = sigmoid
            p[j] = half * th(half * p[j]) + half
        cr, co, ho = c[r], c_out[r], h_out[r]
        for j in range(H):
            co[j] = p[H + j] * cr[j] + p[j] * p[2 * H + j]
        for j in range(H):
            bad += co[j] - co[j]
        for j in range(H):
            ho[j] = p[3 * H + j] * th(co[j])
    return bad == 0


@numba.njit(**_DOT)
def gru_step(x, h, k, W_ih, W_hh, b_ih, b_hh, h_out):
    """One GRU step of layer k: x (B, I_k), h[k] -> h_out[k] (states (L, B, H)); True iff all finite."""
    h, h_out = h[k], h_out[k]
    B, H = h.shape
    pre_i = np.empty((B, 3 * H), h.dtype)  # W_ih x + b_ih
    pre_h = np.empty((B, 3 * H), h.dtype)  # W_hh h + b_hh
    _products(W_ih, x, pre_i, False)
    _products(W_hh, h, pre_h, False)
    half = pre_i.dtype.type(0.5)
    bad = pre_i.dtype.type(0)
    for r in range(B):
        pi, ph = pre_i[r], pre_h[r]
        for j in range(3 * H):
            pi[j] += b_ih[j]
        for j in range(3 * H):
            ph[j] += b_hh[j]
        for j in range(3 * H):
            bad += (pi[j] - pi[j]) + (ph[j] - ph[j])
        for j in range(2 * H):  # r, z = sigmoid
            pi[j] = half * th(half * (pi[j] + ph[j])) + half
        for j in range(H):  # n = tanh(x part + r * (W_hn h + b_hn))
            pi[2 * H + j] = th(pi[2 * H + j] + pi[j] * ph[2 * H + j])
        hr, ho = h[r], h_out[r]
        for j in range(H):
            n = pi[2 * H + j]
            ho[j] = n + pi[H + j] * (hr[j] - n)
    return bad == 0


@numba.njit(**_DOT)
def rnn_step(x, h, k, W_ih, W_hh, b_ih, b_hh, h_out, relu):
    """One Elman step of layer k: h_out[k] = act(W_ih x + b_ih + W_hh h[k] + b_hh) (states
    (L, B, H)); True iff all finite."""
    h, h_out = h[k], h_out[k]
    B, H = h.shape
    pre = np.empty((B, H), h.dtype)
    _products(W_ih, x, pre, False)
    _products(W_hh, h, pre, True)
    zero = pre.dtype.type(0)
    bad = zero
    for r in range(B):
        p, ho = pre[r], h_out[r]
        bad += _add_bias(p, b_ih, b_hh)
        if relu:
            for j in range(H):
                ho[j] = max(p[j], zero)
        else:
            for j in range(H):
                ho[j] = th(p[j])
    return bad == 0
