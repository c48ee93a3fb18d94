"""Weight drop: DropConnect on the recurrent weights (Merity et al. 2017, AWD-LSTM).

Shape legend
    G  gates x H      H  hidden units      T*B  steps x batch rows

While training, each ``forward`` draws one Bernoulli(1 - p) mask M over the entries of
every W_hh (per layer and direction) and runs all T steps with the same weight

    W~ = W_hh * M / (1 - p)                                  (G, H)

(inverted dropout: inference uses W_hh itself, so ``step``, exports and evaluation see
no change). The cell and its compiled kernels only ever see W~; since W~ is linear in
W_hh, the gradient is exact under the mask:

    dL/dW_hh = dL/dW~ * M / (1 - p)

The driver asks :func:`draw` for the weights of one direction, keeps the scaled mask
M / (1 - p) in that direction's cache, and backward goes through :func:`weight` and
:func:`weight_grads`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def draw(layer: Any, params: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The parameters one direction's forward runs with, and the scaled mask M / (1 - p)
    (G, H) it drew, or the parameters unchanged and None (not training, or p = 0)."""
    p = layer.weight_drop
    if not (layer.training and p > 0):
        return params, None
    W_hh = params["weight_hh"]  # (G, H)
    keep = 1.0 - p
    mask = (layer.rng.random(W_hh.shape) < keep).astype(layer.dtype) / layer.dtype.type(keep)
    return {**params, "weight_hh": W_hh * mask}, mask


def weight(dcache: Any, W_hh: np.ndarray) -> np.ndarray:
    """The recurrent weight the direction's forward ran with: W_hh * M / (1 - p), or W_hh."""
    mask = dcache.weight_mask
    return W_hh if mask is None else W_hh * mask


def weight_grads(
    cell: Any,
    dcache: Any,
    x2: np.ndarray,
    hr2: np.ndarray,
    gi2: np.ndarray,
    gh2: np.ndarray,
    grads: dict[str, np.ndarray],
) -> np.ndarray:
    """``cell.weight_grads`` for one direction, with dL/dW~ taken through the mask into
    ``grads["weight_hh"]``; the other gradients are the cell's own. Returns what the cell's
    returns (dL/d(x W_ih^T), (T*B, G))."""
    mask = dcache.weight_mask
    if mask is None:
        return cell.weight_grads(x2, hr2, gi2, gh2, dcache.store, grads)
    dW = np.zeros_like(grads["weight_hh"])  # dL/dW~ (G, H): the cell accumulates into it
    gi2 = cell.weight_grads(x2, hr2, gi2, gh2, dcache.store, {**grads, "weight_hh": dW})
    dW *= mask
    grads["weight_hh"] += dW
    return gi2
