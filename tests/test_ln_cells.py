"""The layer-normalized LSTM and GRU cells (ln_lstm, ln_gru).

Gradients three ways: float64 central differences for every tensor; an independent
reference written with PyTorch primitives (autograd through ``torch.nn.functional.layer_norm``
and the gate equations) matched to 1e-10; structural equivalences (stepping equals the whole
sequence, a sequence cut in two equals it whole). Then what a registered cell gets for free:
estimators, the command line, save/load and the diagnostics (the torch twins: test_interop_torch_ln.py).
"""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit import _kernels
from rnnkit.nn import Recurrent, make_layer
from rnnkit.nn.cells import LNGRUCell, LNLSTMCell, cell_spec

LN_CELLS = ("ln_lstm", "ln_gru")
T, B, I, H = 4, 3, 2, 3


def _problem(cell, num_layers=2, bidirectional=False, bias=True, seed=0):
    """A float64 layer whose layer-norm gains and biases are moved off ones and zeros, so
    every term of the backward is exercised, with an input, an initial state and weights
    for a scalar loss."""
    rng = np.random.default_rng(seed)
    layer = Recurrent(
        cell, I, H, num_layers, bias=bias, bidirectional=bidirectional, dtype="float64", rng=np.random.default_rng(seed)
    )
    for name, p in layer.parameters().items():
        if name.startswith("ln_"):
            p[...] = rng.uniform(0.5, 1.5, p.shape) if "_weight" in name else 0.3 * rng.standard_normal(p.shape)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((T, B, I))
    shape = (num_layers * D, B, H)
    state = (
        (rng.standard_normal(shape), rng.standard_normal(shape)) if cell == "ln_lstm" else rng.standard_normal(shape)
    )
    w_out = rng.standard_normal((T, B, D * H))
    w_state = (
        (rng.standard_normal(shape), rng.standard_normal(shape)) if cell == "ln_lstm" else rng.standard_normal(shape)
    )
    return layer, x, state, w_out, w_state


def _dot(a, w):
    if isinstance(a, tuple):
        return sum(float(np.sum(p * q)) for p, q in zip(a, w, strict=True))
    return float(np.sum(a * w))


# -- the registry ------------------------------------------------------------------------------------
def test_the_ln_cells_are_registered_with_their_parameters():
    lstm, gru = cell_spec("ln_lstm"), cell_spec("LN_GRU")
    assert (lstm.mode, lstm.gates, lstm.has_cell_state, lstm.torch, lstm.onnx) == (
        "LN_LSTM",
        "ifgo",
        True,
        "LNLSTM",
        "Scan",
    )
    assert (gru.name, gru.gates, gru.has_cell_state, gru.kernels) == ("ln_gru", "rzn", False, False)
    assert isinstance(make_layer("ln_lstm", 2, 3).cell, LNLSTMCell)
    assert isinstance(make_layer("LN_GRU", 2, 3).cell, LNGRUCell)
    layer = Recurrent("ln_lstm", 2, 3, 2, bidirectional=True)
    p = layer.parameters()
    assert p["ln_ih_weight_l1_reverse"].shape == (12,) and p["ln_c_bias_l0"].shape == (3,)
    assert np.all(p["ln_hh_weight_l0"] == 1) and np.all(p["ln_hh_bias_l0"] == 0)  # torch's LayerNorm init
    assert sorted(n for n in p if n.endswith("_l0")) == sorted(
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        + [f"ln_{part}_{kind}_l0" for part in ("ih", "hh", "c") for kind in ("weight", "bias")]
    )
    names = set(Recurrent("ln_gru", 2, 3, bias=False).parameters())
    assert names == {"weight_ih_l0", "weight_hh_l0", "ln_ih_weight_l0", "ln_hh_weight_l0"}  # no bias of any kind


