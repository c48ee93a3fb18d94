"""The fitted models' networks as ONNX graphs.

Shape legend: B batch, T time, F features, E embedding, H hidden, L layers, D directions,
K outputs, C classes, V vocabulary, S source steps, W window, h horizon.

Fixed graphs (inputs batch-first, token ids int64 with PAD = 0, ``lengths`` int32):

    SequenceClassifier  input (B, T, F) | (B, T) ids, lengths -> logits, probabilities (B, C)
    SequenceRegressor   input, lengths -> prediction (B, K), or (B, T, K) with pooling="none"
                        (in the target's units: the scaler is part of the graph)
    SequenceTagger      input (B, T) ids, or (B, T, 1 + F) ids (word, then its F spelling
                        features) -> logits, probabilities (B, T, C)
    Forecaster          inputs (T, B, I) time-major, the network's own input rows (T = W, or
                        W + D with known-future covariates) -> outputs (B, D, F, P), the
                        network's raw outputs (an ensemble: the mean over its members);
                        scaling, transforms, covariates and the loop are the consumer's,
                        described in ``rnnkit.forecaster`` (:mod:`.forecast_spec`)
    FeedForward         input (B, F) | (B, W, F) -> logits, probabilities | prediction

Single-step graphs, state in and out (generation and beam search run outside rnnkit):

    CharLM              token (B,), h (L, B, H)[, c] -> logits (B, V), h_out[, c_out]
    Seq2Seq encoder     source (B, S) ids ending in EOS, source_lengths (B,)
                        -> h (L, B, H)[, c][, memory (S, B, D*H), keys (S, B, H)]
    Seq2Seq decoder     token (B,), h[, c][, memory, keys, source_lengths]
                        -> logits (B, V), h_out[, c_out]

MusicModel gives both (:mod:`rnnkit.interop.onnx_music`): a ``sequence`` graph, frames
(T, B, P) -> per-frame logits and probabilities, and a ``step`` graph with the state.

Pre- and post-processing data (vocabularies, classes, scalers, feature rules) is in the
metadata, keys ``rnnkit.*``, as JSON.
"""

from __future__ import annotations

import json

import numpy as np

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
from ._exporter import meta as export_meta
from ._graph import Graph
from ._onnx_parts import embed, linear, state_inputs, state_outputs, time_major
from .forecast_spec import forecaster_spec
from .onnx_layers import emit_recurrent, step_mask
from .onnx_music import music_graphs


def _labels(values) -> str:
    return json.dumps(np.asarray(values).tolist())


def _check(model) -> None:
    try:
        model._check_fitted()
    except NotFittedError:
        raise not_fitted_error(
            f"model: cannot export an unfitted {type(model).__name__}; hint: fit(...) it or load a saved one first"
        ) from None


# -- SequenceNet: classifier, regressor, tagger without features, forecaster ----------------
def _sequence_net(g, net: SequenceNet, x_tm: str, lengths: str | None) -> str:
    """x (T, B, F) or ids (T, B) -> head output (B, K) or (T, B, K) for pooling none."""
    if net.embedding is not None:
        x_tm = embed(g, net.embedding, x_tm)  # (T, B, E)
    return _rnn_pool_head(g, net, x_tm, lengths)


def _rnn_pool_head(g, net, x_tm, lengths):
    rnn, pooling = net.rnn, getattr(net, "pooling", "none")
    out, _, _, hs = emit_recurrent(g, rnn, x_tm, lengths=lengths)  # (T, B, D*H)
    DH = rnn.hidden_size * rnn.num_directions
    if pooling == "last":  # Y_h: the forward state at each row's last
        top = g.op("Transpose", [hs[-1]], perm=[1, 0, 2])  # step, reverse at t = 0
        z = g.op("Reshape", [top, g.ints([0, DH])])  # (B, D*H)
    elif pooling == "mean":
        total = g.op("ReduceSum", [out, g.ints([0])], keepdims=0)  # (B, D*H)
        n = g.op("Cast", [lengths], to=g.onnx.TensorProto.FLOAT)
        z = g.op("Div", [total, g.op("Unsqueeze", [n, g.ints([1])])])
    elif pooling == "max":
        inside = g.op("Cast", [step_mask(g, lengths, out)], to=g.onnx.TensorProto.BOOL)
        z = g.op("ReduceMax", [g.op("Where", [inside, out, g.scalar(-np.inf)])], axes=[0], keepdims=0)
    else:
        z = out  # (T, B, D*H)
    return linear(g, net.head, z)


