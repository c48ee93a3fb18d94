"""rnnkit <-> PyTorch: ``to_torch(model_or_layer)`` and ``from_torch(module)``.

Shape legend: B batch, T time, F features, E embedding, H hidden, D directions, K outputs.

Parameter names, shapes and gate orders are the same on both sides (rnnkit keeps
PyTorch's), so moving weights is a ``load_state_dict`` with no transposes. Layers become
``torch.nn.RNN``/``LSTM``/``GRU``; a fitted model's network becomes a small
``torch.nn.Module`` with the same children (``embedding``, ``rnn``, ``head`` ...) and so
the same ``state_dict`` keys (``from_torch(module, into=model)`` loads them back):

    SequenceClassifier / SequenceRegressor / SequenceTagger
        forward(x (B, T, F) float or (B, T) int64 ids, lengths (B,)) -> (B, K), or (B, T, K)
        for per-step outputs (zeros-padded input rows are packed away, as rnnkit does); a
        tagger with spelling features reads (B, T, 1 + F) ids: the word, then its features
    FeedForward   forward(x (B, F), or (B, W, F) for windows) -> (B, K)
    CharLM        forward(ids (B,), state) -> (logits (B, V), state): one step
    Forecaster    forward(x (T, B, I) time-major) -> (B, D, F, P); an ensemble of k members
                  (children member0 ..) -> (k, B, D, F, P), and ``mean(x)`` -> (B, D, F, P)
    Seq2Seq, SequenceGenerator, MusicModel: time-major, a teacher-forced ``forward`` and
        the one-step method decoding calls (``encode``/``step``, ``condition``/``step``,
        ``step``); see :mod:`rnnkit.interop._torch_decoders`

Outputs are the network's raw outputs (logits; regression in standardised units, as
``model.net_`` gives them). The torch modules use the rnnkit parameters' dtype, so a
float64 model gives a float64 module. ``recurrent_dropout`` has no PyTorch counterpart: in
eval mode (the mode of a fitted model) it is off on both sides; ``dropout`` carries over.
torch is imported inside these functions, never by ``import rnnkit``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ..models import BaseEstimator
from ..nn.module import Module
from ._exporter import LAYERS, require
from ._torch_layers import as_numpy, leaf_from_torch, leaf_to_torch
from ._torch_models import model_to_torch, sequence_net_from_torch
from .safetensors_io import _module_of

__all__ = ["to_torch", "from_torch", "LAYERS"]


def _torch(what: str) -> ModuleType:
    return require("torch", what, "torch")


def to_torch(model_or_layer: Module | BaseEstimator) -> Any:  # a torch.nn.Module (torch is optional)
    """An equivalent ``torch.nn.Module`` holding copies of the parameters (see the module doc)."""
    torch = _torch("to_torch")
    leaf = leaf_to_torch(model_or_layer, torch)
    return leaf if leaf is not None else model_to_torch(model_or_layer, torch)


def from_torch(
    module: Any,  # a torch.nn.Module (torch is optional)
    *,
    into: Module | BaseEstimator | None = None,
    dtype: str | np.dtype | None = None,
    rng: np.random.Generator | None = None,
) -> Module | BaseEstimator:
    """An rnnkit layer from ``torch.nn.RNN``/``LSTM``/``GRU`` (also ``Linear``, ``Embedding``),
    or a fresh :class:`~rnnkit.models.network.SequenceNet` from the module ``to_torch`` gives
    a classifier's, regressor's or tagger's (without spelling features) network.

    ``dtype`` defaults to the module's (float32 or float64); ``proj_size`` (LSTM
    projections) has no rnnkit counterpart and is refused. With ``into`` (an rnnkit layer
    or a fitted model), the module's weights are loaded into it instead, every key and
    shape checked: the way back for a network from :func:`to_torch` trained further in
    PyTorch. Returns ``into`` then.
    """
    torch = _torch("from_torch")
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.RNN, LSTM, GRU, Linear or Embedding, got {type(module).__name__}")
    if into is not None:
        target, _ = _module_of(into)
        target.load_state_dict({k: as_numpy(v) for k, v in module.state_dict().items()})
        return into
    params = list(module.parameters())
    if dtype is None:
        dtype = "float64" if params and params[0].dtype == torch.float64 else "float32"
    rng = np.random.default_rng(0) if rng is None else rng
    net = sequence_net_from_torch(module, torch, dtype, rng)
    if net is not None:
        return net
    out = leaf_from_torch(module, torch, dtype, rng)
    if out is None:
        raise TypeError(
            f"module: expected a torch.nn.RNN, LSTM, GRU, Linear or Embedding, got "
            f"{type(module).__name__}; hint: convert its recurrent children one by one"
        )
    state = {k: as_numpy(v) for k, v in module.state_dict().items()}
    out.load_state_dict(state)
    return out.train(module.training)
