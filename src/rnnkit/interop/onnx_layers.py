"""rnnkit's recurrent layers as the standard ONNX ``RNN``/``LSTM``/``GRU`` operators.

Shape legend: T time, B batch, I input features, H hidden, L layers, D directions, G gates x H.

One ONNX node per layer (both directions in one node), chained: layer k's output
``Y`` (T, D, B, H) is transposed and reshaped to (T, B, D*H), the input of layer k + 1.
Parameters are rnnkit's (PyTorch's) with the gate blocks reordered:

    LSTM  rnnkit i, f, g, o   ->  ONNX i, o, f, c
    GRU   rnnkit r, z, n      ->  ONNX z, r, h     with linear_before_reset = 1, which is
          PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    RNN   one block; activation Tanh or Relu

Each order, operator and activation is read from the cell's
:class:`~rnnkit.nn.cells.CellSpec` (``onnx``, ``onnx_gates``, ``onnx_activation``); a
registered cell without ``onnx`` is refused by name (:func:`onnx_cell`); one with
``onnx="Scan"`` (the layer-normalized cells) is written as primitives in a ``Scan`` loop
(:mod:`rnnkit.interop.onnx_cells`), with the same inputs and outputs.

``B`` is ``[b_ih; b_hh]`` per direction. Variable length goes to ``sequence_lens``: every
runtime then starts the reverse direction at a row's last valid step and returns the
state of that step in ``Y_h``; outputs past a row's end are multiplied by a 0/1 mask in the
graph, so they are zeros as in rnnkit, whatever the runtime leaves there.
"""

from __future__ import annotations

import numpy as np

from ..nn.cells import CELLS, CellSpec, cell_spec
from .onnx_cells import SCAN, emit_scan_layer

ONNX_RECURRENT_OPS = ("RNN", "LSTM", "GRU")  # what ONNX itself offers


def onnx_cell(layer) -> CellSpec:
    """The registered spec of ``layer``'s cell; refused by name when ONNX cannot express it."""
    spec = cell_spec(layer.mode)
    if spec.onnx is None:
        raise ValueError(
            f"cell {spec.name!r}: no ONNX export; ONNX has {', '.join(ONNX_RECURRENT_OPS)}; "
            f"hint: export a model with one of the cells {', '.join(n for n, s in CELLS.items() if s.onnx)}"
        )
    return spec


def _reorder(spec: CellSpec, a: np.ndarray, H: int) -> np.ndarray:
    """Gate blocks of H rows along axis 0, in ONNX's order."""
    return np.concatenate([a[k * H : (k + 1) * H] for k in spec.onnx_order], axis=0)


def onnx_weights(layer, k: int):
    """(W (D, G, I_k), R (D, G, H), B (D, 2G) or None) of layer ``k``, in ONNX's gate order."""
    spec, H = onnx_cell(layer), layer.hidden_size
    params = layer.parameters()
    Ws, Rs, Bs = [], [], []
    for d in range(layer.num_directions):
        sfx = f"_l{k}" + ("_reverse" if d else "")
        W_ih, W_hh = params["weight_ih" + sfx], params["weight_hh" + sfx]
        b_ih, b_hh = params.get("bias_ih" + sfx), params.get("bias_hh" + sfx)
        Ws.append(_reorder(spec, W_ih, H))
        Rs.append(_reorder(spec, W_hh, H))
        if b_ih is not None:
            Bs.append(np.concatenate([_reorder(spec, b_ih, H), _reorder(spec, b_hh, H)]))
    return np.stack(Ws), np.stack(Rs), (np.stack(Bs) if Bs else None)


def step_mask(g, lengths: str, T_of: str) -> str:
    """(T, B, 1) float 0/1: step t of row b is inside its sequence. ``T_of``: any (T, ...) tensor."""
    T = g.op("Gather", [g.op("Shape", [T_of]), g.ints(0)], axis=0)  # scalar T
    t = g.op("Range", [g.ints(0), T, g.ints(1)])  # (T,)
    lens = g.op("Cast", [lengths], to=g.onnx.TensorProto.INT64)  # (B,)
    inside = g.op("Less", [g.op("Unsqueeze", [t, g.ints([1])]), g.op("Unsqueeze", [lens, g.ints([0])])])  # (T, B)
    return g.op("Unsqueeze", [g.op("Cast", [inside], to=g.onnx.TensorProto.FLOAT), g.ints([2])])


