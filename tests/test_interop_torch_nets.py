"""to_torch of the tagger with spelling features, Seq2Seq and SequenceGenerator: PyTorch's
forward equals rnnkit's in float64 to 1e-10, whole sequences and step by step."""

import numpy as np
import pytest
from interop_util import assert_close

from rnnkit.interop import save_safetensors, to_torch
from rnnkit.models import Seq2Seq, SequenceGenerator, SequenceTagger
from rnnkit.models._data import pad_ids

torch = pytest.importorskip("torch", reason="to_torch is checked against PyTorch itself")

TOL = 1e-10


def close(a, b, tol=TOL):
    assert_close(a, b, tol)


def states(s):
    return s if isinstance(s, tuple) else (s,)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("cell,bi,layers", [("lstm", True, 2), ("gru", False, 1), ("rnn_relu", True, 1)])
def test_tagger_with_spelling_features(cell, bi, layers):
    words = [["The", "dog", "runs"], ["a", "Cat", "sat", "down"], ["dogs", "ran", "2"], ["Home"]] * 3
    tags = [["D", "N", "V"], ["D", "N", "V", "P"], ["N", "V", "NUM"], ["N"]] * 3
    tagger = SequenceTagger(
        cell=cell,
        hidden_size=5,
        num_layers=layers,
        bidirectional=bi,
        affix_length=2,
        word_shape=True,
        feature_dim=4,
        embedding_dim=6,
        epochs=1,
        dtype="float64",
        seed=0,
    ).fit(words, tags)
    tm = to_torch(tagger)
    assert set(tm.state_dict()) == set(tagger.net_.state_dict()) and "features.weight" in tm.state_dict()
    test = [["The", "Unseen", "12", "dogs"], ["cat"], ["A", "dog"]]
    inputs = tagger._encode_inputs(test, fit=False)  # (T_i, 1 + F) ids each
    batch = tagger._batch(inputs, np.arange(len(test)))
    with torch.no_grad():
        logits = tm(t(np.swapaxes(batch.inputs, 0, 1)), t(batch.lengths)).numpy()  # (B, T, K)
    want, _ = tagger.net_.forward(batch.inputs, batch.lengths)  # (T, B, K)
    for b, n in enumerate(batch.lengths):
        close(logits[b, :n], want[:n, b])
    for b, p in enumerate(tagger.predict_proba(test)):
        z = logits[b, : len(p)]
        e = np.exp(z - z.max(1, keepdims=True))
        close(e / e.sum(1, keepdims=True), p)


@pytest.mark.parametrize(
    "cell,bi,attention,layers",
    [("lstm", True, True, 2), ("gru", False, False, 1), ("rnn_tanh", True, False, 1), ("gru", True, True, 1)],
)
def test_seq2seq_encoder_decoder_and_attention(cell, bi, attention, layers, tmp_path):
    st = pytest.importorskip("safetensors.torch", reason="the weights file is read by safetensors")
    rng = np.random.default_rng(5)
    src = ["".join(rng.choice(list("abcd"), int(rng.integers(1, 6)))) for _ in range(30)]
    model = Seq2Seq(
        cell=cell,
        hidden_size=6,
        num_layers=layers,
        bidirectional=bi,
        attention=attention,
        epochs=1,
        seed=0,
        dtype="float64",
    ).fit(src, [s[::-1] for s in src])
    tm = to_torch(model)
    assert set(tm.state_dict()) == set(model.net_.state_dict())
    with torch.no_grad():
        for p in tm.parameters():
            p.zero_()
    tm.load_state_dict(st.load_file(str(save_safetensors(model, tmp_path / "s2s.safetensors"))))  # strict
    s, s_len = pad_ids(model._encode_sources(["abc", "d", "dcba", "bb"]))  # (S, B)
    want = model.net_.start(s, s_len)
    with torch.no_grad():
        got = tm.encode(t(s), t(s_len))
    if attention:
        (want, (m, keys, _)), (got, (tm_m, tm_keys, _)) = want, got
        close(tm_m, m)
        close(tm_keys, keys)
    for a, b in zip(states(got), states(want), strict=False):
        close(a, b)
    # five decoder steps from the encoder's state, and the teacher-forced whole
    dec_in = rng.integers(3, len(model.tgt_vocab_), (5, 4))
    dec_in[0] = model.tgt_vocab_.bos_id
    state, tstate = model.net_.start(s, s_len), None
    with torch.no_grad():
        tstate = tm.encode(t(s), t(s_len))
        for k in range(5):
            want_k, state = model.net_.step(dec_in[k], state)
            got_k, tstate = tm.step(t(dec_in[k]), tstate)
            close(got_k, want_k)
        whole = tm(t(s), t(s_len), t(dec_in))
    state0, memory, _ = model.net_.encode(s, s_len)
    logits, _ = model.net_.decode(dec_in, np.full(4, 5), state0, memory)
    close(whole, logits)


