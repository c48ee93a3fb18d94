"""ONNX export of the layer-normalized cells as primitives (a Scan loop), checked by onnxruntime.

ONNX has no layer-normalized recurrent operator; ``rnnkit.interop.onnx_cells`` writes the
cell's step (MatMul, LayerNormalization, Split, Sigmoid, Tanh) as the body of a ``Scan``.
onnxruntime's outputs equal rnnkit's forward to 1e-5 (float32) on a seeded grid of layers
with ragged lengths and initial states, and for models built on the cells.
"""

import itertools

import numpy as np
import pytest
from interop_util import assert_close, onnx_session

from rnnkit.interop import to_onnx
from rnnkit.models import CharLM, SequenceClassifier
from rnnkit.nn import Recurrent

onnx = pytest.importorskip("onnx", reason="ONNX export is checked with the onnx package")
pytest.importorskip("onnxruntime", reason="ONNX export is checked with onnxruntime")

TOL = 1e-5
GRID = list(
    itertools.product(
        ("ln_lstm", "ln_gru"),
        (1, 2),  # layers
        (False, True),  # bidirectional
        (False, True),  # batch_first
        ((True, True, True), (False, True, False), (True, False, False)),  # bias, lengths, state
    )
)
GRID = [GRID[i] for i in np.random.default_rng(26).choice(len(GRID), 12, replace=False)]


def _layer(cell, L, bi, bf, bias, rng):
    layer = Recurrent(cell, 3, 4, L, bidirectional=bi, batch_first=bf, bias=bias, rng=rng)
    for name, p in layer.parameters().items():  # layer-norm gains and biases off ones and zeros
        if name.startswith("ln_"):
            p[...] = rng.uniform(0.5, 1.5, p.shape) if "_weight" in name else 0.5 * rng.standard_normal(p.shape)
        else:
            p *= 2.0  # larger weights: saturate gates
    return layer


@pytest.mark.parametrize("case", range(len(GRID)))
def test_ln_layer_matches_onnxruntime(case, tmp_path):
    cell, L, bi, bf, (bias, with_lengths, with_state) = GRID[case]
    rng = np.random.default_rng(case)
    T, B = 6, 4
    layer = _layer(cell, L, bi, bf, bias, rng)
    model = onnx.load(str(to_onnx(layer, tmp_path / "layer.onnx", lengths=with_lengths, state=with_state)))
    ops = {node.op_type for node in model.graph.node}
    assert "Scan" in ops and "LayerNormalization" in ops and not ops & {"LSTM", "GRU", "RNN"}
    sess = onnx_session(tmp_path / "layer.onnx")
    x = rng.standard_normal((B, T, 3) if bf else (T, B, 3)).astype(np.float32)
    feeds, state, lengths = {"input": x}, None, None
    if with_lengths:
        lengths = np.array([T, 1, 3, 5], np.int32)
        feeds["lengths"] = lengths
    if with_state:
        shape = (L * (2 if bi else 1), B, 4)
        state = feeds["h0"] = rng.standard_normal(shape).astype(np.float32)
        if cell == "ln_lstm":
            feeds["c0"] = rng.standard_normal(shape).astype(np.float32)
            state = (state, feeds["c0"])
    got = sess.run(None, feeds)
    out, final, _ = layer.forward(x, state, lengths)
    assert [o.name for o in sess.get_outputs()] == ["output", "h_n"] + (["c_n"] if cell == "ln_lstm" else [])
    assert_close(got[0], out, TOL)
    for g, want in zip(got[1:], final if isinstance(final, tuple) else (final,), strict=True):
        assert_close(g, want, TOL)


def test_batch_and_time_stay_dynamic(tmp_path):
    rng = np.random.default_rng(1)
    layer = _layer("ln_lstm", 1, True, True, True, rng)
    sess = onnx_session(to_onnx(layer, tmp_path / "l.onnx", lengths=True))
    for B, T in ((1, 1), (5, 9), (3, 2)):
        x = rng.standard_normal((B, T, 3)).astype(np.float32)
        lengths = np.maximum(1, np.arange(B) % T + 1).astype(np.int32)
        out, h_n, c_n = sess.run(None, {"input": x, "lengths": lengths.astype(np.int32)})
        want, (h, c), _ = layer.forward(x, None, lengths)
        assert_close(out, want, TOL)
        assert_close(h_n, h, TOL)
        assert_close(c_n, c, TOL)
        for b in range(B):
            assert np.all(out[b, lengths[b] :] == 0)


@pytest.mark.parametrize(("cell", "pooling", "bi"), [("ln_lstm", "last", True), ("ln_gru", "mean", False)])
def test_a_classifier_on_an_ln_cell_exports(cell, pooling, bi, tmp_path):
    from rnnkit.models._data import pad_inputs

    rng = np.random.default_rng(2)
    X = [rng.standard_normal((int(rng.integers(1, 9)), 3)) for _ in range(30)]
    y = rng.choice(["a", "b"], 30)
    model = SequenceClassifier(cell=cell, hidden_size=6, num_layers=2, bidirectional=bi, pooling=pooling, epochs=2)
    model.set_params(seed=0).fit(X, y)
    sess = onnx_session(to_onnx(model, tmp_path / "c.onnx"))
    x, lengths = pad_inputs("features", X, np.float32)
    logits, proba = sess.run(
        None, {"input": np.ascontiguousarray(x.transpose(1, 0, 2)), "lengths": lengths.astype(np.int32)}
    )
    assert_close(logits, model.decision_function(X), TOL)
    assert_close(proba, model.predict_proba(X), TOL)


def test_a_charlm_step_graph_on_ln_lstm(tmp_path):
    text = "the quick brown fox jumps over the lazy dog. " * 8
    model = CharLM(cell="ln_lstm", hidden_size=8, num_layers=2, k1=8, batch_size=4, epochs=1, seed=0).fit(text)
    sess = onnx_session(to_onnx(model, tmp_path / "lm.onnx"))
    names = [i.name for i in sess.get_inputs()]
    assert names == ["token", "h", "c"]
    feeds = {n: np.zeros((2, 1, 8), np.float32) for n in names[1:]}
    state = model.net_.init_state(1)
    for i in model.vocab_.encode("fox jumps"):
        tok = np.array([i], np.int64)
        logits, *new = sess.run(None, {"token": tok, **feeds})
        want, state = model.net_.step(tok, state)
        assert_close(logits, want, TOL)
        feeds = dict(zip(names[1:], new, strict=True))
    for got, w in zip(feeds.values(), state, strict=True):
        assert_close(got, w, TOL)
