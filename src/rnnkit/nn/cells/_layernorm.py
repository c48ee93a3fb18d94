"""Layer normalization over the last axis, forward and backward: what the LN cells share.

Shape legend
    N  rows (B for one step, T*B for all steps)      F  features normalized together

    mu = mean(v),  var = mean((v - mu)^2),  rstd = 1 / sqrt(var + eps)
    v_hat = (v - mu) * rstd,                y = gamma * v_hat + beta

Backward, with dv_hat = dy * gamma:

    dv = rstd * (dv_hat - mean(dv_hat) - v_hat * mean(dv_hat * v_hat))
    dgamma = sum over rows of dy * v_hat,    dbeta = sum over rows of dy

The gain and bias are applied by the cells themselves (they fold them into the gate math),
so these two functions see only the normalization. :class:`LNInputs` is the setup both
cells share before their own ``prepare``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from .cell import Cell

EPS = 1e-5  # torch.nn.functional.layer_norm's default


def normalize(v: np.ndarray, rstd: np.ndarray) -> np.ndarray:
    """Normalize the rows of ``v`` (N, F) in place (it becomes v_hat); ``rstd`` (N,) receives
    1 / sqrt(var + eps). Returns ``v``."""
    v -= v.mean(axis=-1, keepdims=True)
    var = np.einsum("...f,...f->...", v, v)  # (N,) sum of squares
    var /= v.shape[-1]
    var += EPS
    np.sqrt(var, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    v *= rstd[..., None]
    return v


def normalize_backward(dv_hat: np.ndarray, v_hat: np.ndarray, rstd: np.ndarray) -> np.ndarray:
    """dL/dv from dL/dv_hat (N, F), in place in ``dv_hat``; returns it."""
    F = dv_hat.shape[-1]
    proj = np.einsum("...f,...f->...", dv_hat, v_hat)  # (N,) sum of dv_hat * v_hat
    proj /= F
    dv_hat -= dv_hat.mean(axis=-1, keepdims=True)
    dv_hat -= v_hat * proj[..., None]
    dv_hat *= rstd[..., None]
    return dv_hat


def parameters(sizes: dict[str, int], bias: bool, dtype: DTypeLike) -> dict[str, np.ndarray]:
    """A cell's layer-norm parameters, ``ln_<part>_weight`` (ones) and, with ``bias``,
    ``ln_<part>_bias`` (zeros), for each part's width in ``sizes`` (as torch's LayerNorm)."""
    out = {}
    for part, n in sizes.items():
        out[f"ln_{part}_weight"] = np.ones(n, dtype)
        if bias:
            out[f"ln_{part}_bias"] = np.zeros(n, dtype)
    return out


def bias_sum(params: dict[str, np.ndarray], names: tuple[str, ...], G: int, dtype: DTypeLike) -> np.ndarray:
    """The sum (G,) of the biases in ``names`` that ``params`` has (zeros without biases)."""
    total = np.zeros(G, dtype)
    for name in names:
        if name in params:
            total += params[name]
    return total


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over rows of a * b, (N, F) each -> (F,): a gain's gradient."""
    return np.einsum("nf,nf->f", a, b)


class LNInputs:
    """What the layer-normalized cells change in the plain cells' setup (placed first among
    the bases, before ``LSTMCell``/``GRUCell``): the input projection is the bare W_ih x,
    without biases or the sigmoid blocks' halving, since ``prepare`` normalizes it first; W_hh
    is only transposed, its product normalized per step; and no compiled kernels (the NumPy
    steps always run)."""

    online_step: Callable[..., bool] | None = None
    sequence_forward = Cell.sequence_forward
    sequence_backward = Cell.sequence_backward

    def project(
        self,
        x2: np.ndarray,
        W_ih: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        return np.matmul(x2, W_ih.T, out=out)  # (T*B, I) x (I, G); normalized in prepare

    def recurrent_weight(self, W_hh: np.ndarray, b_hh: np.ndarray | None) -> tuple[np.ndarray, None]:
        return np.ascontiguousarray(W_hh.T), None  # (H, G)
