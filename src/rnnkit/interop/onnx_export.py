"""``to_onnx(model_or_layer, path)``: an rnnkit layer or fitted model as an ONNX file.

Layers (``rnnkit.nn.RNN``/``LSTM``/``GRU``): inputs ``input`` (T, B, I) float32, or
(B, T, I) with ``batch_first``; with ``lengths=True`` also ``lengths`` (B,) int32; with
``state=True`` also ``h0`` (and ``c0``) (L*D, B, H). Outputs ``output``, ``h_n`` (and
``c_n``), shaped as the layer's ``forward`` returns them. Batch and time axes are dynamic.

Models: see :mod:`rnnkit.interop.onnx_models` for each graph's inputs and outputs. What a
consumer needs to pre- and post-process (vocabularies, classes, scalers, the feature
spelling rules) is written as JSON into the model's ``metadata_props``, keys ``rnnkit.*``.

The graph is checked with ``onnx.checker.check_model(full_check=True)`` before it is
written, atomically; a missing folder, an unfitted model and a model feature ONNX cannot
express are refused with a one-line error naming which.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

from ..models import BaseEstimator
from ..nn.module import Module
from ..nn.recurrent import _Recurrent
from ..utils.atomic import write_bytes_atomic
from ._exporter import LAYERS, check_out_path, layer_spec, meta, require
from ._graph import Graph
from .onnx_layers import emit_recurrent
from .onnx_models import model_graphs

__all__ = ["to_onnx", "layer_graph", "require", "check_out_path", "layer_spec", "LAYERS"]


def _check_layer(layer: object) -> None:
    if not isinstance(layer, LAYERS):
        raise TypeError(
            f"model_or_layer: expected an rnnkit.nn RNN/LSTM/GRU layer or a fitted rnnkit "
            f"model, got {type(layer).__name__}"
        )


def layer_graph(onnx: ModuleType, layer: _Recurrent, *, lengths: bool = False, state: bool = False) -> Any:
    """The ONNX ModelProto of one recurrent layer stack (see the module docstring)."""
    _check_layer(layer)
    g = Graph(onnx)
    F = onnx.TensorProto.FLOAT
    I, H, LD = layer.input_size, layer.hidden_size, layer.num_layers * layer.num_directions
    DH = H * layer.num_directions
    bf = layer.batch_first
    x = g.input("input", F, ["B", "T", I] if bf else ["T", "B", I])
    lens = g.input("lengths", onnx.TensorProto.INT32, ["B"]) if lengths else None
    h0 = c0 = None
    if state:
        h0 = g.input("h0", F, [LD, "B", H])
        if layer.cell.has_cell_state:
            c0 = g.input("c0", F, [LD, "B", H])
    xt = g.op("Transpose", [x], perm=[1, 0, 2]) if bf else x
    out, h_n, c_n, _ = emit_recurrent(g, layer, xt, lengths=lens, h0=h0, c0=c0)
    if bf:
        out = g.op("Transpose", [out], perm=[1, 0, 2])
    g.output(out, "output", F, ["B", "T", DH] if bf else ["T", "B", DH])
    g.output(h_n, "h_n", F, [LD, "B", H])
    if c_n is not None:
        g.output(c_n, "c_n", F, [LD, "B", H])
    info = {"rnnkit.kind": "layer", "rnnkit.layer": json.dumps(layer_spec(layer))}
    return g.model(type(layer).__name__, meta(info), doc=repr(layer))


def to_onnx(
    model_or_layer: Module | BaseEstimator, path: str | Path, *, lengths: bool = False, state: bool = False
) -> Path | dict:
    """Write ``model_or_layer`` as ONNX to ``path``; returns the path written.

    ``lengths``/``state`` add the ``lengths`` and ``h0``/``c0`` inputs to a layer's graph
    (models decide their own inputs). A :class:`~rnnkit.models.Seq2Seq` becomes two graphs,
    ``<stem>.encoder.onnx`` and ``<stem>.decoder.onnx`` beside ``path``; the return value
    is then ``{"encoder": path, "decoder": path}``; a :class:`~rnnkit.models.MusicModel`
    likewise gives ``{"sequence": path, "step": path}`` (``<stem>.sequence.onnx``,
    ``<stem>.step.onnx``).
    """
    onnx = require("onnx", "to_onnx", "onnx")
    p = check_out_path(path)
    if isinstance(model_or_layer, LAYERS):
        models = {"": layer_graph(onnx, model_or_layer, lengths=lengths, state=state)}
    else:
        models = model_graphs(onnx, model_or_layer)
    written = {}
    for part, model in models.items():
        onnx.checker.check_model(model, full_check=True)
        target = p if not part else p.with_name(f"{p.stem}.{part}{p.suffix or '.onnx'}")
        write_bytes_atomic(target, model.SerializeToString())
        written[part] = target
    return written.get("", written)