def _seq_inputs(g, model, onnx):
    """``input`` and ``lengths`` of a SequenceNet model, and the time-major input."""
    tokens = model.input_kind_ == "tokens"
    if tokens:
        x = g.input("input", onnx.TensorProto.INT64, ["B", "T"])
        xt = g.op("Transpose", [x], perm=[1, 0])
    else:
        x = g.input("input", onnx.TensorProto.FLOAT, ["B", "T", model.n_features_in_])
        xt = time_major(g, x)
    lens = g.input("lengths", onnx.TensorProto.INT32, ["B"])
    return xt, lens


def _input_meta(model) -> dict:
    meta = {"rnnkit.input_kind": model.input_kind_}
    if model.vocab_ is not None:
        meta["rnnkit.vocab"] = json.dumps(model.vocab_.to_dict())
        meta["rnnkit.lowercase"] = json.dumps(bool(getattr(model, "lowercase", False)))
    return meta


def _classifier(onnx, model):
    g, F = Graph(onnx), onnx.TensorProto.FLOAT
    xt, lens = _seq_inputs(g, model, onnx)
    logits = _sequence_net(g, model.net_, xt, lens)
    C = len(model.classes_)
    g.output(logits, "logits", F, ["B", C])
    g.output(g.op("Softmax", [logits], axis=-1), "probabilities", F, ["B", C])
    return g, {**_input_meta(model), "rnnkit.classes": _labels(model.classes_)}


def _regressor(onnx, model):
    g, F = Graph(onnx), onnx.TensorProto.FLOAT
    xt, lens = _seq_inputs(g, model, onnx)
    y = _sequence_net(g, model.net_, xt, lens)
    y = g.op("Add", [g.op("Mul", [y, g.init("y_scale", model.y_scale_)]), g.init("y_mean", model.y_mean_)])
    K = len(model.y_mean_)
    if model.pooling == "none":
        g.output(time_major(g, y), "prediction", F, ["B", "T", K])
    else:
        g.output(y, "prediction", F, ["B", K])
    scaler = {
        "mean": model.y_mean_.tolist(),
        "scale": model.y_scale_.tolist(),
        "applied_in_graph": True,
        "target_ndim": model.y_ndim_,
    }
    return g, {**_input_meta(model), "rnnkit.target_scaler": json.dumps(scaler)}


def _tagger(onnx, model):
    g, F = Graph(onnx), onnx.TensorProto.FLOAT
    net, feats = model.net_, getattr(model, "features_", None)
    lens = None
    if feats is None:
        xt, lens = _seq_inputs(g, model, onnx)
        logits = _sequence_net(g, net, xt, lens)  # (T, B, C)
    else:
        x = g.input("input", onnx.TensorProto.INT64, ["B", "T", 1 + feats.n_features])
        lens = g.input("lengths", onnx.TensorProto.INT32, ["B"])
        xt = g.op("Transpose", [x], perm=[1, 0, 2])  # (T, B, 1 + F)
        split = g.op("Split", [xt, g.ints([1, feats.n_features])], n_out=2, axis=2)
        words = g.op("Squeeze", [split[0], g.ints([2])])  # (T, B)
        e = embed(g, net.embedding, words)  # (T, B, E)
        f = g.op("ReduceSum", [embed(g, net.features, split[1]), g.ints([2])], keepdims=0)  # (T, B, D)
        logits = _rnn_pool_head(g, net, g.op("Concat", [e, f], axis=2), lens)
    logits = time_major(g, logits)  # (B, T, C)
    C = len(model.classes_)
    g.output(logits, "logits", F, ["B", "T", C])
    g.output(g.op("Softmax", [logits], axis=-1), "probabilities", F, ["B", "T", C])
    meta = {**_input_meta(model), "rnnkit.classes": _labels(model.classes_)}
    if feats is not None:
        meta["rnnkit.word_features"] = json.dumps(feats.to_dict())
    return g, meta


def _forecast_member(g, net, x_tm: str) -> str:
    """One ForecastNet: inputs (T, B, I) -> outputs (B, D, F, P), the last step's top state
    through the head."""
    out, _, _, _ = emit_recurrent(g, net.rnn, x_tm)  # (T, B, H)
    last = g.op("Slice", [out, g.ints([-1]), g.ints([np.iinfo(np.int64).max]), g.ints([0])])
    z = g.op("Squeeze", [last, g.ints([0])])  # (B, H)
    y = linear(g, net.head, z)  # (B, D*F*P)
    return g.op("Reshape", [y, g.ints([0, net.steps, net.features, net.per_target])])


