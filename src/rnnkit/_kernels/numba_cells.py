"""Fused gate math of one time step, compiled with Numba (the optional ``rnnkit[fast]``).

Shape legend: B batch, H hidden units; gate arrays are (B, G) with G = 4H (LSTM, i f g o)
or 3H (GRU, r z n), row-major, as in :mod:`rnnkit.cells`, whose NumPy code is the
reference these kernels are tested against (same inputs, same outputs, same layout).

Each kernel replaces the 8 to 20 NumPy calls of one step's elementwise work by one
pass over the data. Two details decide whether the compiler vectorizes a loop:

* ``tanh``: Numba calls the scalar libm ``tanh``, which blocks SIMD. For float32 the
  kernels use a rational approximation (the one Eigen and XLA use: odd degree-13 over
  even degree-6 polynomial, input clamped to +-7.9053; within a few float32 ulps of the
  true tanh); for float64, Cephes' tanh with a branch-free exp (within about 1 ulp, so the
  float64 path matches PyTorch to 1e-10). Both vectorize.
* one short loop per gate block: one loop writing several outputs that might alias each
  other is left scalar; a loop per block is vectorized.

Pre-activations of sigmoid gates arrive halved (see :mod:`rnnkit.cells`): with
u = x / 2, sigmoid(x) = (1 + tanh(u)) / 2.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

_JIT = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")


def th(x):  # the Python stand-in; inside kernels, the overload below is compiled instead
    return math.tanh(x)


@overload(th, jit_options=dict(cache=True))
def _th_overload(x):
    if x == types.float32:
        def tanh32(x):
            # clamp, then p(x) / q(x) with odd p, even q (Eigen's ptanh_float coefficients)
            x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
            x2 = x * x
            p = np.float32(-2.76076847742355e-16)
            p = p * x2 + np.float32(2.00018790482477e-13)
            p = p * x2 + np.float32(-8.60467152213735e-11)
            p = p * x2 + np.float32(5.12229709037114e-08)
            p = p * x2 + np.float32(1.48572235717979e-05)
            p = p * x2 + np.float32(6.37261928875436e-04)
            p = p * x2 + np.float32(4.89352455891786e-03)
            p = p * x
            q = np.float32(1.19825839466702e-06)
            q = q * x2 + np.float32(1.18534705686654e-04)
            q = q * x2 + np.float32(2.26843463243900e-03)
            q = q * x2 + np.float32(4.89352518554385e-03)
            return p / q
        return tanh32
    return lambda x: _tanh64(x)


_POW2 = 2.0 ** np.arange(64)  # 2^n for the exponent of exp(2|x|), |x| <= 20


@numba.njit(inline="always", **_JIT)
def _exp_small(x):
    """exp(x) for 0 <= x <= 40 (Cephes' exp: x = n ln2 + r, a Pade form in r; < 1 ulp)."""
    px = math.floor(1.4426950408889634073599 * x + 0.5)
    n = np.int64(px)
    x = x - px * 6.93145751953125e-1
    x = x - px * 1.42860682030941723212e-6
    xx = x * x
    p = x * ((1.26177193074810590878e-4 * xx + 3.02994407707441961300e-2) * xx + 9.99999999999999999910e-1)
    q = ((3.00198505138664455042e-6 * xx + 2.52448340349684104192e-3) * xx + 2.27265548208155028766e-1) * xx \
        + 2.00000000000000000009e0
    return (1.0 + 2.0 * (p / (q - p))) * _POW2[n]


@numba.njit(inline="always", **_JIT)
def _tanh64(x):
    """tanh in float64 within about 1 ulp, branch-free so loops vectorize (Cephes' tanh):
    a rational form for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) above (exactly +-1 past 20)."""
    ax = abs(x)
    big = 1.0 - 2.0 / (_exp_small(2.0 * min(ax, 20.0)) + 1.0)
    big = big if x >= 0 else -big
    z = x * x
    small = x + x * z * (((-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z
                          - 1.61468768441708447952e3)
                         / (((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z
                            + 4.84406305325125486048e3))
    return small if ax < 0.625 else big


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
        for j in range(H):      # dc_t, kept in dc_out until the forget gate is applied
            dco[j] = dcb[j] + d[j] * ab[3 * H + j] * (1 - tb[j] * tb[j])
        for j in range(H):      # o
            o = ab[3 * H + j]
            gb[3 * H + j] = d[j] * tb[j] * o * (1 - o)
        for j in range(H):      # i
            i = ab[j]
            gb[j] = dco[j] * ab[2 * H + j] * i * (1 - i)
        for j in range(H):      # f
            f = ab[H + j]
            gb[H + j] = dco[j] * cb[j] * f * (1 - f)
        for j in range(H):      # g
            g = ab[2 * H + j]
            gb[2 * H + j] = dco[j] * ab[j] * (1 - g * g)
        for j in range(H):
            dco[j] *= ab[H + j]


@numba.njit(**_JIT)
def gru_forward(a, xp, hh, b_hn, h, h_out):
    """hh (B, 3H) holds h W_hh^T (r, z halved); b_hn is added to its n part in place.

    a becomes r, z, n; h_out = n + z (h - n).
    """
    B, G = a.shape
    H = G // 3
    half = a.dtype.type(0.5)
    for b in range(B):
        ab, xb, hb = a[b], xp[b], hh[b]
        for j in range(2 * H):
            ab[j] = half * th(xb[j] + hb[j]) + half
        for j in range(H):
            hb[2 * H + j] += b_hn[j]
        for j in range(H):
            ab[2 * H + j] = th(xb[2 * H + j] + ab[j] * hb[2 * H + j])
        hp, ho = h[b], h_out[b]
        for j in range(H):
            n = ab[2 * H + j]
            ho[j] = n + ab[H + j] * (hp[j] - n)


@numba.njit(**_JIT)
def gru_backward(dh, a, hh, h, dgi, dgh, dz_direct):
    """Gate gradients of one GRU step (see GRUCell); dz_direct = dh * z."""
    B, H = dh.shape
    for b in range(B):
        ab, d, hb, hp, gi, gh, dd = a[b], dh[b], hh[b], h[b], dgi[b], dgh[b], dz_direct[b]
        for j in range(H):      # n
            n = ab[2 * H + j]
            gi[2 * H + j] = d[j] * (1 - ab[H + j]) * (1 - n * n)
        for j in range(H):      # W_hn h + b_hn
            gh[2 * H + j] = gi[2 * H + j] * ab[j]
        for j in range(H):      # r
            r = ab[j]
            gi[j] = gi[2 * H + j] * hb[2 * H + j] * r * (1 - r)
        for j in range(H):      # z
            z = ab[H + j]
            gi[H + j] = d[j] * (hp[j] - ab[2 * H + j]) * z * (1 - z)
        for j in range(2 * H):
            gh[j] = gi[j]
        for j in range(H):
            dd[j] = d[j] * ab[H + j]


# -- one online step, small batches: the products are done here too --------------------
# ``reassoc`` lets the dot products vectorize; no ``nnan``/``ninf``, so the finiteness
# test below still sees NaN and inf. Each returns False when a pre-activation or the new
# cell state is not finite, which is how a NaN or inf in x, h or c shows; the caller then
# validates its inputs the slow way to name the culprit.
_DOT = dict(_JIT, fastmath={"reassoc", "contract"})


@numba.njit(**_DOT)
def _affine(W_ih, x, W_hh, h, b1, b2, pre):
    """pre = W_ih x + W_hh h + b1 + b2 for one row; returns the sum of pre - pre (0 iff finite)."""
    G, I = W_ih.shape
    H = W_hh.shape[1]
    bad = pre.dtype.type(0)
    for j in range(G):
        s = b1[j] + b2[j]
        wi = W_ih[j]
        for k in range(I):
            s += wi[k] * x[k]
        wh = W_hh[j]
        for k in range(H):
            s += wh[k] * h[k]
        pre[j] = s
        bad += s - s
    return bad


@numba.njit(**_DOT)
def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, h_out, c_out, pre):
    """One LSTM step for every row: pre (4H,) is a workspace."""
    B = x.shape[0]
    H = h.shape[1]
    half = pre.dtype.type(0.5)
    bad = pre.dtype.type(0)
    for r in range(B):
        bad += _affine(W_ih, x[r], W_hh, h[r], b_ih, b_hh, pre)
        cr, co, ho = c[r], c_out[r], h_out[r]
        for j in range(H):
            i = half * th(half * pre[j]) + half
            f = half * th(half * pre[H + j]) + half
            g = th(pre[2 * H + j])
            o = half * th(half * pre[3 * H + j]) + half
            cn = f * cr[j] + i * g
            bad += cn - cn
            co[j] = cn
            ho[j] = o * th(cn)
    return bad == 0


@numba.njit(**_DOT)
def gru_step(x, h, W_ih, W_hh, b_ih, b_hh, h_out, pre_i, pre_h):
    """One GRU step for every row: pre_i, pre_h (3H,) are workspaces."""
    B = x.shape[0]
    H = h.shape[1]
    G = 3 * H
    half = pre_i.dtype.type(0.5)
    bad = pre_i.dtype.type(0)
    I = x.shape[1]
    for r in range(B):
        xr, hr = x[r], h[r]
        for j in range(G):
            si, sh = b_ih[j], b_hh[j]
            wi, wh = W_ih[j], W_hh[j]
            for k in range(I):
                si += wi[k] * xr[k]
            for k in range(H):
                sh += wh[k] * hr[k]
            pre_i[j] = si
            pre_h[j] = sh
            bad += (si - si) + (sh - sh)
        ho = h_out[r]
        for j in range(H):
            rg = half * th(half * (pre_i[j] + pre_h[j])) + half
            z = half * th(half * (pre_i[H + j] + pre_h[H + j])) + half
            n = th(pre_i[2 * H + j] + rg * pre_h[2 * H + j])
            ho[j] = n + z * (hr[j] - n)
    return bad == 0


@numba.njit(**_DOT)
def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh, h_out, pre, relu):
    """One Elman step for every row: h_out = act(W_ih x + W_hh h + b)."""
    B = x.shape[0]
    H = h.shape[1]
    bad = pre.dtype.type(0)
    for r in range(B):
        bad += _affine(W_ih, x[r], W_hh, h[r], b_ih, b_hh, pre)
        ho = h_out[r]
        if relu:
            for j in range(H):
                ho[j] = max(pre[j], pre.dtype.type(0))
        else:
            for j in range(H):
                ho[j] = th(pre[j])
    return bad == 0


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