# -- float64 central differences --------------------------------------------------------------------
@pytest.mark.parametrize("cell", LN_CELLS)
@pytest.mark.parametrize(("bidirectional", "lengths"), [(False, None), (True, [4, 2, 3]), (False, [1, 4, 2])])
def test_ln_layers_gradcheck_in_float64(cell, bidirectional, lengths):
    layer, x, state, w_out, w_state = _problem(cell, bidirectional=bidirectional)

    def loss():
        out, s, _ = layer.forward(x, state, lengths)
        return float(np.sum(out * w_out)) + _dot(s, w_state)

    layer.zero_grad()
    _, _, cache = layer.forward(x, state, lengths)
    dx, dstate = layer.backward(w_out, w_state, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-7
    for d, s in zip(dstate if cell == "ln_lstm" else (dstate,), state if cell == "ln_lstm" else (state,), strict=True):
        assert rel_error(d, numeric_grad(loss, s)) < 1e-7
    for name, p in layer.parameters().items():
        assert rel_error(layer.grads[name], numeric_grad(loss, p)) < 1e-7, name


@pytest.mark.parametrize("cell", LN_CELLS)
def test_ln_layers_gradcheck_without_biases_and_with_recurrent_dropout(cell):
    layer, x, state, w_out, w_state = _problem(cell, num_layers=1, bias=False)
    layer.recurrent_dropout = 0.3
    layer.train()
    seed = [0]

    def run():
        layer.rng = np.random.default_rng(seed[0])  # the same masks at every call
        return layer.forward(x, state)

    def loss():
        out, s, _ = run()
        return float(np.sum(out * w_out)) + _dot(s, w_state)

    layer.zero_grad()
    _, _, cache = run()
    assert cache.layers[0].dirs[0].rec_mask is not None
    dx, _ = layer.backward(w_out, w_state, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-7
    for name, p in layer.parameters().items():
        assert rel_error(layer.grads[name], numeric_grad(loss, p)) < 1e-7, name


# -- the PyTorch-primitive reference ----------------------------------------------------------------
def _torch_reference(torch, cell, layer, x, state, lengths):
    """The layer's equations in torch, float64: stacked, bidirectional, right-padded rows
    keeping their state past their end. Returns (out, final state, parameters by name)."""
    F = torch.nn.functional
    P = {n: torch.tensor(p, requires_grad=True) for n, p in layer.parameters().items()}
    lstm = cell == "ln_lstm"
    Tn, Bn = x.shape[:2]
    L, D = layer.num_layers, layer.num_directions
    mask = torch.ones(Tn, Bn, 1, dtype=torch.float64)
    if lengths is not None:
        mask = (torch.arange(Tn)[:, None] < torch.tensor(lengths)[None, :]).double()[:, :, None]
    states = [torch.tensor(s, requires_grad=True) for s in (state if lstm else (state,))]

    def ln(v, name, sfx):
        bias = P.get(f"ln_{name}_bias{sfx}")
        return F.layer_norm(v, (v.shape[-1],), P[f"ln_{name}_weight{sfx}"], bias, eps=1e-5)

    def step(xt, h, c, sfx):
        u = ln(xt @ P["weight_ih" + sfx].T, "ih", sfx) + P["bias_ih" + sfx]
        v = ln(h @ P["weight_hh" + sfx].T, "hh", sfx) + P["bias_hh" + sfx]
        if lstm:
            i, f, g, o = (u + v).chunk(4, dim=-1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(ln(c_new, "c", sfx)), c_new
        ur, uz, un = u.chunk(3, dim=-1)
        vr, vz, vn = v.chunk(3, dim=-1)
        r, z = torch.sigmoid(ur + vr), torch.sigmoid(uz + vz)
        n = torch.tanh(un + r * vn)
        return (1 - z) * n + z * h, None

    inp = torch.tensor(x, requires_grad=True)
    layer_in, finals = inp, []
    for k in range(L):
        outs = []
        for d in range(D):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            h = states[0][k * D + d]
            c = states[1][k * D + d] if lstm else None
            ys = [None] * Tn
            for t in range(Tn - 1, -1, -1) if d else range(Tn):
                h_new, c_new = step(layer_in[t], h, c, sfx)
                m = mask[t]
                h = m * h_new + (1 - m) * h
                c = m * c_new + (1 - m) * c if lstm else None
                ys[t] = h * m
            outs.append(torch.stack(ys))
            finals.append((h, c))
        layer_in = torch.cat(outs, dim=-1)
    h_n = torch.stack([h for h, _ in finals])
    final = (h_n, torch.stack([c for _, c in finals])) if lstm else h_n
    return inp, states, layer_in, final, P


@pytest.mark.parametrize("cell", LN_CELLS)
@pytest.mark.parametrize(("bidirectional", "lengths"), [(False, None), (True, [4, 2, 3])])
def test_ln_layers_match_a_pytorch_primitive_reference_to_1e_10(cell, bidirectional, lengths):
    torch = pytest.importorskip("torch")
    layer, x, state, w_out, w_state = _problem(cell, num_layers=2, bidirectional=bidirectional, seed=3)
    out, s, cache = layer.forward(x, state, lengths)
    layer.zero_grad()
    dx, dstate = layer.backward(w_out, w_state, cache)

    inp, states, t_out, t_final, P = _torch_reference(torch, cell, layer, x, state, lengths)
    t_finals = t_final if cell == "ln_lstm" else (t_final,)
    loss = (t_out * torch.tensor(w_out)).sum()
    for f, w in zip(t_finals, w_state if cell == "ln_lstm" else (w_state,), strict=True):
        loss = loss + (f * torch.tensor(w)).sum()
    loss.backward()

    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-10)
    for ours, theirs in zip(s if cell == "ln_lstm" else (s,), t_finals, strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, inp.grad.numpy(), rtol=0, atol=1e-10)
    for ours, theirs in zip(dstate if cell == "ln_lstm" else (dstate,), states, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=1e-10)
    assert set(P) == set(layer.grads)
    for name, p in P.items():
        np.testing.assert_allclose(layer.grads[name], p.grad.numpy(), rtol=0, atol=1e-10, err_msg=name)


# -- structural equivalences -------------------------------------------------------------------------
@pytest.mark.parametrize("cell", LN_CELLS)
@pytest.mark.parametrize("kernels", ["numpy", "auto"])
def test_stepping_an_ln_layer_equals_its_forward(cell, kernels):
    layer, x, state, _, _ = _problem(cell)
    with _kernels.using(kernels):  # no compiled kernels for these cells: NumPy either way
        out, final, _ = layer.forward(x, state)
        s = state
        for t in range(T):
            s = layer.step(x[t], s)
            np.testing.assert_allclose((s[0] if cell == "ln_lstm" else s)[-1], out[t], rtol=1e-12, atol=1e-12)
    for a, b in zip(s if cell == "ln_lstm" else (s,), final if cell == "ln_lstm" else (final,), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", LN_CELLS)
def test_a_sequence_cut_in_two_equals_it_whole(cell):
    """What streaming and truncated BPTT rely on: the carried state is all there is."""
    layer, x, state, _, _ = _problem(cell)
    out, final, _ = layer.forward(x, state)
    first, mid, _ = layer.forward(x[:2], state)
    second, end, _ = layer.forward(x[2:], mid)
    np.testing.assert_allclose(np.concatenate([first, second]), out, rtol=1e-12, atol=1e-12)
    for a, b in zip(end if cell == "ln_lstm" else (end,), final if cell == "ln_lstm" else (final,), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_input_projection_is_normalized():
    """Scaling W_ih changes nothing but through eps: LN(a v) = LN(v) for a > 0."""
    layer, x, state, _, _ = _problem("ln_gru", num_layers=1)
    out, _, _ = layer.forward(x, state)
    layer.parameters()["weight_ih_l0"][...] *= 7.0
    scaled, _, _ = layer.forward(x, state)
    np.testing.assert_allclose(scaled, out, atol=1e-3)
    plain = make_layer("gru", I, H, dtype="float64", rng=np.random.default_rng(0))
    before, _ = plain.forward(x)[:2]
    plain.parameters()["weight_ih_l0"][...] *= 7.0
    assert np.abs(plain.forward(x)[0] - before).max() > 0.1  # without LN it matters


def test_initialize_leaves_the_layer_norm_parameters_alone():
    from linreg import LastStepRegressor

    from rnnkit.nn.init import initialize

    rng = np.random.default_rng(0)
    net = LastStepRegressor(Recurrent("ln_lstm", 2, 5, rng=rng), rng)
    net.rnn.parameters()["ln_c_weight_l0"][...] = 2.0
    report = initialize(net, preset="min_char_rnn", rng=rng)  # linear= and bias= for every other parameter
    assert "rnn.weight_hh_l0" in report and "head.bias" in report
    assert not any("ln_" in name for name in report)
    p = net.rnn.parameters()
    assert np.all(p["ln_c_weight_l0"] == 2.0) and np.all(p["ln_ih_weight_l0"] == 1.0)


# -- what a registered cell gets for free -----------------------------------------------------------
def _sequences(n, seed):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((int(rng.integers(3, 7)), 2)) for _ in range(n)]
    y = ["up" if x[:, 0].sum() > 0 else "down" for x in X]
    return X, y


@pytest.mark.parametrize("cell", LN_CELLS)
def test_an_estimator_trains_an_ln_cell_and_round_trips_through_save(cell, tmp_path):
    from rnnkit.models import SequenceClassifier, load_model

    X, y = _sequences(64, 0)
    clf = SequenceClassifier(cell=cell, hidden_size=8, epochs=6, lr=0.02, batch_size=16, seed=0).fit(X, y)
    assert clf.net_.rnn.mode == cell.upper()
    loss = clf.history_["loss"]
    assert loss[-1] < 0.8 * loss[0]
    path = clf.save(tmp_path / "clf.npz")
    back = load_model(path)
    assert "rnn.ln_ih_weight_l0" in back.net_.parameters()
    for name, p in clf.net_.parameters().items():
        np.testing.assert_array_equal(back.net_.parameters()[name], p, err_msg=name)
    np.testing.assert_array_equal(back.predict_proba(X[:8]), clf.predict_proba(X[:8]))


def test_the_command_line_offers_the_ln_cells(capsys):
    from rnnkit.cli import build_parser, main

    with pytest.raises(SystemExit) as exc:
        main(["train", "classify", "--help"])
    assert exc.value.code == 0
    assert "recurrent cell (lstm, gru, rnn_tanh, rnn_relu, ln_lstm, ln_gru)" in " ".join(
        capsys.readouterr().out.split()
    )
    for cell in LN_CELLS:
        args = ["gradcheck", "--cell", cell, "--hidden", "3", "--steps", "3", "--layers", "2", "--bidirectional"]
        assert main([*args, "--lengths", "3,1"]) == 0
        out = capsys.readouterr().out
        assert f"gradient check: {cell}, layers=2" in out and "PASS" in out and "FAIL" not in out
        assert "ln_c_weight" in out if cell == "ln_lstm" else "ln_hh_weight" in out
        assert build_parser().parse_args(["diagnose", "--cell", cell]).cell == cell


def test_the_diagnostics_read_the_ln_lstm_gates_and_cell_state():
    from linreg import diagnosed_step

    _, _, rec = diagnosed_step("ln_lstm")
    assert rec.modes == {"rnn": "LN_LSTM"}
    assert set(rec.flow.keys()) == {"rnn.h_l0", "rnn.c_l0"} and rec.flow.latest("rnn.c_l0").shape == (12,)
    assert set(rec.weights["rnn.weight_hh_l0"]["blocks"]) == set("ifgo")
    assert set(rec.saturation["rnn.l0"]) == set("ifgo")
