"""ONNX export, checked by onnxruntime (the other side's own runtime), not by reading it back.

Every graph passes ``onnx.checker.check_model(full_check=True)``; onnxruntime's outputs
equal rnnkit's forward to 1e-5 (float32) on a seeded grid of layer configurations with
ragged lengths and initial states, and for each model kind (the Forecaster's graph and
its metadata: test_interop_onnx_forecaster.py).
"""

import itertools
import json

import numpy as np
import pytest
from interop_util import assert_close, onnx_session

import rnnkit
from rnnkit.interop import to_onnx
from rnnkit.models import (
    CharLM,
    FeedForward,
    NotFittedError,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceRegressor,
    SequenceTagger,
)
from rnnkit.models._data import pad_inputs

onnx = pytest.importorskip("onnx", reason="ONNX export is checked with the onnx package")
ort = pytest.importorskip("onnxruntime", reason="ONNX export is checked with onnxruntime")

TOL = 1e-5


def session(path):
    return onnx_session(path)


def close(a, b, tol=TOL):
    assert_close(a, b, tol)


# -- layers: a seeded grid of configurations --------------------------------------------------
MODES = [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"})]
GRID = [
    (m, kw, L, bi, bf, bias, lens, st)
    for (m, kw), L, bi, bf, (bias, lens, st) in itertools.product(
        MODES,
        (1, 2, 3),
        (False, True),
        (False, True),
        ((True, True, True), (True, False, False), (False, True, False), (True, True, False)),
    )
]
GRID = [GRID[i] for i in np.random.default_rng(16).choice(len(GRID), 64, replace=False)]


@pytest.mark.parametrize("case", range(len(GRID)))
def test_layer_matches_onnxruntime(case, tmp_path):
    mode, kw, L, bi, bf, bias, with_lengths, with_state = GRID[case]
    rng = np.random.default_rng(case)
    I, H, T, B = (int(v) for v in rng.integers(1, 7, 4) + [0, 0, 1, 1])
    layer = getattr(rnnkit.nn, mode)(I, H, num_layers=L, bidirectional=bi, batch_first=bf, bias=bias, rng=rng, **kw)
    for p in layer.parameters().values():  # larger weights: saturate gates
        p *= 2.0
    path = to_onnx(layer, tmp_path / "layer.onnx", lengths=with_lengths, state=with_state)
    sess = session(path)
    x = rng.standard_normal((B, T, I) if bf else (T, B, I)).astype(np.float32)
    lengths = rng.integers(1, T + 1, B).astype(np.int32) if with_lengths else None
    if with_lengths:
        lengths[0] = T  # some row is full: padding shows
    feeds = {"input": x}
    state = None
    if with_lengths:
        feeds["lengths"] = lengths
    if with_state:
        shape = (L * (2 if bi else 1), B, H)
        h0 = rng.standard_normal(shape).astype(np.float32)
        feeds["h0"] = h0
        state = h0
        if mode == "LSTM":
            feeds["c0"] = rng.standard_normal(shape).astype(np.float32)
            state = (h0, feeds["c0"])
    got = sess.run(None, feeds)
    out, final, _ = layer.forward(x, state, lengths)
    finals = final if isinstance(final, tuple) else (final,)
    assert [o.name for o in sess.get_outputs()] == ["output", "h_n"] + (["c_n"] if mode == "LSTM" else [])
    close(got[0], out)
    for g, want in zip(got[1:], finals, strict=False):
        close(g, want)


def test_padding_is_zero_and_batch_and_time_are_dynamic(tmp_path):
    rng = np.random.default_rng(1)
    layer = rnnkit.nn.LSTM(3, 4, bidirectional=True, batch_first=True, rng=rng)
    sess = session(to_onnx(layer, tmp_path / "l.onnx", lengths=True))
    for B, T in ((1, 1), (5, 9), (3, 2)):
        x = rng.standard_normal((B, T, 3)).astype(np.float32)
        lengths = np.maximum(1, np.arange(B) % T + 1).astype(np.int32)
        out, h_n, _ = sess.run(None, {"input": x, "lengths": lengths})
        for b in range(B):
            assert np.all(out[b, lengths[b] :] == 0)
            # the final state is that of the row run alone
            _, (h_b, _), _ = layer.forward(x[b : b + 1, : lengths[b]])
            close(h_n[:, b], h_b[:, 0])


def test_gate_order_is_onnx_order(tmp_path):
    """The LSTM's W in the file holds rnnkit's blocks i, f, g, o as i, o, f, c."""
    layer = rnnkit.nn.LSTM(2, 3, rng=np.random.default_rng(0))
    model = onnx.load(str(to_onnx(layer, tmp_path / "l.onnx")))
    node = next(n for n in model.graph.node if n.op_type == "LSTM")
    W = next(onnx.numpy_helper.to_array(t) for t in model.graph.initializer if t.name == node.input[1])
    w = layer.parameters()["weight_ih_l0"]
    i, f, g_, o = np.split(w, 4)
    np.testing.assert_array_equal(W[0], np.concatenate([i, o, f, g_]))


# -- models ------------------------------------------------------------------------------------
def _feeds(model, X):
    seqs = [model.vocab_.encode(s) for s in X] if model.input_kind_ == "tokens" else X
    x, lengths = pad_inputs(model.input_kind_, seqs, np.float32)
    x = x.T if x.ndim == 2 else x.transpose(1, 0, 2)
    return {"input": np.ascontiguousarray(x), "lengths": lengths.astype(np.int32)}


def _ragged(rng, n=30, F=3):
    return [rng.standard_normal((int(rng.integers(1, 9)), F)) for _ in range(n)]


@pytest.mark.parametrize(
    "cell,pooling,bi,layers",
    [
        ("lstm", "last", True, 2),
        ("gru", "mean", True, 1),
        ("rnn_tanh", "max", False, 2),
        ("rnn_relu", "last", False, 1),
        ("lstm", "max", True, 1),
        ("gru", "last", False, 3),
    ],
)
def test_classifier_on_features(cell, pooling, bi, layers, tmp_path):
    rng = np.random.default_rng(2)
    X, y = _ragged(rng), rng.choice(["a", "b", "c"], 30)
    model = SequenceClassifier(
        cell=cell, hidden_size=6, num_layers=layers, bidirectional=bi, pooling=pooling, epochs=2, seed=0
    ).fit(X, y)
    sess = session(to_onnx(model, tmp_path / "c.onnx"))
    logits, proba = sess.run(None, _feeds(model, X))
    close(logits, model.decision_function(X))
    close(proba, model.predict_proba(X))
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "c.onnx")).metadata_props}
    assert json.loads(meta["rnnkit.classes"]) == ["a", "b", "c"]
    assert meta["rnnkit.kind"] == "SequenceClassifier"


