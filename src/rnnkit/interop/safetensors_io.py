"""Weights as safetensors, under PyTorch's key names.

``save_safetensors(layer_or_model, path)`` writes the parameters of a layer (or a fitted
model's network) with exactly the keys and shapes of the matching torch module
(``weight_ih_l0``, ``rnn.weight_hh_l0_reverse``, ``head.bias`` ...), so

    torch_module.load_state_dict(safetensors.torch.load_file(path))

works on the module :func:`rnnkit.interop.to_torch` builds (or a ``torch.nn.LSTM`` of the
same configuration). The header's metadata says what was saved (``rnnkit.kind``, the
layer's configuration or the model class). rnnkit's own checkpoint format is unchanged;
this is a door out, written atomically, read without pickles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._version import __version__
from ..models import BaseEstimator, NotFittedError
from ..models.base import not_fitted_error
from ..nn.module import Module
from ..utils import files
from ..utils.atomic import write_bytes_atomic
from ._exporter import LAYERS, check_out_path, layer_spec, require


def _module_of(obj: Module | BaseEstimator) -> tuple[Module, dict]:
    if isinstance(obj, Module):
        meta = {"rnnkit.kind": "layer" if isinstance(obj, LAYERS) else type(obj).__name__}
        if isinstance(obj, LAYERS):
            meta["rnnkit.layer"] = json.dumps(layer_spec(obj))
        return obj, meta
    if isinstance(obj, BaseEstimator):
        try:
            obj._check_fitted()
        except NotFittedError:
            raise not_fitted_error(
                f"layer_or_model: cannot save the weights of an unfitted {type(obj).__name__}; "
                "hint: fit(...) it or load a saved one first"
            ) from None
        return obj.net_, {"rnnkit.kind": type(obj).__name__}
    raise TypeError(
        f"layer_or_model: expected an rnnkit layer (rnnkit.nn.*) or a fitted rnnkit model, got {type(obj).__name__}"
    )


def save_safetensors(layer_or_model: Module | BaseEstimator, path: str | Path) -> Path:
    """Write the parameters as safetensors (PyTorch's names, the parameters' dtype)."""
    st = require("safetensors.numpy", "save_safetensors", "safetensors")
    p = check_out_path(path)
    module, meta = _module_of(layer_or_model)
    tensors = {k: np.ascontiguousarray(v) for k, v in module.state_dict().items()}
    data = st.save(tensors, metadata={"format": "pt", "rnnkit.version": __version__, **meta})
    return write_bytes_atomic(p, data)


def load_safetensors(
    path: str | os.PathLike[str], into: Module | BaseEstimator | None = None
) -> dict[str, np.ndarray] | Module | BaseEstimator:
    """Read a safetensors file: the arrays by name, or, with ``into`` (a layer or fitted
    model), load them into it after checking every key and shape; returns ``into`` then."""
    st = require("safetensors.numpy", "load_safetensors", "safetensors")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: {p} is not a file")
    try:
        arrays = st.load(files.read_regular_bytes(p, what="a safetensors file", max_bytes=files.MAX_MODEL_BYTES))
    except files.FileRefusedError:
        raise
    except Exception as exc:  # the library's own error types vary between versions
        raise ValueError(f"path: {p} is not a readable safetensors file ({' '.join(str(exc).split())})") from None
    if into is None:
        return arrays
    module, _ = _module_of(into)
    module.load_state_dict(arrays)
    return into
