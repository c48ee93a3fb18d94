"""The registries: a cell, an optimizer, a schedule declared once, every list derived from them.

A toy cell is declared in one place below (its class and one ``register_cell`` call, undone
by the fixture); the layer, gradcheck, the estimators, the command line and the exporters
must then take it, or refuse it by name, with no other edit anywhere.
"""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit import _kernels
from rnnkit.nn import Recurrent, make_layer
from rnnkit.nn.cells import CELLS, Cell, CellSpec, cell_names, cell_spec, make_cell, register_cell, unregister_cell
from rnnkit.optim import OPTIMIZERS, SGD, make_optimizer, register_optimizer, unregister_optimizer
from rnnkit.optim.schedules import SCHEDULES, StepLR, make_schedule, register_schedule, unregister_schedule


class ToyCell(Cell):
    """A leaky tanh cell: h_t = (h_{t-1} + tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)) / 2."""

    num_gates = 1

    def project(self, x2, W_ih, b_ih, b_hh, out=None):
        xp = np.matmul(x2, W_ih.T, out=out)  # (T*B, I) x (I, H)
        if b_ih is not None:
            xp += b_ih + b_hh
        return xp

    def recurrent_weight(self, W_hh, b_hh):
        return np.ascontiguousarray(W_hh.T), None

    def allocate(self, T, B, H, dtype, empty=np.empty):
        return {"gates": empty((T, B, H), dtype)}  # its one gate a_t = tanh(pre_t), as the diagnostics read it

    def workspace(self, B, H, dtype):
        return {}

    def step_forward(self, xp, hr, h, c, Wr, br, store, t, h_out, c_out, ws, kern):
        a = store["gates"][t]
        np.matmul(hr, Wr, out=a)  # (B, H) x (H, H)
        a += xp
        np.tanh(a, out=a)
        np.add(h, a, out=h_out)
        h_out *= 0.5

    def step_once(self, x, h, c, W_ih, W_hh, b_ih, b_hh, h_out, c_out):
        a = x @ W_ih.T + h @ W_hh.T + (0 if b_ih is None else b_ih + b_hh)
        h_out[...] = 0.5 * (h + np.tanh(a))

    def step_backward(self, dh, dc, h, c, h_new, W_hh, store, t, dgi, dgh, rec_mask, dh_out, dc_out, ws, kern):
        a = store["gates"][t]
        np.multiply(dh, 0.5 * (1.0 - a * a), out=dgi)  # dpre
        np.matmul(dgi, W_hh, out=dh_out)  # (B, H) x (H, H)
        if rec_mask is not None:
            dh_out *= rec_mask
        dh_out += 0.5 * dh  # the leak


@pytest.fixture
def toy():
    spec = register_cell(CellSpec("toy", "TOY", ToyCell, gates="a"))
    yield spec
    unregister_cell("toy")


# -- the registry itself ---------------------------------------------------------------------------
def test_the_built_in_cells_are_registered_with_their_gate_orders():
    assert cell_names() == ("lstm", "gru", "rnn_tanh", "rnn_relu", "ln_lstm", "ln_gru")
    lstm, gru = cell_spec("lstm"), cell_spec("GRU")
    assert (lstm.mode, lstm.num_gates, lstm.onnx_order, lstm.torch) == ("LSTM", 4, (0, 3, 1, 2), "LSTM")
    assert (gru.name, gru.num_gates, gru.onnx_order) == ("gru", 3, (1, 0, 2))
    assert cell_spec("rnn_relu").layer_kwargs == {"nonlinearity": "relu"}
    assert [spec.kernels for spec in CELLS.values()] == [True, True, True, True, False, False]
    assert make_cell("RNN_RELU").nonlinearity == "relu"
    assert [spec.has_cell_state for spec in CELLS.values()] == [True, False, False, False, True, False]
    assert lstm.activations == ("sigmoid", "sigmoid", "tanh", "sigmoid") and gru.activations[2] == "tanh"
    assert cell_spec("rnn_relu").activations == ("relu",)


