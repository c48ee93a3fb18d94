"""A small ONNX graph builder: nodes, float32 initializers, named inputs and outputs.

Only the ``onnx`` package is used (imported lazily by the caller, passed in as ``onnx``);
names are made unique with a counter, so emitters can be composed without clashes.
"""

from __future__ import annotations

import numpy as np

OPSET = 17  # RNN/LSTM/GRU (opset 14 semantics), ReduceSum with axes input
IR_VERSION = 8  # read by every onnxruntime since 1.10


class Graph:
    """Collects the parts of one ONNX graph."""

    def __init__(self, onnx) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes: list = []
        self.inits: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._count = 0
        self._consts: dict = {}

    def name(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    # -- tensors ----------------------------------------------------------------------
    def init(self, base: str, value, dtype=np.float32) -> str:
        """A constant tensor (an initializer); weights are float32 unless told otherwise."""
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        name = self.name(base)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values) -> str:
        """A shared int64 constant (shapes, axes, indices)."""
        key = ("i64", tuple(int(v) for v in np.atleast_1d(values)), np.ndim(values))
        if key not in self._consts:
            self._consts[key] = self.init("const", np.asarray(values, np.int64), np.int64)
        return self._consts[key]

    def scalar(self, value: float) -> str:
        key = ("f32", float(value))
        if key not in self._consts:
            self._consts[key] = self.init("const", np.float32(value))
        return self._consts[key]

    # -- nodes ------------------------------------------------------------------------
    def op(self, op_type: str, inputs, n_out: int = 1, **attrs):
        """Add one node; returns its output name (or a list when ``n_out`` > 1)."""
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=self.name("n_" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def rename(self, src: str, dst: str) -> str:
        """Give ``src`` the graph-output name ``dst`` (an Identity node)."""
        self.nodes.append(self.helper.make_node("Identity", [src], [dst], name=self.name("n_out")))
        return dst

    # -- signature --------------------------------------------------------------------
    def input(self, name: str, elem, shape) -> str:
        self.inputs.append(self.helper.make_tensor_value_info(name, elem, list(shape)))
        return name

    def output(self, src: str, name: str, elem, shape) -> None:
        self.rename(src, name)
        self.outputs.append(self.helper.make_tensor_value_info(name, elem, list(shape)))

    def model(self, graph_name: str, metadata: dict[str, str], doc: str = ""):
        h = self.helper
        graph = h.make_graph(self.nodes, graph_name, self.inputs, self.outputs, self.inits, doc_string=doc)
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)], producer_name="rnnkit")
        model.ir_version = IR_VERSION
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        return model
