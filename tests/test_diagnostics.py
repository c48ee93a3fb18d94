"""Diagnostics: every number checked against a direct computation on a small case."""

import json
import math
import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gradcheck_util import rel_error
from linreg import LastStepRegressor
from rnnkit.diagnostics import (DiagnosticsMonitor, GradFlow, GradientWarning, Thresholds, activation_html,
                                check_flow, check_grad_norms, check_loss, check_saturation, correlations,
                                decay_ratio, gate_saturation, grad_norms, hidden_activations,
                                interpretable_cells_html, largest_singular_value, memory_horizon, rank_cells,
                                read_grad_flow, recurrent_weight_health, set_recording, spectral_radius,
                                text_features, update_norms, write_report)
from rnnkit.nn import GRU, LSTM, RNN, Linear

MAKERS = {"rnn_tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k), "lstm": LSTM, "gru": GRU}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- per-step gradient norms against finite differences ------------------------------------
def _split_loss(layer, x, t, Wout, V, dh=None, dc=None):
    """L = sum(out * Wout) + sum(h_T * V), with the state after step t perturbed.

    The sequence runs as two forward calls with the state carried between them; the
    perturbation is injected into that state. dh moves h_t both as the output at t and as
    the state carried on; dc moves c_t, and h_t = o_t tanh(c_t) with it (the full dL/dc_t).
    """
    T = x.shape[0]
    out1, state1, cache1 = layer.forward(x[: t + 1])
    out1 = out1.copy()
    lstm = isinstance(state1, tuple)
    h, c = (state1[0].copy(), state1[1].copy()) if lstm else (state1.copy(), None)
    if dc is not None:
        H = layer.hidden_size
        o = cache1.layers[0].dirs[0].store["gates"][t][:, 3 * H:]          # (B, H), o_t
        c = c + dc
        h[0] = o * np.tanh(c[0])
    if dh is not None:
        h = h + dh
    out1[t] = h[0]
    loss = np.sum(out1 * Wout[: t + 1])
    if t + 1 < T:
        out2, state2, _ = layer.forward(x[t + 1:], (h, c) if lstm else h)
        loss += np.sum(out2 * Wout[t + 1:])
        hT = state2[0] if lstm else state2
    else:
        hT = h
    return loss + np.sum(hT * V)


def _numeric_norm(f, shape, eps=1e-6):
    g = np.zeros(shape)
    for idx in np.ndindex(shape):
        d = np.zeros(shape)
        d[idx] = eps
        g[idx] = (f(d) - f(-d)) / (2 * eps)
    return float(np.linalg.norm(g))


@pytest.mark.parametrize("cell", list(MAKERS))
def test_per_step_norms_equal_finite_differences(cell):
    rng = np.random.default_rng(1)
    T, B, I, H = 5, 2, 3, 4
    layer = MAKERS[cell](I, H, dtype="float64", rng=rng)
    x = rng.standard_normal((T, B, I))
    Wout, V = rng.standard_normal((T, B, H)), rng.standard_normal((1, B, H))
    layer.record_grad_flow = True
    _, _, cache = layer.forward(x)
    dstate = (V, np.zeros_like(V)) if cell == "lstm" else V
    layer.backward(Wout, dstate, cache)
    flow = layer.grad_flow
    for t in range(T):
        num = _numeric_norm(lambda d: _split_loss(layer, x, t, Wout, V, dh=d), (1, B, H))
        assert rel_error(flow["h_l0"][t], num) < 1e-7, (t, flow["h_l0"][t], num)
        if cell == "lstm":
            num_c = _numeric_norm(lambda d: _split_loss(layer, x, t, Wout, V, dc=d), (1, B, H))
            assert rel_error(flow["c_l0"][t], num_c) < 1e-7, (t, flow["c_l0"][t], num_c)


def _scaled_rnn(scale, T=30, H=12, seed=0, input_scale=1.0, bias=True):
    rng = np.random.default_rng(seed)
    net = LastStepRegressor(RNN(2, H, bias=bias, dtype="float64", rng=rng), rng)
    q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    net.rnn.parameters()["weight_hh_l0"][...] = scale * q          # rho(W_hh) = scale exactly
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
    flows["rnn.h_l0"][0] = -1.0                                      # a copy, not the engine's array
    assert net.rnn.grad_flow["h_l0"][0] != -1.0
    set_recording(net, False)
    assert net.rnn.record_grad_flow is False and net.rnn.grad_flow == {}


# -- recurrent weights ------------------------------------------------------------------------
def test_spectral_radius_and_singular_value_match_numpy():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 6))
    assert spectral_radius(W) == pytest.approx(max(abs(np.linalg.eigvals(W))), rel=1e-12)
    assert largest_singular_value(W) == pytest.approx(np.linalg.svd(W, compute_uv=False)[0], rel=1e-12)
    with pytest.raises(ValueError, match=r"W: expected a square \(H, H\) matrix, got shape \(8, 4\)"):
        spectral_radius(np.zeros((8, 4)))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_weight_health_per_gate_block(cell):
    rng = np.random.default_rng(3)
    H = 5
    net = LastStepRegressor(MAKERS[cell](3, H, num_layers=2, dtype="float64", rng=rng), rng)
    health = recurrent_weight_health(net)
    assert sorted(health) == ["rnn.weight_hh_l0", "rnn.weight_hh_l1"]
    for name, entry in health.items():
        W = net.parameters()[name]
        assert entry["max_singular"] == pytest.approx(np.linalg.svd(W, compute_uv=False)[0], rel=1e-10)
        n_blocks = W.shape[0] // H
        assert len(entry["blocks"]) == n_blocks
        for g, block in enumerate(entry["blocks"].values()):
            Wg = W[g * H:(g + 1) * H].astype(np.float64)
            assert block["spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(Wg))), rel=1e-10)
        if n_blocks == 1:
            assert entry["spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(W))), rel=1e-10)
        else:
            assert entry["spectral_radius"] is None
    if cell == "lstm":
        assert list(health["rnn.weight_hh_l0"]["blocks"]) == ["i", "f", "g", "o"]


# -- gate saturation --------------------------------------------------------------------------
def _reference_gates(layer, x):
    """Textbook LSTM/GRU/RNN forward (float64) returning each gate's activations (T, B, H)."""
    p = {k: v.astype(np.float64) for k, v in layer.parameters().items()}
    T, B, _ = x.shape
    H = layer.hidden_size
    h, c = np.zeros((B, H)), np.zeros((B, H))
    acts = {}
    for t in range(T):
        ai = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        ah = h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        if layer.mode == "LSTM":
            a = ai + ah
            gates = {"i": _sigmoid(a[:, :H]), "f": _sigmoid(a[:, H:2 * H]), "g": np.tanh(a[:, 2 * H:3 * H]),
                     "o": _sigmoid(a[:, 3 * H:])}
            c = gates["f"] * c + gates["i"] * gates["g"]
            h = gates["o"] * np.tanh(c)
        elif layer.mode == "GRU":
            r, z = _sigmoid(ai[:, :H] + ah[:, :H]), _sigmoid(ai[:, H:2 * H] + ah[:, H:2 * H])
            n = np.tanh(ai[:, 2 * H:] + r * ah[:, 2 * H:])
            gates = {"r": r, "z": z, "n": n}
            h = (1 - z) * n + z * h
        else:
            h = np.tanh(ai + ah)
            gates = {"h": h}
        for k, v in gates.items():
            acts.setdefault(k, []).append(v)
    return {k: np.stack(v) for k, v in acts.items()}


@pytest.mark.parametrize("cell", list(MAKERS))
def test_gate_saturation_equals_direct_count(cell):
    rng = np.random.default_rng(4)
    layer = MAKERS[cell](3, 6, dtype="float64", rng=rng)
    for _, p, _ in layer.named_parameters():
        p *= 8.0                                     # push many units to their flat ends
    x = rng.standard_normal((7, 4, 3))
    eps = 0.05
    _, _, cache = layer.forward(x)
    got = gate_saturation(layer, cache, eps=eps)["l0"]
    ref = _reference_gates(layer, x)
    assert list(got) == list(ref)
    for gate, a in ref.items():
        if gate in ("g", "n") or cell == "rnn_tanh":
            low, high = np.mean(a < -1 + eps), np.mean(a > 1 - eps)
        else:
            low, high = np.mean(a < eps), np.mean(a > 1 - eps)
        assert got[gate]["low"] == pytest.approx(low, abs=1e-12)
        assert got[gate]["high"] == pytest.approx(high, abs=1e-12)
        assert got[gate]["total"] == pytest.approx(low + high, abs=1e-12)
    assert any(v["total"] > 0.2 for v in got.values())   # the case does exercise saturation


def test_gate_saturation_ignores_padding():
    rng = np.random.default_rng(5)
    layer = LSTM(2, 3, dtype="float64", rng=rng)
    for _, p, _ in layer.named_parameters():
        p *= 10.0
    x = rng.standard_normal((6, 2, 2))
    lengths = np.array([6, 2])
    _, _, cache = layer.forward(x, lengths=lengths)
    got = gate_saturation(layer, cache, eps=0.1)["l0"]
    ref = _reference_gates(layer, x)
    valid = (np.arange(6)[:, None] < lengths[None, :])[:, :, None]          # (T, B, 1)
    for gate, a in ref.items():
        lo_edge = -1 + 0.1 if gate == "g" else 0.1
        n_sat = np.sum(((a < lo_edge) | (a > 0.9)) & valid)
        assert got[gate]["total"] == pytest.approx(n_sat / (valid.sum() * 3), abs=1e-12)


def test_gate_saturation_rejects_a_foreign_cache():
    rng = np.random.default_rng(6)
    a, b = LSTM(2, 3, rng=rng), LSTM(2, 3, rng=rng)
    _, _, cache = a.forward(np.zeros((2, 1, 2), np.float32))
    with pytest.raises(TypeError, match="cache: expected the cache returned by this layer's forward"):
        gate_saturation(b, cache)
    with pytest.raises(ValueError, match=r"eps: expected a number in \(0, 0.5\), got 0.7"):
        gate_saturation(a, cache, eps=0.7)


# -- memory horizon ---------------------------------------------------------------------------
def test_memory_horizon_on_a_constructed_decay():
    T, r, frac = 40, 0.8, 0.01
    norms = r ** np.arange(T - 1, -1, -1.0)                  # n_t = r^(T-1-t): 1 at the loss end
    expect = math.floor(math.log(frac) / math.log(r)) + 1     # first k with r^k < frac
    assert memory_horizon(norms, frac) == expect
    # first k with n_k < frac * n_0, counted directly
    assert memory_horizon(norms, frac) == next(k for k in range(1, T) if norms[T - 1 - k] < frac * norms[-1])
    assert memory_horizon(norms[::-1].copy(), frac, key="rnn.h_l0_reverse") == expect
    assert memory_horizon(np.ones(T), frac) == math.inf
    assert decay_ratio(norms) == pytest.approx(r ** (T - 1))
    shifted = np.concatenate([norms[:-2], [0.0, 0.0]])         # a loss that ignores the last 2 steps
    assert memory_horizon(shifted, frac) == next(
        k for k in range(1, T) if shifted[T - 3 - k] < frac * shifted[T - 3])
    assert math.isnan(memory_horizon(np.array([1.0, np.nan, 1.0]), frac))
    with pytest.raises(ValueError, match=r"fraction: expected a number in \(0, 1\), got 2"):
        memory_horizon(norms, 2)


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
    assert len([r for r in rec if "vanishing" in str(r.message)]) == 1     # once per kind and place
    assert {f.kind for f in mon.record.findings} == {"vanishing"}
    assert mon.record.horizon["rnn.h_l0"][0] < 10


def test_exploding_warning_fires_when_w_hh_is_scaled_up():
    net, batch = _scaled_rnn(1.6, T=30, input_scale=1e-9, bias=False)   # tanh in its linear range
    with pytest.warns(GradientWarning, match=r"exploding gradients \(step 0\) at rnn.h_l0") as rec:
        _monitor_run(net, batch, steps=1)
    assert "clip the global gradient norm" in str(rec[0].message)


def test_no_warning_on_a_healthy_network():
    net, batch = _scaled_rnn(1.0, T=12, input_scale=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # any GradientWarning fails the test
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
    assert check_saturation("rnn.l0", gates, mode="LSTM") == []            # f near 1 is memory
    hot = check_saturation("rnn.l0", {**gates, "o": {"low": 0.4, "high": 0.3, "total": 0.7}}, mode="LSTM")
    assert len(hot) == 1 and hot[0].evidence["saturated"] == {"o": 0.7}
    half_dead = {"h": {"low": 0.6, "high": 0.0, "total": 0.6}}
    assert check_saturation("rnn.l0", half_dead, mode="RNN_RELU") == []           # ReLU zeros by design
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
    for name, p, grad in net.named_parameters():
        assert g[name] == pytest.approx(np.linalg.norm(grad), rel=1e-12)
    before = net.state_dict()
    SGD(net, lr=0.1).step()
    u = update_norms(before, net)
    for name, p, grad in net.named_parameters():
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
        seen.append((armed, net.rnn.record_grad_flow, "forward" in vars(net.rnn)))
        loss = net.loss_and_grad(batch)
        mon.after_backward(step, loss)
        mon.after_update(step)
        assert net.rnn.record_grad_flow is False and "forward" not in vars(net.rnn)
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
    np.testing.assert_allclose(mon.record.grad_norm, [trainer.history.steps["grad_norm"][i] for i in (1, 3)],
                               rtol=1e-12)
    assert "loss_and_grad" not in vars(net) and "forward" not in vars(net.rnn)
    assert mon.record.all_grad_norm == trainer.history.steps["grad_norm"]        # every step, free


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
        decay_ratio(mon.record.flow.first("rnn.h_l0")))
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
    for name in ("grad_flow_heatmap.png", "grad_flow_profile.png", "spectral_radius.png", "gate_saturation.png",
                 "loss.png", "grad_norm.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


# -- activations and the HTML page -------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hidden_activations_match_stepping_the_layer(cell):
    rng = np.random.default_rng(7)
    layer = MAKERS[cell](3, 4, dtype="float64", rng=rng)
    x = rng.standard_normal((6, 3))
    acts = hidden_activations(layer, x)
    state = None
    for t in range(6):
        state = layer.step(x[t:t + 1], state)
        h = state[0] if cell == "lstm" else state
        np.testing.assert_allclose(acts["h"][t], h[0, 0], rtol=1e-12, atol=1e-12)
        if cell == "lstm":
            np.testing.assert_allclose(acts["c"][t], state[1][0, 0], rtol=1e-12, atol=1e-12)
    ref = _reference_gates(layer, x[:, None])
    for gate, a in ref.items():
        np.testing.assert_allclose(acts[gate], a[:, 0], rtol=1e-10, atol=1e-12)


def test_text_features_by_hand():
    text = 'ab "c(d)"\nxy'
    f = text_features(text)
    assert list(f["inside_quotes"]) == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert list(f["inside_parens"]) == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert list(f["position_in_line"]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert list(f["vowel"]) == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_correlations_and_ranking_find_a_planted_cell():
    rng = np.random.default_rng(8)
    text = 'say "hello" (and then) "bye" now\n' * 4
    feats = text_features(text)
    T = len(text)
    acts = rng.standard_normal((T, 6)) * 0.3
    acts[:, 4] = feats["inside_quotes"] * 2 - 1 + 0.05 * rng.standard_normal(T)
    acts[:, 1] = 0.7                                                      # a constant cell
    names, R = correlations(acts, feats)
    for j in (0, 4):
        for k, n in enumerate(names):
            if np.std(feats[n]) == 0:                                     # no digits here
                assert R[j, k] == 0
                continue
            assert R[j, k] == pytest.approx(np.corrcoef(acts[:, j], feats[n])[0, 1], abs=1e-12)
    assert np.all(R[1] == 0)
    best = rank_cells(acts, feats, top=2)
    assert best[0]["cell"] == 4 and best[0]["feature"] == "inside_quotes" and best[0]["correlation"] > 0.95
    assert len(best) == 2 and best[1]["cell"] != 4


def test_activation_html_is_self_contained_and_well_formed(tmp_path):
    text = 'if a < b & "c":\n\tx = 1'
    values = np.linspace(-1, 1, len(text))
    page = activation_html(text, {"cell 3": values, "gate f[0]": np.linspace(0, 1, len(text))}, title="t <1>")
    assert not re.search(r"https?:|src=|<script|<link|url\(|@import", page)
    body = page.split("\n", 1)[1]                                        # drop <!DOCTYPE html>
    root = ET.fromstring(body)                                            # well-formed XML
    spans = [s for s in root.iter("span") if s.get("title") is not None]
    assert len(spans) == 2 * len(text)
    shown = "".join("".join(s.itertext()) for s in spans[: len(text)])
    assert shown == text.replace("\n", "\u21b5\n")
    assert float(spans[0].get("title")) == pytest.approx(-1.0)
    assert "&lt;" in page and "&amp;" in page
    acts = {"h": np.tile(values[:, None], (1, 3))}
    page2 = interpretable_cells_html(text, acts, [{"cell": 2, "feature": "vowel", "correlation": 0.5}])
    ET.fromstring(page2.split("\n", 1)[1])
    with pytest.raises(ValueError, match=r"values\['x'\]: expected shape \(22,\)"):
        activation_html(text, {"x": np.zeros(3)})


def test_monitor_joins_the_sub_chunks_of_a_truncated_bptt_update():
    """TBPTT(k1=4, k2=8) back-propagates each update through 8 steps in two backward calls;
    the recorded flow must equal one backward through the whole window."""
    from rnnkit.train.bptt import TBPTT
    from rnnkit.diagnostics import attach, detach
    from rnnkit.models.charlm import CharLMNet

    rng = np.random.default_rng(9)
    net = CharLMNet(5, cell="lstm", embedding_dim=3, hidden_size=4, dtype="float64", rng=rng)
    tb = TBPTT(net, k1=4, k2=8)
    chunks = list(tb.stream(rng.integers(0, 5, size=2 * 12 + 1), batch_size=2))
    mon = attach(tb, every=2, first=False, warn=False)
    tb.loss_and_grad(chunks[0])
    win = tb._win                                           # the second update's window: 4 old + 4 new steps
    inputs = np.concatenate([win.inputs, chunks[1].inputs])
    targets = np.concatenate([win.targets, chunks[1].targets])
    net.zero_grad()
    tb.loss_and_grad(chunks[1])                            # recorded (step 2)
    detach(tb)
    assert mon.record.steps == [2]
    got = mon.record.flow.latest("rnn.h_l0")
    assert got.shape == (8,)
    net.rnn.record_grad_flow = True                         # the same window in one forward/backward
    mask = np.zeros(targets.shape, bool)
    mask[4:] = True
    _, count, _, cache = net.chunk_forward(inputs, targets, win.state0, loss_mask=mask)
    net.chunk_backward(cache, 1.0 / count, None)
    np.testing.assert_allclose(got, net.rnn.grad_flow["h_l0"], rtol=1e-10)
    np.testing.assert_allclose(mon.record.flow.latest("rnn.c_l0"), net.rnn.grad_flow["c_l0"], rtol=1e-10)
