"""The online step of the recurrent layers: ``state = layer.step(x_t, state)``.

Shape legend
    B  batch      I  input features      H  hidden units
    L  layers     G  gates x H

One step of every layer, for streaming, sampling and decoding, where a call is a few
microseconds of arithmetic and the rest is overhead. Two paths compute the same numbers:

* the lean path, with compiled kernels (:mod:`rnnkit._kernels.numba_step`) and a small
  batch: cheap type, dtype, shape and layout checks, then one compiled call per layer
  that reads the raw weights, computes both products and the gate math, and reports
  whether everything stayed finite. Nothing is prepared or cached between calls but the
  parameter names, so an optimizer's in-place update is seen at once;
* the reference path: full validation (it names the argument at fault), then the cell's
  NumPy ``step_once`` per layer. Anything the lean path declines comes here: other
  input types or layouts, large batches, no compiled kernels, or a non-finite value.

Either way the returned state is newly allocated: it never aliases ``x_t`` or ``state``,
so a caller may keep old states (beam search) or write into the new ones.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from . import _checks

# above this batch size BLAS's matrix products beat the compiled kernel's own loops
MAX_BATCH = 8


def step_names(layer) -> list:
    """Per layer, the names of (W_ih, W_hh, b_ih, b_hh) in ``layer._params`` (biases None
    when the layer has none); built once, at construction."""
    names = []
    for k in range(layer.num_layers):
        sfx = f"_l{k}"
        b = ("bias_ih" + sfx, "bias_hh" + sfx) if layer.bias else (None, None)
        names.append(("weight_ih" + sfx, "weight_hh" + sfx) + b)
    return names


def step(layer, x_t, state):
    """See ``layer.step``: x_t (B, I); state h or (h, c), each (L, B, H), or None for zeros.

    The lean path is written out in one function: at a few microseconds a step, each
    Python call and check counts.
    """
    if layer.bidirectional:
        raise ValueError(
            "step: a bidirectional layer needs the whole sequence (its reverse "
            "direction reads the future); use forward() instead"
        )
    kern = _kernels.active()
    online_step = layer.cell.online_step  # the cell's compiled step, or None
    if kern is None or online_step is None:
        return _reference(layer, x_t, state)
    x, dt = x_t, layer.dtype
    if type(x) is not np.ndarray or x.dtype != dt or x.ndim != 2 or not x.flags.c_contiguous:
        return _reference(layer, x_t, state)
    B = x.shape[0]
    if x.shape[1] != layer.input_size or not 0 < B <= MAX_BATCH:
        return _reference(layer, x_t, state)
    shape = (layer.num_layers, B, layer.hidden_size)
    lstm = layer.cell.has_cell_state
    if state is None:
        h0 = c0 = np.zeros(shape, dt)  # read only: one array serves both
    elif lstm:
        if type(state) is not tuple or len(state) != 2:
            return _reference(layer, x_t, state)
        h0, c0 = state
        if not (_fits(h0, dt, shape) and _fits(c0, dt, shape)):
            return _reference(layer, x_t, state)
    else:
        h0 = c0 = state
        if not _fits(h0, dt, shape):
            return _reference(layer, x_t, state)
    h_n = np.empty(shape, dt)  # (L, B, H), new: never aliases the input
    c_n = np.empty(shape, dt) if lstm else None
    p = layer._params
    for k, (a, b, c, d) in enumerate(layer._step_names):
        if c is None:
            b_ih = b_hh = _zeros(layer, p[b].shape[0])
        else:
            b_ih, b_hh = p[c], p[d]
        if k:
            x = h_n[k - 1]  # (B, H): the layer below's new state
        fine = online_step(kern, x, h0, c0, k, p[a], p[b], b_ih, b_hh, h_n, c_n)
        if not fine:  # a NaN or inf: let the checks name it
            return _reference(layer, x_t, state)
    return h_n if c_n is None else (h_n, c_n)


def _fits(a, dt, shape) -> bool:
    return type(a) is np.ndarray and a.dtype == dt and a.shape == shape and a.flags.c_contiguous


def _zeros(layer, G):
    """A zero bias (G,) for layers built with bias=False (kept writeable: a read-only array
    is another type to the compiled kernels, and they only read it)."""
    z = layer.__dict__.get("_zero_bias")
    if z is None:
        z = layer._zero_bias = np.zeros(G, layer.dtype)
    return z


def _reference(layer, x_t, state):
    """Validate everything, then each layer's NumPy ``step_once`` (the cell's own parameters as keywords)."""
    x = _checks.float_array("x_t", x_t, layer.dtype, 2, hint="expected (B, I): one time step")
    if x.shape[1] != layer.input_size:
        raise ValueError(f"x_t: expected {layer.input_size} features in the last axis (B, I), got shape {x.shape}")
    B = x.shape[0]
    h0, c0 = layer._check_state(state, B)
    h_n = np.empty_like(h0)
    c_n = np.empty_like(c0) if c0 is not None else None
    for k in range(layer.num_layers):
        c, c_new = (None, None) if c0 is None else (c0[k], c_n[k])
        own = {n: layer._params[n + f"_l{k}"] for n in layer._extra_names}  # the cell's own parameters
        layer.cell.step_once(x, h0[k], c, *layer._weights(k, 0), h_n[k], c_new, **own)
        x = h_n[k]
    return h_n if c_n is None else (h_n, c_n)