def test_classifier_on_tokens_carries_its_vocabulary(tmp_path):
    X = [["a", "good", "film"], ["dull"], ["good", "good"], ["a", "dull", "film", "really"]] * 4
    y = ["pos", "neg", "pos", "neg"] * 4
    model = SequenceClassifier(hidden_size=5, bidirectional=True, pooling="mean", epochs=2, seed=0).fit(X, y)
    sess = session(to_onnx(model, tmp_path / "c.onnx"))
    test = [["good", "unseen", "film"], ["dull"]]
    close(sess.run(None, _feeds(model, test))[1], model.predict_proba(test))
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "c.onnx")).metadata_props}
    assert rnnkit.models.Vocab.from_dict(json.loads(meta["rnnkit.vocab"])) == model.vocab_


@pytest.mark.parametrize("pooling", ["last", "none"])
def test_regressor_predicts_in_target_units(pooling, tmp_path):
    rng = np.random.default_rng(3)
    X = _ragged(rng, F=2)
    y = [100 + 10 * x.sum(axis=1) for x in X] if pooling == "none" else rng.normal(50, 7, (30, 2))
    model = SequenceRegressor(cell="gru", hidden_size=5, bidirectional=True, pooling=pooling, epochs=2, seed=0).fit(
        X, y
    )
    (pred,) = session(to_onnx(model, tmp_path / "r.onnx")).run(None, _feeds(model, X))
    want = model.predict(X)
    if pooling == "none":
        for i, w in enumerate(want):
            close(pred[i, : len(w), 0], w)
    else:
        close(pred, want)


