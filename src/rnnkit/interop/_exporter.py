"""What every exporter shares: optional imports, output paths, the layers and their metadata.

The lowest module of :mod:`rnnkit.interop`: the exporters (``onnx_export``, ``torch_bridge``,
``safetensors_io``, ``onnx_runtime``) and their per-model parts import it, it imports none
of them.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .._version import __version__
from ..nn import GRU, LSTM, RNN, Recurrent

#: the recurrent layer classes (``Recurrent`` carries any registered cell)
LAYERS = (RNN, LSTM, GRU, Recurrent)


def require(module: str, what: str, extra: str):
    """Import an optional package or raise a one-line ImportError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"rnnkit.interop.{what} needs {module.split('.')[0]}: pip install 'rnnkit[{extra}]'"
        ) from None


def check_out_path(path, name: str = "path") -> Path:
    """The file to write: its folder must exist (it is not created behind the caller's back)."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name}: expected a file path (str or pathlib.Path), got {type(path).__name__}")
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{name}: {p} is a folder; expected a file name such as {p / 'model.onnx'}")
    if not p.parent.is_dir():
        raise FileNotFoundError(f"{name}: the folder {p.parent} does not exist; hint: create it first")
    return p


def layer_spec(layer) -> dict:
    """A recurrent layer's constructor arguments, as JSON metadata."""
    return {
        "class": type(layer).__name__,
        "mode": layer.mode,
        "input_size": layer.input_size,
        "hidden_size": layer.hidden_size,
        "num_layers": layer.num_layers,
        "bidirectional": layer.bidirectional,
        "batch_first": layer.batch_first,
        "bias": layer.bias,
    }


def meta(entries: dict) -> dict:
    """An export's metadata: the rnnkit version, then ``entries``."""
    return {"rnnkit.version": __version__, **entries}
