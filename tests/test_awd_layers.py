"""AWD-LSTM regularizers in the engine: locked (variational) dropout on a recurrent layer's
input, between its layers and on its output; embedding dropout; AR/TAR; a tied output
projection. Gradients in float64 against central differences under held masks (the layer's
generator re-seeded before every evaluation) and against torch autograd."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.nn import GRU, LSTM, Embedding, Linear, Recurrent, TiedLinear
from rnnkit.nn.activation_reg import ar_tar_backward, ar_tar_forward

LAYERS = {"lstm": LSTM, "gru": GRU, "ln_lstm": lambda *a, **k: Recurrent("ln_lstm", *a, **k)}
DROPS = dict(input_dropout=0.3, output_dropout=0.4, dropout=0.5, locked_dropout=True)


def _problem(cell, layers=2, bidi=False, batch_first=False, **drops):
    rng = np.random.default_rng(0)
    T, B, I, H = 5, 3, 4, 3
    layer = LAYERS[cell](I, H, layers, bidirectional=bidi, batch_first=batch_first, dtype="float64", **drops)
    D = 2 if bidi else 1
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    R = rng.standard_normal((B, T, D * H) if batch_first else (T, B, D * H))
    return layer, x, np.array([5, 3, 2]), R


def _loss(layer, x, lengths, R):
    layer.rng = np.random.default_rng(7)  # the same masks on every call
    out, _, _ = layer.forward(x, None, lengths)
    return np.sum(out * R)


@pytest.mark.parametrize(
    "cell,layers,bidi,batch_first", [("lstm", 2, False, False), ("gru", 2, True, True), ("ln_lstm", 1, False, False)]
)
def test_locked_dropouts_gradients_match_central_differences(cell, layers, bidi, batch_first):
    layer, x, lengths, R = _problem(cell, layers, bidi, batch_first, **DROPS)
    layer.train().zero_grad()
    layer.rng = np.random.default_rng(7)
    out, _, cache = layer.forward(x, None, lengths)
    assert cache.input_mask is not None and cache.output_mask is not None
    dx, _ = layer.backward(R, None, cache)
    f = lambda: _loss(layer, x, lengths, R)  # noqa: E731
    errors = {name: rel_error(layer.grads[name], numeric_grad(f, p)) for name, p in layer.parameters().items()}
    errors["x"] = rel_error(dx, numeric_grad(f, x))
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"worst relative error {errors[worst]:.2e} in {worst}"


def test_one_mask_per_sequence_the_same_at_every_step():
    layer, x, _, _ = _problem("lstm", 3, False, **DROPS)
    layer.train()
    out, _, cache = layer.forward(x)
    B, I, DH = x.shape[1], x.shape[2], layer.hidden_size
    assert cache.input_mask.shape == (1, B, I) and cache.output_mask.shape == (1, B, DH)
    assert all(lc.drop_mask.shape == (1, B, DH) for lc in cache.layers[:-1])
    assert set(np.unique(cache.input_mask)) <= {0.0, 1 / 0.7}
    np.testing.assert_array_equal(out, cache.output * cache.output_mask)
    # the plain (unlocked) dropout between layers stays PyTorch's: a mask per step
    plain, x, _, _ = _problem("lstm", 2, False, dropout=0.5)
    _, _, c2 = plain.train().forward(x)
    assert c2.layers[0].drop_mask.shape == x.shape[:2] + (3,)


def test_locked_dropout_equals_masking_by_hand():
    """The layer with input/output dropout equals the plain layer run on x * m_in, times m_out."""
    layer, x, _, _ = _problem("gru", 1, True, input_dropout=0.5, output_dropout=0.5)
    out, state, cache = layer.train().forward(x)
    plain = GRU(4, 3, 1, bidirectional=True, dtype="float64")
    plain.load_state_dict(layer.state_dict())
    ref, ref_state, _ = plain.eval().forward(x * cache.input_mask)
    np.testing.assert_allclose(out, ref * cache.output_mask, rtol=0, atol=1e-13)
    np.testing.assert_allclose(state, ref_state, rtol=0, atol=1e-13)


def test_evaluation_and_step_see_no_noise_and_zero_draws_nothing():
    layer, x, lengths, _ = _problem("lstm", 2, False, **DROPS)
    plain = LSTM(4, 3, 2, dtype="float64")
    plain.load_state_dict(layer.state_dict())
    layer.eval(), plain.eval()
    np.testing.assert_array_equal(layer.forward(x, None, lengths)[0], plain.forward(x, None, lengths)[0])
    np.testing.assert_array_equal(layer.step(x[0])[0], plain.step(x[0])[0])
    a = LSTM(3, 4, dtype="float64", rng=np.random.default_rng(0))
    b = LSTM(
        3, 4, input_dropout=0.0, output_dropout=0.0, locked_dropout=True, dtype="float64", rng=np.random.default_rng(0)
    )
    xx = np.random.default_rng(1).standard_normal((5, 2, 3))
    np.testing.assert_array_equal(a.forward(xx)[0], b.forward(xx)[0])
    assert a.rng.random() == b.rng.random()
    assert "input_dropout=0.2" in repr(LSTM(3, 4, input_dropout=0.2)) and "input_dropout" not in repr(a)


@pytest.mark.parametrize("name,bad", [("input_dropout", 1.0), ("output_dropout", -0.1), ("locked_dropout", "yes")])
def test_bad_values_name_the_option(name, bad):
    with pytest.raises((TypeError, ValueError), match=name):
        LSTM(3, 4, **{name: bad})


def test_locked_dropout_matches_torch_autograd_with_the_same_masks():
    torch = pytest.importorskip("torch")
    layer, x, _, R = _problem("lstm", 2, False, **DROPS)
    layer.train().zero_grad()
    out, _, cache = layer.forward(x)
    dx, _ = layer.backward(R, None, cache)
    twin = torch.nn.LSTM(4, 3, 2, dtype=torch.float64)
    twin.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    # the same network as torch layers, one at a time, with rnnkit's masks (AWD's LockedDropout)
    l0 = torch.nn.LSTM(4, 3, dtype=torch.float64)
    l1 = torch.nn.LSTM(3, 3, dtype=torch.float64)
    for k, lay in ((0, l0), (1, l1)):
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lay, n + "_l0").data = torch.tensor(layer.parameters()[f"{n}_l{k}"])
    xt = torch.tensor(x, requires_grad=True)
    h, _ = l0(xt * torch.tensor(cache.input_mask))
    h, _ = l1(h * torch.tensor(cache.layers[0].drop_mask))
    y = h * torch.tensor(cache.output_mask)
    (y * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    for k, lay in ((0, l0), (1, l1)):
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            ref = getattr(lay, n + "_l0").grad.numpy()
            np.testing.assert_allclose(layer.grads[f"{n}_l{k}"], ref, rtol=0, atol=1e-12, err_msg=f"{n}_l{k}")


# -- embedding dropout ---------------------------------------------------------------------
def _embedding_problem(p=0.5, padding_idx=None):
    rng = np.random.default_rng(0)
    emb = Embedding(6, 3, padding_idx=padding_idx, dropout=p, dtype="float64", rng=np.random.default_rng(1))
    ids = rng.integers(0, 6, (5, 4))
    return emb, ids, rng.standard_normal((5, 4, 3))


def test_embedding_dropout_drops_whole_rows_with_one_mask_per_forward():
    emb, ids, _ = _embedding_problem()
    vec, (_, scale) = emb.train().forward(ids)
    W = emb.parameters()["weight"]
    assert scale.shape == (6,) and set(np.unique(scale)) <= {0.0, 2.0}
    np.testing.assert_array_equal(vec, W[ids] * scale[ids][..., None])
    dropped = scale[ids] == 0
    assert dropped.any() and (~dropped).any()
    assert np.all(vec[dropped] == 0)  # every occurrence of a dropped word
    np.testing.assert_array_equal(emb.eval().forward(ids)[0], W[ids])  # evaluation: no noise
    assert "dropout=0.5" in repr(emb) and "dropout" not in repr(Embedding(6, 3))


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_dropout_gradient_matches_central_differences(padding_idx):
    emb, ids, R = _embedding_problem(padding_idx=padding_idx)
    emb.train().zero_grad()

    def f():
        emb.rng = np.random.default_rng(5)
        return np.sum(emb.forward(ids)[0] * R)

    emb.rng = np.random.default_rng(5)
    vec, cache = emb.forward(ids)
    emb.backward(R, cache)
    W = emb.parameters()["weight"]
    num = numeric_grad(f, W)
    if padding_idx is not None:
        num[padding_idx] = 0  # as torch: the padding row gets no gradient
    assert rel_error(emb.grads["weight"], num) < 1e-8


def test_embedding_dropout_matches_torch_with_the_same_mask():
    torch = pytest.importorskip("torch")
    emb, ids, R = _embedding_problem(padding_idx=2)
    emb.train().zero_grad()
    vec, cache = emb.forward(ids)
    emb.backward(R, cache)
    W = torch.tensor(emb.parameters()["weight"], requires_grad=True)
    scale = torch.tensor(cache[1])
    # AWD-LSTM's embedded_dropout: the weight masked row-wise, then F.embedding
    y = torch.nn.functional.embedding(torch.tensor(ids), W * scale[:, None], padding_idx=2)
    (y * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(vec, y.detach().numpy(), rtol=0, atol=1e-14)
    grad = W.grad.numpy().copy()
    grad[2] = 0  # F.embedding's padding_idx keeps that row's gradient at zero
    np.testing.assert_allclose(emb.grads["weight"], grad, rtol=0, atol=1e-12)


# -- AR and TAR ------------------------------------------------------------------------------
def _ar_tar_problem():
    rng = np.random.default_rng(3)
    raw = rng.standard_normal((6, 4, 5))
    m = (rng.random((1, 4, 5)) < 0.6) / 0.6
    mask = np.arange(6)[:, None] < np.array([6, 4, 1, 3])[None, :]
    return raw, m, mask


@pytest.mark.parametrize("masked", [False, True])
def test_ar_tar_gradients_match_central_differences(masked):
    raw, m, mask = _ar_tar_problem()
    mask = mask if masked else None

    def f():
        return ar_tar_forward(raw * m, raw, 2.0, 1.5, mask)[0]

    pen, cache = ar_tar_forward(raw * m, raw, 2.0, 1.5, mask)
    d_drop, d_raw = ar_tar_backward(1.0, cache)
    assert rel_error(d_drop * m + d_raw, numeric_grad(f, raw)) < 1e-8


def test_ar_tar_match_torch_autograd_awd_formula():
    """Without padding, alpha * h~.pow(2).mean() + beta * (h[1:] - h[:-1]).pow(2).mean(), as AWD-LSTM's main.py;
    with padding, the means over the valid entries only."""
    torch = pytest.importorskip("torch")
    raw, m, mask = _ar_tar_problem()
    for use_mask in (False, True):
        h = torch.tensor(raw, requires_grad=True)
        hd = h * torch.tensor(m)
        if use_mask:
            v = torch.tensor(mask)[:, :, None].double()
            p = v[1:] * v[:-1]
            F = raw.shape[2]
            ref = 2.0 * (hd.pow(2) * v).sum() / (v.sum() * F) + 1.5 * ((h[1:] - h[:-1]).pow(2) * p).sum() / (
                p.sum() * F
            )
        else:
            ref = 2.0 * hd.pow(2).mean() + 1.5 * (h[1:] - h[:-1]).pow(2).mean()
        ref.backward()
        pen, cache = ar_tar_forward(raw * m, raw, 2.0, 1.5, mask if use_mask else None)
        d_drop, d_raw = ar_tar_backward(1.0, cache)
        assert abs(pen - ref.item()) < 1e-12
        np.testing.assert_allclose(d_drop * m + d_raw, h.grad.numpy(), rtol=0, atol=1e-13)


def test_ar_tar_off_is_zero_and_padding_changes_nothing():
    raw, m, mask = _ar_tar_problem()
    assert ar_tar_forward(raw, raw, 0.0, 0.0)[0] == 0.0
    assert ar_tar_backward(1.0, ar_tar_forward(raw, raw, 0.0, 0.0)[1]) == (None, None)
    changed = raw.copy()
    changed[~mask] = 99.0  # padded steps: not in the penalty
    assert ar_tar_forward(raw, raw, 1.0, 1.0, mask)[0] == ar_tar_forward(changed, changed, 1.0, 1.0, mask)[0]


# -- weight tying ----------------------------------------------------------------------------
def test_tied_linear_shares_the_embedding_weight_and_sums_both_gradients():
    rng = np.random.default_rng(0)
    emb = Embedding(7, 4, dtype="float64", rng=rng)
    head = TiedLinear(emb, dtype="float64", rng=rng)
    assert list(head.parameters()) == ["bias"] and head.weight is emb.parameters()["weight"]
    ids = rng.integers(0, 7, (5, 2))
    R = rng.standard_normal((5, 2, 7))

    def f():
        x, _ = emb.forward(ids)
        return np.sum(head.forward(np.tanh(x))[0] * R)

    emb.zero_grad(), head.zero_grad()
    x, ce = emb.forward(ids)
    y, ch = head.forward(np.tanh(x))
    dx = head.backward(R, ch)
    emb.backward(dx * (1 - np.tanh(x) ** 2), ce)
    assert rel_error(emb.grads["weight"], numeric_grad(f, emb.parameters()["weight"])) < 1e-8
    assert rel_error(head.grads["bias"], numeric_grad(f, head.parameters()["bias"])) < 1e-8
    plain = Linear(4, 7, dtype="float64")
    plain.load_state_dict({"weight": emb.parameters()["weight"], "bias": head.parameters()["bias"]})
    np.testing.assert_array_equal(plain.forward(np.tanh(x))[0], y)


def test_tied_linear_refuses_what_it_cannot_tie_to():
    with pytest.raises(TypeError, match="embedding: expected an rnnkit.nn.Embedding"):
        TiedLinear(Linear(3, 4))
    with pytest.raises(TypeError, match="dtype: expected the embedding's float32"):
        TiedLinear(Embedding(4, 3), dtype="float64")


def test_backward_takes_a_gradient_before_output_dropout_and_checks_its_shape():
    layer, x, _, R = _problem("lstm", 1, False, output_dropout=0.5)
    layer.train()
    out, _, cache = layer.forward(x)
    extra = np.random.default_rng(4).standard_normal(cache.output.shape)
    layer.zero_grad()
    dx_sum, _ = layer.backward(R, None, cache, extra)
    dx_a, _ = layer.backward(R, None, cache)
    dx_b, _ = layer.backward(None, None, cache, extra)  # the extra term enters before the mask: not zeroed by it
    np.testing.assert_allclose(dx_a + dx_b, dx_sum, rtol=0, atol=1e-12)
    assert np.abs(dx_b).sum() > 0
    with pytest.raises(ValueError, match=r"doutput: expected shape \(5, 3, 3\)"):
        layer.backward(R, None, cache, extra[:, :1])
