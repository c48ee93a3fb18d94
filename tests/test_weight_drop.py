"""Weight drop (DropConnect on W_hh): gradients under a held mask, one mask per forward,
inference untouched, and the option through estimators, save/load and the command line."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.nn import GRU, LSTM, RNN, Recurrent

LAYERS = {
    "lstm": LSTM,
    "gru": GRU,
    "rnn_tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k),
    "ln_lstm": lambda *a, **k: Recurrent("ln_lstm", *a, **k),
    "ln_gru": lambda *a, **k: Recurrent("ln_gru", *a, **k),
}
CASES = [(c, 1, False) for c in LAYERS] + [("lstm", 2, False), ("gru", 2, True), ("ln_lstm", 1, True)]


def _problem(cell, layers, bidi, p=0.4, seed=0):
    rng = np.random.default_rng(seed)
    T, B, I, H = 4, 3, 3, 3
    layer = LAYERS[cell](I, H, layers, bidirectional=bidi, weight_drop=p, dtype="float64", rng=np.random.default_rng(1))
    D = 2 if bidi else 1
    shape = (layers * D, B, H)
    h0 = 0.5 * rng.standard_normal(shape)
    state = (h0, 0.5 * rng.standard_normal(shape)) if layer.cell.has_cell_state else h0
    x = rng.standard_normal((T, B, I))
    R = rng.standard_normal((T, B, D * H))
    S = [rng.standard_normal(shape) for _ in range(2)]
    return layer, x, np.array([4, 2, 1]), state, R, S


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_compiled_kernels_run_with_the_masked_weight(cell):
    """Without lengths, the compiled whole-sequence kernels run the loop; they see W_hh * M / (1 - p)."""
    pytest.importorskip("numba")
    from rnnkit import _kernels

    runs = []
    for mode in ("numpy", "numba"):
        layer, x, _, state, R, S = _problem(cell, 1, False)
        layer.train().zero_grad()
        with _kernels.using(mode):
            layer.rng = np.random.default_rng(7)
            out, st, cache = layer.forward(x, state)
            dx, _ = layer.backward(R, (S[0], S[1]) if isinstance(st, tuple) else S[0], cache)
        runs.append({"out": out, "dx": dx, **{k: v.copy() for k, v in layer.grads.items()}})
    for k, ref in runs[0].items():
        np.testing.assert_allclose(runs[1][k], ref, rtol=1e-11, atol=1e-12, err_msg=k)


def _loss(layer, x, lengths, state, R, S):
    layer.rng = np.random.default_rng(7)  # the same mask on every call: the loss as a function of the weights
    out, st, _ = layer.forward(x, state, lengths)
    parts = st if isinstance(st, tuple) else (st,)
    return np.sum(out * R) + sum(np.sum(a * s) for a, s in zip(parts, S, strict=False))


@pytest.mark.parametrize("cell,layers,bidi", CASES)
def test_gradients_match_central_differences_under_a_held_mask(cell, layers, bidi):
    layer, x, lengths, state, R, S = _problem(cell, layers, bidi)
    layer.train().zero_grad()
    layer.rng = np.random.default_rng(7)
    out, st, cache = layer.forward(x, state, lengths)
    assert all(dc.weight_mask is not None for lc in cache.layers for dc in lc.dirs)
    dx, dstate0 = layer.backward(R, (S[0], S[1]) if isinstance(st, tuple) else S[0], cache)
    f = lambda: _loss(layer, x, lengths, state, R, S)  # noqa: E731
    errors = {name: rel_error(layer.grads[name], numeric_grad(f, p)) for name, p in layer.parameters().items()}
    errors["x"] = rel_error(dx, numeric_grad(f, x))
    for i, (s, ds) in enumerate(zip(*(v if isinstance(v, tuple) else (v,) for v in (state, dstate0)), strict=True)):
        errors[f"state[{i}]"] = rel_error(ds, numeric_grad(f, s))
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"worst relative error {errors[worst]:.2e} in {worst}"


@pytest.mark.parametrize("cell", ["lstm", "gru", "ln_lstm"])
def test_one_mask_at_every_step_equals_the_layer_with_the_masked_weight(cell):
    """The training forward equals an evaluation forward whose W_hh is W_hh * M / (1 - p),
    M the mask the cache holds: the same mask at every step, W_ih and biases untouched."""
    layer, x, lengths, state, R, S = _problem(cell, 2, True, p=0.5)
    layer.train()
    out, st, cache = layer.forward(x, state, lengths)
    masks = {layer._suffix(k, d): dc.weight_mask for k, lc in enumerate(cache.layers) for d, dc in enumerate(lc.dirs)}
    for m in masks.values():
        assert set(np.unique(m)) == {0.0, 2.0}  # Bernoulli(1 - p) / (1 - p)
    twin = LAYERS[cell](3, 3, 2, bidirectional=True, dtype="float64")
    twin.load_state_dict(layer.state_dict())
    for sfx, m in masks.items():
        twin.parameters()["weight_hh" + sfx][...] *= m
    ref, ref_st, _ = twin.eval().forward(x, state, lengths)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-13)
    # a new forward draws new masks
    _, _, cache2 = layer.forward(x, state, lengths)
    assert not np.array_equal(cache2.layers[0].dirs[0].weight_mask, masks["_l0"])


def test_the_mask_is_the_same_at_every_step_by_a_manual_unroll():
    """Stepping an LSTM cell by hand with W_hh * M / (1 - p) at each step gives the layer's outputs."""
    layer, x, _, state, _, _ = _problem("lstm", 1, False, p=0.3)
    layer.train()
    out, _, cache = layer.forward(x, state)
    m = cache.layers[0].dirs[0].weight_mask
    P = layer.parameters()
    W_hh = P["weight_hh_l0"] * m
    h, c = state[0][0], state[1][0]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(x.shape[0]):
        a = x[t] @ P["weight_ih_l0"].T + P["bias_ih_l0"] + h @ W_hh.T + P["bias_hh_l0"]
        i, f, g, o = np.split(a, 4, axis=1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        np.testing.assert_allclose(out[t], h, rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", list(LAYERS))
def test_evaluation_and_step_use_the_weight_unchanged(cell):
    layer, x, lengths, state, _, _ = _problem(cell, 2, False, p=0.6)
    plain = LAYERS[cell](3, 3, 2, dtype="float64")
    plain.load_state_dict(layer.state_dict())
    layer.eval(), plain.eval()
    out, _, cache = layer.forward(x, state, lengths)
    assert cache.layers[0].dirs[0].weight_mask is None
    np.testing.assert_array_equal(out, plain.forward(x, state, lengths)[0])
    np.testing.assert_array_equal(layer.step(x[0], state)[0], plain.step(x[0], state)[0])
    layer.train()
    assert not np.allclose(layer.forward(x, state, lengths)[0], out)  # while training the mask is applied


def test_weight_drop_zero_draws_nothing_and_changes_nothing():
    a = LSTM(3, 4, dtype="float64", rng=np.random.default_rng(0))
    b = LSTM(3, 4, weight_drop=0.0, dtype="float64", rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    np.testing.assert_array_equal(a.forward(x)[0], b.forward(x)[0])
    assert a.rng.random() == b.rng.random()  # no draw from the generator
    assert "weight_drop" not in repr(a) and "weight_drop=0.25" in repr(LSTM(3, 4, weight_drop=0.25))


def test_matches_a_torch_reference_with_the_same_mask():
    """Autograd through the LSTM equations with W_hh * M / (1 - p), in float64."""
    torch = pytest.importorskip("torch")
    layer, x, _, state, R, S = _problem("lstm", 1, False, p=0.4)
    layer.train().zero_grad()
    out, (h_n, c_n), cache = layer.forward(x, state)
    dx, _ = layer.backward(R, (S[0], S[1]), cache)
    m = torch.tensor(cache.layers[0].dirs[0].weight_mask)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in layer.parameters().items()}
    xt = torch.tensor(x, requires_grad=True)
    h, c = torch.tensor(state[0][0]), torch.tensor(state[1][0])
    W_hh = P["weight_hh_l0"] * m
    outs = []
    for t in range(x.shape[0]):
        a = xt[t] @ P["weight_ih_l0"].T + P["bias_ih_l0"] + h @ W_hh.T + P["bias_hh_l0"]
        i, f, g, o = a.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    out_t = torch.stack(outs)
    loss = (out_t * torch.tensor(R)).sum() + (h * torch.tensor(S[0][0])).sum() + (c * torch.tensor(S[1][0])).sum()
    loss.backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-10)
    for name, p in P.items():
        np.testing.assert_allclose(layer.grads[name], p.grad.numpy(), rtol=0, atol=1e-10, err_msg=name)
    assert np.abs(layer.grads["weight_hh_l0"][m.numpy() == 0]).max() == 0  # dropped entries get no gradient


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "half"])
def test_bad_values_are_errors_naming_weight_drop(bad):
    from rnnkit.models import SequenceClassifier

    with pytest.raises((ValueError, TypeError), match="weight_drop"):
        LSTM(3, 4, weight_drop=bad)
    X = np.random.default_rng(0).standard_normal((8, 5, 2))
    with pytest.raises((ValueError, TypeError), match="weight_drop"):
        SequenceClassifier(weight_drop=bad, epochs=1).fit(X, np.arange(8) % 2)


