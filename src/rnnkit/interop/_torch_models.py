"""The fitted models' networks as torch modules (built on first use; torch passed in).

See :mod:`rnnkit.interop.torch_bridge` for what each forward takes and returns.
"""

from __future__ import annotations

from ..forecast import Forecaster
from ..models import (
    CharLM,
    FeedForward,
    MusicModel,
    NotFittedError,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceRegressor,
    SequenceTagger,
)
from ..models.base import not_fitted_error
from ..models.network import SequenceNet
from ..models.word_features import FeatureTaggerNet
from ..nn import TiedLinear
from . import _torch_decoders
from ._torch_layers import as_numpy, cell_of_torch, converter

_CLASSES: dict = {}


def _classes(torch):
    """Define the torch module classes once (torch is only importable lazily)."""
    if _CLASSES:
        return _CLASSES
    nn = torch.nn
    pack = nn.utils.rnn.pack_padded_sequence
    unpack = nn.utils.rnn.pad_packed_sequence

    class TorchSequenceNet(nn.Module):
        """[Embedding ->] RNN -> pooling (last, mean, max or none) -> Linear."""

        def __init__(self, rnn, head, pooling, embedding=None):
            super().__init__()
            if embedding is not None:
                self.embedding = embedding
            self.rnn, self.head, self.pooling = rnn, head, pooling

        def embed(self, x):
            return self.embedding(x) if hasattr(self, "embedding") else x  # (B, T, E)

        def forward(self, x, lengths):
            """x (B, T, F) or ids (B, T); lengths (B,) -> (B, K), or (B, T, K) for pooling none."""
            x = self.embed(x)
            T = x.shape[1]
            lengths = torch.as_tensor(lengths, dtype=torch.int64).cpu()
            packed = pack(x, lengths, batch_first=True, enforce_sorted=False)
            out, h = self.rnn(packed)
            out, _ = unpack(out, batch_first=True, total_length=T)  # (B, T, D*H), zeros past ends
            h = h[0] if isinstance(h, tuple) else h  # (L*D, B, H)
            D = 2 if self.rnn.bidirectional else 1
            if self.pooling == "last":  # forward at the last step,
                z = h[-D:].transpose(0, 1).reshape(x.shape[0], -1)  # reverse at t = 0
            elif self.pooling == "mean":
                z = out.sum(dim=1) / lengths.to(out.dtype)[:, None]
            elif self.pooling == "max":
                inside = torch.arange(T)[None, :, None] < lengths[:, None, None]
                z = torch.where(inside, out, torch.tensor(-torch.inf, dtype=out.dtype)).amax(dim=1)
            else:
                z = out
            return self.head(z)

    class TorchFeatureTagger(TorchSequenceNet):
        """Word embedding beside the summed spelling-feature embeddings -> RNN -> Linear, per step."""

        def __init__(self, embedding, features, rnn, head):
            super().__init__(rnn, head, "none", embedding)
            self.features = features

        def embed(self, x):
            """x (B, T, 1 + F) ids: the word, then its F feature ids -> (B, T, E + D)."""
            return torch.cat([self.embedding(x[..., 0]), self.features(x[..., 1:]).sum(dim=2)], dim=-1)

    class TorchMLP(nn.Module):
        """Linear -> act -> ... -> Linear (children fc0, fc1, ..., out as in rnnkit)."""

        def __init__(self, layers, out, activation):
            super().__init__()
            for k, layer in enumerate(layers):
                self.add_module(f"fc{k}", layer)
            self.n, self.out = len(layers), out
            self.act = torch.tanh if activation == "tanh" else torch.relu

        def forward(self, x):
            x = x.reshape(x.shape[0], -1)  # (B, W*F) for windows
            for k in range(self.n):
                x = self.act(getattr(self, f"fc{k}")(x))
            return self.out(x)

    class TorchCharLM(nn.Module):
        """Embedding -> RNN -> Linear, one character per call: (ids (B,), state) -> (logits, state)."""

        def __init__(self, embed, rnn, head):
            super().__init__()
            self.embed, self.rnn, self.head = embed, rnn, head

        def forward(self, ids, state=None):
            out, state = self.rnn(self.embed(ids)[None], state)  # (1, B, H)
            return self.head(out[0]), state

    class TorchForecastNet(nn.Module):
        """RNN read at its last step -> Linear, reshaped: x (T, B, I) -> (B, D, F, P)."""

        def __init__(self, rnn, head, steps, features, per_target):
            super().__init__()
            self.rnn, self.head = rnn, head
            self.shape = (steps, features, per_target)

        def forward(self, x):
            out, _ = self.rnn(x)  # (T, B, H)
            return self.head(out[-1]).reshape(x.shape[1], *self.shape)

    class TorchForecastEnsemble(nn.Module):
        """Members member0 .. member{k-1}: x (T, B, I) -> (k, B, D, F, P), as rnnkit's
        ForecastEnsemble; ``mean(x)`` is the forecast the model reads (B, D, F, P)."""

        def __init__(self, members):
            super().__init__()
            for j, m in enumerate(members):
                self.add_module(f"member{j}", m)
            self.k = len(members)

        def forward(self, x):
            return torch.stack([getattr(self, f"member{j}")(x) for j in range(self.k)])

        def mean(self, x):
            return self.forward(x).mean(dim=0)

    _CLASSES.update(
        SequenceNet=TorchSequenceNet,
        FeatureTagger=TorchFeatureTagger,
        MLP=TorchMLP,
        CharLM=TorchCharLM,
        ForecastNet=TorchForecastNet,
        ForecastEnsemble=TorchForecastEnsemble,
    )
    return _CLASSES


