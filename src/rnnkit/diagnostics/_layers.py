"""Finding the recurrent layers inside a model, by their parameter-name prefix."""

from __future__ import annotations

from ..nn.module import Module
from ..nn.recurrent import _Recurrent

# Gate blocks of W_hh (rows of g*H .. (g+1)*H) in PyTorch's order, and each gate's
# activation: the saturation test depends on it.
GATES = {
    "RNN_TANH": (("h", "tanh"),),
    "RNN_RELU": (("h", "relu"),),
    "LSTM": (("i", "sigmoid"), ("f", "sigmoid"), ("g", "tanh"), ("o", "sigmoid")),
    "GRU": (("r", "sigmoid"), ("z", "sigmoid"), ("n", "tanh")),
}


def recurrent_layers(module) -> dict[str, _Recurrent]:
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


def find_module_with_layers(obj):
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


def direction_activations(layer, dcache) -> dict:
    """Hidden state and gate activations of one direction of one layer from a forward cache.

    Returns name -> (T, B, H) arrays (views where possible): ``h`` (h_t after step t) for
    every cell; LSTM ``c`` (c_t) and gates i, f, g, o; GRU gates r, z, n. Gates are read
    from the cell's ``store["gates"]`` (activated values); h_t from the driver's cache;
    the LSTM's c_t is recomputed as f * c_{t-1} + i * g, which needs only the gates and
    the cached previous cell states.
    """
    store = dcache.store
    h = getattr(dcache, "h_time", None)
    if h is None:
        h = store["h"]
    out = {"h": h}
    if layer.mode in ("LSTM", "GRU"):
        H = layer.hidden_size
        acts = store["gates"]  # (T, B, G)
        for g, (gate, _) in enumerate(GATES[layer.mode]):
            out[gate] = acts[:, :, g * H : (g + 1) * H]
        if layer.mode == "LSTM":
            out["c"] = store["c"] if "c" in store else out["f"] * dcache.c_prev + out["i"] * out["g"]
    return out