@pytest.mark.parametrize("features", [False, True])
def test_tagger(features, tmp_path):
    words = [["The", "dog", "runs"], ["a", "cat"], ["Dogs", "ran", "fast", "now"], ["it", "is", "2024"]] * 3
    tags = [["D", "N", "V"], ["D", "N"], ["N", "V", "A", "A"], ["P", "V", "NUM"]] * 3
    kw = {"affix_length": 2, "word_shape": True} if features else {}
    model = SequenceTagger(hidden_size=5, num_layers=2, epochs=2, seed=0, **kw).fit(words, tags)
    sess = session(to_onnx(model, tmp_path / "t.onnx"))
    test = [["The", "unseen", "runs", "1999"], ["cat"]]
    if features:
        enc = model._encode_inputs(test, fit=False)
        x, lengths = pad_inputs("features", enc, np.int64)
        feeds = {"input": np.ascontiguousarray(x.transpose(1, 0, 2)), "lengths": lengths.astype(np.int32)}
    else:
        feeds = _feeds(model, test)
    _, proba = sess.run(None, feeds)
    for i, want in enumerate(model.predict_proba(test)):
        close(proba[i, : len(want)], want)
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "t.onnx")).metadata_props}
    assert ("rnnkit.word_features" in meta) == features


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_feedforward(task, tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 5))
    y = rng.choice([3, 7], 40) if task == "classification" else rng.normal(size=40)
    model = FeedForward(hidden_sizes=(8, 4), activation="relu", task=task, epochs=2, seed=0).fit(X, y)
    out = session(to_onnx(model, tmp_path / "m.onnx")).run(None, {"input": X.astype(np.float32)})
    if task == "classification":
        close(out[1], model.predict_proba(X))
    else:
        close(out[0][:, 0], model.predict(X))


@pytest.mark.parametrize("cell,layers", [("lstm", 2), ("gru", 1), ("rnn_tanh", 2)])
def test_charlm_single_step_graph(cell, layers, tmp_path):
    text = "the quick brown fox jumps over the lazy dog. " * 8
    model = CharLM(cell=cell, hidden_size=8, num_layers=layers, k1=8, batch_size=4, epochs=1, seed=0).fit(text)
    sess = session(to_onnx(model, tmp_path / "lm.onnx"))
    names = [i.name for i in sess.get_inputs()]
    assert names == ["token", "h"] + (["c"] if cell == "lstm" else [])
    ids = model.vocab_.encode("fox jumps")
    B, H = 1, 8
    feeds = {n: np.zeros((layers, B, H), np.float32) for n in names[1:]}
    state = model.net_.init_state(B)
    for i in ids:
        tok = np.array([i], np.int64)
        logits, *new = sess.run(None, {"token": tok, **feeds})
        want, state = model.net_.step(tok, state)
        close(logits, want)
        feeds = dict(zip(names[1:], new, strict=False))
    ws = state if isinstance(state, tuple) else (state,)
    for got, w in zip(feeds.values(), ws, strict=False):
        close(got, w)


def _ort_greedy(enc, dec, model, sources, max_len):
    src_ids = model._encode_sources(sources)
    src, src_len = rnnkit.models.seq2seq.pad_ids(src_ids)
    outs = enc.run(None, {"source": np.ascontiguousarray(src.T), "source_lengths": src_len.astype(np.int32)})
    enc_names = [o.name for o in enc.get_outputs()]
    state = dict(zip(enc_names, outs, strict=False))
    dec_in = [i.name for i in dec.get_inputs()]
    V = model.tgt_vocab_
    tokens = np.full(len(sources), V.bos_id, np.int64)
    result = [[] for _ in sources]
    done = np.zeros(len(sources), bool)
    for _ in range(max_len):
        feeds = {"token": tokens, "h": state["h"]}
        if "c" in dec_in:
            feeds["c"] = state["c"]
        if "memory" in dec_in:
            feeds.update(memory=state["memory"], keys=state["keys"], source_lengths=src_len.astype(np.int32))
        logits, *new = dec.run(None, feeds)
        state.update(zip(["h", "c"][: len(new)], new, strict=False))
        tokens = logits.argmax(axis=1).astype(np.int64)
        for b, t in enumerate(tokens):
            if not done[b]:
                if t == V.eos_id:
                    done[b] = True
                else:
                    result[b].append(int(t))
        if done.all():
            break
    return ["".join(map(str, V.decode(r))) for r in result]