def model_to_torch(model, torch):
    to_torch = converter(torch)
    classes = _classes(torch)
    name = type(model).__name__
    supported = (
        SequenceClassifier,
        SequenceRegressor,
        SequenceTagger,
        FeedForward,
        CharLM,
        Seq2Seq,
        SequenceGenerator,
        MusicModel,
        Forecaster,
    )
    if not isinstance(model, supported):
        raise TypeError(
            f"model_or_layer: expected an rnnkit.nn layer (RNN, LSTM, GRU, Linear, Embedding) or a "
            f"fitted SequenceClassifier, SequenceRegressor, SequenceTagger, FeedForward, CharLM, "
            f"Seq2Seq, SequenceGenerator, MusicModel or Forecaster, got {name}; hint: convert "
            f"its layers one by one, e.g. to_torch(model.net_.rnn)"
        )
    try:
        model._check_fitted()
    except NotFittedError:
        raise not_fitted_error(
            f"model: cannot convert an unfitted {name}; hint: fit(...) it or load a saved one"
        ) from None
    net = model.net_
    if isinstance(model, FeedForward):
        out = classes["MLP"]([to_torch(layer) for layer in net.layers], to_torch(net.out), model.activation)
    elif isinstance(model, CharLM):
        embed = to_torch(net.embed)
        out = classes["CharLM"](embed, to_torch(net.rnn), _charlm_head(net.head, embed, torch, to_torch))
    elif isinstance(model, Forecaster):
        out = _forecast_to_torch(net, classes, to_torch)
    elif isinstance(model, (Seq2Seq, SequenceGenerator, MusicModel)):
        out = _torch_decoders.to_torch_module(net, torch)
    elif isinstance(net, FeatureTaggerNet):
        out = classes["FeatureTagger"](
            to_torch(net.embedding), to_torch(net.features), to_torch(net.rnn), to_torch(net.head)
        )
    else:
        assert isinstance(net, SequenceNet), type(net)
        emb = to_torch(net.embedding) if net.embedding is not None else None
        out = classes["SequenceNet"](to_torch(net.rnn), to_torch(net.head), net.pooling, emb)
    return out.eval()


def _charlm_head(head, embed, torch, to_torch):
    """The head's torch twin; a tied one shares the embedding's weight, as torch ties
    (``head.weight = embed.weight``: one Parameter, its gradient the sum of both uses)."""
    if not isinstance(head, TiedLinear):
        return to_torch(head)
    twin = torch.nn.Linear(
        head.in_features, head.out_features, bias="bias" in head.parameters(), dtype=embed.weight.dtype
    )
    twin.weight = embed.weight
    if twin.bias is not None:
        with torch.no_grad():
            twin.bias.copy_(torch.from_numpy(head.parameters()["bias"]))
    return twin


def _forecast_to_torch(net, classes, to_torch):
    """A ForecastNet, or a ForecastEnsemble of them, with the same children and keys."""
    members = [
        classes["ForecastNet"](to_torch(m.rnn), to_torch(m.head), m.steps, m.features, m.per_target)
        for m in getattr(net, "members", [net])
    ]
    return members[0] if not hasattr(net, "members") else classes["ForecastEnsemble"](members)


def sequence_net_from_torch(module, torch, dtype, rng):
    """A fresh :class:`~rnnkit.models.network.SequenceNet` from the module ``to_torch`` gives a
    classifier's, regressor's or tagger's network (weights copied, every key checked), or
    None when ``module`` is not one. Its loss is cross-entropy: set ``net.loss = "mse"`` to
    train a regressor's network further in rnnkit."""
    classes = _classes(torch)
    if not isinstance(module, classes["SequenceNet"]):
        return None
    if isinstance(module, classes["FeatureTagger"]):
        raise ValueError(
            "module: a tagger network with spelling features is not rebuilt alone (the number "
            "of features per word is not in the module); hint: load it into the fitted "
            "tagger with from_torch(module, into=tagger)"
        )
    rnn = module.rnn
    cell = cell_of_torch(rnn).name
    emb = getattr(module, "embedding", None)
    kind = "features" if emb is None else "tokens"
    net = SequenceNet(
        kind=kind,
        input_size=rnn.input_size if emb is None else emb.num_embeddings,
        output_size=module.head.out_features,
        cell=cell,
        hidden_size=rnn.hidden_size,
        num_layers=rnn.num_layers,
        bidirectional=rnn.bidirectional,
        dropout=float(rnn.dropout),
        embedding_dim=rnn.input_size,
        pooling=module.pooling,
        dtype=dtype,
        rng=rng,
    )
    net.load_state_dict({k: as_numpy(v) for k, v in module.state_dict().items()})
    return net.train(module.training)
