"""The memory an estimator's parameters ask for, estimated before anything is allocated.

Shape legend: ``L`` layers, ``D`` directions, ``G`` gates x H, ``H`` hidden, ``E`` embedding,
``I`` input features, ``V`` vocabulary, ``O`` outputs, ``T`` time steps, ``B`` batch.

The estimate is a lower bound of what ``fit`` allocates: sizes the data decides (vocabulary,
input features, sequence length) count as their smallest value unless the caller knows them.

    parameters  n = L x D x (G x (I + H) + 2G) + V x E + D x H x O + O      (per network copy)
    training    n x dtype size x 4          (weights, gradients, two Adam moments)
    activations T x B x L x D x (G + 2H) x dtype size x 2      (forward cache and its gradient)

Every number is a Python int, so ``hidden_size=2**63`` is an estimate, never an overflow.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..nn import cells
from ..utils import memory

#: the model parameters (and training settings) that size the run; the error names one
SIZE_OPTIONS = (
    "hidden_size",
    "num_layers",
    "embedding_dim",
    "feature_dim",
    "hidden_sizes",
    "batch_size",
    "window",
    "k1",
    "k2",
    "max_len",
    "beam_size",
    "ensemble",
    "horizon",
)
WHAT = "the model's parameters, gradients, optimizer state and one batch's activations"


def _size(value, default: int = 1) -> int:
    """An int size >= 1 from a parameter value; anything else (None, unchecked) counts as ``default``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        return default
    return int(value)


def _itemsize(dtype) -> int:
    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return 4


def recurrent_weights(params: dict) -> int:
    """The fewest weights a network with these params holds: ``weight_hh`` of each layer and
    direction (L x D x G x H x H). Every recurrent estimator's network has at least these."""
    if "hidden_size" not in params or "cell" not in params:
        return 0
    spec = cells.CELLS.get(params["cell"])
    gates = len(spec.gates) if spec is not None else 1
    H, L = _size(params.get("hidden_size")), _size(params.get("num_layers"))
    D = 2 if params.get("bidirectional") is True else 1
    return L * D * gates * H * H


def estimate_bytes(
    params: dict, *, input_size: int = 1, vocab_size: int = 1, output_size: int = 1, length: int = 1
) -> int:
    """Bytes that training an estimator with ``params`` (``get_params()``) needs, at least;
    the keywords are the sizes the data decides, where the caller knows them."""
    item = _itemsize(params.get("dtype", "float32"))
    B = _size(params.get("batch_size"))
    T = max(_size(length), *(_size(params.get(k)) for k in ("window", "k1", "k2", "max_len", "horizon")))
    n = 0
    act = 0
    if "hidden_sizes" in params:  # a feed-forward network
        sizes = params["hidden_sizes"]
        widths = [_size(w) for w in sizes] if isinstance(sizes, (tuple, list)) else []
        prev = max(input_size, _size(params.get("window")))
        for w in widths:
            n += prev * w + w
            act += B * w * 2
            prev = w
        n += prev * output_size + output_size
    if "hidden_size" in params and "cell" in params:
        spec = cells.CELLS.get(params["cell"])
        gates = len(spec.gates) if spec is not None else 1
        H, L = _size(params.get("hidden_size")), _size(params.get("num_layers"))
        D = 2 if params.get("bidirectional") is True else 1
        E = _size(params.get("embedding_dim"), 0) + _size(params.get("feature_dim"), 0)
        G = gates * H
        first = E or input_size
        n += sum(D * (G * ((first if layer == 0 else D * H) + H) + 2 * G) for layer in range(L))
        n += vocab_size * E + D * H * output_size + output_size
        act += T * B * L * D * (G + 2 * H) * 2
    copies = _size(params.get("ensemble"))
    beams = _size(params.get("beam_size"))
    return copies * (n * item * 4 + act * item * beams)


def check_model_memory(params: dict, **sizes) -> None:
    """Raise :class:`~rnnkit.utils.memory.MemoryBoundError` when training with ``params`` would not
    fit in the machine's memory; the error names the size-like option most responsible."""
    need = estimate_bytes(params, **sizes)
    have = memory.machine_memory()
    if have is not None and need > have:
        option = _culprit(params, need, sizes)
        length = sizes.get("length", 1)
        what = WHAT + (f" (sequences of {length} steps)" if length > 1 else "")
        memory.check_fits(option, params.get(option), need, what, hint=f"a smaller {option}" + _SHORTER * (length > 1))


_SHORTER = ", or shorter sequences"


def _culprit(params: dict, need: int, sizes: dict) -> str:
    """The size option whose value, set to 1, shrinks the estimate most."""
    best, best_drop = "hidden_size", -1
    for name in SIZE_OPTIONS:
        if name not in params or isinstance(params[name], (tuple, list)):
            continue
        drop = need - estimate_bytes({**params, name: 1}, **sizes)
        if drop > best_drop:
            best, best_drop = name, drop
    if "hidden_sizes" in params and best_drop <= 0:
        best = "hidden_sizes"
    return best
