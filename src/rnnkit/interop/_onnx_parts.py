"""Small pieces of ONNX graphs that several model exporters use (``onnx_models``, ``onnx_music``).

Shape legend: T time, B batch, L layers, D directions, H hidden.
"""

from __future__ import annotations


def linear(g, lin, x: str) -> str:
    """x W^T + b for a ``Linear``, or a ``TiedLinear`` (W the embedding's)."""
    p = lin.parameters()
    y = g.op("MatMul", [x, g.init("weight_T", lin.weight.T)])
    return g.op("Add", [y, g.init("bias", p["bias"])]) if "bias" in p else y


def embed(g, emb, ids: str) -> str:
    return g.op("Gather", [g.init("embedding", emb.parameters()["weight"]), ids], axis=0)


def time_major(g, x: str) -> str:
    return g.op("Transpose", [x], perm=[1, 0, 2])


def state_inputs(g, rnn, onnx, names=("h", "c"), rows=None):
    F, LD, H = onnx.TensorProto.FLOAT, rows or rnn.num_layers * rnn.num_directions, rnn.hidden_size
    h = g.input(names[0], F, [LD, "B", H])
    c = g.input(names[1], F, [LD, "B", H]) if rnn.cell.has_cell_state else None
    return h, c


def state_outputs(g, rnn, onnx, h, c, names=("h_out", "c_out")):
    F, LD, H = onnx.TensorProto.FLOAT, rnn.num_layers * rnn.num_directions, rnn.hidden_size
    g.output(h, names[0], F, [LD, "B", H])
    if c is not None:
        g.output(c, names[1], F, [LD, "B", H])
