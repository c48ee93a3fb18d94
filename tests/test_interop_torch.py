"""to_torch / from_torch: PyTorch's own forward equals rnnkit's in float64 to 1e-10."""

import itertools

import numpy as np
import pytest
from interop_util import assert_close

import rnnkit
from rnnkit.interop import from_torch, to_torch
from rnnkit.models import (
    CharLM,
    FeedForward,
    NotFittedError,
    SequenceClassifier,
    SequenceRegressor,
    SequenceTagger,
)
from rnnkit.models._data import pad_inputs

torch = pytest.importorskip("torch", reason="to_torch is checked against PyTorch itself")

TOL = 1e-10


def close(a, b, tol=TOL):
    assert_close(a, b, tol)


MODES = [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"})]
GRID = list(itertools.product(range(4), (1, 2), (False, True), (False, True), (False, True)))
GRID = [GRID[i] for i in np.random.default_rng(7).choice(len(GRID), 24, replace=False)]


@pytest.mark.parametrize("case", range(len(GRID)))
def test_to_torch_layer_matches_in_float64(case):
    m, L, bi, bf, bias = GRID[case]
    mode, kw = MODES[m]
    rng = np.random.default_rng(case)
    I, H, T, B = 3, 4, 6, 3
    layer = getattr(rnnkit.nn, mode)(
        I, H, num_layers=L, bidirectional=bi, batch_first=bf, bias=bias, dtype="float64", rng=rng, **kw
    ).eval()
    tm = to_torch(layer)
    assert isinstance(tm, getattr(torch.nn, mode)) and next(tm.parameters()).dtype == torch.float64
    x = rng.standard_normal((B, T, I) if bf else (T, B, I))
    out, state, _ = layer.forward(x)
    with torch.no_grad():
        tout, tstate = tm(torch.from_numpy(x))
    close(tout, out)
    for a, b in zip(
        tstate if isinstance(tstate, tuple) else (tstate,),
        state if isinstance(state, tuple) else (state,),
        strict=False,
    ):
        close(a, b)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_from_torch_layer(mode):
    torch.manual_seed(0)
    tm = getattr(torch.nn, mode)(3, 5, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    layer = from_torch(tm)
    assert type(layer).__name__ == mode and layer.dtype == np.float64 and layer.batch_first
    x = np.random.default_rng(1).standard_normal((4, 7, 3))
    lengths = np.array([7, 3, 1, 5])
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        tout, tstate = tm(packed)
    tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True, total_length=7)
    out, state, _ = layer.eval().forward(x, lengths=lengths)
    close(tout, out)
    close(tstate[0] if mode == "LSTM" else tstate, state[0] if mode == "LSTM" else state)


def test_from_torch_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError, match="proj_size=2 has no rnnkit counterpart"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(TypeError, match="expected a torch.nn.RNN, LSTM, GRU, Linear or Embedding, got Conv1d"):
        from_torch(torch.nn.Conv1d(1, 1, 1))


def test_linear_and_embedding_round_trip():
    rng = np.random.default_rng(0)
    lin = rnnkit.nn.Linear(4, 3, dtype="float64", rng=rng)
    emb = rnnkit.nn.Embedding(10, 3, padding_idx=0, dtype="float64", rng=rng)
    x = rng.standard_normal((5, 4))
    close(to_torch(lin)(torch.from_numpy(x)), lin.forward(x)[0])
    ids = np.array([[0, 3, 9]])
    close(to_torch(emb)(torch.from_numpy(ids)), emb.forward(ids)[0])
    back = from_torch(to_torch(lin))
    np.testing.assert_array_equal(back.forward(x)[0], lin.forward(x)[0])


def _inputs(model, X):
    seqs = [model.vocab_.encode(s) for s in X] if model.input_kind_ == "tokens" else X
    x, lengths = pad_inputs(model.input_kind_, seqs, np.float64)
    x = x.T if x.ndim == 2 else x.transpose(1, 0, 2)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(lengths)


@pytest.mark.parametrize(
    "pooling,cell,bi",
    [("last", "lstm", True), ("mean", "gru", True), ("max", "rnn_tanh", False), ("last", "rnn_relu", False)],
)
def test_classifier_network(pooling, cell, bi):
    rng = np.random.default_rng(2)
    X = [rng.standard_normal((int(rng.integers(1, 8)), 2)) for _ in range(20)]
    y = rng.choice([0, 1], 20)
    model = SequenceClassifier(
        cell=cell, hidden_size=5, num_layers=2, bidirectional=bi, pooling=pooling, epochs=1, dtype="float64", seed=0
    ).fit(X, y)
    tm = to_torch(model)
    assert set(tm.state_dict()) == set(model.net_.state_dict())
    with torch.no_grad():
        close(tm(*_inputs(model, X)), model.decision_function(X))


def test_regressor_per_step_and_tagger_on_tokens():
    rng = np.random.default_rng(3)
    X = [rng.standard_normal((int(rng.integers(1, 8)), 2)) for _ in range(20)]
    reg = SequenceRegressor(hidden_size=4, pooling="none", bidirectional=True, epochs=1, dtype="float64", seed=0).fit(
        X, [x[:, 0] for x in X]
    )
    with torch.no_grad():
        y = tm_out = to_torch(reg)(*_inputs(reg, X)).numpy()
    for i, x in enumerate(X):
        want = reg.predict([x])[0]
        close(tm_out[i, : len(x), 0] * reg.y_scale_[0] + reg.y_mean_[0], want)
    assert y.shape[:2] == (20, max(len(x) for x in X))
    words = [["the", "dog", "runs"], ["a", "cat"]] * 4
    tags = [["D", "N", "V"], ["D", "N"]] * 4
    tagger = SequenceTagger(hidden_size=4, epochs=1, dtype="float64", seed=0).fit(words, tags)
    with torch.no_grad():
        logits = to_torch(tagger)(*_inputs(tagger, words)).numpy()
    for i, p in enumerate(tagger.predict_proba(words)):
        z = logits[i, : len(p)]
        close(np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True), p)


