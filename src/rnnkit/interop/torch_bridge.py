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

import numpy as np

from ..nn import GRU, LSTM, RNN, Embedding, Linear
from .onnx_export import require

LAYERS = (RNN, LSTM, GRU)


def _torch(what: str):
    return require("torch", what, "torch")


def _load(module, rn, torch) -> None:
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in rn.state_dict().items()}
    module.load_state_dict(state, strict=True)


def _layer_to_torch(layer, torch):
    kwargs = dict(
        num_layers=layer.num_layers,
        bias=layer.bias,
        batch_first=layer.batch_first,
        dropout=layer.dropout,
        bidirectional=layer.bidirectional,
        dtype=torch.float64 if layer.dtype == np.float64 else torch.float32,
    )
    if layer.mode == "LSTM":
        cls = torch.nn.LSTM
    elif layer.mode == "GRU":
        cls = torch.nn.GRU
    else:
        cls = torch.nn.RNN
        kwargs["nonlinearity"] = "tanh" if layer.mode == "RNN_TANH" else "relu"
    module = cls(layer.input_size, layer.hidden_size, **kwargs)
    _load(module, layer, torch)
    return module.train(layer.training)


def to_torch(model_or_layer):
    """An equivalent ``torch.nn.Module`` holding copies of the parameters (see the module doc)."""
    torch = _torch("to_torch")
    obj = model_or_layer
    if isinstance(obj, LAYERS):
        return _layer_to_torch(obj, torch)
    if isinstance(obj, Linear):
        p = obj.parameters()
        m = torch.nn.Linear(obj.in_features, obj.out_features, bias="bias" in p, dtype=_dtype(torch, obj.dtype))
        _load(m, obj, torch)
        return m
    if isinstance(obj, Embedding):
        m = torch.nn.Embedding(
            obj.num_embeddings, obj.embedding_dim, padding_idx=obj.padding_idx, dtype=_dtype(torch, obj.dtype)
        )
        _load(m, obj, torch)
        return m
    from . import _torch_models

    return _torch_models.model_to_torch(obj, torch)


def _dtype(torch, dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def from_torch(module, *, into=None, dtype=None, rng=None):
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
        from .safetensors_io import _module_of

        target, _ = _module_of(into)
        target.load_state_dict({k: v.detach().cpu().numpy() for k, v in module.state_dict().items()})
        return into
    params = list(module.parameters())
    if dtype is None:
        dtype = "float64" if params and params[0].dtype == torch.float64 else "float32"
    rng = np.random.default_rng(0) if rng is None else rng
    from ._torch_models import sequence_net_from_torch

    net = sequence_net_from_torch(module, torch, dtype, rng)
    if net is not None:
        return net
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    if isinstance(module, (nn.LSTM, nn.GRU, nn.RNN)):
        if getattr(module, "proj_size", 0):
            raise ValueError(
                f"module: LSTM with proj_size={module.proj_size} has no rnnkit counterpart; hint: use proj_size=0"
            )
        kwargs = dict(
            num_layers=module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            dropout=float(module.dropout),
            bidirectional=module.bidirectional,
            dtype=dtype,
            rng=rng,
        )
        if isinstance(module, nn.LSTM):
            out = LSTM(module.input_size, module.hidden_size, **kwargs)
        elif isinstance(module, nn.GRU):
            out = GRU(module.input_size, module.hidden_size, **kwargs)
        else:
            out = RNN(module.input_size, module.hidden_size, nonlinearity=module.nonlinearity, **kwargs)
    elif isinstance(module, nn.Linear):
        out = Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype, rng=rng)
    elif isinstance(module, nn.Embedding):
        out = Embedding(
            module.num_embeddings, module.embedding_dim, padding_idx=module.padding_idx, dtype=dtype, rng=rng
        )
    else:
        raise TypeError(
            f"module: expected a torch.nn.RNN, LSTM, GRU, Linear or Embedding, got "
            f"{type(module).__name__}; hint: convert its recurrent children one by one"
        )
    out.load_state_dict(state)
    return out.train(module.training)
