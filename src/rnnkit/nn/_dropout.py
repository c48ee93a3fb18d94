"""The dropout masks of a recurrent layer: plain, locked (variational) and recurrent.

Shape legend
    T  time steps      B  batch        F  features (I at the input, D*H at an output)
    H  hidden units

Every mask is inverted dropout, M / (1 - p) with M ~ Bernoulli(1 - p), drawn from the
layer's own ``rng`` and only while training (``step``, evaluation and the exporters see
no noise). The driver (:mod:`rnnkit.nn.recurrent`) keeps each mask in its cache and
backward multiplies the gradient by the very same mask, so gradients are exact under it.

- **locked** (variational, Gal & Ghahramani 2016; AWD-LSTM's ``LockedDropout``): one mask
  per sequence, (1, B, F), the same at every step. ``input_dropout`` on the input of layer
  0 (AWD's ``dropouti``), ``output_dropout`` on the top layer's output (AWD's ``dropout``),
  and, with ``locked_dropout=True``, ``dropout`` between stacked layers (``dropouth``).
- **between layers** (PyTorch's ``dropout``): a fresh mask per step, (T, B, F), unless locked.
- **recurrent** (``recurrent_dropout``): one (B, H) mask on h_{t-1} per sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def draw(layer: Any, shape: tuple[int, ...], p: float) -> np.ndarray | None:
    """M / (1 - p) of ``shape`` in the layer's dtype, or None (not training, or p = 0)."""
    if not (layer.training and p > 0):
        return None
    keep = 1.0 - p
    return (layer.rng.random(shape) < keep).astype(layer.dtype) / layer.dtype.type(keep)


def apply(x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """x * mask (a new array; broadcast over time for a locked mask), or x itself without a mask."""
    return x if mask is None else x * mask


def output_grad(g: np.ndarray, cache: Any, doutput: np.ndarray | None) -> np.ndarray:
    """dL/d``cache.output`` (T, B, D*H): ``g`` (dL/dout, time-major) back through the output
    dropout mask, plus ``doutput``, the gradient of a term on the outputs before it (TAR)."""
    g = apply(g, cache.output_mask)
    if doutput is None:
        return g
    if np.shape(doutput) != g.shape:
        raise ValueError(
            f"doutput: expected shape {g.shape} (T, B, D*H, time-major as cache.output), got {np.shape(doutput)}"
        )
    return g + doutput


def locked(layer: Any, x: np.ndarray, p: float) -> np.ndarray | None:
    """One mask per sequence for x (T, B, F): (1, B, F), the same at every step."""
    return draw(layer, (1,) + x.shape[1:], p)


def between(layer: Any, out: np.ndarray) -> np.ndarray | None:
    """The ``dropout`` mask on a lower layer's output (T, B, D*H): (T, B, D*H), or (1, B, D*H)
    with ``locked_dropout``."""
    return locked(layer, out, layer.dropout) if layer.locked_dropout else draw(layer, out.shape, layer.dropout)


def recurrent(layer: Any, B: int) -> np.ndarray | None:
    """The ``recurrent_dropout`` mask on h_{t-1}: (B, H), one per sequence and direction."""
    return draw(layer, (B, layer.hidden_size), layer.recurrent_dropout)
