"""Recurrent cells: one time step each, forward and hand-written backward side by side.

Shape legend
    T  time steps          B  batch          I  input features
    H  hidden units        G  gates x H (RNN: H, LSTM: 4H, GRU: 3H)

A cell never loops over time; :mod:`rnnkit.nn.recurrent` owns the loop. To keep the large
matrix products large, the split of work is:

* ``project`` computes the input projection ``xp = x W_ih^T + b`` for all T steps at once,
  as one (T*B, I) x (I, G) product; ``recurrent_weight`` prepares W_hh once per sequence;
* ``step_forward`` adds the recurrent product and applies the gate math for one step,
  writing the new state into ``h_out`` (and ``c_out``) and what backward needs into slot
  ``t`` of the per-sequence arrays from ``allocate``;
* ``step_backward`` turns the gradient w.r.t. the new state into the gradient w.r.t. the
  pre-activations, split into the input part ``dgi`` (feeds dW_ih, db_ih and dx) and the
  recurrent part ``dgh`` (feeds dW_hh, db_hh); they differ only for the GRU. It writes
  the gradient w.r.t. the previous state into ``dh_out`` (and ``dc_out``). The driver
  forms the weight gradients after the loop, as one product over all time steps.

``hr`` is the previous hidden state as seen by the recurrent product: equal to ``h``
unless variational recurrent dropout multiplies it by a fixed per-sequence ``rec_mask``.

Speed without changing the maths:

* sigmoid(x) = (1 + tanh(x / 2)) / 2. The rows of W_ih, W_hh and the biases that feed a
  sigmoid gate are multiplied by 1/2 once per sequence (exact in floating point, a power
  of two), so one ``tanh`` over all gates and one affine map ``a * alpha + beta`` give
  every activation: two passes over (B, G) instead of one per gate.
* b_hh is folded into the input projection wherever it is added outside a product (all
  of it for RNN and LSTM, the r and z parts for the GRU).
* The elementwise gate math of one step is one call: a fused compiled kernel from
  :mod:`rnnkit._kernels` when one is active (``kern`` is not None), otherwise the NumPy
  code below, which is the reference the kernels are tested against.
* Small batches (the LSTM's ``SEQUENCE_MAX_BATCH``): ``sequence_forward`` and
  ``sequence_backward`` hand a whole sequence to one compiled kernel that runs the same
  steps without returning to Python between them; they decline (return False) without
  kernels, and the driver then loops over ``step_forward`` / ``step_backward``.
* ``step_once`` is the online step of ``layer.step``: raw weights, nothing prepared.
"""

from __future__ import annotations

import numpy as np

from ..functional import ACTIVATIONS


_AFFINE: dict = {}


def _gate_affine(kinds: str, H: int, dtype):
    """Per-column (scale, alpha, beta) so that act = alpha * tanh(scale * pre) + beta.

    ``kinds`` has one letter per gate block: "s" sigmoid, "t" tanh. Constants, built once
    per (kinds, H, dtype) and read-only.
    """
    key = (kinds, H, np.dtype(dtype).str)
    if key not in _AFFINE:
        s = {"s": (0.5, 0.5, 0.5), "t": (1.0, 1.0, 0.0)}
        cols = [np.repeat(np.array([s[k][j] for k in kinds], dtype), H) for j in range(3)]
        for col in cols:
            col.flags.writeable = False
        _AFFINE[key] = tuple(cols)  # each (G,)
    return _AFFINE[key]


class _Cell:
    """What the cells share: the recurrent weight's gradient over all steps."""

    @staticmethod
    def recurrent_grads(gi2, gh2, hr2, db, dW_hh, db_hh):
        """Add dL/dW_hh and dL/db_hh (None without biases); gi2 (T*B, G) holds the gate
        gradients, db their sum over steps, hr2 (T*B, H) the states fed into each step.
        Here the recurrent product sees the gate gradients themselves (gh2 is gi2)."""
        dW_hh += gi2.T @ hr2                               # (G, T*B) x (T*B, H)
        if db_hh is not None:
            db_hh += db