def test_an_estimator_trains_with_weight_drop_and_keeps_it_through_save_and_load(tmp_path):
    from rnnkit.models import SequenceRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 8, 2))
    y = X[:, :, 0].sum(axis=1) * 0.3
    model = SequenceRegressor(hidden_size=16, weight_drop=0.5, epochs=15, lr=0.01, seed=0, dtype="float64")
    model.fit(X, y)
    assert model.net_.rnn.weight_drop == 0.5
    losses = model.history_["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    model.save(tmp_path / "m.npz")
    loaded = SequenceRegressor.load(tmp_path / "m.npz")
    assert loaded.get_params()["weight_drop"] == 0.5 and loaded.net_.rnn.weight_drop == 0.5
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))  # prediction: no mask


def test_cli_weight_drop_reaches_the_layer(tmp_path, capsys):
    from rnnkit.cli import main
    from rnnkit.models import SequenceClassifier

    folder = tmp_path / "r"
    assert (
        main(["train", "classify", "--preset", "tiny", "--out", str(folder), "--no-plots", "--weight-drop", "0.3"]) == 0
    )
    assert SequenceClassifier.load(folder / "model.npz").net_.rnn.weight_drop == 0.3
    assert "weight_drop = 0.3" in (folder / "config.toml").read_text()
    assert main(["train", "classify", "--preset", "tiny", "--out", str(tmp_path / "s"), "--weight-drop", "x"]) != 0
    assert "--weight-drop: expected a number" in capsys.readouterr().err


