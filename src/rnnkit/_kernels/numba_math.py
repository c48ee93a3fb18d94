"""Vectorizable tanh for the compiled kernels (see :mod:`rnnkit._kernels.numba_cells`).

Numba calls the scalar libm ``tanh``, which blocks SIMD. For float32 ``th`` is a rational
approximation (the one Eigen and XLA use: odd degree-13 over even degree-6 polynomial,
input clamped to +-7.9053; within a few float32 ulps of the true tanh); for float64,
Cephes' tanh with a branch-free exp (within about 1 ulp, so the float64 path matches
PyTorch to 1e-10). Both vectorize.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import overload

_JIT: dict[str, Any] = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")


def th(x):  # the Python stand-in; inside kernels, the overload below is compiled instead
    return math.tanh(x)


@overload(th, jit_options=dict(cache=True))  # type: ignore[typeddict-unknown-key]  # numba's stubs lack cache
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
    q = (
        (3.00198505138664455042e-6 * xx + 2.52448340349684104192e-3) * xx + 2.27265548208155028766e-1
    ) * xx + 2.00000000000000000009e0
    return (1.0 + 2.0 * (p / (q - p))) * _POW2[n]


@numba.njit(inline="always", **_JIT)
def _tanh64(x):
    """tanh in float64 within about 1 ulp, branch-free so loops vectorize (Cephes' tanh):
    a rational form for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) above (exactly +-1 past 20)."""
    ax = abs(x)
    big = 1.0 - 2.0 / (_exp_small(2.0 * min(ax, 20.0)) + 1.0)
    big = big if x >= 0 else -big
    z = x * x
    small = x + x * z * (
        ((-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z - 1.61468768441708447952e3)
        / (((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z + 4.84406305325125486048e3)
    )
    return small if ax < 0.625 else big
