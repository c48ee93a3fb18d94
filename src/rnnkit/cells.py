"""Recurrent cells: one time step each, forward and hand-written backward side by side.

Shape legend
    T  time steps          B  batch          I  input features
    H  hidden units        G  gates x H (RNN: H, LSTM: 4H, GRU: 3H)

A cell never loops over time; :mod:`rnnkit.nn.recurrent` owns the loop. To keep the large
matrix products large, the split of work is:

* the driver computes the input projection ``xp = x W_ih^T + b_ih`` for all T steps at
  once, as one (T*B, I) x (I, G) product;
* ``step_forward`` adds the recurrent product and applies the gate math for one step,
  writing what backward needs into slot ``t`` of per-sequence arrays from ``allocate``;
* ``step_backward`` turns the gradient w.r.t. the new state into the gradient w.r.t. the
  pre-activations, split into the input part ``dgi`` (feeds dW_ih, db_ih and dx) and the
  recurrent part ``dgh`` (feeds dW_hh, db_hh); they differ only for the GRU. The driver
  forms the weight gradients after the loop, as one product over all time steps.

``hr`` is the previous hidden state as seen by the recurrent product: equal to ``h``
unless variational recurrent dropout multiplies it by a fixed per-sequence mask.
``step_backward`` returns ``(dhr, dh_direct, dc_prev)``: the gradient through the
recurrent product, the gradient reaching ``h_{t-1}`` by any other path (GRU's ``z * h``),
and the gradient w.r.t. ``c_{t-1}`` (LSTM only).
"""

from __future__ import annotations

import numpy as np

from .functional import ACTIVATIONS, sigmoid


