"""Cells ONNX has no operator for, as primitives in a ``Scan`` loop: the layer-normalized ones.

Shape legend: T time, B batch, I input features, H hidden, G gates x H.

A cell whose :class:`~rnnkit.nn.cells.CellSpec` says ``onnx="Scan"`` is written per layer and
direction as (see :func:`emit_scan_layer`):

* the input projection of all steps, ``LayerNormalization(X W_ih^T)`` (opset 17) with every
  bias that adds outside a product folded into its bias, one node over (T, B, G);
* one ``Scan`` over time, its body one step of the cell: ``MatMul`` by W_hh^T,
  ``LayerNormalization``, ``Split`` into the gate blocks, ``Sigmoid``/``Tanh``, the state
  update, and the length mask ``m`` (B, 1): ``h_t = h_{t-1} + m (h_new - h_{t-1})``, so a row
  keeps its state past its end and the reverse direction (``scan_input_directions`` 1)
  starts at its own last valid step, as rnnkit's layers do.

The equations are those of :mod:`rnnkit.nn.cells.ln_lstm` and :mod:`rnnkit.nn.cells.ln_gru`;
the tests check the graphs in onnxruntime against the layers' forward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..nn.cells import cell_spec
from ._graph import Graph

SCAN = "Scan"  # the CellSpec.onnx of a cell written as primitives here
EPS = 1e-5  # the layer norm's, as rnnkit's (and torch's)


class _Body(Graph):
    """A Scan body: a graph of its own whose names cannot clash with the outer graph's."""

    def __init__(self, onnx, prefix: str) -> None:
        super().__init__(onnx)
        self.prefix = prefix

    def name(self, base: str) -> str:
        return self.prefix + super().name(base)


def _layer_norm(g, x: str, gain: np.ndarray, bias: np.ndarray) -> str:
    return g.op("LayerNormalization", [x, g.init("ln_gain", gain), g.init("ln_bias", bias)], axis=-1, epsilon=EPS)


def _bias_sum(p: dict, names: tuple[str, ...], G: int) -> np.ndarray:
    return sum((p[n].astype(np.float64) for n in names if n in p), np.zeros(G))


def _ln_lstm(g, body, p: dict, H: int, x: str, h: str, c: str, xp_t: str | None):
    """Input projection (xp_t None, on g) or one step (on body): the LN-LSTM's equations."""
    G = 4 * H
    if xp_t is None:  # a = LN(W_ih x) + LN(W_hh h) + biases: every bias folds into the first
        xw = g.op("MatMul", [x, g.init("W_ih_T", p["weight_ih"].T)])  # (T, B, I) x (I, 4H)
        return _layer_norm(
            g, xw, p["ln_ih_weight"], _bias_sum(p, ("ln_ih_bias", "ln_hh_bias", "bias_ih", "bias_hh"), G)
        )
    hw = body.op("MatMul", [h, body.init("W_hh_T", p["weight_hh"].T)])  # (B, H) x (H, 4H)
    a = body.op("Add", [xp_t, _layer_norm(body, hw, p["ln_hh_weight"], np.zeros(G))])
    i, f, gg, o = body.op("Split", [a, body.ints([H] * 4)], n_out=4, axis=1)
    i, f, o = (body.op("Sigmoid", [v]) for v in (i, f, o))
    c_new = body.op("Add", [body.op("Mul", [f, c]), body.op("Mul", [i, body.op("Tanh", [gg])])])
    y = _layer_norm(body, c_new, p["ln_c_weight"], p.get("ln_c_bias", np.zeros(H)))
    return body.op("Mul", [o, body.op("Tanh", [y])]), c_new


def _ln_gru(g, body, p: dict, H: int, x: str, h: str, c: None, xp_t: str | None):
    """Input projection (xp_t None, on g) or one step (on body): the LN-GRU's equations."""
    G = 3 * H
    b_v = _bias_sum(p, ("ln_hh_bias", "bias_hh"), G)
    if xp_t is None:  # u = LN(W_ih x) + b_ih, with v's r and z biases folded in
        b_u = _bias_sum(p, ("ln_ih_bias", "bias_ih"), G)
        b_u[: 2 * H] += b_v[: 2 * H]
        xw = g.op("MatMul", [x, g.init("W_ih_T", p["weight_ih"].T)])  # (T, B, I) x (I, 3H)
        return _layer_norm(g, xw, p["ln_ih_weight"], b_u)
    hw = body.op("MatMul", [h, body.init("W_hh_T", p["weight_hh"].T)])  # (B, H) x (H, 3H)
    v = _layer_norm(body, hw, p["ln_hh_weight"], np.concatenate([np.zeros(2 * H), b_v[2 * H :]]))
    u_r, u_z, u_n = body.op("Split", [xp_t, body.ints([H] * 3)], n_out=3, axis=1)
    v_r, v_z, v_n = body.op("Split", [v, body.ints([H] * 3)], n_out=3, axis=1)
    r = body.op("Sigmoid", [body.op("Add", [u_r, v_r])])
    z = body.op("Sigmoid", [body.op("Add", [u_z, v_z])])
    n = body.op("Tanh", [body.op("Add", [u_n, body.op("Mul", [r, v_n])])])
    return body.op("Add", [n, body.op("Mul", [z, body.op("Sub", [h, n])])]), None  # n + z (h - n)


