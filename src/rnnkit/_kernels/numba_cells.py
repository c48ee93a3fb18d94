"""Fused gate math of one time step, compiled with Numba (the optional ``rnnkit[fast]``).

Shape legend: B batch, H hidden units; gate arrays are (B, G) with G = 4H (LSTM, i f g o)
or 3H (GRU, r z n), row-major, as in :mod:`rnnkit.nn.cells`, whose NumPy code is the
reference these kernels are tested against (same inputs, same outputs, same layout).

Each kernel replaces the 8 to 20 NumPy calls of one step's elementwise work by one
pass over the data. Two details decide whether the compiler vectorizes a loop:

* ``tanh``: Numba calls the scalar libm ``tanh``, which blocks SIMD; the kernels call
  ``th`` from :mod:`rnnkit._kernels.numba_math` instead (a rational form in float32,
  Cephes' in float64), which vectorizes.
* one short loop per gate block: one loop writing several outputs that might alias each
  other is left scalar; a loop per block is vectorized.

Pre-activations of sigmoid gates arrive halved (see :mod:`rnnkit.nn.cells`): with
u = x / 2, sigmoid(x) = (1 + tanh(u)) / 2.
"""

from __future__ import annotations

import numba
import numpy as np

from .numba_math import _JIT, th
from .numba_step import gru_step, lstm_step, rnn_step  # noqa: F401  (the online step)


@numba.njit(**_JIT)
def tanh_inplace(a):
    """a <- tanh(a), for a (B, N)."""
    B, N = a.shape
    for b in range(B):
        for j in range(N):
            a[b, j] = th(a[b, j])


@numba.njit(**_JIT)
def rnn_tanh_forward(a, xp):
    """h <- tanh(a + xp): a holds h_{t-1} W_hh^T and becomes h_t."""
    B, H = a.shape
    for b in range(B):
        ab, xb = a[b], xp[b]
        for j in range(H):
            ab[j] = th(ab[j] + xb[j])


@numba.njit(**_JIT)
def tanh_backward(dh, h, dgi):
    """dpre = dh * (1 - h^2)."""
    B, H = dh.shape
    for b in range(B):
        d, hb, g = dh[b], h[b], dgi[b]
        for j in range(H):
            g[j] = d[j] * (1 - hb[j] * hb[j])


@numba.njit(**_JIT)
def lstm_forward(a, xp, c, c_out, tc_out, h_out):
    """a (B, 4H) holds the halved-for-sigmoid recurrent product; becomes i, f, g, o.

    c_t = f c + i g, tc = tanh(c_t), h_t = o tc.
    """
    B, G = a.shape
    H = G // 4
    half = a.dtype.type(0.5)
    for b in range(B):
        ab, xb = a[b], xp[b]
        for j in range(G):
            ab[j] = th(ab[j] + xb[j])
        for j in range(2 * H):
            ab[j] = half * ab[j] + half
        for j in range(3 * H, G):
            ab[j] = half * ab[j] + half
        cb, cn, tb, hb = c[b], c_out[b], tc_out[b], h_out[b]
        for j in range(H):
            cn[j] = ab[H + j] * cb[j] + ab[j] * ab[2 * H + j]
        for j in range(H):
            tb[j] = th(cn[j])
        for j in range(H):
            hb[j] = ab[3 * H + j] * tb[j]


@numba.njit(**_JIT)
def lstm_backward(dh, dc, a, c, tc, dgi, dc_out):
    """Gate gradients of one LSTM step (see LSTMCell); dc_out = dL/dc_{t-1}."""
    B, H = dh.shape
    for b in range(B):
        ab, d, dcb, cb, tb, gb, dco = a[b], dh[b], dc[b], c[b], tc[b], dgi[b], dc_out[b]
        for j in range(H):  # dc_t, kept in dc_out until the forget gate is applied
            dco[j] = dcb[j] + d[j] * ab[3 * H + j] * (1 - tb[j] * tb[j])
        for j in range(H):  # o
            o = ab[3 * H + j]
            gb[3 * H + j] = d[j] * tb[j] * o * (1 - o)
        for j in range(H):  # i
            i = ab[j]
            gb[j] = dco[j] * ab[2 * H + j] * i * (1 - i)
        for j in range(H):  # f
            f = ab[H + j]
            gb[H + j] = dco[j] * cb[j] * f * (1 - f)
        for j in range(H):  # g
            g = ab[2 * H + j]
            gb[2 * H + j] = dco[j] * ab[j] * (1 - g * g)
        for j in range(H):
            dco[j] *= ab[H + j]