def _forecaster(onnx, model):
    g, F = Graph(onnx), onnx.TensorProto.FLOAT
    spec = forecaster_spec(model)
    net = model.net_
    members = getattr(net, "members", [net])
    x = g.input("inputs", F, ["T", "B", spec["input_size"]])
    ys = [_forecast_member(g, m, x) for m in members]
    y = ys[0] if len(ys) == 1 else g.op("Mean", ys)  # the ensemble's mean
    g.output(y, "outputs", F, ["B", spec["steps"], spec["features"], spec["outputs_per_target"]])
    return g, {"rnnkit.forecaster": json.dumps(spec)}


def _feedforward(onnx, model):
    g, F = Graph(onnx), onnx.TensorProto.FLOAT
    net, Fn = model.net_, model.n_features_in_
    if model.input_mode_ == "vectors":
        a = g.input("input", F, ["B", Fn])
    else:
        x = g.input("input", F, ["B", model.window_, Fn])
        a = g.op("Reshape", [x, g.ints([0, model.window_ * Fn])])
    act = {"tanh": "Tanh", "relu": "Relu"}[model.activation]
    for layer in net.layers:
        a = g.op(act, [linear(g, layer, a)])
    y = linear(g, net.out, a)
    meta = {"rnnkit.input_mode": model.input_mode_, "rnnkit.window": json.dumps(model.window_)}
    if model.task_ == "classification":
        C = len(model.classes_)
        g.output(y, "logits", F, ["B", C])
        g.output(g.op("Softmax", [y], axis=-1), "probabilities", F, ["B", C])
        meta["rnnkit.classes"] = _labels(model.classes_)
    else:
        y = g.op("Add", [g.op("Mul", [y, g.init("y_scale", model.y_scale_)]), g.init("y_mean", model.y_mean_)])
        g.output(y, "prediction", F, ["B", len(model.y_mean_)])
        meta["rnnkit.target_scaler"] = json.dumps(
            {
                "mean": model.y_mean_.tolist(),
                "scale": model.y_scale_.tolist(),
                "applied_in_graph": True,
                "target_ndim": model.y_ndim_,
            }
        )
    return g, meta


# -- single-step graphs ------------------------------------------------------------------------
def _charlm(onnx, model):
    g, net = Graph(onnx), model.net_
    token = g.input("token", onnx.TensorProto.INT64, ["B"])
    h0, c0 = state_inputs(g, net.rnn, onnx)
    x = g.op("Unsqueeze", [embed(g, net.embed, token), g.ints([0])])  # (1, B, E)
    out, h_n, c_n, _ = emit_recurrent(g, net.rnn, x, h0=h0, c0=c0)
    logits = linear(g, net.head, g.op("Squeeze", [out, g.ints([0])]))  # (B, V)
    g.output(logits, "logits", onnx.TensorProto.FLOAT, ["B", len(model.vocab_)])
    state_outputs(g, net.rnn, onnx, h_n, c_n)
    return g, {
        "rnnkit.vocab": json.dumps(model.vocab_.to_dict()),
        "rnnkit.step": "token, state -> logits over rnnkit.vocab ids, next state; start from "
        "zero state (specials PAD/UNK/BOS/EOS are never sampled)",
    }


def _seq2seq_encoder(onnx, model):
    g, net, F = Graph(onnx), model.net_, onnx.TensorProto.FLOAT
    enc, L, H = net.encoder, net.encoder.num_layers, net.encoder.hidden_size
    D = enc.num_directions
    src = g.input("source", onnx.TensorProto.INT64, ["B", "S"])
    lens = g.input("source_lengths", onnx.TensorProto.INT32, ["B"])
    e = embed(g, net.src_embed, g.op("Transpose", [src], perm=[1, 0]))  # (S, B, E)
    out, h_n, c_n, _ = emit_recurrent(g, enc, e, lengths=lens)  # (S, B, D*H)
    states = [h_n] + ([c_n] if c_n is not None else [])
    bridged = []
    for bridge, s in zip([net.bridge, net.bridge_c], states, strict=False):
        joined = g.op(
            "Reshape",
            [
                g.op("Transpose", [g.op("Reshape", [s, g.ints([L, D, -1, H])])], perm=[0, 2, 1, 3]),
                g.ints([L, -1, D * H]),
            ],
        )  # (L, B, D*H)
        bridged.append(g.op("Tanh", [linear(g, bridge, joined)]))  # (L, B, H)
    g.output(bridged[0], "h", F, [L, "B", H])
    if net.has_cell_state:
        g.output(bridged[1], "c", F, [L, "B", H])
    if net.attn is not None:
        g.output(out, "memory", F, ["S", "B", D * H])
        keys = g.op("MatMul", [out, g.init("key_T", net.attn.key.parameters()["weight"].T)])
        g.output(keys, "keys", F, ["S", "B", H])
    return g