def test_registering_checks_the_spec(toy):
    assert "toy" in cell_names() and not toy.kernels and toy.onnx is None
    assert not toy.has_cell_state and toy.activations is None
    with pytest.raises(ValueError, match="already registered"):
        register_cell(CellSpec("toy", "TOY2", ToyCell, gates="a"))
    with pytest.raises(ValueError, match="spec.gates: expected one letter per gate block of the cell"):
        register_cell(CellSpec("toy2", "TOY2", ToyCell, gates="ab"))
    with pytest.raises(ValueError, match="lower-case name and an upper-case mode"):
        register_cell(CellSpec("Toy2", "TOY2", ToyCell, gates="a"))
    with pytest.raises(ValueError, match="spec.activations: expected one of sigmoid, tanh, relu per gate of 'a'"):
        register_cell(CellSpec("toy2", "TOY2", ToyCell, gates="a", activations=("tanh", "tanh")))
    with pytest.raises(TypeError, match="spec: expected a CellSpec"):
        register_cell(ToyCell)


def test_unknown_cells_are_refused_with_the_registered_names(toy):
    with pytest.raises(
        ValueError, match="mode: expected one of LSTM, GRU, RNN_TANH, RNN_RELU, LN_LSTM, LN_GRU, TOY, got 'NOPE'"
    ):
        make_cell("NOPE")
    with pytest.raises(
        ValueError, match="cell: expected one of lstm, gru, rnn_tanh, rnn_relu, ln_lstm, ln_gru, toy, got 'nope'"
    ):
        Recurrent("nope", 2, 3)


def test_without_registration_the_toy_is_unknown():
    assert "toy" not in CELLS
    with pytest.raises(ValueError, match="got 'toy'"):
        make_layer("toy", 2, 3)


def test_built_in_layers_come_from_their_specs():
    from rnnkit.nn import GRU, RNN

    relu = make_layer("rnn_relu", 2, 3, 2, rng=np.random.default_rng(0))
    assert type(relu) is RNN and relu.mode == "RNN_RELU" and relu.num_layers == 2
    assert type(make_layer("GRU", 2, 3)) is GRU


# -- a layer of the toy cell ---------------------------------------------------------------------
def _toy_problem(bidirectional, seed=0):
    rng = np.random.default_rng(seed)
    T, B, I, H = 4, 3, 2, 3
    layer = Recurrent("toy", I, H, 2, bidirectional=bidirectional, dtype="float64", rng=np.random.default_rng(seed + 1))
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((2 * (2 if bidirectional else 1), B, H))
    lengths = np.array([4, 2, 3])
    w_out = rng.standard_normal((T, B, H * (2 if bidirectional else 1)))
    w_h = rng.standard_normal(h0.shape)
    return layer, x, h0, lengths, w_out, w_h


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_toy_layer_gradchecks_in_float64(toy, bidirectional):
    layer, x, h0, lengths, w_out, w_h = _toy_problem(bidirectional)
    assert layer.mode == "TOY" and isinstance(layer.cell, ToyCell)

    def loss():
        out, h_n, _ = layer.forward(x, h0, lengths)
        return float(np.sum(out * w_out) + np.sum(h_n * w_h))

    layer.zero_grad()
    out, h_n, cache = layer.forward(x, h0, lengths)
    dx, dh0 = layer.backward(w_out, w_h, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-7
    assert rel_error(dh0, numeric_grad(loss, h0)) < 1e-7
    for name, p in layer.parameters().items():
        assert rel_error(layer.grads[name], numeric_grad(loss, p)) < 1e-7, name


@pytest.mark.parametrize("kernels", ["numpy", "auto"])
def test_a_toy_layer_steps_like_its_forward_with_or_without_kernels(toy, kernels):
    layer, x, h0, _, _, _ = _toy_problem(False)
    with _kernels.using(kernels):  # the toy has no compiled kernels: NumPy runs either way
        out, h_n, _ = layer.forward(x, h0)
        h = h0
        for t in range(x.shape[0]):
            h = layer.step(x[t], h)
            np.testing.assert_allclose(h[-1], out[t], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, h_n, rtol=1e-12, atol=1e-12)


# -- the diagnostics --------------------------------------------------------------------------------
def test_the_diagnostics_monitor_takes_the_toy_cell(toy):
    from linreg import diagnosed_step

    from rnnkit.diagnostics import check_flow
    from rnnkit.diagnostics.health import gate_saturation

    net, x, rec = diagnosed_step("toy")
    assert rec.steps == [0] and rec.modes == {"rnn": "TOY"}
    assert rec.flow.keys() == ["rnn.h_l0"] and rec.flow.latest("rnn.h_l0").shape == (12,)
    assert set(rec.weights["rnn.weight_hh_l0"]["blocks"]) == {"a"}  # W_hh's gate blocks: the spec's letters
    assert rec.saturation == {}  # the spec declares no activations: no saturation numbers
    _, _, cache = net.rnn.forward(x)
    with pytest.raises(ValueError, match="layer: cell 'TOY' declares no gate activations"):
        gate_saturation(net.rnn, cache)
    (finding,) = check_flow("rnn.h_l0", 0.5 ** np.arange(20)[::-1], mode="TOY")  # the general explanation
    assert finding.kind == "vanishing" and "diag(act') W_hh" in finding.cause


def test_gate_saturation_reads_the_activations_a_spec_declares():
    from rnnkit.diagnostics.health import gate_saturation

    register_cell(CellSpec("toy", "TOY", ToyCell, gates="a", activations=("tanh",)))
    try:
        layer = Recurrent("toy", 2, 6, dtype="float64", rng=np.random.default_rng(0))
        _, _, cache = layer.forward(10 * np.random.default_rng(1).standard_normal((5, 4, 2)))
        sat = gate_saturation(layer, cache, eps=0.05)
    finally:
        unregister_cell("toy")
    a = cache.layers[0].dirs[0].store["gates"]  # (T, B, H) tanh(pre_t)
    low, high = float(np.mean(a < -0.95)), float(np.mean(a > 0.95))
    assert low > 0 and high > 0
    assert sat == {
        "l0": {"a": {"low": pytest.approx(low), "high": pytest.approx(high), "total": pytest.approx(low + high)}}
    }


# -- the estimators, the trainer and the command line ----------------------------------------------
def _sequences(n, seed):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((int(rng.integers(3, 7)), 2)) for _ in range(n)]
    y = ["up" if x[:, 0].sum() > 0 else "down" for x in X]
    return X, y