@pytest.mark.parametrize(
    "kind,cell,layers,condition_cell",
    [
        ("labels", "lstm", 2, True),
        ("labels", "gru", 1, True),
        ("features", "lstm", 1, False),
        ("features", "rnn_tanh", 2, True),
    ],
)
def test_sequence_generator_network(kind, cell, layers, condition_cell):
    rng = np.random.default_rng(8)
    if kind == "labels":
        cond = ["up", "down", "up", "flat"] * 3
        seqs = ["abcd"[: int(rng.integers(1, 5))] for _ in cond]
    else:
        cond = rng.standard_normal((12, 3))
        seqs = [rng.standard_normal((4, 2)) for _ in cond]
    model = SequenceGenerator(
        cell=cell,
        hidden_size=5,
        num_layers=layers,
        embedding_dim=4,
        condition_cell=condition_cell,
        epochs=1,
        batch_size=4,
        dtype="float64",
        seed=0,
    ).fit(cond, seqs)
    tm = to_torch(model)
    assert set(tm.state_dict()) == set(model.net_.state_dict())
    c = model._conditions(cond)
    batch = next(model._batches(c, model._sequences(seqs)))
    state0, _ = model.net_.condition(batch.cond)
    with torch.no_grad():
        tstate0 = tm.condition(t(batch.cond))
        for a, b in zip(states(tstate0), states(state0), strict=False):
            close(a, b)
        x = model.net_.embed.forward(batch.inputs)[0] if model.vocab_ is not None else batch.inputs
        out, _, _ = model.net_.rnn.forward(x, state0)
        want, _ = model.net_.head.forward(out)  # (T, B, K)
        close(tm(t(batch.cond), t(batch.inputs)), want)
        state, tstate = state0, tstate0
        for k in range(batch.inputs.shape[0]):  # and one step at a time
            want_k, state = model.net_.step(batch.inputs[k], state)
            got_k, tstate = tm.step(t(batch.inputs[k]), tstate)
            close(got_k, want_k)


def test_from_torch_into_loads_decoder_networks_back():
    from rnnkit.interop import from_torch

    src = ["ab", "ba", "abc", "cab"] * 3
    s2s = Seq2Seq(hidden_size=4, attention=True, bidirectional=True, epochs=1, dtype="float64", seed=0).fit(
        src, [s[::-1] for s in src]
    )
    gen = SequenceGenerator(cell="lstm", hidden_size=4, epochs=1, dtype="float64", seed=0).fit(
        ["x", "y"] * 3, ["ab", "ba"] * 3
    )
    rng = np.random.default_rng(0)
    for model in (s2s, gen):
        tm = to_torch(model)
        with torch.no_grad():  # as if trained further in PyTorch
            for p in tm.parameters():
                p.add_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
        assert from_torch(tm, into=model) is model
        theirs = tm.state_dict()
        for k, v in model.net_.state_dict().items():
            np.testing.assert_array_equal(v, theirs[k].numpy())
    s, s_len = pad_ids(s2s._encode_sources(["abc", "b"]))
    bos = np.full(2, s2s.tgt_vocab_.bos_id)
    want, _ = s2s.net_.step(bos, s2s.net_.start(s, s_len))
    with torch.no_grad():
        got, _ = to_torch(s2s).step(t(bos), to_torch(s2s).encode(t(s), t(s_len)))
    close(got, want)


FORECAST_CASES = [
    dict(cell="lstm", loss="mse", ensemble=1, num_layers=2),
    dict(cell="gru", loss="quantile", ensemble=3, quantiles=(0.1, 0.5, 0.9)),
    dict(cell="lstm", loss="gaussian", ensemble=3, covariates=True),
    dict(cell="rnn_tanh", loss="mse", ensemble=1, strategy="recursive"),
]


def _fitted_forecaster(case):
    from rnnkit.forecast import Forecaster

    kw = dict(FORECAST_CASES[case])
    covariates = kw.pop("covariates", False)
    steps = np.arange(120, dtype=np.float64)
    series = np.stack([np.sin(steps / 4) + 5, np.cos(steps / 9)], axis=1)
    fit_kw = {}
    if covariates:
        r = np.random.default_rng(2)
        fit_kw = dict(past_covariates=r.normal(size=(120, 1)), future_covariates=r.normal(size=(120, 2)))
    model = Forecaster(
        hidden_size=5,
        window=8,
        horizon=3,
        epochs=1,
        batch_size=32,
        dtype="float64",
        seed=0,
        **{"strategy": "direct", **kw},
    ).fit(series, **fit_kw)
    rng = np.random.default_rng(case)
    for p in model.net_.parameters().values():  # away from the zero-initialised head
        p[...] = rng.normal(scale=0.5, size=p.shape)
    return model, rng


@pytest.mark.parametrize("case", range(len(FORECAST_CASES)))
def test_forecaster_network(case, tmp_path):
    st_torch = pytest.importorskip("safetensors.torch", reason="the weights file is read by safetensors")
    model, rng = _fitted_forecaster(case)
    net = model.net_
    T = 8 + (3 if FORECAST_CASES[case].get("covariates") else 0)
    x = rng.standard_normal((T, 4, model._input_size()))
    want, _ = net.forward(x)  # (B, D, F, P) or (k, B, D, F, P)
    tm = to_torch(model)
    with torch.no_grad():
        close(tm(t(x)), want)
        if want.ndim == 5:
            close(tm.mean(t(x)), want.mean(axis=0))
    # safetensors of the network loads strictly into the module to_torch builds
    path = save_safetensors(model, tmp_path / "f.safetensors")
    fresh = to_torch(model)
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    fresh.load_state_dict(st_torch.load_file(str(path)), strict=True)
    with torch.no_grad():
        close(fresh(t(x)), want)
    assert set(fresh.state_dict()) == set(net.state_dict())


def test_forecaster_ensemble_weights_do_not_load_into_one_member(tmp_path):
    st_torch = pytest.importorskip("safetensors.torch", reason="the weights file is read by safetensors")
    ensemble, _ = _fitted_forecaster(1)
    single, _ = _fitted_forecaster(0)
    path = save_safetensors(ensemble, tmp_path / "e.safetensors")
    with pytest.raises(RuntimeError, match="Missing key"):
        to_torch(single).load_state_dict(st_torch.load_file(str(path)), strict=True)