def _seq2seq_decoder(onnx, model):
    g, net, F = Graph(onnx), model.net_, onnx.TensorProto.FLOAT
    dec, H = net.decoder, net.decoder.hidden_size
    DH = H * net.encoder.num_directions
    token = g.input("token", onnx.TensorProto.INT64, ["B"])
    h0, c0 = state_inputs(g, dec, onnx)
    if net.attn is not None:
        memory = g.input("memory", F, ["S", "B", DH])
        keys = g.input("keys", F, ["S", "B", H])
        lens = g.input("source_lengths", onnx.TensorProto.INT32, ["B"])
    x = g.op("Unsqueeze", [embed(g, net.tgt_embed, token), g.ints([0])])  # (1, B, E)
    o, h_n, c_n, _ = emit_recurrent(g, dec, x, h0=h0, c0=c0)  # (1, B, H)
    if net.attn is not None:
        ob = g.op("Transpose", [o], perm=[1, 0, 2])  # (B, 1, H)
        e = g.op("MatMul", [ob, g.op("Transpose", [keys], perm=[1, 2, 0])])  # (B, 1, S)
        valid = g.op("Cast", [step_mask(g, lens, memory)], to=onnx.TensorProto.BOOL)  # (S, B, 1)
        valid = g.op("Transpose", [valid], perm=[1, 2, 0])  # (B, 1, S)
        a = g.op("Softmax", [g.op("Where", [valid, e, g.scalar(-np.inf)])], axis=-1)
        ctx = g.op("MatMul", [a, g.op("Transpose", [memory], perm=[1, 0, 2])])  # (B, 1, D*H)
        cat = g.op("Concat", [g.op("Transpose", [ctx], perm=[1, 0, 2]), o], axis=2)  # (1, B, D*H + H)
        o = g.op("Tanh", [linear(g, net.attn.combine, cat)])
    logits = linear(g, net.head, g.op("Squeeze", [o, g.ints([0])]))  # (B, V)
    g.output(logits, "logits", F, ["B", len(model.tgt_vocab_)])
    state_outputs(g, dec, onnx, h_n, c_n)
    return g


def _seq2seq(onnx, model):
    meta = {
        "rnnkit.source_vocab": json.dumps(model.src_vocab_.to_dict()),
        "rnnkit.target_vocab": json.dumps(model.tgt_vocab_.to_dict()),
        "rnnkit.reverse_source": json.dumps(bool(model.reverse_source)),
        "rnnkit.source_is_text": json.dumps(model.source_is_text_),
        "rnnkit.target_is_text": json.dumps(model.target_is_text_),
        "rnnkit.attention": json.dumps(model.net_.attn is not None),
    }
    return {"encoder": (_seq2seq_encoder(onnx, model), meta), "decoder": (_seq2seq_decoder(onnx, model), meta)}


_BUILDERS = [
    (SequenceClassifier, _classifier),
    (SequenceRegressor, _regressor),
    (SequenceTagger, _tagger),
    (Forecaster, _forecaster),
    (FeedForward, _feedforward),
    (CharLM, _charlm),
]


def model_graphs(onnx, model) -> dict:
    """{part name ("" for one graph): ModelProto} for a fitted model."""
    name = type(model).__name__
    if isinstance(model, (Seq2Seq, MusicModel)):
        _check(model)
        parts = _seq2seq(onnx, model) if isinstance(model, Seq2Seq) else music_graphs(onnx, model)
        return {
            part: g.model(f"{name}_{part}", export_meta({"rnnkit.kind": name, "rnnkit.part": part, **meta}))
            for part, (g, meta) in parts.items()
        }
    for cls, build in _BUILDERS:
        if isinstance(model, cls):
            _check(model)
            g, meta = build(onnx, model)
            return {"": g.model(name, export_meta({"rnnkit.kind": name, **meta}))}
    if isinstance(model, SequenceGenerator):
        raise ValueError(
            "model: SequenceGenerator cannot be exported: its one-to-many generation feeds "
            "each sampled output back, which this exporter does not express; hint: export "
            "its recurrent layers with to_onnx(model.net_.rnn, path, state=True)"
        )
    raise TypeError(
        f"model_or_layer: expected an rnnkit.nn RNN/LSTM/GRU layer or a fitted rnnkit model "
        f"(SequenceClassifier, SequenceRegressor, SequenceTagger, Forecaster, FeedForward, "
        f"CharLM, Seq2Seq, MusicModel), got {name}"
    )
