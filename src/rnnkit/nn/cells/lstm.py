"""The LSTM cell (gates i, f, g, o): one time step, forward and backward."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from ..._kernels.gemm import product
from .cell import _Cell, _gate_affine
from .registry import CellSpec


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

    def project(
        self,
        x2: np.ndarray,
        W_ih: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        H = W_ih.shape[0] // 4
        scale, _, _ = _gate_affine("ssts", H, W_ih.dtype)
        xp = np.matmul(x2, np.ascontiguousarray((W_ih * scale[:, None]).T), out=out)  # (T*B, I) x (I, 4H)
        if b_ih is not None:
            xp += (b_ih + b_hh) * scale
        return xp

    def recurrent_weight(self, W_hh: np.ndarray, b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        scale, _, _ = _gate_affine("ssts", W_hh.shape[1], W_hh.dtype)
        return np.ascontiguousarray((W_hh * scale[:, None]).T), None  # (H, 4H), pre-scaled

    def allocate(
        self, T: int, B: int, H: int, dtype: DTypeLike, empty: Callable[..., np.ndarray] = np.empty
    ) -> dict[str, np.ndarray]:
        return {
            "gates": empty((T, B, 4 * H), dtype),  # activated i, f, g, o
            "tc": empty((T, B, H), dtype),  # tanh(c_t)
        }

    def workspace(self, B: int, H: int, dtype: DTypeLike) -> dict[str, np.ndarray]:
        _, alpha, beta = _gate_affine("ssts", H, dtype)
        return {
            "alpha": alpha,
            "beta": beta,
            "tmp": np.empty((B, H), dtype),
            "dct": np.empty((B, H), dtype),
            "d4": np.empty((B, 4 * H), dtype),
        }

    def step_forward(
        self,
        xp: np.ndarray,
        hr: np.ndarray,
        h: np.ndarray,
        c: np.ndarray,
        Wr: np.ndarray,
        br: np.ndarray | None,
        store: dict[str, np.ndarray],
        t: int,
        h_out: np.ndarray,
        c_out: np.ndarray,
        ws: dict[str, np.ndarray],
        kern: ModuleType | None,
    ) -> None:
        a = store["gates"][t]  # (B, 4H)
        product(hr, Wr, a)  # (B, H) x (H, 4H)
        if kern is not None:
            kern.lstm_forward(a, xp, c, c_out, store["tc"][t], h_out)
            return
        a += xp
        o = lstm_gates(a, c, c_out, ws["alpha"], ws["beta"], ws["tmp"])
        tc = np.tanh(c_out, out=store["tc"][t])
        np.multiply(o, tc, out=h_out)

    # Small batches: the compiled kernels also run the time loop (see numba_cells); the
    # driver offers the whole sequence first and loops over step_* when this declines.
    SEQUENCE_MAX_BATCH = 4

    def sequence_forward(
        self,
        xp: np.ndarray,
        Wr: np.ndarray,
        br: np.ndarray | None,
        hs: np.ndarray,
        cs: np.ndarray | None,
        store: dict[str, np.ndarray],
        reverse: bool,
        kern: ModuleType | None,
    ) -> bool:
        if kern is None or xp.shape[1] > self.SEQUENCE_MAX_BATCH:
            return False
        kern.lstm_sequence_forward(xp, Wr, hs, cs, store["gates"], store["tc"], reverse)
        return True

    def sequence_backward(
        self,
        dout: np.ndarray,
        dh: np.ndarray,
        dc: np.ndarray | None,
        store: dict[str, np.ndarray],
        c_prev: np.ndarray,
        W_hh: np.ndarray,
        dgi: np.ndarray,
        dgh: np.ndarray,
        reverse: bool,
        kern: ModuleType | None,
    ) -> bool:
        if kern is None or dout.shape[1] > self.SEQUENCE_MAX_BATCH:
            return False
        kern.lstm_sequence_backward(dout, dh, dc, store["gates"], store["tc"], c_prev, W_hh, dgi, reverse)
        return True

    def step_once(
        self,
        x: np.ndarray,
        h: np.ndarray,
        c: np.ndarray,
        W_ih: np.ndarray,
        W_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        h_out: np.ndarray,
        c_out: np.ndarray,
    ) -> None:
        """One online step with the raw weights (no per-sequence preparation)."""
        H = h.shape[-1]
        scale, alpha, beta = _gate_affine("ssts", H, h.dtype)
        a = x @ W_ih.T  # (B, I) x (I, 4H)
        a += h @ W_hh.T  # (B, H) x (H, 4H)
        if b_ih is not None:
            a += b_ih
            a += b_hh
        a *= scale
        o = lstm_gates(a, c, c_out, alpha, beta)
        np.multiply(o, np.tanh(c_out), out=h_out)

    @staticmethod
    def cell_grad(dh: np.ndarray, dc: np.ndarray | None, store: dict[str, np.ndarray], t: int) -> np.ndarray:
        """dL/dc_t: from the future cell state (dc) and through h_t = o * tanh(c_t)."""
        H = dh.shape[-1]
        o, tc = store["gates"][t][:, 3 * H :], store["tc"][t]
        dct = dh * o * (1.0 - tc * tc)
        if dc is not None:
            dct += dc
        return dct

    @staticmethod
    def cell_states(store: dict[str, np.ndarray], c_prev: np.ndarray) -> np.ndarray:
        """c_t for every step of a sequence (T, B, H), from the stored gates and the previous
        cell states c_prev (T, B, H): c_t = f * c_{t-1} + i * g (for the diagnostics)."""
        H = c_prev.shape[-1]
        a = store["gates"]  # (T, B, 4H)
        return a[:, :, H : 2 * H] * c_prev + a[:, :, :H] * a[:, :, 2 * H : 3 * H]

    def online_step(
        self,
        kern: ModuleType,
        x: np.ndarray,
        h: np.ndarray,
        c: np.ndarray,
        k: int,
        W_ih: np.ndarray,
        W_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        h_out: np.ndarray,
        c_out: np.ndarray,
    ) -> bool:
        """The compiled online step of layer ``k`` (see :mod:`rnnkit.nn._step`)."""
        return kern.lstm_step(x, h, c, k, W_ih, W_hh, b_ih, b_hh, h_out, c_out)

    def step_backward(
        self,
        dh: np.ndarray,
        dc: np.ndarray | None,
        h: np.ndarray,
        c: np.ndarray,
        h_new: np.ndarray,
        W_hh: np.ndarray,
        store: dict[str, np.ndarray],
        t: int,
        dgi: np.ndarray,
        dgh: np.ndarray,
        rec_mask: np.ndarray | None,
        dh_out: np.ndarray,
        dc_out: np.ndarray,
        ws: dict[str, np.ndarray],
        kern: ModuleType | None,
    ) -> None:
        a, tc = store["gates"][t], store["tc"][t]
        if kern is not None:
            kern.lstm_backward(dh, dc, a, c, tc, dgi, dc_out)
        else:
            H = dh.shape[-1]
            dct = np.multiply(tc, tc, out=ws["dct"])  # dc_t = dc + dh o (1 - tc^2)
            np.subtract(1.0, dct, out=dct)
            dct *= dh
            dct *= a[:, 3 * H :]  # o
            dct += dc
            lstm_gate_grads(dh, dct, a, c, tc, dgi, dc_out, ws["d4"])
        product(dgi, W_hh, dh_out)  # (B, 4H) x (4H, H)
        if rec_mask is not None:
            dh_out *= rec_mask


def lstm_gates(
    a: np.ndarray,
    c: np.ndarray,
    c_out: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    tmp: np.ndarray | None = None,
) -> np.ndarray:
    """The gate math of one step, shared with the layer-normalized LSTM: ``a`` (B, 4H), the
    pre-activations with the sigmoid blocks halved, becomes i, f, g, o in place (one tanh and
    ``alpha * . + beta``); c_out = f * c + i * g (B, H), through ``tmp`` (B, H) when given.
    Returns o (B, H), a view of ``a``."""
    H = c.shape[-1]
    np.tanh(a, out=a)
    a *= alpha
    a += beta  # sigmoid, sigmoid, tanh, sigmoid
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    np.multiply(f, c, out=c_out)
    c_out += np.multiply(i, g, out=tmp)
    return o


def lstm_gate_grads(
    dh: np.ndarray,
    dct: np.ndarray,
    a: np.ndarray,
    c: np.ndarray,
    tc: np.ndarray,
    dgi: np.ndarray,
    dc_out: np.ndarray,
    d4: np.ndarray,
) -> None:
    """Backward of :func:`lstm_gates`, shared with the layer-normalized LSTM: from dh (B, H),
    dct = dL/dc_t (B, H), the activated gates ``a`` (B, 4H), c_{t-1} and the tanh the output
    gate multiplied (``tc``), writes dL/d(pre-activations) into dgi (B, 4H) and
    dL/dc_{t-1} = dct * f into dc_out; ``d4`` (B, 4H) is scratch."""
    H = dh.shape[-1]
    i, f, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H]
    np.multiply(dh, tc, out=dgi[:, 3 * H :])  # d o   (before o's derivative)
    np.multiply(dct, g, out=dgi[:, :H])  # d i
    np.multiply(dct, c, out=dgi[:, H : 2 * H])  # d f
    np.multiply(dct, i, out=dgi[:, 2 * H : 3 * H])  # d g
    np.subtract(1.0, a, out=d4)  # s (1 - s) for the sigmoid gates
    d4 *= a
    dg = d4[:, 2 * H : 3 * H]
    np.multiply(g, g, out=dg)  # 1 - g^2 for the tanh gate
    np.subtract(1.0, dg, out=dg)
    dgi *= d4
    np.multiply(dct, f, out=dc_out)


# ONNX's LSTM gates are i, o, f, c (its c is PyTorch's candidate g)
LSTM = CellSpec(
    "lstm",
    "LSTM",
    LSTMCell,
    gates="ifgo",
    layer="LSTM",
    torch="LSTM",
    onnx="LSTM",
    onnx_gates="iofg",
    activations=("sigmoid", "sigmoid", "tanh", "sigmoid"),
)