def test_an_estimator_trains_the_toy_cell(toy):
    from rnnkit.models import CELLS as MODEL_CELLS
    from rnnkit.models import SequenceClassifier

    assert "toy" in MODEL_CELLS
    X, y = _sequences(64, 0)
    clf = SequenceClassifier(cell="toy", hidden_size=8, epochs=6, lr=0.02, batch_size=16, seed=0).fit(X, y)
    assert clf.net_.rnn.mode == "TOY"
    loss = clf.history_["loss"]
    assert loss[-1] < 0.8 * loss[0]


def test_without_registration_the_estimator_refuses_the_toy():
    from rnnkit.models import SequenceClassifier

    X, y = _sequences(8, 0)
    with pytest.raises(
        ValueError, match=r"cell: expected one of \['lstm', 'gru', 'rnn_tanh', 'rnn_relu', 'ln_lstm', 'ln_gru'\]"
    ):
        SequenceClassifier(cell="toy", epochs=1).fit(X, y)


def test_the_command_line_offers_the_toy_cell(toy, capsys):
    from rnnkit.cli import main
    from rnnkit.cli import options as cfg
    from rnnkit.cli import task_configs as tc

    config = cfg.resolve(tc.ClassifyConfig, "classify", preset_name="tiny", overrides=[("cell", "toy", "--set")])
    assert config.cell == "toy"
    with pytest.raises(SystemExit) as exc:
        main(["train", "classify", "--set", "cell=toy", "--help"])
    assert exc.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "recurrent cell (lstm, gru, rnn_tanh, rnn_relu, ln_lstm, ln_gru, toy)" in help_text


def test_gradcheck_and_the_diagnose_probe_offer_the_toy_cell(toy, capsys):
    from rnnkit.cli import build_parser, main

    assert main(["gradcheck", "--cell", "toy", "--hidden", "2", "--steps", "3", "--lengths", "3,1"]) == 0
    out = capsys.readouterr().out
    assert "gradient check: toy, layers=1" in out and "PASS" in out and "c0" not in out
    assert build_parser().parse_args(["diagnose", "--cell", "toy"]).cell == "toy"


def test_gradcheck_and_the_diagnose_probe_refuse_an_unregistered_cell(capsys):
    from rnnkit.cli import main
    from rnnkit.cli.gradcheck import check_layer

    with pytest.raises(
        ValueError, match="cell: expected one of rnn, lstm, gru, rnn_tanh, rnn_relu, ln_lstm, ln_gru, got 'toy'"
    ):
        check_layer("toy")
    for command in ("gradcheck", "diagnose"):
        assert main([command, "--cell", "toy"]) == 2
        assert "invalid choice: 'toy'" in capsys.readouterr().err