CELLS: dict[str, Callable[..., Any]] = {"ln_lstm": _ln_lstm, "ln_gru": _ln_gru}  # the Scan cells, by name


def _zeros_state(g, x: str, H: int) -> str:
    """(B, H) zeros, B read from x (T, B, ...)."""
    shape = g.op("Concat", [g.op("Slice", [g.op("Shape", [x]), g.ints([1]), g.ints([2])]), g.ints([H])], axis=0)
    zero = g.helper.make_tensor(g.name("zero"), g.onnx.TensorProto.FLOAT, [1], [0.0])
    return g.op("ConstantOfShape", [shape], value=zero)


def _ones_mask(g, x: str) -> str:
    """(T, B, 1) ones: every step inside its sequence."""
    shape = g.op("Concat", [g.op("Slice", [g.op("Shape", [x]), g.ints([0]), g.ints([2])]), g.ints([1])], axis=0)
    one = g.helper.make_tensor(g.name("one"), g.onnx.TensorProto.FLOAT, [1], [1.0])
    return g.op("ConstantOfShape", [shape], value=one)


def _direction(g, layer, k: int, d: int, x: str, mask: str, h0: str | None, c0: str | None):
    """One direction of layer k: its Scan; returns (Y (T, B, H), h_T (B, H), c_T or None)."""
    spec, H = cell_spec(layer.mode), layer.hidden_size
    cell, lstm = CELLS[spec.name], layer.cell.has_cell_state
    sfx = f"_l{k}" + ("_reverse" if d else "")
    p = {n[: -len(sfx)]: v for n, v in layer.parameters().items() if n.endswith(sfx)}  # by base name
    xp = cell(g, None, p, H, x, "", None, None)  # (T, B, G)
    F, G = g.onnx.TensorProto.FLOAT, layer.cell.num_gates * H
    body = _Body(g.onnx, g.name("scan") + "_")
    h = body.input(body.name("h"), F, ["B", H])
    c = body.input(body.name("c"), F, ["B", H]) if lstm else None
    xp_t = body.input(body.name("xp_t"), F, ["B", G])
    m = body.input(body.name("m"), F, ["B", 1])
    h_new, c_new = cell(g, body, p, H, "", h, c, xp_t)
    keep = [(h, h_new)] + ([(c, c_new)] if lstm else [])
    states = [body.op("Add", [old, body.op("Mul", [m, body.op("Sub", [new, old])])]) for old, new in keep]
    for s, name in zip(states, ("h_out", "c_out"), strict=False):
        body.output(s, body.name(name), F, ["B", H])
    body.output(states[0], body.name("y"), F, ["B", H])
    graph = g.helper.make_graph(body.nodes, body.name("step"), body.inputs, body.outputs, body.inits)
    init = [h0 or _zeros_state(g, x, H)] + ([c0 or _zeros_state(g, x, H)] if lstm else [])
    outs = g.op(
        "Scan",
        [*init, xp, mask],
        n_out=len(init) + 1,
        body=graph,
        num_scan_inputs=2,
        scan_input_directions=[d, d],
        scan_output_directions=[d],
    )
    return outs[-1], outs[0], (outs[1] if lstm else None)


def emit_scan_layer(g, layer, k: int, x: str, mask: str | None, h0: str, c0: str):
    """Layer ``k`` of a Scan cell's stack. x (T, B, I_k); mask (T, B, 1) or None (every step
    valid); h0/c0 layer k's (D, B, H) initial states or "" (zeros). Returns (Y (T, B, D*H),
    Y_h (D, B, H), Y_c (D, B, H) or None), as the ONNX recurrent operators' outputs."""
    D = layer.num_directions
    mask = mask or _ones_mask(g, x)
    ys, hs, cs = [], [], []
    row = lambda s, d: g.op("Squeeze", [g.op("Gather", [s, g.ints([d])], axis=0), g.ints([0])])  # noqa: E731
    for d in range(D):
        h0_d = row(h0, d) if h0 else None  # (B, H)
        c0_d = row(c0, d) if c0 else None
        y, h_T, c_T = _direction(g, layer, k, d, x, mask, h0_d, c0_d)
        ys.append(y)
        hs.append(g.op("Unsqueeze", [h_T, g.ints([0])]))
        if c_T is not None:
            cs.append(g.op("Unsqueeze", [c_T, g.ints([0])]))
    cat = lambda v, axis: v[0] if len(v) == 1 else g.op("Concat", v, axis=axis)  # noqa: E731
    return cat(ys, 2), cat(hs, 0), (cat(cs, 0) if cs else None)
