"""CharLM: the stream-model protocol against central differences and PyTorch, truncated
BPTT against full BPTT, evaluation, seeded generation, persistence and bad input."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.models.charlm import CharLM, CharLMNet
from rnnkit.nn.functional import log_softmax
from rnnkit.train.bptt import TBPTT, Chunk

V, E, H = 7, 3, 4


def _net(cell="lstm", layers=2, seed=1):
    return CharLMNet(
        V,
        cell=cell,
        embedding_dim=E,
        hidden_size=H,
        num_layers=layers,
        dtype="float64",
        rng=np.random.default_rng(seed),
    )


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_chunk_protocol_gradients(cell):
    """chunk_backward returns d/dstate0 and accumulates d/dparams of
    f = s * loss_sum + <dstate, new_state>, with a mask and a non-zero initial state."""
    rng = np.random.default_rng(0)
    net = _net(cell)
    k, B, s = 4, 3, 0.37
    inputs, targets = rng.integers(0, V, (k, B)), rng.integers(0, V, (k, B))
    mask = rng.random((k, B)) < 0.7
    state = tuple(a + 0.3 * rng.standard_normal(a.shape) for a in _flat(net.init_state(B)))
    state = state if cell == "lstm" else state[0]
    dstate = tuple(rng.standard_normal(a.shape) for a in _flat(state))

    def f():
        loss_sum, _, new, _ = net.chunk_forward(inputs, targets, state, loss_mask=mask)
        return s * loss_sum + sum(np.sum(d * a) for d, a in zip(dstate, _flat(new), strict=False))

    net.zero_grad()
    loss_sum, count, _, cache = net.chunk_forward(inputs, targets, state, loss_mask=mask)
    assert count == mask.sum()
    d0 = net.chunk_backward(cache, s, dstate if cell == "lstm" else dstate[0])
    for name, p in net.parameters().items():
        num = numeric_grad(f, p, eps=1e-5)
        assert rel_error(net.grads[name], num) < 1e-6, name
    for a, da in zip(_flat(state), _flat(d0), strict=False):
        assert rel_error(da, numeric_grad(f, a, eps=1e-5)) < 1e-6


def test_tbptt_with_one_window_equals_full_bptt():
    """k1 = k2 = T over one chunk, and k1 = T/2 with k2 = T over two chunks, both give
    the gradient of full BPTT over the whole sequence (written out here from the layers)."""
    rng = np.random.default_rng(1)
    net = _net("lstm")
    T, B = 8, 2
    x, y = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    # full BPTT, composed by hand from the layers
    net.zero_grad()
    emb, c_emb = net.embed.forward(x)
    out, _, c_rnn = net.rnn.forward(emb)
    logits, c_head = net.head.forward(out)
    logp = log_softmax(logits)
    full_loss = -np.mean(np.take_along_axis(logp, y[..., None], -1))
    dlogits = np.exp(logp)
    np.put_along_axis(dlogits, y[..., None], np.take_along_axis(dlogits, y[..., None], -1) - 1, -1)
    dx, _ = net.rnn.backward(net.head.backward(dlogits / y.size, c_head), None, c_rnn)
    net.embed.backward(dx, c_emb)
    full = {n: g.copy() for n, g in net.grads.items()}

    net.zero_grad()
    loss = TBPTT(net, T).loss_and_grad(Chunk(x, y, None, None, 0))
    assert abs(loss - full_loss) < 1e-12
    for n, g in net.grads.items():
        np.testing.assert_allclose(g, full[n], rtol=0, atol=1e-12, err_msg=n)

    tb = TBPTT(net, T // 2, T)
    total = {n: np.zeros_like(g) for n, g in full.items()}
    for i in range(2):
        net.zero_grad()
        part = slice(i * T // 2, (i + 1) * T // 2)
        tb.loss_and_grad(Chunk(x[part], y[part], None, None, i))
        for n, g in net.grads.items():
            total[n] += g / 2  # each update is a mean over half of the steps
    for n, g in total.items():
        np.testing.assert_allclose(g, full[n], rtol=0, atol=1e-12, err_msg=n)


def test_chunk_protocol_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the optional test oracle")
    rng = np.random.default_rng(2)
    net = _net("lstm")
    k, B = 5, 3
    x, y = rng.integers(0, V, (k, B)), rng.integers(0, V, (k, B))
    h0 = (0.5 * rng.standard_normal((2, B, H)), 0.5 * rng.standard_normal((2, B, H)))
    net.zero_grad()
    loss_sum, _, (h, c), cache = net.chunk_forward(x, y, h0)
    dh0, dc0 = net.chunk_backward(cache, 1.0, None)
    emb, lstm, head = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, 2), torch.nn.Linear(H, V)
    params = net.parameters()
    for prefix, m in (("embed", emb), ("rnn", lstm), ("head", head)):
        m.double()
        m.load_state_dict({n: torch.tensor(params[f"{prefix}.{n}"]) for n in m.state_dict()})
    th0 = tuple(torch.tensor(a, requires_grad=True) for a in h0)
    out, (th, tc) = lstm(emb(torch.tensor(x)), th0)
    tl = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), torch.tensor(y).reshape(-1), reduction="sum")
    tl.backward()
    assert abs(tl.item() - loss_sum) < 1e-10
    np.testing.assert_allclose(h, th.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dh0, th0[0].grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dc0, th0[1].grad.numpy(), atol=1e-12)
    for prefix, m in (("embed", emb), ("rnn", lstm), ("head", head)):
        for n, p in m.named_parameters():
            np.testing.assert_allclose(net.grads[f"{prefix}.{n}"], p.grad.numpy(), atol=1e-12, err_msg=n)


TEXT = "the cat sat on the mat. " * 40


@pytest.fixture(scope="module")
def fitted():
    return CharLM(cell="gru", hidden_size=24, embedding_dim=8, k1=12, batch_size=8, epochs=12, lr=1e-2, seed=0).fit(
        TEXT, validation_data=TEXT[:100]
    )


def test_charlm_learns_and_evaluate_is_the_mean_nll(fitted):
    model = fitted
    chars = len(set(TEXT))
    nats = model.evaluate(TEXT[:200])
    assert nats < 0.3 * np.log(chars)  # far below a uniform guess over the alphabet
    assert model.history_["val_loss"][-1] < model.history_["val_loss"][0]
    assert model.score(TEXT[:200]) == -nats
    # evaluate() is the mean NLL, whatever the chunk size used to stream the text
    assert abs(model.evaluate(TEXT[:200], chunk=7) - nats) < 1e-5
    # and equals stepping character by character
    ids = model.vocab_.encode(TEXT[:30])
    state, total = None, 0.0
    for t in range(len(ids) - 1):
        logits, state = model.net_.step(ids[t : t + 1], state)
        total -= log_softmax(logits.astype(np.float64))[0, ids[t + 1]]
    assert abs(total / (len(ids) - 1) - model.evaluate(TEXT[:30])) < 1e-5
    assert model.predict("the ca") == "t"
    assert model.predict(["on the ma", "the c"]) == ["t", "a"]


def test_charlm_generate_is_seeded_and_uses_the_alphabet(fitted):
    model = fitted
    a = model.generate("the ", 40, temperature=0.8, seed=5)
    assert a == model.generate("the ", 40, temperature=0.8, seed=5)
    assert len(a) == 40 and set(a) <= set(TEXT)
    assert (
        model.generate("the ", 40, temperature=0.8, seed=6) != a
        or model.generate("the ", 40, temperature=0.8, seed=7) != a
    )
    assert model.generate("the c", 3, top_k=1) == "at "
    assert len(model.generate(length=5, seed=0)) == 5


def test_charlm_unseen_characters_are_refused_with_a_list(fitted):
    model = fitted
    with pytest.raises(ValueError, match=r"2 unseen: 'X', 'Z'"):
        model.evaluate("the Xat ZZ")
    with pytest.raises(ValueError, match="prime: expected characters seen"):
        model.generate("Q", 5)
    extended = CharLM(hidden_size=4, embedding_dim=2, k1=4, batch_size=2, epochs=1, seed=0, alphabet="XZ").fit(
        TEXT[:60]
    )
    assert np.isfinite(extended.evaluate("the Xat ZZ"))


def test_charlm_bad_input(fitted):
    model = fitted
    with pytest.raises(ValueError, match="length"):
        model.generate("the", 0)
    with pytest.raises(ValueError, match="temperature"):
        model.generate("the", 5, temperature=0.0)
    with pytest.raises(ValueError, match="text: expected a text of at least 2"):
        model.evaluate("t")
    with pytest.raises(TypeError, match="text"):
        CharLM().fit(["a", "b"])
    with pytest.raises(ValueError, match="text: expected a text of at least"):
        CharLM(batch_size=4).fit("abc")
    with pytest.raises(ValueError, match="k2"):
        CharLM(k1=8, k2=4).fit(TEXT)
    with pytest.raises(ValueError, match="prime"):
        model.generate("", 5)


def test_charlm_save_load_and_k2(fitted, tmp_path):
    model = fitted
    again = CharLM.load(model.save(tmp_path / "lm.npz"))
    assert again.evaluate(TEXT[:50]) == model.evaluate(TEXT[:50])
    assert again.generate("the ", 20, seed=1) == model.generate("the ", 20, seed=1)
    longer = CharLM(hidden_size=8, embedding_dim=4, k1=4, k2=8, batch_size=4, epochs=2, lr=1e-2, seed=0).fit(TEXT[:300])
    assert longer.history_["loss"][-1] < longer.history_["loss"][0]