def _layer_rows(g, state: str | None, k: int, D: int) -> str:
    """Rows k*D .. (k+1)*D of a (L*D, B, H) state: layer k's initial state, or "" (zeros)."""
    if state is None:
        return ""
    return g.op("Slice", [state, g.ints([k * D]), g.ints([(k + 1) * D]), g.ints([0])])


def emit_recurrent(
    g,
    layer,
    x: str,
    *,
    lengths: str | None = None,
    h0: str | None = None,
    c0: str | None = None,
    mask_output: bool = True,
):
    """Add ``layer``'s stack to graph ``g``.

    Args:
        x: time-major input (T, B, I) float32.
        lengths: (B,) int32 or None; h0/c0: (L*D, B, H) or None for zeros.
    Returns:
        (out (T, B, D*H), h_n (L*D, B, H), c_n or None, per-layer Y_h names).
    """
    spec, H, D, L = onnx_cell(layer), layer.hidden_size, layer.num_directions, layer.num_layers
    if spec.onnx == SCAN:
        return _emit_scan(g, layer, x, lengths, h0, c0, mask_output)
    lstm = spec.onnx == "LSTM"
    attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if spec.onnx_activation is not None:
        attrs["activations"] = [spec.onnx_activation] * D
    if spec.onnx == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch's GRU: b_hn inside the reset product
    layer_in, hs, cs = x, [], []
    for k in range(L):
        W, R, B = onnx_weights(layer, k)
        ins = [
            layer_in,
            g.init(f"W_l{k}", W),
            g.init(f"R_l{k}", R),
            g.init(f"B_l{k}", B) if B is not None else "",
            lengths or "",
        ]
        ins.append(_layer_rows(g, h0, k, D))
        if lstm:
            ins.append(_layer_rows(g, c0, k, D))
        while ins and ins[-1] == "":
            ins.pop()
        outs = g.op(spec.onnx, ins, n_out=3 if lstm else 2, **attrs)
        Y, Y_h = outs[0], outs[1]
        hs.append(Y_h)
        if lstm:
            cs.append(outs[2])
        Yt = g.op("Transpose", [Y], perm=[0, 2, 1, 3])  # (T, B, D, H)
        layer_in = g.op("Reshape", [Yt, g.ints([0, 0, D * H])])  # (T, B, D*H)
    out = layer_in
    if lengths is not None and mask_output:
        out = g.op("Mul", [out, step_mask(g, lengths, out)])
    h_n = hs[0] if L == 1 else g.op("Concat", hs, axis=0)
    c_n = None
    if lstm:
        c_n = cs[0] if L == 1 else g.op("Concat", cs, axis=0)
    return out, h_n, c_n, hs


def _emit_scan(g, layer, x, lengths, h0, c0, mask_output):
    """:func:`emit_recurrent` for a cell written as primitives (see :mod:`.onnx_cells`)."""
    D, L = layer.num_directions, layer.num_layers
    mask = step_mask(g, lengths, x) if lengths is not None else None  # (T, B, 1)
    layer_in, hs, cs = x, [], []
    for k in range(L):
        layer_in, Y_h, Y_c = emit_scan_layer(
            g, layer, k, layer_in, mask, _layer_rows(g, h0, k, D), _layer_rows(g, c0, k, D)
        )
        hs.append(Y_h)
        if Y_c is not None:
            cs.append(Y_c)
    out = layer_in if mask is None or not mask_output else g.op("Mul", [layer_in, mask])
    h_n = hs[0] if L == 1 else g.op("Concat", hs, axis=0)
    c_n = None if not cs else (cs[0] if L == 1 else g.op("Concat", cs, axis=0))
    return out, h_n, c_n, hs