def test_feedforward_and_charlm():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 3))
    ff = FeedForward(hidden_sizes=(6, 5), activation="relu", epochs=1, dtype="float64", seed=0).fit(X, X.sum(1))
    with torch.no_grad():
        close(to_torch(ff)(torch.from_numpy(X)).numpy()[:, 0] * ff.y_scale_[0] + ff.y_mean_[0], ff.predict(X))
    lm = CharLM(hidden_size=6, num_layers=2, k1=8, batch_size=2, epochs=1, dtype="float64", seed=0).fit("abcabd" * 10)
    tm = to_torch(lm)
    state, tstate = lm.net_.init_state(1), None
    for c in lm.vocab_.encode("abcab"):
        want, state = lm.net_.step(np.array([c]), state)
        with torch.no_grad():
            got, tstate = tm(torch.tensor([c]), tstate)
        close(got, want)


def test_unfitted_and_unsupported():
    with pytest.raises(NotFittedError, match="unfitted SequenceClassifier"):
        to_torch(SequenceClassifier())
    with pytest.raises(TypeError, match="got Vocab"):
        to_torch(rnnkit.models.Vocab())


def test_a_network_trained_further_in_torch_comes_back():
    rng = np.random.default_rng(5)
    X = [rng.standard_normal((int(rng.integers(1, 7)), 2)) for _ in range(16)]
    y = rng.choice(["u", "v"], 16)
    model = SequenceClassifier(hidden_size=4, bidirectional=True, epochs=1, dtype="float64", seed=0).fit(X, y)
    tm = to_torch(model).train()
    x, lengths = _inputs(model, X)
    opt = torch.optim.SGD(tm.parameters(), lr=0.5)
    for _ in range(3):  # three steps of training in PyTorch
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            tm(x, lengths), torch.from_numpy(np.searchsorted(model.classes_, y))
        ).backward()
        opt.step()
    tm.eval()
    before = model.decision_function(X)
    assert from_torch(tm, into=model) is model
    with torch.no_grad():
        close(tm(x, lengths), model.decision_function(X))
    assert np.abs(model.decision_function(X) - before).max() > 1e-3
    with pytest.raises(ValueError, match="keys do not match"):
        from_torch(torch.nn.GRU(2, 4), into=model)


@pytest.mark.parametrize(
    "kind,pooling,cell,bi",
    [
        ("features", "mean", "lstm", True),
        ("tokens", "last", "gru", True),
        ("features", "none", "rnn_relu", False),
        ("tokens", "max", "rnn_tanh", False),
    ],
)
def test_from_torch_builds_a_fresh_sequence_network(kind, pooling, cell, bi):
    from rnnkit.models.network import SequenceNet

    rng = np.random.default_rng(6)
    if kind == "features":
        X = [rng.standard_normal((int(rng.integers(1, 7)), 3)) for _ in range(16)]
    else:
        X = [list(rng.choice(["a", "b", "c", "d"], int(rng.integers(1, 7)))) for _ in range(16)]
    if pooling == "none":
        model = SequenceRegressor(
            cell=cell, hidden_size=4, num_layers=2, bidirectional=bi, pooling="none", epochs=1, dtype="float64", seed=0
        ).fit(X, [np.arange(len(x)) * 0.5 for x in X])
    else:
        model = SequenceClassifier(
            cell=cell, hidden_size=4, num_layers=2, bidirectional=bi, pooling=pooling, epochs=1, dtype="float64", seed=0
        ).fit(X, rng.choice(["u", "v", "w"], 16))
    tm = to_torch(model)
    with torch.no_grad():  # changed in PyTorch, so nothing is left over
        for p in tm.parameters():
            p.add_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.1))
    net = from_torch(tm)
    assert isinstance(net, SequenceNet) and net is not model.net_ and net.pooling == pooling
    assert net.dtype == np.float64 and not net.training
    x, lengths = _inputs(model, X)
    want = tm(x, lengths).detach().numpy()
    xt = x.numpy().T if x.ndim == 2 else x.numpy().transpose(1, 0, 2)  # time-major for rnnkit
    got, _ = net.forward(np.ascontiguousarray(xt), lengths.numpy())
    if pooling == "none":
        for b, n in enumerate(lengths.numpy()):
            close(got[:n, b], want[b, :n])
    else:
        close(got, want)
    assert set(net.state_dict()) == set(model.net_.state_dict())


def test_from_torch_refuses_a_tagger_network_with_spelling_features():
    words = [["The", "dog"], ["a", "Cat"]] * 3
    tagger = SequenceTagger(hidden_size=3, affix_length=1, epochs=1, dtype="float64", seed=0).fit(
        words, [["D", "N"]] * 6
    )
    with pytest.raises(ValueError, match="spelling features is not rebuilt alone.*into=tagger"):
        from_torch(to_torch(tagger))
