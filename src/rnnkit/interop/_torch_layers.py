"""rnnkit's layers and their ``torch.nn`` twins, both ways (torch passed in, never imported here).

Shape legend: I input features, H hidden, L layers, D directions.

The leaves of :mod:`rnnkit.interop.torch_bridge`: recurrent layers (through the cell
registry: a cell's :class:`~rnnkit.nn.cells.CellSpec` names its ``torch.nn`` class, or its
twin built from torch primitives in ``_torch_ln``, and a cell without one is refused by
name), ``Linear`` and ``Embedding``. The model converters
(``_torch_models``, ``_torch_decoders``) build on these; nothing here imports them.
"""

from __future__ import annotations

import numpy as np

from ..nn import Embedding, Linear, make_layer
from ..nn.cells import CELLS, CellSpec, cell_spec
from ._exporter import LAYERS
from ._torch_ln import TWINS, torch_class

TORCH_RECURRENT = ("RNN", "LSTM", "GRU")  # what torch.nn itself offers


def torch_cell(layer) -> CellSpec:
    """The registered spec of ``layer``'s cell; refused by name when PyTorch has no twin."""
    spec = cell_spec(layer.mode)
    if spec.torch is None:
        raise ValueError(
            f"cell {spec.name!r}: no PyTorch counterpart; torch.nn has {', '.join(TORCH_RECURRENT)}; "
            f"hint: convert a model with one of the cells {', '.join(n for n, s in CELLS.items() if s.torch)}"
        )
    return spec


def cell_of_torch(module) -> CellSpec | None:
    """The registered cell a ``torch.nn.RNN``/``LSTM``/``GRU`` module computes, or None."""
    for spec in CELLS.values():
        if spec.torch == type(module).__name__ and all(
            getattr(module, k, None) == v for k, v in spec.layer_kwargs.items()
        ):
            return spec
    return None


def dtype_of(torch, dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def load_into(module, rn, torch) -> None:
    """Copy the rnnkit module ``rn``'s parameters into the torch ``module`` (every key checked)."""
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in rn.state_dict().items()}
    module.load_state_dict(state, strict=True)


def as_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def leaf_to_torch(obj, torch):
    """The torch twin of a recurrent layer, ``Linear`` or ``Embedding``, or None for anything else."""
    if isinstance(obj, LAYERS):
        spec = torch_cell(obj)
        module = torch_class(torch, spec.torch)(
            obj.input_size,
            obj.hidden_size,
            num_layers=obj.num_layers,
            bias=obj.bias,
            batch_first=obj.batch_first,
            dropout=obj.dropout,
            bidirectional=obj.bidirectional,
            dtype=dtype_of(torch, obj.dtype),
            **spec.layer_kwargs,
        )
    elif isinstance(obj, Linear):
        p = obj.parameters()
        module = torch.nn.Linear(obj.in_features, obj.out_features, bias="bias" in p, dtype=dtype_of(torch, obj.dtype))
    elif isinstance(obj, Embedding):
        module = torch.nn.Embedding(
            obj.num_embeddings, obj.embedding_dim, padding_idx=obj.padding_idx, dtype=dtype_of(torch, obj.dtype)
        )
    else:
        return None
    load_into(module, obj, torch)
    return module.train(obj.training) if isinstance(obj, LAYERS) else module


def converter(torch):
    """``to_torch`` for the leaves, bound to ``torch``: what the model converters call per child."""

    def to_torch(obj):
        out = leaf_to_torch(obj, torch)
        assert out is not None, f"not a leaf layer: {type(obj).__name__}"
        return out

    return to_torch


def leaf_from_torch(module, torch, dtype, rng):
    """An rnnkit layer from a ``torch.nn`` RNN/LSTM/GRU (or a layer-normalized twin), ``Linear``
    or ``Embedding`` (weights not yet loaded), or None for anything else."""
    nn = torch.nn
    if isinstance(module, (nn.LSTM, nn.GRU, nn.RNN)) or type(module).__name__ in TWINS:
        if getattr(module, "proj_size", 0):
            raise ValueError(
                f"module: LSTM with proj_size={module.proj_size} has no rnnkit counterpart; hint: use proj_size=0"
            )
        spec = cell_of_torch(module)
        if spec is None:
            raise ValueError(f"module: no registered rnnkit cell computes {module!r}")
        return make_layer(
            spec.name,
            module.input_size,
            module.hidden_size,
            module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            dropout=float(module.dropout),
            bidirectional=module.bidirectional,
            dtype=dtype,
            rng=rng,
        )
    if isinstance(module, nn.Linear):
        return Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype, rng=rng)
    if isinstance(module, nn.Embedding):
        return Embedding(
            module.num_embeddings, module.embedding_dim, padding_idx=module.padding_idx, dtype=dtype, rng=rng
        )
    return None
