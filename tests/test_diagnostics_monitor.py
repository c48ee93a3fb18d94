"""The diagnostics monitor, end to end on small networks: the gradient flow it records,
its warnings, gradient and update norms, the GradFlow record and the report folder."""

import json
import warnings

import numpy as np
import pytest
from linreg import LastStepRegressor

from rnnkit.diagnostics import (
    DiagnosticsMonitor,
    GradFlow,
    GradientWarning,
    Thresholds,
    check_flow,
    check_grad_norms,
    check_loss,
    check_saturation,
    decay_ratio,
    grad_norms,
    read_grad_flow,
    set_recording,
    update_norms,
    write_report,
)
from rnnkit.nn import RNN, Linear


def _scaled_rnn(scale, T=30, H=12, seed=0, input_scale=1.0, bias=True):
    rng = np.random.default_rng(seed)
    net = LastStepRegressor(RNN(2, H, bias=bias, dtype="float64", rng=rng), rng)
    q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    net.rnn.parameters()["weight_hh_l0"][...] = scale * q  # rho(W_hh) = scale exactly
    x = input_scale * rng.standard_normal((T, 8, 2))
    y = rng.standard_normal((8, 1))
    return net, (x, y)


def test_read_grad_flow_names_series_by_layer_prefix():
    net, batch = _scaled_rnn(1.0, T=7)
    assert set_recording(net, True) == ["rnn"]
    net.loss_and_grad(batch)
    flows = read_grad_flow(net)
    assert list(flows) == ["rnn.h_l0"]
    np.testing.assert_array_equal(flows["rnn.h_l0"], net.rnn.grad_flow["h_l0"])
    flows["rnn.h_l0"][0] = -1.0  # a copy, not the engine's array
    assert net.rnn.grad_flow["h_l0"][0] != -1.0
    set_recording(net, False)
    assert net.rnn.record_grad_flow is False and net.rnn.grad_flow == {}


# -- warnings -----------------------------------------------------------------------------------
def _monitor_run(net, batch, steps=3, **kw):
    from rnnkit.optim import SGD

    mon = DiagnosticsMonitor(net, every=1, **kw)
    opt = SGD(net, lr=1e-3)
    for step in range(steps):
        net.zero_grad()
        mon.before_step(step)
        loss = net.loss_and_grad(batch)
        mon.after_backward(step, loss)
        opt.step()
        mon.after_update(step)
    return mon


def test_vanishing_warning_fires_when_w_hh_is_scaled_down():
    net, batch = _scaled_rnn(0.3, T=30)
    with pytest.warns(GradientWarning, match=r"vanishing gradients \(step 0\) at rnn.h_l0") as rec:
        mon = _monitor_run(net, batch)
    text = str(rec[0].message)
    assert "likely cause" in text and "LSTM or GRU" in text and "rho(W_hh) = 0.3" in text
    assert len([r for r in rec if "vanishing" in str(r.message)]) == 1  # once per kind and place
    assert {f.kind for f in mon.record.findings} == {"vanishing"}
    assert mon.record.horizon["rnn.h_l0"][0] < 10


def test_exploding_warning_fires_when_w_hh_is_scaled_up():
    net, batch = _scaled_rnn(1.6, T=30, input_scale=1e-9, bias=False)  # tanh in its linear range
    with pytest.warns(GradientWarning, match=r"exploding gradients \(step 0\) at rnn.h_l0") as rec:
        _monitor_run(net, batch, steps=1)
    assert "clip the global gradient norm" in str(rec[0].message)


