"""Diagnostics: every number checked against a direct computation on a small case (the
monitor, its warnings and the report: test_diagnostics_monitor.py)."""

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from gradcheck_util import rel_error
from linreg import LastStepRegressor

from rnnkit.diagnostics import (
    activation_html,
    correlations,
    decay_ratio,
    gate_saturation,
    hidden_activations,
    interpretable_cells_html,
    largest_singular_value,
    memory_horizon,
    rank_cells,
    recurrent_weight_health,
    spectral_radius,
    text_features,
)
from rnnkit.nn import GRU, LSTM, RNN

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
        o = cache1.layers[0].dirs[0].store["gates"][t][:, 3 * H :]  # (B, H), o_t
        c = c + dc
        h[0] = o * np.tanh(c[0])
    if dh is not None:
        h = h + dh
    out1[t] = h[0]
    loss = np.sum(out1 * Wout[: t + 1])
    if t + 1 < T:
        out2, state2, _ = layer.forward(x[t + 1 :], (h, c) if lstm else h)
        loss += np.sum(out2 * Wout[t + 1 :])
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
        num = _numeric_norm(lambda d, t=t: _split_loss(layer, x, t, Wout, V, dh=d), (1, B, H))
        assert rel_error(flow["h_l0"][t], num) < 1e-7, (t, flow["h_l0"][t], num)
        if cell == "lstm":
            num_c = _numeric_norm(lambda d, t=t: _split_loss(layer, x, t, Wout, V, dc=d), (1, B, H))
            assert rel_error(flow["c_l0"][t], num_c) < 1e-7, (t, flow["c_l0"][t], num_c)


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
            Wg = W[g * H : (g + 1) * H].astype(np.float64)
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
            gates = {
                "i": _sigmoid(a[:, :H]),
                "f": _sigmoid(a[:, H : 2 * H]),
                "g": np.tanh(a[:, 2 * H : 3 * H]),
                "o": _sigmoid(a[:, 3 * H :]),
            }
            c = gates["f"] * c + gates["i"] * gates["g"]
            h = gates["o"] * np.tanh(c)
        elif layer.mode == "GRU":
            r, z = _sigmoid(ai[:, :H] + ah[:, :H]), _sigmoid(ai[:, H : 2 * H] + ah[:, H : 2 * H])
            n = np.tanh(ai[:, 2 * H :] + r * ah[:, 2 * H :])
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
        p *= 8.0  # push many units to their flat ends
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
    assert any(v["total"] > 0.2 for v in got.values())  # the case does exercise saturation


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
    valid = (np.arange(6)[:, None] < lengths[None, :])[:, :, None]  # (T, B, 1)
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
    norms = r ** np.arange(T - 1, -1, -1.0)  # n_t = r^(T-1-t): 1 at the loss end
    expect = math.floor(math.log(frac) / math.log(r)) + 1  # first k with r^k < frac
    assert memory_horizon(norms, frac) == expect
    # first k with n_k < frac * n_0, counted directly
    assert memory_horizon(norms, frac) == next(k for k in range(1, T) if norms[T - 1 - k] < frac * norms[-1])
    assert memory_horizon(norms[::-1].copy(), frac, key="rnn.h_l0_reverse") == expect
    assert memory_horizon(np.ones(T), frac) == math.inf
    assert decay_ratio(norms) == pytest.approx(r ** (T - 1))
    shifted = np.concatenate([norms[:-2], [0.0, 0.0]])  # a loss that ignores the last 2 steps
    assert memory_horizon(shifted, frac) == next(k for k in range(1, T) if shifted[T - 3 - k] < frac * shifted[T - 3])
    assert math.isnan(memory_horizon(np.array([1.0, np.nan, 1.0]), frac))
    with pytest.raises(ValueError, match=r"fraction: expected a number in \(0, 1\), got 2"):
        memory_horizon(norms, 2)


# -- activations and the HTML page -------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hidden_activations_match_stepping_the_layer(cell):
    rng = np.random.default_rng(7)
    layer = MAKERS[cell](3, 4, dtype="float64", rng=rng)
    x = rng.standard_normal((6, 3))
    acts = hidden_activations(layer, x)
    state = None
    for t in range(6):
        state = layer.step(x[t : t + 1], state)
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
    acts[:, 1] = 0.7  # a constant cell
    names, R = correlations(acts, feats)
    for j in (0, 4):
        for k, n in enumerate(names):
            if np.std(feats[n]) == 0:  # no digits here
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
    body = page.split("\n", 1)[1]  # drop <!DOCTYPE html>
    root = ET.fromstring(body)  # well-formed XML
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
