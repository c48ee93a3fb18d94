"""Initializers: statistics against their formulas, exact structure, per-gate-block initialize."""

import math

import numpy as np
import pytest

from rnnkit.nn import init
from rnnkit.nn.init import INITIALIZERS, PRESETS, initialize
from rnnkit.nn.module import Module

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
SENTINEL = 7.0  # every parameter starts here, so "was it written?" is unambiguous


class Recurrent(Module):
    """Parameters named and shaped exactly like torch.nn.RNN/LSTM/GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bidirectional=False):
        super().__init__()
        self.mode, self.hidden_size, self.num_layers, self.bidirectional = mode, hidden_size, num_layers, bidirectional
        G, H, D = GATES[mode], hidden_size, 2 if bidirectional else 1
        for k in range(num_layers):
            for sfx in ("", "_reverse")[:D]:
                fan = input_size if k == 0 else D * H
                self.register_parameter(f"weight_ih_l{k}{sfx}", np.full((G * H, fan), SENTINEL))
                self.register_parameter(f"weight_hh_l{k}{sfx}", np.full((G * H, H), SENTINEL))
                self.register_parameter(f"bias_ih_l{k}{sfx}", np.full(G * H, SENTINEL))
                self.register_parameter(f"bias_hh_l{k}{sfx}", np.full(G * H, SENTINEL))


class Linear(Module):
    def __init__(self, i, o):
        super().__init__()
        self.register_parameter("weight", np.full((o, i), SENTINEL))
        self.register_parameter("bias", np.full(o, SENTINEL))


class Raw(Module):
    """Arbitrary names and shapes, for the error paths."""

    def __init__(self, shapes, child=None):
        super().__init__()
        for name, shape in shapes.items():
            self.register_parameter(name, np.full(shape, SENTINEL))
        if child is not None:
            self.add_module(*child)


class Model(Module):
    def __init__(self, mode="LSTM", I=16, H=32, V=40, num_layers=2, bidirectional=True):
        super().__init__()
        self.add_module("encoder", Recurrent(mode, I, H, num_layers, bidirectional))
        self.add_module("head", Linear(H * (2 if bidirectional else 1), V))


def blocks(w, H):
    return [w[g * H : (g + 1) * H] for g in range(w.shape[0] // H)]


# -- single initializers -------------------------------------------------------------------
SHAPE = (500, 400)  # fan_out = 500, fan_in = 400; 200k samples: 1% on the std is > 5 standard errors


@pytest.mark.parametrize(
    "name, kw, bound, std",
    [
        ("xavier_uniform", {}, math.sqrt(6 / 900), math.sqrt(6 / 900) / math.sqrt(3)),
        ("xavier_uniform", {"gain": 5 / 3}, 5 / 3 * math.sqrt(6 / 900), 5 / 3 * math.sqrt(6 / 900) / math.sqrt(3)),
        ("xavier_normal", {"gain": 2.0}, None, 2.0 * math.sqrt(2 / 900)),
        ("kaiming_uniform", {}, math.sqrt(2) * math.sqrt(3 / 400), math.sqrt(2 / 400)),
        (
            "kaiming_uniform",
            {"mode": "fan_out", "nonlinearity": "tanh"},
            5 / 3 * math.sqrt(3 / 500),
            5 / 3 / math.sqrt(500),
        ),
        ("kaiming_normal", {}, None, math.sqrt(2 / 400)),
        ("kaiming_normal", {"a": 0.2, "mode": "fan_out"}, None, math.sqrt(2 / 1.04) / math.sqrt(500)),
        ("scaled_normal", {}, None, 0.01),
        ("scaled_normal", {"std": 0.001}, None, 0.001),
        ("uniform_default", {}, 1 / math.sqrt(500), 1 / math.sqrt(500) / math.sqrt(3)),
        ("uniform_default", {"hidden_size": 16}, 0.25, 0.25 / math.sqrt(3)),
    ],
)
def test_statistics_match_the_formula(name, kw, bound, std):
    w = INITIALIZERS[name](SHAPE, rng=np.random.default_rng(0), **kw)
    assert w.shape == SHAPE and w.dtype == np.float64
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.9999 * bound  # the whole range: P(fail) = 0.9999**200000 ~ 2e-9
    else:  # Gaussian: the bulk sits within 5 sigma, some of it beyond 3
        assert np.abs(w).max() < 6 * std and (np.abs(w) > 3 * std).mean() == pytest.approx(0.0027, rel=0.15)


def test_gains_match_torch():
    torch = pytest.importorskip("torch", reason="torch.nn.init.calculate_gain is the reference")
    for nl, a in [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.3),
        ("selu", None),
    ]:
        assert init.calculate_gain(nl, a) == pytest.approx(torch.nn.init.calculate_gain(nl, a), rel=1e-15)


@pytest.mark.parametrize("shape", [(64, 64), (16, 40), (40, 16)])
@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_orthogonal(shape, gain):
    q = init.orthogonal(shape, rng=np.random.default_rng(1), gain=gain)
    small = min(shape)
    gram = q.T @ q if shape[0] >= shape[1] else q @ q.T  # (small, small)
    np.testing.assert_allclose(gram, gain**2 * np.eye(small), atol=1e-12)
    assert not np.allclose(np.abs(q), gain * np.eye(*shape))  # random, not a permutation of I


@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9)])
def test_orthogonal_is_the_haar_q(shape):
    """Q of the QR decomposition with diag(R) > 0, which is unique and Haar-distributed
    (Mezzadri 2007); rebuilt here through the Cholesky factor R = chol(A^T A)^T."""
    q = init.orthogonal(shape, rng=np.random.default_rng(2))
    a = np.random.default_rng(2).standard_normal(shape)
    a = a if shape[0] >= shape[1] else a.T  # tall
    r = np.linalg.cholesky(a.T @ a).T  # upper triangular, positive diagonal
    expected = a @ np.linalg.inv(r)
    np.testing.assert_allclose(q, expected if shape[0] >= shape[1] else expected.T, atol=1e-10)


def test_exact_initializers():
    np.testing.assert_array_equal(init.identity((3, 5), rng=None, gain=2.0), 2.0 * np.eye(3, 5))
    np.testing.assert_array_equal(init.identity((4, 4), rng=None), np.eye(4))
    np.testing.assert_array_equal(init.zeros((2, 3), rng=None), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.constant(4, rng=None, value=1.5), np.full(4, 1.5))


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_deterministic_and_dtype(name):
    f = INITIALIZERS[name]
    a = f((12, 10), rng=np.random.default_rng(3), dtype=np.float32)
    b = f((12, 10), rng=np.random.default_rng(3), dtype="float32")
    assert a.dtype == np.float32 and a.shape == (12, 10)
    np.testing.assert_array_equal(a, b)
    if name not in ("identity", "zeros", "constant"):
        assert not np.array_equal(a, f((12, 10), rng=np.random.default_rng(4), dtype=np.float32))


# -- initialize -----------------------------------------------------------------------------
def test_lstm_per_gate_blocks_and_forget_bias():
    model = Model("LSTM", I=16, H=32, num_layers=2, bidirectional=True)
    params = model.parameters()
    ids = {n: id(p) for n, p in params.items()}
    report = initialize(model, rng=np.random.default_rng(0))
    H = 32
    rec = [n for n in params if n.startswith("encoder.")]
    assert sorted(report) == sorted(rec) and len(rec) == 16
    for sfx in ("", "_reverse"):
        for k, fan_in in ((0, 16), (1, 64)):
            w_hh = params[f"encoder.weight_hh_l{k}{sfx}"]
            for b in blocks(w_hh, H):  # orthogonal per gate ...
                np.testing.assert_allclose(b.T @ b, np.eye(H), atol=1e-12)
            np.testing.assert_allclose(w_hh.T @ w_hh, 4 * np.eye(H), atol=1e-12)  # ... not across gates
            w_ih = params[f"encoder.weight_ih_l{k}{sfx}"]
            block_bound = math.sqrt(6 / (H + fan_in))  # fans of one (H, in) block
            assert np.abs(w_ih).max() <= block_bound
            assert np.abs(w_ih).max() > math.sqrt(6 / (4 * H + fan_in))  # fans of the stack would be too tight
            b_ih, b_hh = params[f"encoder.bias_ih_l{k}{sfx}"], params[f"encoder.bias_hh_l{k}{sfx}"]
            np.testing.assert_array_equal(b_ih[H : 2 * H], np.ones(H))
            np.testing.assert_array_equal(b_hh[H : 2 * H], np.zeros(H))
            np.testing.assert_array_equal(np.delete(b_ih, np.s_[H : 2 * H]), np.zeros(3 * H))
            np.testing.assert_array_equal(np.delete(b_hh, np.s_[H : 2 * H]), np.zeros(3 * H))
    for n in ("head.weight", "head.bias"):  # not recurrent, no linear=: untouched
        assert (params[n] == SENTINEL).all()
    assert {n: id(p) for n, p, _ in model.named_parameters()} == ids  # written in place
    assert all(not g.any() for _, _, g in model.named_parameters())  # gradients untouched


def test_each_block_is_its_own_draw_in_parameter_order():
    model = Recurrent("GRU", 5, 6)
    initialize(model, weight_ih="xavier_normal", weight_hh="orthogonal", rng=np.random.default_rng(11))
    rng = np.random.default_rng(11)
    expected_ih = np.concatenate([init.xavier_normal((6, 5), rng=rng) for _ in range(3)])
    expected_hh = np.concatenate([init.orthogonal((6, 6), rng=rng) for _ in range(3)])
    np.testing.assert_array_equal(model.parameters()["weight_ih_l0"], expected_ih)
    np.testing.assert_array_equal(model.parameters()["weight_hh_l0"], expected_hh)


def test_deterministic_given_seed():
    a, b, c = Model(), Model(), Model()
    initialize(a, rng=np.random.default_rng(5))
    initialize(b, rng=np.random.default_rng(5))
    initialize(c, rng=np.random.default_rng(6))
    for (n, p, _), (_, q, _), (_, r, _) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters(), strict=False
    ):
        np.testing.assert_array_equal(p, q, err_msg=n)
        if n.startswith("encoder.weight"):
            assert not np.array_equal(p, r), n


@pytest.mark.parametrize("mode", ["GRU", "RNN_TANH"])
def test_gru_and_rnn_have_no_forget_gate(mode):
    model = Model(mode, H=8, num_layers=1, bidirectional=False)
    initialize(model, forget_bias=3.0, rng=np.random.default_rng(0))
    p = model.parameters()
    G = GATES[mode]
    np.testing.assert_allclose(p["encoder.weight_hh_l0"].T @ p["encoder.weight_hh_l0"], G * np.eye(8), atol=1e-12)
    assert not p["encoder.bias_ih_l0"].any() and not p["encoder.bias_hh_l0"].any()


def test_forget_bias_options():
    H = 8
    model = Model(H=H, num_layers=1, bidirectional=False)
    initialize(model, bias="uniform_default", forget_bias=2.5, rng=np.random.default_rng(0))
    b_ih, b_hh = model.parameters()["encoder.bias_ih_l0"], model.parameters()["encoder.bias_hh_l0"]
    assert (b_ih[H : 2 * H] == 2.5).all() and (b_hh[H : 2 * H] == 0.0).all()
    assert (b_ih + b_hh)[H : 2 * H].tolist() == [2.5] * H  # the gate sees forget_bias
    rest = np.concatenate([np.delete(b_ih, np.s_[H : 2 * H]), np.delete(b_hh, np.s_[H : 2 * H])])
    assert (np.abs(rest) <= 1 / math.sqrt(H)).all() and np.count_nonzero(rest) == rest.size
    initialize(model, forget_bias=None, rng=np.random.default_rng(0))
    assert not model.parameters()["encoder.bias_ih_l0"].any()


def test_linear_parameters_only_on_request():
    model = Model(H=10, V=30, bidirectional=False)
    report = initialize(
        model,
        linear="xavier_uniform",
        bias=("constant", {"value": 0.5}),
        forget_bias=None,
        rng=np.random.default_rng(0),
    )
    w, b = model.parameters()["head.weight"], model.parameters()["head.bias"]
    assert report["head.weight"] == "xavier_uniform" and report["head.bias"] == "constant"
    assert np.abs(w).max() <= math.sqrt(6 / 40) and np.count_nonzero(w) == w.size
    assert (b == 0.5).all()


def test_irnn_preset():
    model = Recurrent("RNN_RELU", 64, 64, num_layers=2)
    initialize(model, preset="irnn", rng=np.random.default_rng(0))
    p = model.parameters()
    for k in (0, 1):
        np.testing.assert_array_equal(p[f"weight_hh_l{k}"], np.eye(64))
        assert p[f"weight_ih_l{k}"].std() == pytest.approx(0.001, rel=0.05)
        assert not p[f"bias_ih_l{k}"].any() and not p[f"bias_hh_l{k}"].any()
    initialize(model, preset="irnn", weight_hh=("identity", {"gain": 0.5}), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(p["weight_hh_l0"], 0.5 * np.eye(64))  # explicit keywords override
    assert PRESETS["irnn"]["weight_hh"] == "identity"


@pytest.mark.parametrize("mode", ["LSTM", "RNN_TANH"])
def test_irnn_refuses_other_layers(mode):
    model = Recurrent(mode, 4, 4)
    with pytest.raises(
        ValueError, match=r"weight_hh_l0: expected a RNN_RELU layer for this preset, got (LSTM|RNN_TANH)"
    ):
        initialize(model, preset="irnn", rng=np.random.default_rng(0))
    assert (model.parameters()["weight_hh_l0"] == SENTINEL).all()


def test_pytorch_and_min_char_rnn_presets():
    model = Model(H=16, V=50, num_layers=1, bidirectional=False)
    initialize(model, preset="pytorch", rng=np.random.default_rng(0))
    for n, p in model.parameters().items():
        if n.startswith("encoder."):
            assert np.abs(p).max() <= 0.25 and np.count_nonzero(p) == p.size, n
    initialize(model, preset="min_char_rnn", rng=np.random.default_rng(0))
    p = model.parameters()
    assert p["encoder.weight_hh_l0"].std() == pytest.approx(0.01, rel=0.1)
    assert p["head.weight"].std() == pytest.approx(0.01, rel=0.1) and not p["head.bias"].any()


# -- bad input ------------------------------------------------------------------------------
def test_unknown_names_list_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"weight_hh: expected one of \['constant', 'identity', .*'zeros'\] or \(name, kwargs\), got 'orthogonl'",
    ):
        initialize(Model(), weight_hh="orthogonl", rng=np.random.default_rng(0))
    with pytest.raises(
        ValueError, match=r"preset: expected one of \['irnn', 'min_char_rnn', 'pytorch'\], got 'xavier'"
    ):
        initialize(Model(), preset="xavier", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of .*'tanh'\], got 'gelu'"):
        init.kaiming_normal((3, 3), rng=np.random.default_rng(0), nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"mode: expected 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_uniform((3, 3), rng=np.random.default_rng(0), mode="fan_avg")


def test_bad_shapes_and_arguments():
    bad = Raw({"weight_ih_l0": (10, 3), "weight_hh_l0": (10, 4)})
    with pytest.raises(
        ValueError, match=r"weight_hh_l0: expected shape \(G\*H, H\) with G in \(1, 3, 4\) gates, got \(10, 4\)"
    ):
        initialize(bad, rng=np.random.default_rng(0))
    lone = Raw({}, child=("enc", Raw({"weight_ih_l0": (8, 3)})))
    with pytest.raises(ValueError, match=r"enc.weight_hh_l0: expected it beside enc.weight_ih_l0 to infer hidden_size"):
        initialize(lone, rng=np.random.default_rng(0))
    mismatch = Raw({"weight_ih_l0": (8, 3), "weight_hh_l0": (8, 2), "bias_ih_l0": (8,), "bias_hh_l0": (6,)})
    with pytest.raises(ValueError, match=r"bias_hh_l0: expected shape \(8,\) for G=4 gates of H=2, got \(6,\)"):
        initialize(mismatch, rng=np.random.default_rng(0))
    model = Model()
    with pytest.raises(
        ValueError, match=r"shape: expected at least 2 dimensions .* got \(32,\); hint: initialize biases"
    ):
        initialize(model, bias="xavier_uniform", rng=np.random.default_rng(0))
    assert all((p == SENTINEL).all() for p in model.parameters().values())  # nothing half-written
    with pytest.raises(TypeError, match=r"rng: expected a numpy.random.Generator, got int"):
        initialize(model, rng=0)
    with pytest.raises(TypeError, match=r"module: expected a Module, got dict"):
        initialize({}, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"shape: expected a tuple of non-negative ints, got \(3, -1\)"):
        init.xavier_uniform((3, -1), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"dtype: expected float32 or float64"):
        init.zeros((2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match=r"std: expected a finite number >= 0, got -0.1"):
        init.scaled_normal((2, 2), rng=np.random.default_rng(0), std=-0.1)
    with pytest.raises(ValueError, match=r"forget_bias: expected a finite number, got nan"):
        initialize(model, forget_bias=float("nan"), rng=np.random.default_rng(0))
