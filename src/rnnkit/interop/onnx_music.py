"""A fitted :class:`~rnnkit.models.MusicModel` as two ONNX graphs: the whole piece, and one frame.

Shape legend: T frames, B batch, P pitches of the model (MIDI ``low`` .. ``high``),
V melody tokens (P pitches, HOLD = P, REST = P + 1), I = P + 1 (poly) or V + 1 (melody)
network inputs (the last one is the start unit), L layers, H hidden.

Frames are in the model's units: poly, unit n is MIDI pitch ``low + n``; melody, token id
k < P is pitch ``low + k``, then HOLD and REST. The network reads frame t - 1 (the start
unit at t = 0) and predicts frame t.

    sequence  frames (T, B, P) float 0/1 | (T, B) int64 ids, lengths (B,) int32
              -> logits, probabilities (T, B, P | V): step t's distribution of frame t
                 given frames < t (sigmoid per note, or softmax over tokens); steps past a
                 row's length are padding (read each row up to its ``lengths``)
    step      poly: input (B, P + 1) float (the previous frame, then the start unit: 1 with
              zero notes on the first step, 0 after); melody: token (B,) int64 (the
              previous token id, or V for the start)
              h (L, B, H)[, c] -> logits, probabilities (B, P | V), h_out[, c_out]

Generation outside rnnkit: zero state, the start input, then feed each sampled frame
back (``rnnkit.music`` in the metadata says how).
"""

from __future__ import annotations

import json

import numpy as np

from ._graph import Graph
from ._onnx_parts import linear, state_inputs, state_outputs
from .onnx_layers import emit_recurrent


def _probabilities(g, model, logits):
    if model.mode == "poly":
        return g.op("Sigmoid", [logits])
    return g.op("Softmax", [logits], axis=-1)


def _sequence(onnx, model):
    """frames (T, B, P) | ids (T, B), lengths -> logits, probabilities (T, B, K)."""
    g, F, net = Graph(onnx), onnx.TensorProto.FLOAT, model.net_
    I, K = model._n_units()
    if model.mode == "poly":
        frames = g.input("frames", F, ["T", "B", K])
        prev = g.op("Slice", [frames, g.ints([0]), g.ints([-1]), g.ints([0])])  # (T-1, B, P)
        first = g.op(
            "Mul", [g.op("Slice", [frames, g.ints([0]), g.ints([1]), g.ints([0])]), g.scalar(0.0)]
        )  # (1, B, P) zeros
        notes = g.op("Concat", [first, prev], axis=0)  # (T, B, P)
        T = g.op("Gather", [g.op("Shape", [frames]), g.ints(0)], axis=0)  # scalar T
        is_first = g.op(
            "Cast", [g.op("Equal", [g.op("Range", [g.ints(0), T, g.ints(1)]), g.ints(0)])], to=onnx.TensorProto.FLOAT
        )  # (T,) 1 at t = 0
        zeros = g.op(
            "Mul", [g.op("Slice", [frames, g.ints([0]), g.ints([1]), g.ints([2])]), g.scalar(0.0)]
        )  # (T, B, 1)
        start = g.op("Add", [zeros, g.op("Unsqueeze", [is_first, g.ints([1, 2])])])  # (T, B, 1) the start unit
        x = g.op("Concat", [notes, start], axis=2)  # (T, B, P + 1)
    else:
        ids = g.input("frames", onnx.TensorProto.INT64, ["T", "B"])
        prev = g.op("Slice", [ids, g.ints([0]), g.ints([-1]), g.ints([0])])  # (T-1, B)
        first = g.op(
            "Add",
            [g.op("Mul", [g.op("Slice", [ids, g.ints([0]), g.ints([1]), g.ints([0])]), g.ints(0)]), g.ints(I - 1)],
        )  # (1, B) the start id
        x = _one_hot(g, g.op("Concat", [first, prev], axis=0), I)  # (T, B, V + 1)
    lens = g.input("lengths", onnx.TensorProto.INT32, ["B"])
    out, _, _, _ = emit_recurrent(g, net.rnn, x, lengths=lens)  # (T, B, H)
    logits = linear(g, net.head, out)  # (T, B, K)
    g.output(logits, "logits", F, ["T", "B", K])
    g.output(_probabilities(g, model, logits), "probabilities", F, ["T", "B", K])
    return g


def _one_hot(g, ids, n):
    """ids (...) int64 -> (..., n) float one-hot rows of the identity."""
    return g.op("Gather", [g.init("eye", np.eye(n)), ids], axis=0)


def _step(onnx, model):
    """One frame: the previous frame (or the start), state -> logits, probabilities, state."""
    g, F, net = Graph(onnx), onnx.TensorProto.FLOAT, model.net_
    I, K = model._n_units()
    if model.mode == "poly":
        x = g.input("input", F, ["B", I])
    else:
        x = _one_hot(g, g.input("token", onnx.TensorProto.INT64, ["B"]), I)  # (B, V + 1)
    h0, c0 = state_inputs(g, net.rnn, onnx)
    out, h_n, c_n, _ = emit_recurrent(g, net.rnn, g.op("Unsqueeze", [x, g.ints([0])]), h0=h0, c0=c0)
    logits = linear(g, net.head, g.op("Squeeze", [out, g.ints([0])]))  # (B, K)
    g.output(logits, "logits", F, ["B", K])
    g.output(_probabilities(g, model, logits), "probabilities", F, ["B", K])
    state_outputs(g, net.rnn, onnx, h_n, c_n)
    return g


def music_graphs(onnx, model) -> dict:
    """{"sequence": (Graph, metadata), "step": (Graph, metadata)}."""
    P = model.n_pitches_
    spec = {
        "mode": model.mode,
        "low": model.low_,
        "high": model.high_,
        "pitches": P,
        "frames_per_quarter": model.frames_per_quarter,
        "inputs": model._n_units()[0],
    }
    if model.mode == "poly":
        spec["units"] = f"unit n is MIDI pitch low + n, n < {P}; the step input's last unit is the start"
        spec["generate"] = (
            "start: input = the start unit alone, zero state; then each note on with "
            "probability sigmoid(logit / temperature), the drawn frame (start unit 0) fed back"
        )
    else:
        spec.update(hold=P, rest=P + 1, start=P + 2)
        spec["units"] = f"token k < {P} is MIDI pitch low + k; {P} HOLD, {P + 1} REST; {P + 2} the start (step input)"
        spec["generate"] = (
            "start: token = start, zero state; then draw softmax(logits / temperature), HOLD "
            "excluded at the start and after a REST, and feed the drawn token back"
        )
    meta = {"rnnkit.music": json.dumps(spec)}
    return {"sequence": (_sequence(onnx, model), meta), "step": (_step(onnx, model), meta)}