class _Declines(_Cell):
    """Cells without a compiled whole-sequence kernel: the driver loops over steps."""

    def sequence_forward(self, xp, Wr, br, hs, cs, store, reverse, kern):
        return False

    def sequence_backward(self, dout, dh, dc, store, c_prev, W_hh, dgi, dgh, reverse, kern):
        return False


class RNNCell(_Declines):
    """Elman cell: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act in {tanh, relu}.

    The textbook's h_t = tanh(W_x x_t + W_h h_{t-1} + b_h) is the same map with
    W_x = W_ih, W_h = W_hh and b_h = b_ih + b_hh (PyTorch keeps two biases; only their sum
    matters). The output y_t = W_y h_t + b_y is a separate ``Linear`` layer.

    Backward: dpre_t = dh_t * act'(pre_t), with tanh' = 1 - h_t^2 and relu' = [h_t > 0];
    dh_{t-1} = dpre_t W_hh.
    """

    num_gates = 1
    has_cell_state = False

    def __init__(self, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity
        self.act, self.dact = ACTIVATIONS[nonlinearity]

    def project(self, x2, W_ih, b_ih, b_hh, out=None):
        xp = np.matmul(x2, np.ascontiguousarray(W_ih.T), out=out)  # (T*B, I) x (I, H); NN: BLAS's fast case
        if b_ih is not None:
            xp += b_ih + b_hh
        return xp

    def recurrent_weight(self, W_hh, b_hh):
        return np.ascontiguousarray(W_hh.T), None          # (H, H): W_hh^T, laid out for h W^T

    def allocate(self, T, B, H, dtype, empty=np.empty):
        return {}  # h_t itself (kept by the driver) is all backward needs

    def workspace(self, B, H, dtype):
        return {}

    def step_forward(self, xp, hr, h, c, Wr, br, store, t, h_out, c_out, ws, kern):
        np.matmul(hr, Wr, out=h_out)                       # (B, H) x (H, H)
        if kern is not None and self.nonlinearity == "tanh" and h_out.dtype == np.float32:
            # fused add + tanh; in float64 NumPy's own vectorized tanh is the faster of the two
            kern.rnn_tanh_forward(h_out, xp)
            return
        h_out += xp
        self.act(h_out, out=h_out)

    def step_once(self, x, h, c, W_ih, W_hh, b_ih, b_hh, h_out, c_out):
        """One online step with the raw weights (no per-sequence preparation)."""
        np.matmul(x, W_ih.T, out=h_out)                    # (B, I) x (I, H)
        h_out += h @ W_hh.T                                # (B, H) x (H, H)
        if b_ih is not None:
            h_out += b_ih
            h_out += b_hh
        self.act(h_out, out=h_out)

    def step_backward(self, dh, dc, h, c, h_new, W_hh, store, t, dgi, dgh, rec_mask,
                      dh_out, dc_out, ws, kern):
        if self.nonlinearity == "tanh":
            if kern is not None:
                kern.tanh_backward(dh, h_new, dgi)
            else:
                np.multiply(h_new, h_new, out=dgi)        # dpre = dh * (1 - h^2)
                np.subtract(1.0, dgi, out=dgi)
                dgi *= dh
        else:
            np.multiply(dh, h_new > 0, out=dgi)
        np.matmul(dgi, W_hh, out=dh_out)                  # (B, H) x (H, H)
        if rec_mask is not None:
            dh_out *= rec_mask


class LSTMCell(_Cell):
    """LSTM cell in PyTorch's gate order i, f, g, o:

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
        g = tanh   (W_ig x + b_ig + W_hg h + b_hg)      candidate
        o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Backward, with dh = dL/dh_t and dc = dL/dc_t from step t+1:

        dc_t  = dc + dh * o * (1 - tanh(c_t)^2)
        do    = dh * tanh(c_t) * o (1 - o)        di = dc_t * g * i (1 - i)
        df    = dc_t * c_{t-1} * f (1 - f)        dg = dc_t * i * (1 - g^2)
        dc_{t-1} = dc_t * f,   dh_{t-1} = [di df dg do] W_hh
    """

    num_gates = 4
    has_cell_state = True

    def project(self, x2, W_ih, b_ih, b_hh, out=None):
        H = W_ih.shape[0] // 4
        scale, _, _ = _gate_affine("ssts", H, W_ih.dtype)
        xp = np.matmul(x2, np.ascontiguousarray((W_ih * scale[:, None]).T), out=out)  # (T*B, I) x (I, 4H)
        if b_ih is not None:
            xp += (b_ih + b_hh) * scale
        return xp

    def recurrent_weight(self, W_hh, b_hh):
        scale, _, _ = _gate_affine("ssts", W_hh.shape[1], W_hh.dtype)
        return np.ascontiguousarray((W_hh * scale[:, None]).T), None  # (H, 4H), pre-scaled

    def allocate(self, T, B, H, dtype, empty=np.empty):
        return {
            "gates": empty((T, B, 4 * H), dtype),  # activated i, f, g, o
            "tc": empty((T, B, H), dtype),         # tanh(c_t)
        }

    def workspace(self, B, H, dtype):
        _, alpha, beta = _gate_affine("ssts", H, dtype)
        return {"alpha": alpha, "beta": beta, "tmp": np.empty((B, H), dtype),
                "dct": np.empty((B, H), dtype), "d4": np.empty((B, 4 * H), dtype)}

    def step_forward(self, xp, hr, h, c, Wr, br, store, t, h_out, c_out, ws, kern):
        a = store["gates"][t]                              # (B, 4H)
        np.matmul(hr, Wr, out=a)                           # (B, H) x (H, 4H)
        if kern is not None:
            kern.lstm_forward(a, xp, c, c_out, store["tc"][t], h_out)
            return
        H = h.shape[-1]
        a += xp
        np.tanh(a, out=a)
        a *= ws["alpha"]
        a += ws["beta"]                                    # sigmoid, sigmoid, tanh, sigmoid
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        np.multiply(f, c, out=c_out)
        c_out += np.multiply(i, g, out=ws["tmp"])
        tc = np.tanh(c_out, out=store["tc"][t])
        np.multiply(o, tc, out=h_out)

    # Small batches: the compiled kernels also run the time loop (see numba_cells); the
    # driver offers the whole sequence first and loops over step_* when this declines.
    SEQUENCE_MAX_BATCH = 4

    def sequence_forward(self, xp, Wr, br, hs, cs, store, reverse, kern):
        if kern is None or xp.shape[1] > self.SEQUENCE_MAX_BATCH:
            return False
        kern.lstm_sequence_forward(xp, Wr, hs, cs, store["gates"], store["tc"], reverse)
        return True

    def sequence_backward(self, dout, dh, dc, store, c_prev, W_hh, dgi, dgh, reverse, kern):
        if kern is None or dout.shape[1] > self.SEQUENCE_MAX_BATCH:
            return False
        kern.lstm_sequence_backward(dout, dh, dc, store["gates"], store["tc"], c_prev, W_hh, dgi, reverse)
        return True

    def step_once(self, x, h, c, W_ih, W_hh, b_ih, b_hh, h_out, c_out):
        """One online step with the raw weights (no per-sequence preparation)."""
        H = h.shape[-1]
        scale, alpha, beta = _gate_affine("ssts", H, h.dtype)
        a = x @ W_ih.T                                     # (B, I) x (I, 4H)
        a += h @ W_hh.T                                    # (B, H) x (H, 4H)
        if b_ih is not None:
            a += b_ih
            a += b_hh
        a *= scale
        np.tanh(a, out=a)
        a *= alpha
        a += beta
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        np.multiply(f, c, out=c_out)
        c_out += i * g
        np.multiply(o, np.tanh(c_out), out=h_out)

    @staticmethod
    def cell_grad(dh, dc, store, t):
        """dL/dc_t: from the future cell state (dc) and through h_t = o * tanh(c_t)."""
        H = dh.shape[-1]
        o, tc = store["gates"][t][:, 3 * H:], store["tc"][t]
        dct = dh * o * (1.0 - tc * tc)
        if dc is not None:
            dct += dc
        return dct

    def step_backward(self, dh, dc, h, c, h_new, W_hh, store, t, dgi, dgh, rec_mask,
                      dh_out, dc_out, ws, kern):
        a, tc = store["gates"][t], store["tc"][t]
        if kern is not None:
            kern.lstm_backward(dh, dc, a, c, tc, dgi, dc_out)
        else:
            H = dh.shape[-1]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            dct = np.multiply(tc, tc, out=ws["dct"])       # dc_t = dc + dh o (1 - tc^2)
            np.subtract(1.0, dct, out=dct)
            dct *= dh
            dct *= o
            dct += dc
            np.multiply(dh, tc, out=dgi[:, 3 * H:])       # d o   (before o's derivative)
            np.multiply(dct, g, out=dgi[:, :H])            # d i
            np.multiply(dct, c, out=dgi[:, H:2 * H])       # d f
            np.multiply(dct, i, out=dgi[:, 2 * H:3 * H])   # d g
            d4 = np.subtract(1.0, a, out=ws["d4"])         # s (1 - s) for the sigmoid gates
            d4 *= a
            dg = d4[:, 2 * H:3 * H]
            np.multiply(g, g, out=dg)                      # 1 - g^2 for the tanh gate
            np.subtract(1.0, dg, out=dg)
            dgi *= d4
            np.multiply(dct, f, out=dc_out)
        np.matmul(dgi, W_hh, out=dh_out)                   # (B, 4H) x (4H, H)
        if rec_mask is not None:
            dh_out *= rec_mask


class GRUCell(_Declines):
    """GRU cell in PyTorch's formulation (gate order r, z, n; b_hn inside the reset product):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n = tanh   (W_in x + b_in + r * (W_hn h + b_hn))    candidate
        h_t = (1 - z) * n + z * h_{t-1}

    Backward, with dh = dL/dh_t and hn = W_hn h_{t-1} + b_hn:

        dn = dh (1 - z) (1 - n^2)     dz = dh (h_{t-1} - n) z (1 - z)
        dr = dn * hn * r (1 - r)      d(hn) = dn * r
        dh_{t-1} = [dr dz d(hn)] W_hh + dh * z

    Per step only hn and d(hn) are kept (T, B, H), not the whole (T, B, 3H) recurrent
    product and its gradient: their r and z parts are used once, in the step, or equal
    the input-side gradient (dW_hh's r and z rows come from dgi).
    """

    num_gates = 3
    has_cell_state = False

    def project(self, x2, W_ih, b_ih, b_hh, out=None):
        H = W_ih.shape[0] // 3
        scale, _, _ = _gate_affine("sst", H, W_ih.dtype)
        xp = np.matmul(x2, np.ascontiguousarray((W_ih * scale[:, None]).T), out=out)  # (T*B, I) x (I, 3H)
        if b_ih is not None:
            b = b_ih.copy()
            b[:2 * H] += b_hh[:2 * H]                      # b_hn stays inside r * (...)
            xp += b * scale
        return xp

    def recurrent_weight(self, W_hh, b_hh):
        H = W_hh.shape[1]
        scale, _, _ = _gate_affine("sst", H, W_hh.dtype)
        b_hn = b_hh[2 * H:] if b_hh is not None else np.zeros(H, W_hh.dtype)
        return np.ascontiguousarray((W_hh * scale[:, None]).T), b_hn  # (H, 3H), (H,)

    def allocate(self, T, B, H, dtype, empty=np.empty):
        return {
            "gates": empty((T, B, 3 * H), dtype),  # activated r, z, n
            "hn": empty((T, B, H), dtype),         # W_hn h + b_hn, inside the reset product
        }

    def workspace(self, B, H, dtype):
        return {"tmp": np.empty((B, H), dtype), "dz": np.empty((B, H), dtype),
                "hh": np.empty((B, 3 * H), dtype),    # the step's h W_hh^T (r, z halved)
                "dgh": np.empty((B, 3 * H), dtype)}   # the step's [dr dz d(hn)], multiplied by W_hh

    @staticmethod
    def recurrent_grads(gi2, gh2, hr2, db, dW_hh, db_hh):
        """As for the other cells, but gh2 (T*B, H) holds d(W_hn h + b_hn): rows r and z of
        dW_hh come from the gate gradients gi2, rows n from gh2."""
        H = hr2.shape[1]
        dW_hh[:2 * H] += gi2[:, :2 * H].T @ hr2              # (2H, T*B) x (T*B, H)
        dW_hh[2 * H:] += gh2.T @ hr2                         # (H, T*B) x (T*B, H)
        if db_hh is not None:
            db_hh[:2 * H] += db[:2 * H]
            db_hh[2 * H:] += gh2.sum(axis=0)

    def step_forward(self, xp, hr, h, c, Wr, br, store, t, h_out, c_out, ws, kern):
        hh = ws["hh"]                                      # (B, 3H)
        np.matmul(hr, Wr, out=hh)                          # (B, H) x (H, 3H)
        a, hn = store["gates"][t], store["hn"][t]
        if kern is not None:
            kern.gru_forward(a, xp, hh, br, h, h_out, hn)
            return
        H = h.shape[-1]
        np.add(hh[:, 2 * H:], br, out=hn)
        rz = a[:, :2 * H]
        np.add(xp[:, :2 * H], hh[:, :2 * H], out=rz)
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                          # r, z
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        np.multiply(r, hn, out=n)
        n += xp[:, 2 * H:]
        np.tanh(n, out=n)
        np.subtract(h, n, out=h_out)                       # h_t = n + z * (h_{t-1} - n)
        h_out *= z
        h_out += n

    def step_once(self, x, h, c, W_ih, W_hh, b_ih, b_hh, h_out, c_out):
        """One online step with the raw weights (no per-sequence preparation)."""
        H = h.shape[-1]
        xp = x @ W_ih.T                                    # (B, I) x (I, 3H)
        hh = h @ W_hh.T                                    # (B, H) x (H, 3H)
        if b_ih is not None:
            xp += b_ih
            hh += b_hh
        rz = xp[:, :2 * H]
        rz += hh[:, :2 * H]
        rz *= 0.5
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                          # r, z
        n = xp[:, 2 * H:]
        n += rz[:, :H] * hh[:, 2 * H:]
        np.tanh(n, out=n)
        np.subtract(h, n, out=h_out)
        h_out *= rz[:, H:]
        h_out += n

    def step_backward(self, dh, dc, h, c, h_new, W_hh, store, t, dgi, dhn, rec_mask,
                      dh_out, dc_out, ws, kern):
        """dgi (B, 3H) receives [dr dz dn]; dhn (B, H) receives d(hn)."""
        a, hn = store["gates"][t], store["hn"][t]
        dz_direct, dgh = ws["dz"], ws["dgh"]
        if kern is not None:
            kern.gru_backward(dh, a, hn, h, dgi, dgh, dhn, dz_direct)
        else:
            H = dh.shape[-1]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            tmp = ws["tmp"]
            dn = dgi[:, 2 * H:]
            np.multiply(n, n, out=dn)                      # dn = dh (1 - z) (1 - n^2)
            np.subtract(1.0, dn, out=dn)
            dn *= dh
            np.subtract(1.0, z, out=tmp)
            dn *= tmp
            np.multiply(dn, r, out=dhn)                    # d(W_hn h + b_hn)
            dr = dgi[:, :H]
            np.subtract(1.0, r, out=dr)                    # dr = dn hn r (1 - r)
            dr *= r
            dr *= hn
            dr *= dn
            dzg = dgi[:, H:2 * H]
            np.subtract(1.0, z, out=dzg)                   # dz = dh (h_{t-1} - n) z (1 - z)
            dzg *= z
            np.subtract(h, n, out=tmp)
            dzg *= tmp
            dzg *= dh
            dgh[:, :2 * H] = dgi[:, :2 * H]
            dgh[:, 2 * H:] = dhn
            np.multiply(dh, z, out=dz_direct)
        np.matmul(dgh, W_hh, out=dh_out)                   # (B, 3H) x (3H, H)
        if rec_mask is not None:
            dh_out *= rec_mask
        dh_out += dz_direct                                # the z * h_{t-1} path skips W_hh


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
