"""Models leave rnnkit: ONNX, PyTorch and safetensors.

    to_onnx(model_or_layer, path)        an ONNX graph of the standard RNN/LSTM/GRU operators
    to_torch(model_or_layer)             an equivalent torch.nn.Module (torch imported lazily)
    from_torch(module)                   an rnnkit layer from torch.nn.RNN/LSTM/GRU, or a
                                         SequenceNet from a to_torch module; into=model loads it back
    save_safetensors / load_safetensors  weights under PyTorch's key names
    OnnxPredictor(model)                 the model's predict, its network run by onnxruntime

Each optional package (onnx, torch, safetensors) is imported inside the function that
needs it; without it the call raises an ImportError naming the extra to install.

Imports run one way, leaves first (no module imports one above it, so there is no cycle):

    _exporter                  require, check_out_path, LAYERS, layer_spec, meta
    _graph, _onnx_parts        graph building, pieces several model graphs share
    onnx_layers                the recurrent layers as ONNX nodes (gate orders from the cell registry)
    onnx_music, forecast_spec  -> onnx_models (one graph builder per model class) -> onnx_export
    _torch_layers              layers <-> torch.nn (the registry names each cell's torch class)
    _torch_decoders            -> _torch_models (the models' torch twins) -> torch_bridge

A cell the registry gives no ``onnx``/``torch`` twin is refused by name by both exporters.
"""

from .onnx_export import to_onnx
from .onnx_runtime import OnnxPredictor
from .safetensors_io import load_safetensors, save_safetensors
from .torch_bridge import from_torch, to_torch

__all__ = ["to_onnx", "OnnxPredictor", "to_torch", "from_torch", "save_safetensors", "load_safetensors"]
