"""Finding the recurrent layers inside a model, by their parameter-name prefix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..nn.cells import cell_spec
from ..nn.module import Module
from ..nn.recurrent import _Recurrent

if TYPE_CHECKING:
    from ..nn._cache import _DirectionCache


def gate_letters(layer: _Recurrent) -> str:
    """The gate blocks of ``layer``'s W_hh (rows g*H .. (g+1)*H), one letter each in PyTorch's
    order, as its cell's spec declares them ("ifgo" for an LSTM, "h" for an Elman RNN)."""
    return cell_spec(layer.mode, "layer.mode").gates


def gate_activations(layer: _Recurrent) -> tuple[tuple[str, str], ...] | None:
    """(gate letter, activation) for each gate of ``layer``, from its cell's spec: the
    saturation test depends on the activation. None when the spec declares none."""
    spec = cell_spec(layer.mode, "layer.mode")
    return None if spec.activations is None else tuple(zip(spec.gates, spec.activations, strict=True))


def recurrent_layers(module: Module) -> dict[str, _Recurrent]:
    """Every RNN/LSTM/GRU layer in ``module`` (itself included), keyed by name prefix.

    The key is the prefix its parameters carry in ``state_dict`` without the final dot:
    ``""`` for the module itself, ``"encoder"`` for a child, ``"net.rnn"`` deeper down.
    """
    if not isinstance(module, Module):
        raise TypeError(f"module: expected an rnnkit Module (a model or a layer), got {type(module).__name__}")
    found: dict[str, _Recurrent] = {}

    def walk(m: Module, prefix: str) -> None:
        if isinstance(m, _Recurrent):
            found[prefix] = m
        for name, child in m._children.items():
            walk(child, f"{prefix}.{name}" if prefix else name)

    walk(module, "")
    return found


def qualified(prefix: str, key: str) -> str:
    """``"rnn" + "h_l0" -> "rnn.h_l0"``; a bare layer keeps ``"h_l0"``."""
    return f"{prefix}.{key}" if prefix else key


def find_module_with_layers(obj: object) -> Module:
    """The Module to inspect for an estimator-style model (its ``net_``) or a Module."""
    if isinstance(obj, Module):
        return obj
    net = getattr(obj, "net_", None)
    if isinstance(net, Module):
        return net
    raise TypeError(
        f"model: expected an rnnkit Module or a fitted rnnkit model (with net_), got {type(obj).__name__}; "
        "hint: fit the model first, or pass the network itself"
    )


def direction_activations(layer: _Recurrent, dcache: _DirectionCache) -> dict[str, np.ndarray]:
    """Hidden state and gate activations of one direction of one layer from a forward cache.

    Returns name -> (T, B, H) arrays (views where possible): ``h`` (h_t after step t) for
    every cell; the activated gates of a cell that keeps them in ``store["gates"]`` (LSTM
    i, f, g, o; GRU r, z, n: the letters of its spec); ``c`` (c_t) for a cell with a cell
    state, from the cell's ``cell_states`` (the LSTM recomputes f * c_{t-1} + i * g from the
    gates and the cached previous cell states).
    """
    store = dcache.store
    h = getattr(dcache, "h_time", None)
    if h is None:
        h = store["h"]
    out = {"h": h}
    if "gates" in store:
        H = layer.hidden_size
        acts = store["gates"]  # (T, B, G)
        for g, gate in enumerate(gate_letters(layer)):
            out[gate] = acts[:, :, g * H : (g + 1) * H]
    if layer.cell.has_cell_state:
        out["c"] = store["c"] if "c" in store else layer.cell.cell_states(store, dcache.c_prev)
    return out