def test_no_warning_on_a_healthy_network():
    net, batch = _scaled_rnn(1.0, T=12, input_scale=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any GradientWarning fails the test
        mon = _monitor_run(net, batch)
    assert mon.record.findings == []
    assert mon.summary()["verdict"] == "healthy: no warnings"


def test_loss_norm_and_saturation_rules():
    assert check_loss(1.0) == []
    (f,) = check_loss(float("nan"), step=7)
    assert f.kind == "nonfinite" and f.step == 7 and "learning rate" in f.remedy
    assert check_grad_norms([1.0, 1.1, 0.9, 1.0, 1.2, 1.0]) == []
    (f,) = check_grad_norms([1.0, 1.1, 0.9, 1.0, 1.2, 500.0], thresholds=Thresholds(norm_growth=100))
    assert f.kind == "exploding" and f.evidence["median"] == pytest.approx(1.0)
    assert check_grad_norms([1.0, float("inf")])[0].kind == "nonfinite"
    gates = {"i": {"low": 0.1, "high": 0.1, "total": 0.2}, "f": {"low": 0.0, "high": 0.95, "total": 0.95}}
    assert check_saturation("rnn.l0", gates, mode="LSTM") == []  # f near 1 is memory
    hot = check_saturation("rnn.l0", {**gates, "o": {"low": 0.4, "high": 0.3, "total": 0.7}}, mode="LSTM")
    assert len(hot) == 1 and hot[0].evidence["saturated"] == {"o": 0.7}
    half_dead = {"h": {"low": 0.6, "high": 0.0, "total": 0.6}}
    assert check_saturation("rnn.l0", half_dead, mode="RNN_RELU") == []  # ReLU zeros by design
    assert check_saturation("rnn.l0", half_dead, mode="RNN_TANH")[0].evidence["saturated"] == {"h": 0.6}
    (f,) = check_flow("h_l0", np.array([1.0, np.inf, 1.0]))
    assert f.kind == "nonfinite"
    with pytest.raises(ValueError, match=r"vanish_ratio: expected a number in \(0, 1\), got 5"):
        Thresholds(vanish_ratio=5)


# -- gradient and update norms ---------------------------------------------------------------
def test_grad_and_update_norms_equal_direct_computation():
    from rnnkit.optim import SGD

    net, batch = _scaled_rnn(0.9, T=6)
    net.loss_and_grad(batch)
    g = grad_norms(net)
    for name, _p, grad in net.named_parameters():
        assert g[name] == pytest.approx(np.linalg.norm(grad), rel=1e-12)
    before = net.state_dict()
    SGD(net, lr=0.1).step()
    u = update_norms(before, net)
    for name, _p, grad in net.named_parameters():
        assert u[name]["update"] == pytest.approx(0.1 * np.linalg.norm(grad), rel=1e-9)
        assert u[name]["ratio"] == pytest.approx(u[name]["update"] / np.linalg.norm(before[name]), rel=1e-12)
    with pytest.raises(ValueError, match="before: expected the keys of module.state_dict"):
        update_norms({"x": np.zeros(1)}, net)


# -- the monitor ---------------------------------------------------------------------------------
def test_monitor_touches_nothing_on_steps_that_are_not_due():
    net, batch = _scaled_rnn(1.0, T=5)
    mon = DiagnosticsMonitor(net, every=3, warn=False)
    seen = []
    for step in range(7):
        armed = mon.before_step(step)
        seen.append((armed, net.rnn.record_grad_flow, len(net.rnn.observers) == 1))
        loss = net.loss_and_grad(batch)
        mon.after_backward(step, loss)
        mon.after_update(step)
        assert net.rnn.record_grad_flow is False and not net.rnn.observers and "forward" not in vars(net.rnn)
    assert seen == [(s % 3 == 0,) * 3 for s in range(7)]
    assert mon.record.steps == [0, 3, 6] and mon.record.all_steps == list(range(7))
    steps, M = mon.record.flow.matrix("rnn.h_l0")
    assert M.shape == (3, 5) and list(steps) == [0, 3, 6]
    assert list(mon.record.saturation) == ["rnn.l0"] and len(mon.record.update_ratios["rnn.weight_hh_l0"]) == 3


def test_monitor_as_trainer_callback_matches_the_trainers_own_recording():
    from rnnkit.train import TrainConfig, Trainer

    net, batch = _scaled_rnn(0.9, T=6)
    mon = DiagnosticsMonitor(net, every=2, first=False, warn=False)
    cfg = TrainConfig(epochs=1, optimizer="sgd", lr=0.01, grad_flow_every=2, progress=False, clip_norm=0.01)
    trainer = Trainer(net, cfg, callbacks=[mon.callback()])
    trainer.fit([batch] * 5)
    assert mon.record.steps == [2, 4]
    ours = mon.record.flow
    theirs = GradFlow.from_history(trainer.history)
    np.testing.assert_array_equal(ours.matrix("rnn.h_l0")[1], theirs.matrix("rnn.h_l0")[1])
    # recorded before clipping: the monitor's global norm is the trainer's pre-clip norm
    np.testing.assert_allclose(
        mon.record.grad_norm, [trainer.history.steps["grad_norm"][i] for i in (1, 3)], rtol=1e-12
    )
    assert "loss_and_grad" not in vars(net) and "forward" not in vars(net.rnn)
    assert mon.record.all_grad_norm == trainer.history.steps["grad_norm"]  # every step, free


def test_the_trainer_drives_the_monitor_through_its_hooks_alone():
    """Nothing is set on the network: the monitor's callback works from the step hooks."""
    from rnnkit.train import TrainConfig, Trainer
    from rnnkit.train.callbacks import LambdaCallback

    net, batch = _scaled_rnn(0.9, T=6)
    mon = DiagnosticsMonitor(net, every=2, warn=False)
    armed = []

    def no_patch(ctx):
        assert "loss_and_grad" not in vars(net) and "loss_and_grad" not in vars(ctx.model)
        armed.append(net.rnn.record_grad_flow)

    spy = LambdaCallback(on_step_begin=no_patch, on_after_backward=no_patch, on_step_end=no_patch)
    cfg = TrainConfig(epochs=1, optimizer="sgd", lr=0.01, progress=False)
    Trainer(net, cfg, callbacks=[mon.callback(), spy]).fit([batch] * 4)
    # recording is on from the begin of a due step (1: the first, 2, 4) until its update
    assert armed == [True, True, False, True, True, False, False, False, False, True, True, False]
    assert mon.record.steps == [1, 2, 4] and not net.rnn.record_grad_flow


def test_skipped_steps_keep_the_trainers_numbers():
    from rnnkit.train import TrainConfig, Trainer

    net, batch = _scaled_rnn(0.9, T=6)
    bad = (np.full_like(batch[0], np.nan), batch[1])  # a non-finite input: the layer refuses it
    mon = DiagnosticsMonitor(net, every=2, first=False, warn=False)
    cfg = TrainConfig(epochs=1, optimizer="sgd", lr=0.01, progress=False, on_nonfinite="skip")
    hist = Trainer(net, cfg, callbacks=[mon.callback()]).fit([batch, bad, batch, bad, batch])
    assert hist.steps["skipped"] == [False, True, False, True, False]
    assert mon.record.all_steps == [1, 2, 3, 4, 5] and mon.record.norm_steps == [1, 3, 5]
    np.testing.assert_array_equal(mon.record.all_loss, hist.steps["loss"])
    assert mon.record.steps == [] and [f.step for f in mon.record.findings] == [2, 4]
    assert not net.rnn.record_grad_flow and "forward" not in vars(net.rnn)


def test_watch_fit_builds_its_monitor_on_the_network_inside_a_tbptt_driver():
    from rnnkit.diagnostics import DiagnosticsCallback, watch_fit
    from rnnkit.models.charlm import CharLMNet
    from rnnkit.train import TrainConfig, Trainer
    from rnnkit.train.bptt import TBPTT

    rng = np.random.default_rng(4)
    net = CharLMNet(5, cell="gru", embedding_dim=3, hidden_size=4, dtype="float64", rng=rng)
    tb = TBPTT(net, k1=4)
    ids = rng.integers(0, 5, size=2 * 16 + 1)
    watch = watch_fit(every=2, warn=False)
    assert watch.monitor is None
    cfg = TrainConfig(epochs=1, progress=False)
    Trainer(tb, cfg, callbacks=[watch]).fit(lambda epoch, rng: tb.stream(ids, batch_size=2))
    assert watch.monitor.module is net and watch.monitor.record.steps == [1, 2, 4]
    assert watch.monitor.record.flow.matrix("rnn.h_l0")[1].shape == (3, 4)
    with pytest.raises(TypeError, match="monitor: expected a DiagnosticsMonitor or a function"):
        DiagnosticsCallback(net)
    with pytest.raises(TypeError, match="monitor_kwargs: .*'evry'"):
        watch_fit(evry=2)
    with pytest.raises(ValueError, match="every: expected an int >= 1"):
        watch_fit(every=0)


def test_monitor_requires_a_recurrent_layer():
    with pytest.raises(ValueError, match="model: expected at least one RNN/LSTM/GRU layer"):
        DiagnosticsMonitor(Linear(2, 2), every=1)
    with pytest.raises(ValueError, match=r"every: expected an int >= 1 .* got 0"):
        DiagnosticsMonitor(RNN(2, 2), every=0)


# -- GradFlow and the report ----------------------------------------------------------------------
def test_grad_flow_matrix_pads_and_round_trips():
    flow = GradFlow()
    flow.add(1, {"h_l0": np.array([1.0, 2.0, 3.0])})
    flow.add(5, {"h_l0": np.array([np.inf, 0.5])})
    steps, M = flow.matrix("h_l0")
    assert list(steps) == [1, 5] and list(flow.lengths("h_l0")) == [3, 2]
    np.testing.assert_array_equal(M, [[1.0, 2.0, 3.0], [np.inf, 0.5, np.nan]])
    back = GradFlow.from_dict(json.loads(json.dumps(flow.to_dict())))
    np.testing.assert_array_equal(back.matrix("h_l0")[1], M)
    with pytest.raises(ValueError, match="step: expected steps in increasing order"):
        flow.add(5, {"h_l0": np.ones(2)})
    with pytest.raises(KeyError, match="key: expected one of"):
        flow.matrix("c_l0")


def test_report_folder(tmp_path):
    net, batch = _scaled_rnn(0.3, T=20)
    mon = _monitor_run(net, batch, warn=False)
    out = write_report(tmp_path / "report", mon.record, plots=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "problems found: vanishing"
    (d,) = summary["diagnosis"]
    assert d["kind"] == "vanishing" and d["count"] == 3 and d["first_step"] == 0
    assert summary["gradient_flow"]["rnn.h_l0"]["decay_ratio_first"] == pytest.approx(
        decay_ratio(mon.record.flow.first("rnn.h_l0"))
    )
    text = (out / "summary.txt").read_text()
    assert "vanishing at rnn.h_l0" in text and "remedy:" in text
    record = json.loads((out / "record.json").read_text())
    assert record["steps"] == [0, 1, 2]
    assert not list(out.glob("*.tmp"))


def test_report_plots(tmp_path):
    pytest.importorskip("matplotlib", reason="the report's plots need matplotlib")
    net, batch = _scaled_rnn(1.0, T=10)
    net.rnn.parameters()["weight_hh_l0"][...] *= 1.0
    mon = _monitor_run(net, batch, warn=False)
    out = mon.write_report(tmp_path / "r")
    for name in (
        "grad_flow_heatmap.png",
        "grad_flow_profile.png",
        "spectral_radius.png",
        "gate_saturation.png",
        "loss.png",
        "grad_norm.png",
    ):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_monitor_joins_the_sub_chunks_of_a_truncated_bptt_update():
    """TBPTT(k1=4, k2=8) back-propagates each update through 8 steps in two backward calls;
    the recorded flow must equal one backward through the whole window."""
    from rnnkit.diagnostics import attach, detach
    from rnnkit.models.charlm import CharLMNet
    from rnnkit.train.bptt import TBPTT

    rng = np.random.default_rng(9)
    net = CharLMNet(5, cell="lstm", embedding_dim=3, hidden_size=4, dtype="float64", rng=rng)
    tb = TBPTT(net, k1=4, k2=8)
    chunks = list(tb.stream(rng.integers(0, 5, size=2 * 12 + 1), batch_size=2))
    monitored = attach(tb, every=2, first=False, warn=False)
    assert monitored.monitor.module is net  # the network inside the driver
    monitored.loss_and_grad(chunks[0])
    win = tb._win  # the second update's window: 4 old + 4 new steps
    inputs = np.concatenate([win.inputs, chunks[1].inputs])
    targets = np.concatenate([win.targets, chunks[1].targets])
    monitored.zero_grad()
    monitored.loss_and_grad(chunks[1])  # recorded (step 2)
    mon = detach(monitored)
    assert "loss_and_grad" not in vars(tb)
    assert mon.record.steps == [2]
    got = mon.record.flow.latest("rnn.h_l0")
    assert got.shape == (8,)
    net.rnn.record_grad_flow = True  # the same window in one forward/backward
    mask = np.zeros(targets.shape, bool)
    mask[4:] = True
    _, count, _, cache = net.chunk_forward(inputs, targets, win.state0, loss_mask=mask)
    net.chunk_backward(cache, 1.0 / count, None)
    np.testing.assert_allclose(got, net.rnn.grad_flow["h_l0"], rtol=1e-10)
    np.testing.assert_allclose(mon.record.flow.latest("rnn.c_l0"), net.rnn.grad_flow["c_l0"], rtol=1e-10)