class RNNCell:
    """Elman cell: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act in {tanh, relu}.

    The textbook's h_t = tanh(W_x x_t + W_h h_{t-1} + b_h) is the same map with
    W_x = W_ih, W_h = W_hh and b_h = b_ih + b_hh (PyTorch keeps two biases; only their sum
    matters). The output y_t = W_y h_t + b_y is a separate ``Linear`` layer.
    """

    num_gates = 1
    has_cell_state = False

    def __init__(self, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity
        self.act, self.dact = ACTIVATIONS[nonlinearity]

    def allocate(self, T: int, B: int, H: int, dtype) -> dict[str, np.ndarray]:
        return {"h": np.empty((T, B, H), dtype)}

    def step_forward(self, xp, h, hr, c, W_hh, b_hh, store, t):
        pre = store["h"][t]                      # (B, H), becomes h_t in place
        np.matmul(hr, W_hh.T, out=pre)
        pre += xp
        if b_hh is not None:
            pre += b_hh
        self.act(pre, out=pre)
        return pre, None

    def step_backward(self, dh, dc, h, c, W_hh, store, t, dgi, dgh):
        # d pre = dh * act'(pre), written through the activation's output h_t
        np.multiply(dh, self.dact(store["h"][t]), out=dgi)
        return dgi @ W_hh, None, None            # (B, G) x (G, H) -> (B, H)


class LSTMCell:
    """LSTM cell in PyTorch's gate order i, f, g, o:

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
        g = tanh   (W_ig x + b_ig + W_hg h + b_hg)      candidate
        o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)
    """

    num_gates = 4
    has_cell_state = True

    def allocate(self, T, B, H, dtype):
        return {
            "gates": np.empty((T, B, 4 * H), dtype),  # activated i, f, g, o
            "c": np.empty((T, B, H), dtype),          # c_t
            "tc": np.empty((T, B, H), dtype),         # tanh(c_t)
            "h": np.empty((T, B, H), dtype),          # h_t
        }

    def step_forward(self, xp, h, hr, c, W_hh, b_hh, store, t):
        H = h.shape[-1]
        a = store["gates"][t]                      # (B, 4H)
        np.matmul(hr, W_hh.T, out=a)
        a += xp
        if b_hh is not None:
            a += b_hh
        sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # i, f
        np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])  # g
        sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])  # o
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c_new = store["c"][t]
        np.multiply(f, c, out=c_new)
        c_new += i * g
        tc = np.tanh(c_new, out=store["tc"][t])
        h_new = np.multiply(o, tc, out=store["h"][t])
        return h_new, c_new

    @staticmethod
    def cell_grad(dh, dc, store, t):
        """dL/dc_t: from the future cell state (dc) and through h_t = o * tanh(c_t)."""
        H = dh.shape[-1]
        o, tc = store["gates"][t][:, 3 * H :], store["tc"][t]
        dct = dh * o * (1.0 - tc * tc)
        if dc is not None:
            dct += dc
        return dct

    def step_backward(self, dh, dc, h, c, W_hh, store, t, dgi, dgh):
        H = dh.shape[-1]
        a, tc = store["gates"][t], store["tc"][t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        dct = self.cell_grad(dh, dc, store, t)
        np.multiply(dh * tc, o * (1.0 - o), out=dgi[:, 3 * H :])        # o
        np.multiply(dct * g, i * (1.0 - i), out=dgi[:, :H])              # i
        np.multiply(dct * c, f * (1.0 - f), out=dgi[:, H : 2 * H])       # f
        np.multiply(dct * i, 1.0 - g * g, out=dgi[:, 2 * H : 3 * H])     # g
        return dgi @ W_hh, None, dct * f


class GRUCell:
    """GRU cell in PyTorch's formulation (gate order r, z, n; b_hn inside the reset product):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n = tanh   (W_in x + b_in + r * (W_hn h + b_hn))    candidate
        h_t = (1 - z) * n + z * h_{t-1}
    """

    num_gates = 3
    has_cell_state = False

    def allocate(self, T, B, H, dtype):
        return {
            "gates": np.empty((T, B, 3 * H), dtype),  # activated r, z, n
            "hh": np.empty((T, B, 3 * H), dtype),     # W_hh h + b_hh (its n part is needed)
            "h": np.empty((T, B, H), dtype),
        }

    def step_forward(self, xp, h, hr, c, W_hh, b_hh, store, t):
        H = h.shape[-1]
        hh = store["hh"][t]                        # (B, 3H)
        np.matmul(hr, W_hh.T, out=hh)
        if b_hh is not None:
            hh += b_hh
        a = store["gates"][t]
        np.add(xp[:, : 2 * H], hh[:, : 2 * H], out=a[:, : 2 * H])
        sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # r, z
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        np.multiply(r, hh[:, 2 * H :], out=n)
        n += xp[:, 2 * H :]
        np.tanh(n, out=n)
        h_new = store["h"][t]
        np.subtract(h, n, out=h_new)               # h_t = n + z * (h_{t-1} - n)
        h_new *= z
        h_new += n
        return h_new, None

    def step_backward(self, dh, dc, h, c, W_hh, store, t, dgi, dgh):
        H = dh.shape[-1]
        a, hn = store["gates"][t], store["hh"][t][:, 2 * H :]
        r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        dn_pre = np.multiply(dh * (1.0 - z), 1.0 - n * n, out=dgi[:, 2 * H :])
        np.multiply(dn_pre, r, out=dgh[:, 2 * H :])                      # d(W_hn h + b_hn)
        np.multiply(dn_pre * hn, r * (1.0 - r), out=dgi[:, :H])          # r
        np.multiply(dh * (h - n), z * (1.0 - z), out=dgi[:, H : 2 * H])  # z
        dgh[:, : 2 * H] = dgi[:, : 2 * H]
        return dgh @ W_hh, dh * z, None


def make_cell(mode: str):
    """The cell for a layer mode: RNN_TANH, RNN_RELU, LSTM or GRU."""
    if mode == "RNN_TANH":
        return RNNCell("tanh")
    if mode == "RNN_RELU":
        return RNNCell("relu")
    if mode == "LSTM":
        return LSTMCell()
    if mode == "GRU":
        return GRUCell()
    raise ValueError(f"mode: expected one of RNN_TANH, RNN_RELU, LSTM, GRU, got {mode!r}")
