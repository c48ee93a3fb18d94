"""Models leave rnnkit: ONNX, PyTorch and safetensors.

    to_onnx(model_or_layer, path)        an ONNX graph of the standard RNN/LSTM/GRU operators
    to_torch(model_or_layer)             an equivalent torch.nn.Module (torch imported lazily)
    from_torch(module)                   an rnnkit layer from torch.nn.RNN/LSTM/GRU, or a
                                         SequenceNet from a to_torch module; into=model loads it back
    save_safetensors / load_safetensors  weights under PyTorch's key names
    OnnxPredictor(model)                 the model's predict, its network run by onnxruntime

Each optional package (onnx, torch, safetensors) is imported inside the function that
needs it; without it the call raises an ImportError naming the extra to install.
"""

from .onnx_export import to_onnx
from .onnx_runtime import OnnxPredictor
from .safetensors_io import load_safetensors, save_safetensors
from .torch_bridge import from_torch, to_torch

__all__ = ["to_onnx", "OnnxPredictor", "to_torch", "from_torch", "save_safetensors", "load_safetensors"]