def test_a_char_lm_trains_with_weight_drop_under_truncated_bptt():
    """Truncated BPTT: every window's forward draws its own mask; the loss still falls."""
    from rnnkit.models import CharLM

    text = "the quick brown fox jumps over the lazy dog. " * 40
    model = CharLM(hidden_size=24, embedding_dim=8, k1=12, batch_size=8, epochs=6, lr=1e-2, seed=0, weight_drop=0.3)
    model.fit(text)
    assert model.net_.rnn.weight_drop == 0.3
    losses = model.history_["loss"]
    assert losses[-1] < 0.8 * losses[0], losses


def test_weight_drop_is_a_layer_regularizer_every_recurrent_model_honours():
    """Declared once (rnnkit.train.regularizers): every estimator takes it keyword-only,
    every recurrent model sets it on each recurrent layer, FeedForward refuses it."""
    import inspect

    from rnnkit.models import FeedForward, Seq2Seq
    from rnnkit.nn.recurrent import _Recurrent
    from rnnkit.train.regularizers import MODEL_REGULARIZERS, REGULARIZERS
    from rnnkit.train.resume import walk_modules

    r = REGULARIZERS["weight_drop"]
    assert (r.default, r.awd, r.where, r.probability) == (0.0, "wdrop", "layer", True)
    assert all("weight_drop" in names for names in MODEL_REGULARIZERS.values())
    param = inspect.signature(Seq2Seq).parameters["weight_drop"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default == 0.0
    model = Seq2Seq(hidden_size=6, embedding_dim=4, epochs=1, seed=0, weight_drop=0.25)
    model.fit(["ab", "ba", "aab"], ["ba", "ab", "baa"])
    layers = [m for _, m in walk_modules(model.net_) if isinstance(m, _Recurrent)]
    assert len(layers) == 2 and all(layer.weight_drop == 0.25 for layer in layers)  # encoder and decoder
    X = np.random.default_rng(0).standard_normal((8, 5, 2))
    with pytest.raises(ValueError, match=r"weight_drop: FeedForward cannot apply it .*hint: leave it at 0.0"):
        FeedForward(weight_drop=0.2, epochs=1).fit(X, np.arange(8) % 2)


def test_every_task_offers_weight_drop_on_the_command_line():
    from rnnkit.cli import options
    from rnnkit.cli.tasks import TASKS

    for name, task in TASKS.items():
        field = options.fields(task.config_class).get("weight_drop")
        assert field is not None and field.default == 0.0, name
        assert "wdrop" in field.metadata["help"], name