@pytest.mark.parametrize(
    "cell,bi,attention,layers",
    [("lstm", True, True, 2), ("gru", False, False, 1), ("rnn_tanh", True, False, 1), ("gru", True, True, 1)],
)
def test_seq2seq_encoder_and_decoder_step(cell, bi, attention, layers, tmp_path):
    rng = np.random.default_rng(5)
    src = ["".join(rng.choice(list("abcd"), int(rng.integers(1, 6)))) for _ in range(40)]
    tgt = [s[::-1] for s in src]
    model = Seq2Seq(
        cell=cell, hidden_size=8, num_layers=layers, bidirectional=bi, attention=attention, epochs=3, seed=0, lr=0.01
    ).fit(src, tgt)
    paths = to_onnx(model, tmp_path / "s2s.onnx")
    assert set(paths) == {"encoder", "decoder"} and paths["encoder"].name == "s2s.encoder.onnx"
    enc, dec = session(paths["encoder"]), session(paths["decoder"])
    test = ["abc", "d", "dcba", "bb"]
    # one decoder step from the encoder's state equals rnnkit's
    src_ids = model._encode_sources(test)
    s, s_len = rnnkit.models.seq2seq.pad_ids(src_ids)
    state0 = model.net_.start(s, s_len)
    bos = np.full(len(test), model.tgt_vocab_.bos_id, np.int64)
    want, _ = model.net_.step(bos, state0)
    outs = dict(
        zip(
            [o.name for o in enc.get_outputs()],
            enc.run(None, {"source": np.ascontiguousarray(s.T), "source_lengths": s_len.astype(np.int32)}),
            strict=False,
        )
    )
    feeds = {"token": bos, "h": outs["h"]}
    if cell == "lstm":
        feeds["c"] = outs["c"]
    if attention:
        feeds.update(memory=outs["memory"], keys=outs["keys"], source_lengths=s_len.astype(np.int32))
    close(dec.run(None, feeds)[0], want)
    # and greedy decoding outside rnnkit gives rnnkit's answers
    assert _ort_greedy(enc, dec, model, test, 12) == model.predict(test, max_len=12)


# -- refusals ----------------------------------------------------------------------------------
def test_refusals_are_one_line(tmp_path):
    with pytest.raises(NotFittedError, match="unfitted SequenceClassifier"):
        to_onnx(SequenceClassifier(), tmp_path / "m.onnx")
    layer = rnnkit.nn.GRU(2, 3, rng=np.random.default_rng(0))
    with pytest.raises(FileNotFoundError, match="folder .*missing.* does not exist"):
        to_onnx(layer, tmp_path / "missing" / "m.onnx")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        to_onnx(layer, tmp_path)
    with pytest.raises(TypeError, match="expected an rnnkit.nn RNN/LSTM/GRU layer"):
        to_onnx(rnnkit.nn.Linear(2, 3), tmp_path / "m.onnx")
    gen = SequenceGenerator(hidden_size=4, epochs=1, seed=0).fit(["a", "b"], [["x", "y"], ["y"]])
    with pytest.raises(ValueError, match="SequenceGenerator cannot be exported"):
        to_onnx(gen, tmp_path / "g.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # as if not installed
    with pytest.raises(ImportError, match=r"needs onnx: pip install 'rnnkit\[onnx\]'"):
        to_onnx(rnnkit.nn.RNN(1, 1, rng=np.random.default_rng(0)), tmp_path / "m.onnx")


def test_feedforward_on_windows(tmp_path):
    rng = np.random.default_rng(6)
    seqs = [rng.standard_normal((int(rng.integers(3, 7)), 2)) for _ in range(30)]
    model = FeedForward(hidden_sizes=(6,), window=3, epochs=1, seed=0).fit(seqs, [s[-1, 0] for s in seqs])
    windows = np.stack([s[-3:] for s in seqs]).astype(np.float32)  # every sequence is >= 3 long
    (pred,) = session(to_onnx(model, tmp_path / "w.onnx")).run(None, {"input": windows})
    close(pred[:, 0], model.predict(seqs))


def test_onnx_predictor_answers_as_the_model():
    from rnnkit.interop import OnnxPredictor

    rng = np.random.default_rng(7)
    X = [rng.standard_normal((int(rng.integers(1, 9)), 2)) for _ in range(40)]
    reg = SequenceRegressor(hidden_size=5, pooling="none", epochs=1, seed=0).fit(X, [x[:, 1] for x in X])
    for got, want in zip(OnnxPredictor(reg, batch_size=7).predict(X), reg.predict(X), strict=False):
        close(got, want)
    assert not hasattr(OnnxPredictor(reg), "predict_proba")
    words = [["The", "dog", "runs"], ["a", "Cat"], ["dogs", "ran", "2"]] * 4
    tags = [["D", "N", "V"], ["D", "N"], ["N", "V", "NUM"]] * 4
    tagger = SequenceTagger(hidden_size=5, affix_length=2, word_shape=True, epochs=2, seed=0).fit(words, tags)
    test = [["The", "Unseen", "12"], ["dog"]]
    assert OnnxPredictor(tagger).predict(test) == tagger.predict(test)
    src = ["ab", "ba", "abc", "cab", "bca"] * 6
    s2s = Seq2Seq(hidden_size=8, attention=True, epochs=3, lr=0.01, seed=0).fit(src, [s[::-1] for s in src])
    assert OnnxPredictor(s2s).predict(src[:5], beam_size=3) == s2s.predict(src[:5], beam_size=3)