@numba.njit(**_JIT)
def gru_forward(a, xp, hh, b_hn, h, h_out, hn):
    """hh (B, 3H) holds h W_hh^T (r, z halved); hn (B, H) receives its n part plus b_hn.

    a becomes r, z, n; h_out = n + z (h - n). The candidate n is formed in a scratch row
    first: a loop that reads r from ``a`` and writes n into ``a`` is left scalar.
    """
    B, G = a.shape
    H = G // 3
    half = a.dtype.type(0.5)
    n = np.empty(H, a.dtype)
    for b in range(B):
        for j in range(2 * H):
            a[b, j] = half * th(xp[b, j] + hh[b, j]) + half
        for j in range(H):
            hn[b, j] = hh[b, 2 * H + j] + b_hn[j]
        for j in range(H):
            n[j] = th(xp[b, 2 * H + j] + a[b, j] * hn[b, j])
        for j in range(H):
            a[b, 2 * H + j] = n[j]
        for j in range(H):
            h_out[b, j] = n[j] + a[b, H + j] * (h[b, j] - n[j])


@numba.njit(**_JIT)
def gru_backward(dh, a, hn, h, dgi, dgh, dhn, dz_direct):
    """Gate gradients of one GRU step (see GRUCell): dgi = [dr dz dn], dhn = d(hn),
    dgh = [dr dz d(hn)] (the operand of dh_{t-1} = dgh W_hh), dz_direct = dh * z."""
    B, H = dh.shape
    dn = np.empty(H, dh.dtype)  # scratch, for the same reason as in gru_forward
    for b in range(B):
        for j in range(H):  # n
            n = a[b, 2 * H + j]
            dn[j] = dh[b, j] * (1 - a[b, H + j]) * (1 - n * n)
        for j in range(H):
            dgi[b, 2 * H + j] = dn[j]
        for j in range(H):  # W_hn h + b_hn
            dhn[b, j] = dn[j] * a[b, j]
        for j in range(H):
            dgh[b, 2 * H + j] = dhn[b, j]
        for j in range(H):  # r
            r = a[b, j]
            dgi[b, j] = dn[j] * hn[b, j] * r * (1 - r)
        for j in range(H):  # z
            z = a[b, H + j]
            dgi[b, H + j] = dh[b, j] * (h[b, j] - a[b, 2 * H + j]) * z * (1 - z)
        for j in range(2 * H):
            dgh[b, j] = dgi[b, j]
        for j in range(H):
            dz_direct[b, j] = dh[b, j] * a[b, H + j]


# -- a whole sequence, small batches: the time loop compiled too ------------------------
# At B = 1 a step's products are matrix-vector products of a few microseconds, less than
# the cost of returning to Python between steps. These run the driver's loop for one
# direction of one layer (no lengths, no recurrent dropout), with the same arrays, slots
# and equations as the per-step path.
@numba.njit(**_JIT)
def lstm_sequence_forward(xp, WrT, hs, cs, gates, tc, reverse):
    """xp (T, B, 4H) halved-for-sigmoid input projections, WrT (H, 4H) = (W_hh halved)^T.

    hs, cs (T+1, B, H) hold the initial state in slot 0 (slot T when ``reverse``); every
    step writes h_t, c_t into its slot, the gates into ``gates[t]`` and tanh(c_t) into tc[t].
    """
    T, B, G = xp.shape
    H = G // 4
    zero = np.zeros((B, G), xp.dtype)  # xp is added here, before the recurrent product
    for s in range(T):
        t = T - 1 - s if reverse else s
        old, new = (t + 1, t) if reverse else (t, t + 1)
        a = gates[t]
        for b in range(B):
            ab, hb = a[b], hs[old, b]
            xb = xp[t, b]
            for j in range(G):
                ab[j] = xb[j]
            for k in range(H):
                hk = hb[k]
                w = WrT[k]
                for j in range(G):
                    ab[j] += hk * w[j]
        lstm_forward(a, zero, cs[old], cs[new], tc[t], hs[new])


@numba.njit(**_JIT)
def lstm_sequence_backward(dout, dh, dc, gates, tc, c_prev, W_hh, dgi, reverse):
    """BPTT over one direction: dh, dc (B, H) enter as dL/d(final state), leave as dL/d(h0, c0).

    c_prev (T, B, H) is c_{t-1} by time; dgi (T, B, 4H) receives the gate gradients.
    """
    T, B, H = dout.shape
    G = 4 * H
    dc_next = np.empty_like(dc)
    for s in range(T):
        t = s if reverse else T - 1 - s
        for b in range(B):
            for k in range(H):
                dh[b, k] += dout[t, b, k]
        lstm_backward(dh, dc, gates[t], c_prev[t], tc[t], dgi[t], dc_next)
        g = dgi[t]
        for b in range(B):
            d = dh[b]
            for k in range(H):
                d[k] = 0
            for j in range(G):
                gj = g[b, j]
                w = W_hh[j]
                for k in range(H):
                    d[k] += gj * w[k]
        dc[:] = dc_next
