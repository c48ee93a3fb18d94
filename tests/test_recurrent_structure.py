"""Structural equivalences: the driver equals a manual unroll of its cell, streaming equals
whole-sequence forward, variable lengths equal running each row alone."""

import numpy as np
import pytest

from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell

MAKERS = {
    "rnn_tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k),
    "rnn_relu": lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
    "lstm": LSTM,
    "gru": GRU,
}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _textbook_step(cell, x, h, c, p, k):
    """The cell equations written out directly from their docstrings, in float64."""
    W_ih, W_hh = p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"]
    a_i, a_h = W_ih @ x + p[f"bias_ih_l{k}"], W_hh @ h + p[f"bias_hh_l{k}"]
    if cell.startswith("rnn"):
        pre = a_i + a_h
        return (np.tanh(pre) if cell == "rnn_tanh" else np.maximum(pre, 0)), None
    H = h.shape[0]
    if cell == "lstm":
        a = a_i + a_h
        i, f, g, o = _sigmoid(a[:H]), _sigmoid(a[H : 2 * H]), np.tanh(a[2 * H : 3 * H]), _sigmoid(a[3 * H :])
        c = f * c + i * g
        return o * np.tanh(c), c
    r, z = _sigmoid(a_i[:H] + a_h[:H]), _sigmoid(a_i[H : 2 * H] + a_h[H : 2 * H])
    n = np.tanh(a_i[2 * H :] + r * a_h[2 * H :])
    return (1 - z) * n + z * h, None


@pytest.mark.parametrize("cell", list(MAKERS))
def test_driver_equals_textbook_unroll(cell):
    rng = np.random.default_rng(0)
    T, B, I, H, L = 6, 3, 4, 5, 2
    layer = MAKERS[cell](I, H, L, dtype="float64", rng=rng)
    x = rng.standard_normal((T, B, I))
    out, state, _ = layer.forward(x)
    p = layer.parameters()
    for b in range(B):
        inp = x[:, b]
        for k in range(L):
            h, c = np.zeros(H), np.zeros(H)
            outs = []
            for t in range(T):
                h, c = _textbook_step(cell, inp[t], h, c, p, k)
                outs.append(h)
            inp = np.array(outs)
            hn = state[0][k, b] if cell == "lstm" else state[k, b]
            np.testing.assert_allclose(hn, h, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out[:, b], inp, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", list(MAKERS))
def test_step_equals_forward(cell):
    rng = np.random.default_rng(1)
    T, B, I, H, L = 7, 2, 3, 4, 3
    layer = MAKERS[cell](I, H, L, dtype="float64", rng=rng)
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((L, B, H))
    state0 = (h0, rng.standard_normal((L, B, H))) if cell == "lstm" else h0
    out, final, _ = layer.forward(x, state0)
    state = state0
    for t in range(T):
        state = layer.step(x[t], state)
        top = state[0][-1] if cell == "lstm" else state[-1]
        np.testing.assert_allclose(top, out[t], rtol=1e-12, atol=1e-13)
    finals, steps = (final, state) if cell == "lstm" else ((final,), (state,))
    for a, b in zip(finals, steps, strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_step_refuses_bidirectional():
    layer = LSTM(2, 3, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        layer.step(np.zeros((1, 2)))


def test_chunked_forward_with_state_carry_equals_one_forward():
    rng = np.random.default_rng(2)
    layer = LSTM(3, 4, 2, dtype="float64", rng=rng)
    x = rng.standard_normal((10, 2, 3))
    out, (h, c), _ = layer.forward(x)
    out1, s1, _ = layer.forward(x[:4])
    out2, (h2, c2), _ = layer.forward(x[4:], s1)
    np.testing.assert_allclose(np.concatenate([out1, out2]), out, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(h2, h, rtol=1e-13)
    np.testing.assert_allclose(c2, c, rtol=1e-13)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("bidi", [False, True])
def test_lengths_equal_running_each_row_alone(cell, bidi):
    rng = np.random.default_rng(3)
    T, B, I, H, L = 6, 4, 3, 4, 2
    layer = MAKERS[cell](I, H, L, bidirectional=bidi, batch_first=True, dtype="float64", rng=rng)
    D = 2 if bidi else 1
    x = rng.standard_normal((B, T, I))
    lengths = np.array([6, 1, 4, 3])
    dout = rng.standard_normal((B, T, D * H))
    dh = rng.standard_normal((L * D, B, H))
    dstate = (dh, rng.standard_normal((L * D, B, H))) if cell == "lstm" else dh
    out, state, cache = layer.forward(x, lengths=lengths)
    layer.zero_grad()
    dx, _ = layer.backward(dout, dstate, cache)
    batch_grads = {k: v.copy() for k, v in layer.grads.items()}
    total = {k: np.zeros_like(v) for k, v in batch_grads.items()}
    for b, n in enumerate(lengths):
        assert np.all(out[b, n:] == 0), "outputs past a row's end are zero"
        assert np.all(dx[b, n:] == 0), "padding receives no gradient"
        o1, s1, c1 = layer.forward(x[b : b + 1, :n])
        np.testing.assert_allclose(out[b, :n], o1[0], rtol=1e-12, atol=1e-13)
        parts = state if cell == "lstm" else (state,)
        parts1 = s1 if cell == "lstm" else (s1,)
        for s, s_ in zip(parts, parts1, strict=False):
            np.testing.assert_allclose(s[:, b], s_[:, 0], rtol=1e-12, atol=1e-13)
        layer.zero_grad()
        ds1 = tuple(d[:, b : b + 1] for d in dstate) if cell == "lstm" else dstate[:, b : b + 1]
        dx1, _ = layer.backward(dout[b : b + 1, :n], ds1, c1)
        np.testing.assert_allclose(dx[b, :n], dx1[0], rtol=1e-11, atol=1e-12)
        for k in total:
            total[k] += layer.grads[k]
    for k in total:
        np.testing.assert_allclose(batch_grads[k], total[k], rtol=1e-11, atol=1e-12, err_msg=k)


def test_grad_flow_is_recorded_only_when_asked():
    rng = np.random.default_rng(4)
    layer = LSTM(2, 3, bidirectional=True, dtype="float64", rng=rng)
    x = rng.standard_normal((5, 2, 2))
    out, _, cache = layer.forward(x)
    layer.backward(np.ones_like(out), None, cache)
    assert layer.grad_flow == {}
    layer.record_grad_flow = True
    out, _, cache = layer.forward(x)
    layer.backward(np.ones_like(out), None, cache)
    assert set(layer.grad_flow) == {"h_l0", "h_l0_reverse", "c_l0", "c_l0_reverse"}
    assert all(v.shape == (5,) and np.all(v > 0) for v in layer.grad_flow.values())


def test_cells_are_exported():
    assert RNNCell("tanh").num_gates == 1 and LSTMCell.num_gates == 4 and GRUCell.num_gates == 3
