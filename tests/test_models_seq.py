"""Sampling, decoding, SequenceGenerator and Seq2Seq: their own compositions checked in
float64 against central differences (and PyTorch when installed), decoding checked on
constructed cases, and the estimators on toy tasks that learn in about a second."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.models import load_model, sampling
from rnnkit.models.decoding import beam_search, greedy_decode
from rnnkit.models.generator import GeneratorBatch, GeneratorNet, SequenceGenerator
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqBatch, Seq2SeqNet, pad_ids, sampling_rate
from rnnkit.nn.functional import log_softmax
from rnnkit.train.checkpoint import CheckpointError


def _mean_loss(net, batch):
    total, count = net.evaluate_batch(batch)
    return total / count


def _check_grads(net, loss_and_grad, loss_fn, tol=2e-6):
    """Every parameter's analytic gradient against central differences of loss_fn().

    eps = 1e-5: some gradients here are ~1e-5 in size (the encoder's, seen through the
    bridge), where eps = 1e-6 leaves round-off of a few 1e-6 relative."""
    net.zero_grad()
    loss_and_grad()
    analytic = {n: g.copy() for n, g in net.grads.items()}
    for name, p in net.parameters().items():
        num = numeric_grad(loss_fn, p, eps=1e-5)
        assert rel_error(analytic[name], num) < tol, (name, rel_error(analytic[name], num))
        assert np.any(num) == np.any(analytic[name]), name


# -- sampling --------------------------------------------------------------------------------
def test_probabilities_are_tempered_softmax_with_top_k_cut():
    z = np.array([[2.0, 1.0, 0.5, -1.0], [0.0, 3.0, 3.0, 1.0]])
    p = sampling.probabilities(z, temperature=0.5)
    e = np.exp(z / 0.5)
    np.testing.assert_allclose(p, e / e.sum(1, keepdims=True), rtol=1e-12)
    p2 = sampling.probabilities(z, temperature=2.0, top_k=2)
    keep = np.array([[1, 1, 0, 0], [0, 1, 1, 0]], bool)  # row 1: the tie at 3.0 is kept
    e2 = np.where(keep, np.exp(z / 2.0), 0)
    np.testing.assert_allclose(p2, e2 / e2.sum(1, keepdims=True), rtol=1e-12)


def test_sample_frequencies_follow_the_distribution_and_the_seed():
    z = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    many = sampling.sample(np.repeat(z, 20000, axis=0), rng=np.random.default_rng(0))
    freq = np.bincount(many, minlength=4) / many.size
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.15, 0.05], atol=0.015)
    again = sampling.sample(np.repeat(z, 20000, axis=0), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(many, again)
    top1 = sampling.sample(np.repeat(z, 100, axis=0), top_k=1, rng=np.random.default_rng(1))
    assert np.all(top1 == 0)
    cut = sampling.sample(np.repeat(z, 2000, axis=0), top_k=2, rng=np.random.default_rng(2))
    assert set(np.unique(cut)) == {0, 1}


@pytest.mark.parametrize(
    "bad, exc",
    [
        (0, ValueError),
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (True, TypeError),
        ("1", TypeError),
    ],
)
def test_bad_temperature_is_refused(bad, exc):
    with pytest.raises(exc, match="temperature"):
        sampling.sample(np.zeros((1, 3)), temperature=bad, rng=np.random.default_rng(0))


def test_bad_top_k_and_seed_are_refused():
    with pytest.raises(ValueError, match="top_k"):
        sampling.probabilities(np.zeros((1, 3)), top_k=0)
    with pytest.raises(TypeError, match="top_k"):
        sampling.probabilities(np.zeros((1, 3)), top_k=1.5)
    with pytest.raises(TypeError, match="seed"):
        sampling.as_generator(-3)


# -- decoding on constructed models ------------------------------------------------------------
BOS, EOS = 2, 3


def _table_step(table):
    """A one-step model whose next-token distribution depends on the last token only."""
    logp = np.log(np.asarray(table, dtype=np.float64) + 1e-300)

    def step(tokens, state):
        return logp[tokens], state

    return step


def _trap_table():
    # 5 tokens: 0 "a", 1 "b", 2 BOS, 3 EOS, 4 "c". After BOS "a" (0.55) beats "b" (0.45),
    # but "a" is followed by a coin flip while "b" is followed by EOS for sure:
    # best sequence "b" (0.45) > any sequence through "a" (<= 0.55 * 0.5).
    t = np.full((5, 5), 0.0)
    t[BOS] = [0.55, 0.45, 0, 0, 0]
    t[0] = [0, 0, 0, 0.5, 0.5]
    t[1] = [0, 0, 0, 1.0, 0]
    t[4] = [0, 0, 0, 1.0, 0]
    t[EOS] = [0, 0, 0, 1.0, 0]
    return t


def test_beam_search_finds_the_higher_likelihood_sequence():
    step = _table_step(_trap_table())
    g, gs = greedy_decode(step, None, 1, bos=BOS, eos=EOS, max_len=5)
    b, bs = beam_search(step, None, 1, bos=BOS, eos=EOS, max_len=5, beam_size=2, length_penalty=0.0)
    assert g == [[0]] and b == [[1]]
    np.testing.assert_allclose(gs, [np.log(0.55 * 0.5)])
    np.testing.assert_allclose(bs, [np.log(0.45)])
    assert bs[0] > gs[0]


def test_eos_stops_and_max_len_cuts():
    t = np.full((5, 5), 0.1)
    t[:, 4] = 0.6  # "c" forever: cut at max_len
    g, _ = greedy_decode(_table_step(t), None, 2, bos=BOS, eos=EOS, max_len=4)
    b, _ = beam_search(_table_step(t), None, 2, bos=BOS, eos=EOS, max_len=4, beam_size=3, length_penalty=0.0)
    assert g == [[4, 4, 4, 4]] * 2 and b == [[4, 4, 4, 4]] * 2
    t2 = _trap_table()
    t2[BOS] = [0, 0, 0, 0, 1.0]  # "c" then EOS
    g, gs = greedy_decode(_table_step(t2), None, 1, bos=BOS, eos=EOS, max_len=10)
    assert g == [[4]] and abs(gs[0]) < 1e-9


def _random_seq2seq(cell="lstm", bidirectional=True, num_layers=2, dtype="float64", seed=1, hidden=4, attention=False):
    return Seq2SeqNet(
        7,
        6,
        cell=cell,
        embedding_dim=3,
        hidden_size=hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        attention=attention,
        dtype=dtype,
        rng=np.random.default_rng(seed),
    )


def _batch():
    src, sl = pad_ids([np.array([4, 5, 6, 3]), np.array([5, 3]), np.array([6, 6, 4, 4, 3])])
    din, _ = pad_ids([np.array([2, 4, 5]), np.array([2]), np.array([2, 5, 5, 4])])
    dout, tl = pad_ids([np.array([4, 5, 3]), np.array([3]), np.array([5, 5, 4, 3])])
    return Seq2SeqBatch(src, sl, din, dout, tl)


@pytest.mark.parametrize("attention", [False, True])
def test_beam_of_one_is_greedy_and_scores_are_log_likelihoods(attention):
    net = _random_seq2seq(seed=3, attention=attention).eval()
    b = _batch()
    state0 = net.start(b.src, b.src_len)
    g, gs = greedy_decode(net.step, state0, 3, bos=BOS, eos=EOS, max_len=6)
    k1, ks = beam_search(net.step, state0, 3, bos=BOS, eos=EOS, max_len=6, beam_size=1)
    assert g == k1
    np.testing.assert_allclose(gs, ks, rtol=1e-12)
    # the score is the teacher-forced log-likelihood of the sequence (+ EOS if it ended)
    for i, seq in enumerate(g):
        ended = len(seq) < 6
        din, _ = pad_ids([np.array([BOS] + seq)])
        dout, tl = pad_ids([np.array(seq + [EOS])])
        one = Seq2SeqBatch(b.src[:, i : i + 1], b.src_len[i : i + 1], din, dout, tl)
        state, memory, _ = net.encode(one.src, one.src_len)
        logits, _ = net.decode(one.dec_in, one.tgt_len, state, memory)
        lp = log_softmax(logits[:, 0])[np.arange(len(seq) + 1), dout[:, 0]]
        want = lp.sum() if ended else lp[:-1].sum()
        np.testing.assert_allclose(gs[i], want, rtol=1e-10)


def test_wider_beam_never_scores_below_greedy_on_raw_likelihood():
    net = _random_seq2seq(cell="gru", bidirectional=False, num_layers=1, seed=5, attention=True).eval()
    b = _batch()
    state0 = net.start(b.src, b.src_len)
    _, gs = greedy_decode(net.step, state0, 3, bos=BOS, eos=EOS, max_len=3)
    _, bs = beam_search(net.step, state0, 3, bos=BOS, eos=EOS, max_len=3, beam_size=6**3, length_penalty=0.0)
    # with a beam as wide as the whole search space, beam search is exhaustive
    assert np.all(bs >= gs - 1e-12)


# -- Seq2Seq: the composition encoder -> bridge -> decoder --------------------------------------
@pytest.mark.parametrize(
    "cell, bidirectional, layers, attention",
    [("lstm", True, 2, False), ("gru", True, 1, True), ("rnn_tanh", False, 2, True), ("lstm", True, 1, True)],
)
def test_seq2seq_net_gradients(cell, bidirectional, layers, attention):
    net = _random_seq2seq(cell, bidirectional, layers, hidden=3, attention=attention)
    b = _batch()
    _check_grads(net, lambda: net.loss_and_grad(b), lambda: _mean_loss(net, b))


@pytest.mark.parametrize("attention", [False, True])
def test_stepwise_decoder_equals_teacher_forcing_and_sampled_inputs_are_constants(attention):
    net = _random_seq2seq(attention=attention)
    b = _batch()
    net.zero_grad()
    whole = net.loss_and_grad(b)
    g_whole = {n: g.copy() for n, g in net.grads.items()}
    net.zero_grad()
    stepwise = net.loss_and_grad(b, force_stepwise=True)
    assert abs(whole - stepwise) < 1e-12
    for n, g in net.grads.items():
        np.testing.assert_allclose(g, g_whole[n], atol=1e-12, err_msg=n)
    # rate 1: every input after the first is drawn from the model; the gradient is teacher
    # forcing's with the drawn tokens as inputs
    sampled = Seq2SeqBatch(b.src, b.src_len, b.dec_in, b.dec_out, b.tgt_len, rate=1.0, seed=7)
    _, _, _, (_, _, _, fed) = net._loss(sampled, True)
    assert np.any(fed[1:] != b.dec_in[1:])
    net.zero_grad()
    net.loss_and_grad(sampled)
    g_sampled = {n: g.copy() for n, g in net.grads.items()}
    net.zero_grad()
    net.loss_and_grad(Seq2SeqBatch(b.src, b.src_len, fed, b.dec_out, b.tgt_len))
    for n, g in net.grads.items():
        np.testing.assert_allclose(g_sampled[n], g, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_net_matches_torch(attention):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional test oracle")
    net = _random_seq2seq("lstm", True, 2, attention=attention)
    b = _batch()
    net.zero_grad()
    loss = net.loss_and_grad(b)
    tn = torch.nn
    mods = {
        "src_embed": tn.Embedding(7, 3),
        "encoder": tn.LSTM(3, 4, 2, bidirectional=True),
        "bridge": tn.Linear(8, 4),
        "bridge_c": tn.Linear(8, 4),
        "tgt_embed": tn.Embedding(6, 3),
        "decoder": tn.LSTM(3, 4, 2),
        "head": tn.Linear(4, 6),
    }
    if attention:
        mods.update({"attn.key": tn.Linear(8, 4, bias=False), "attn.combine": tn.Linear(12, 4)})
    params = net.parameters()
    for prefix, m in mods.items():
        m.double()
        m.load_state_dict({k: torch.tensor(params[f"{prefix}.{k}"]) for k in m.state_dict()})
    e = mods["src_embed"](torch.tensor(b.src))
    packed = tn.utils.rnn.pack_padded_sequence(e, torch.tensor(b.src_len), enforce_sorted=False)
    enc, (h, c) = mods["encoder"](packed)
    enc, _ = tn.utils.rnn.pad_packed_sequence(enc)  # (S, B, 8), zero padding

    def bridge(s, lin):
        s = s.reshape(2, 2, 3, 4).permute(0, 2, 1, 3).reshape(2, 3, 8)
        return torch.tanh(lin(s))

    out, _ = mods["decoder"](
        mods["tgt_embed"](torch.tensor(b.dec_in)), (bridge(h, mods["bridge"]), bridge(c, mods["bridge_c"]))
    )
    if attention:  # Luong "general" attention, padding masked out
        scores = torch.einsum("tbh,sbh->bts", out, mods["attn.key"](enc))
        src_mask = torch.tensor(np.arange(b.src.shape[0])[:, None] < b.src_len[None, :]).T[:, None, :]
        a = torch.softmax(scores.masked_fill(~src_mask, -torch.inf), dim=2)
        ctx = torch.einsum("bts,sbk->tbk", a, enc)
        out = torch.tanh(mods["attn.combine"](torch.cat([ctx, out], dim=2)))
    logits = mods["head"](out)
    mask = torch.tensor(np.arange(b.dec_out.shape[0])[:, None] < b.tgt_len[None, :])
    tl = tn.functional.cross_entropy(logits[mask], torch.tensor(b.dec_out)[mask])
    tl.backward()
    assert abs(tl.item() - loss) < 1e-12
    grads = net.grads
    assert set(grads) == {f"{p}.{k}" for p, m in mods.items() for k, _ in m.named_parameters()}
    for prefix, m in mods.items():
        for k, p in m.named_parameters():
            np.testing.assert_allclose(grads[f"{prefix}.{k}"], p.grad.numpy(), atol=1e-12, err_msg=f"{prefix}.{k}")


def test_sampling_schedules():
    for sched in ("inverse_sigmoid", "exponential", "linear"):
        rates = [sampling_rate(sched, e, 0.4, None, 10) for e in range(30)]
        assert rates[0] <= 0.4 * 0.2 and all(a <= b for a, b in zip(rates, rates[1:], strict=False))
        assert 0.3 < rates[-1] <= 0.4
    assert sampling_rate("constant", 0, 0.25, None, 10) == 0.25
    k = 3.0  # inverse sigmoid, Bengio et al. (2015): eps = k / (k + exp(e / k))
    assert abs(sampling_rate("inverse_sigmoid", 6, 1.0, k, 10) - (1 - k / (k + np.exp(2.0)))) < 1e-12


# -- Seq2Seq: the estimator ------------------------------------------------------------------
def _reversal(n, seed):
    rng = np.random.default_rng(seed)
    src = ["".join(rng.choice(list("abc"), rng.integers(1, 4))) for _ in range(n)]
    return src, [s[::-1] + "!" for s in src]  # targets one longer than sources


@pytest.fixture(scope="module")
def fitted_seq2seq():
    src, tgt = _reversal(300, 0)
    return (
        Seq2Seq(
            cell="gru", hidden_size=24, embedding_dim=8, epochs=25, batch_size=16, lr=1e-2, bidirectional=True, seed=0
        ).fit(src, tgt),
        src,
        tgt,
    )


def test_seq2seq_learns_to_reverse(fitted_seq2seq):
    model, src, tgt = fitted_seq2seq
    assert model.history_["loss"][-1] < 0.2 * model.history_["loss"][0]
    assert model.score(src[:100], tgt[:100]) >= 0.9
    pred = model.predict(["ab", "cab"], beam_size=3)
    assert pred == ["ba!", "bac!"]
    assert model.predict(["ab"]) == ["ba!"]


def test_seq2seq_save_load_and_wrong_class(fitted_seq2seq, tmp_path):
    model, src, _ = fitted_seq2seq
    path = model.save(tmp_path / "s2s.npz")
    again = Seq2Seq.load(path)
    assert again.predict(src[:20]) == model.predict(src[:20])
    assert isinstance(load_model(path), Seq2Seq)
    assert again.get_params() == model.get_params()
    with pytest.raises(CheckpointError, match="Seq2Seq"):
        SequenceGenerator.load(path)


def test_seq2seq_token_lists_and_unseen_source_tokens():
    src = [["x", "y"], ["y"], ["x", "x", "y"]] * 10
    tgt = [[len(s)] for s in src]
    model = Seq2Seq(hidden_size=8, embedding_dim=4, epochs=2, seed=0).fit(src, tgt)
    out = model.predict([["x", "never-seen"]])  # unseen source tokens map to UNK
    assert isinstance(out[0], list) and all(isinstance(t, int) for t in out[0])
    with pytest.raises(TypeError, match="sources"):
        model.predict(["xy"])


def test_seq2seq_scheduled_sampling_trains_and_cosine_lr_decays():
    src, tgt = _reversal(60, 1)
    a = Seq2Seq(hidden_size=8, embedding_dim=4, epochs=3, seed=0, lr=1e-3, lr_schedule="cosine").fit(src, tgt)
    lrs = a.history_.steps["lr"]
    assert lrs[0] <= 1e-3 and all(x > y for x, y in zip(lrs, lrs[1:], strict=False)) and lrs[-1] >= 1e-3 / 20
    b = Seq2Seq(
        hidden_size=8, embedding_dim=4, epochs=3, seed=0, scheduled_sampling=1.0, sampling_schedule="constant"
    ).fit(src, tgt)
    assert a.history_["loss"][0] != b.history_["loss"][0]
    assert b.history_["loss"][-1] < b.history_["loss"][0]


def test_seq2seq_params_and_clone():
    model = Seq2Seq(hidden_size=8)
    assert model.get_params()["hidden_size"] == 8
    model.set_params(beam_size=3)
    assert model.beam_size == 3
    with pytest.raises(ValueError, match="valid parameters"):
        model.set_params(beam=3)
    sklearn_base = pytest.importorskip("sklearn.base", reason="scikit-learn is optional")
    assert sklearn_base.clone(model).get_params() == model.get_params()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beam_size": 0}, "beam_size"),
        ({"length_penalty": -1.0}, "length_penalty"),
        ({"max_len": 0}, "max_len"),
        ({"scheduled_sampling": 1.5}, "scheduled_sampling"),
        ({"sampling_schedule": "cosine"}, "sampling_schedule"),
        ({"sampling_schedule": "exponential", "sampling_decay": 2.0}, "sampling_decay"),
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"attention": "yes"}, "attention"),
    ],
)
def test_seq2seq_bad_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Seq2Seq(**kwargs).fit(["a"], ["b"])


def test_seq2seq_bad_data(fitted_seq2seq):
    with pytest.raises(ValueError, match="sources: expected at least one"):
        Seq2Seq().fit([], [])
    with pytest.raises(ValueError, match="targets: expected one target per source"):
        Seq2Seq().fit(["a", "b"], ["a"])
    with pytest.raises(TypeError, match=r"sources\[1\]"):
        Seq2Seq().fit(["a", ["b"]], ["a", "b"])
    with pytest.raises(TypeError, match="sources"):
        Seq2Seq().fit("abc", "abc")
    model = fitted_seq2seq[0]
    with pytest.raises(ValueError, match="beam_size"):
        model.predict(["ab"], beam_size=0)
    with pytest.raises(ValueError, match="max_len"):
        model.predict(["ab"], max_len=0)
    with pytest.raises(ValueError, match="not fitted"):
        Seq2Seq().predict(["a"])


# -- SequenceGenerator -----------------------------------------------------------------------
def _gen_batch(tokens, labels, rng, dtype=np.float64):
    lengths = np.array([3, 1, 2])
    cond = rng.integers(0, 3, 3) if labels else rng.standard_normal((3, 2)).astype(dtype)
    if tokens:
        inputs = np.array([[2, 2, 2], [4, 0, 5], [5, 0, 0]])
        targets = np.array([[4, 3, 5], [5, 0, 3], [3, 0, 0]])
    else:
        targets = rng.standard_normal((3, 3, 2)) * (np.arange(3)[:, None] < lengths)[:, :, None]
        inputs = np.concatenate([np.zeros_like(targets[:1]), targets[:-1]])
    return GeneratorBatch(cond, inputs, targets, lengths)


@pytest.mark.parametrize(
    "cell, labels, tokens, condition_cell",
    [
        ("lstm", True, True, True),
        ("lstm", False, False, False),
        ("gru", False, True, True),
        ("rnn_tanh", True, False, True),
    ],
)
def test_generator_net_gradients(cell, labels, tokens, condition_cell):
    rng = np.random.default_rng(0)
    net = GeneratorNet(
        n_classes=3 if labels else None,
        n_cond_features=None if labels else 2,
        vocab_size=6 if tokens else None,
        n_out_features=None if tokens else 2,
        cell=cell,
        embedding_dim=3,
        hidden_size=4,
        num_layers=2,
        condition_cell=condition_cell,
        dtype="float64",
        rng=np.random.default_rng(1),
    )
    b = _gen_batch(tokens, labels, rng)
    _check_grads(net, lambda: net.loss_and_grad(b), lambda: _mean_loss(net, b))


WORDS = {"a": "hello", "b": "world", "c": "hi"}


@pytest.fixture(scope="module")
def fitted_generator():
    rng = np.random.default_rng(0)
    labels = list(rng.choice(list(WORDS), 120))
    seqs = [WORDS[x] for x in labels]
    return SequenceGenerator(hidden_size=32, epochs=25, lr=1e-2, seed=0).fit(labels, seqs), labels, seqs


def test_generator_learns_label_to_word(fitted_generator):
    model, labels, seqs = fitted_generator
    assert model.predict(["a", "b", "c"]) == ["hello", "world", "hi"]
    assert model.score(labels, seqs) > -0.05  # nats per token
    assert model.generate("c", seed=0, temperature=0.5) == "hi"


def test_generator_generate_length_seed_and_errors(fitted_generator):
    model = fitted_generator[0]
    a = model.generate(["a", "b"], length=7, seed=3, temperature=2.0)
    assert a == model.generate(["a", "b"], length=7, seed=3, temperature=2.0)
    assert [len(s) for s in a] == [7, 7]
    assert len(model.generate("a", max_len=2, seed=0)) <= 2
    with pytest.raises(ValueError, match="temperature"):
        model.generate("a", temperature=0)
    with pytest.raises(ValueError, match="length"):
        model.generate("a", length=0)
    with pytest.raises(ValueError, match="unseen"):
        model.generate("zzz")
    with pytest.raises(ValueError, match="top_k"):
        model.generate("a", top_k=0)
    with pytest.raises(TypeError, match="got float arrays"):
        model.score(["a"], [np.zeros((3, 1))])


def test_generator_real_vectors_from_features(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    t = np.arange(6) * 0.5
    Y = [np.stack([np.sin(t + x[0]), np.cos(t + x[1])], 1) for x in X]
    model = SequenceGenerator(cell="gru", hidden_size=16, epochs=30, lr=1e-2, seed=0).fit(X, Y)
    assert model.history_["loss"][-1] < 0.1 * model.history_["loss"][0]
    out = model.predict(X[:2])
    assert out[0].shape == (6, 2)
    assert np.abs(out[0] - Y[0]).mean() < 0.2
    one = model.generate(X[0], length=3)
    np.testing.assert_allclose(one, out[0][:3], rtol=1e-5, atol=1e-6)
    again = SequenceGenerator.load(model.save(tmp_path / "g.npz"))
    np.testing.assert_allclose(again.predict(X[:2])[1], out[1], rtol=1e-6)
    with pytest.raises(ValueError, match="conditions"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"sequences\[1\]: expected 2 features"):
        model.score(X[:2], [Y[0], Y[1][:, :1]])


def test_generator_bad_input():
    with pytest.raises(ValueError, match="conditions"):
        SequenceGenerator().fit([], [])
    with pytest.raises(ValueError, match="one sequence per condition"):
        SequenceGenerator(epochs=1).fit(["a", "b"], ["x"])
    with pytest.raises(ValueError, match=r"sequences\[0\]: expected .* T >= 1"):
        SequenceGenerator(epochs=1).fit(np.zeros((2, 2)), [np.zeros((0, 1)), np.zeros((2, 1))])