def test_the_command_line_refuses_an_unregistered_cell():
    from rnnkit.cli import options as cfg
    from rnnkit.cli import task_configs as tc

    with pytest.raises(
        cfg.ConfigError, match="expected one of lstm, gru, rnn_tanh, rnn_relu, ln_lstm, ln_gru; got 'toy'"
    ):
        cfg.resolve(tc.ClassifyConfig, "classify", preset_name="tiny", overrides=[("cell", "toy", "--set")])


# -- the exporters refuse it by name ---------------------------------------------------------------
def test_the_torch_bridge_refuses_the_toy_cell_by_name(toy):
    pytest.importorskip("torch")
    from rnnkit.interop import to_torch
    from rnnkit.models import SequenceClassifier

    with pytest.raises(ValueError, match="cell 'toy': no PyTorch counterpart; torch.nn has RNN, LSTM, GRU"):
        to_torch(Recurrent("toy", 2, 3))
    X, y = _sequences(16, 0)
    clf = SequenceClassifier(cell="toy", hidden_size=4, epochs=1, seed=0).fit(X, y)
    with pytest.raises(ValueError, match="cell 'toy': no PyTorch counterpart"):
        to_torch(clf)


def test_onnx_export_refuses_the_toy_cell_by_name(toy, tmp_path):
    pytest.importorskip("onnx")
    from rnnkit.interop import to_onnx
    from rnnkit.models import SequenceClassifier

    with pytest.raises(ValueError, match="cell 'toy': no ONNX export; ONNX has RNN, LSTM, GRU"):
        to_onnx(Recurrent("toy", 2, 3), tmp_path / "toy.onnx")
    X, y = _sequences(16, 0)
    clf = SequenceClassifier(cell="toy", hidden_size=4, epochs=1, seed=0).fit(X, y)
    with pytest.raises(ValueError, match="cell 'toy': no ONNX export"):
        to_onnx(clf, tmp_path / "clf.onnx")
    assert list(tmp_path.iterdir()) == []


def test_the_torch_bridge_maps_torch_layers_through_the_registry():
    torch = pytest.importorskip("torch")
    from rnnkit.interop import from_torch, to_torch
    from rnnkit.interop._torch_ln import torch_class

    for name, spec in CELLS.items():
        if spec.torch is None:  # refused by name
            continue
        ours = make_layer(name, 3, 4, dtype="float64", rng=np.random.default_rng(0))
        theirs = to_torch(ours)
        assert type(theirs) is torch_class(torch, spec.torch)  # torch.nn's, or a twin from primitives
        back = from_torch(theirs)
        assert back.mode == spec.mode and type(back) is type(ours)


# -- optimizers and schedules -----------------------------------------------------------------------
class HalfSGD(SGD):
    """SGD at half the learning rate."""

    def __init__(self, params, *, lr=1e-2, **kwargs):
        super().__init__(params, lr=lr / 2, **kwargs)


def test_a_registered_optimizer_is_offered_everywhere():
    from rnnkit.cli import options as cfg
    from rnnkit.cli import task_configs as tc
    from rnnkit.train.settings import check_setting  # the estimators' and TrainConfig's check

    register_optimizer("halfsgd", HalfSGD)
    try:
        assert isinstance(make_optimizer("halfsgd", [("w", np.zeros(2), np.zeros(2))], lr=0.1), HalfSGD)
        check_setting("optimizer", "halfsgd")
        config = cfg.resolve(tc.ClassifyConfig, "classify", overrides=[("optimizer", "halfsgd", "--set")])
        assert config.optimizer == "halfsgd"
        with pytest.raises(ValueError, match="name: expected a new lower-case name, got 'halfsgd'"):
            register_optimizer("halfsgd", HalfSGD)
    finally:
        unregister_optimizer("halfsgd")
    assert "halfsgd" not in OPTIMIZERS
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        check_setting("optimizer", "halfsgd")
    with pytest.raises(TypeError, match="cls: expected an optimizer class"):
        register_optimizer("nope", object)


def test_a_registered_schedule_is_built_by_name():
    class EveryStep(StepLR):
        pass

    register_schedule("every_step", EveryStep)
    try:
        opt = SGD([("w", np.zeros(2), np.zeros(2))], lr=0.1)
        assert isinstance(make_schedule("every_step", opt, step_size=1), EveryStep)
    finally:
        unregister_schedule("every_step")
    assert "every_step" not in SCHEDULES
    with pytest.raises(ValueError, match="name: expected one of"):
        unregister_schedule("every_step")
