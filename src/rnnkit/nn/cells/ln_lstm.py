"""The layer-normalized LSTM cell (Ba et al. 2016; gates i, f, g, o): one time step, forward and backward.

Shape legend
    T  time steps      B  batch      I  input features      H  hidden units      G  4H

LN(v; gamma, beta) normalizes each row of v over its features (see :mod:`._layernorm`).
The input projection W_ih x is normalized for all T steps at once (``prepare``), the
recurrent one and the cell state per step; backward mirrors that split: per step only
what dh_{t-1} and dc_{t-1} need, every parameter gradient one product or sum after the
loop (``weight_grads``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from ..._kernels.gemm import product
from . import _layernorm as ln
from .cell import _gate_affine
from .lstm import LSTMCell, lstm_gate_grads, lstm_gates
from .registry import CellSpec

_BIASES = ("ln_ih_bias", "ln_hh_bias", "bias_ih", "bias_hh")  # all added to the gates' pre-activations


class LNLSTMCell(ln.LNInputs, LSTMCell):  # type: ignore[misc]  # online_step: None, on purpose
    """Layer-normalized LSTM cell, PyTorch's gate order i, f, g, o:

        a   = LN(W_ih x; ln_ih) + LN(W_hh h_{t-1}; ln_hh) + b_ih + b_hh      (B, 4H), over all 4H
        i, f, o = sigmoid(a_i, a_f, a_o),   g = tanh(a_g)
        c_t = f * c_{t-1} + i * g                                           (carried unnormalized)
        h_t = o * tanh(LN(c_t; ln_c))                                       over H

    Parameters beyond PyTorch's four: ``ln_ih_weight``, ``ln_hh_weight`` (4H,),
    ``ln_c_weight`` (H,), ones, and with ``bias`` the zero ``ln_*_bias`` of the same shapes.

    Backward, with dh = dL/dh_t, dc = dL/dc_t from step t+1, y = LN(c_t; ln_c):

        dy    = dh * o * (1 - tanh(y)^2)
        dc_t  = dc + LN'(dy * gamma_c)               (LN' the normalization's backward)
        do    = dh * tanh(y) * o (1 - o)     di = dc_t * g * i (1 - i)
        df    = dc_t * c_{t-1} * f (1 - f)   dg = dc_t * i * (1 - g^2)
        dc_{t-1} = dc_t * f,   dh_{t-1} = LN'(da * gamma_hh) W_hh

    On :class:`LSTMCell`: its workspace, its gate math (:func:`lstm_gates`,
    :func:`lstm_gate_grads`) and ``cell_states``; what layer norm changes is overridden here.
    """

    separate_recurrent_grad = 5  # dgh (T, B, 5H): dL/d(W_hh h) (4H) and dL/dLN(c_t) (H)

    def extra_parameters(self, G: int, H: int, bias: bool, dtype: DTypeLike) -> dict[str, np.ndarray]:
        return ln.parameters({"ih": G, "hh": G, "c": H}, bias, dtype)

    def allocate(
        self, T: int, B: int, H: int, dtype: DTypeLike, empty: Callable[..., np.ndarray] = np.empty
    ) -> dict[str, np.ndarray]:
        store = super().allocate(T, B, H, dtype, empty)  # gates, tc: here tanh(LN(c_t))
        store.update(
            xhat_ih=empty((T, B, 4 * H), dtype),  # W_ih x normalized
            rstd_ih=empty((T, B), dtype),
            xhat_hh=empty((T, B, 4 * H), dtype),  # W_hh h_{t-1} normalized
            rstd_hh=empty((T, B), dtype),
            chat=empty((T, B, H), dtype),  # c_t normalized
            rstd_c=empty((T, B), dtype),
        )
        return store

    def prepare(self, xp: np.ndarray, store: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> None:
        """Normalize W_ih x for all steps; xp becomes its scaled share of the pre-activations."""
        G = xp.shape[-1]
        scale, _, _ = _gate_affine("ssts", G // 4, xp.dtype)  # sigmoid(a) = (1 + tanh(a / 2)) / 2
        xhat = store["xhat_ih"]
        np.copyto(xhat, xp)
        ln.normalize(xhat, store["rstd_ih"])
        np.multiply(xhat, params["ln_ih_weight"] * scale, out=xp)  # (T, B, 4H)
        xp += ln.bias_sum(params, _BIASES, G, xp.dtype) * scale
        store["gain_hh"] = params["ln_hh_weight"] * scale  # (4H,) scaled for the forward
        for name in ("ln_ih_weight", "ln_hh_weight", "ln_c_weight"):
            store[name] = params[name]  # the live gains, for backward
        store["ln_c_bias"] = params.get("ln_c_bias", np.zeros(G // 4, xp.dtype))

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
        v = store["xhat_hh"][t]  # (B, 4H)
        product(hr, Wr, v)  # (B, H) x (H, 4H)
        ln.normalize(v, store["rstd_hh"][t])
        a = store["gates"][t]  # (B, 4H)
        np.multiply(v, store["gain_hh"], out=a)
        a += xp
        o = lstm_gates(a, c, c_out, ws["alpha"], ws["beta"], ws["tmp"])
        chat = store["chat"][t]  # (B, H)
        np.copyto(chat, c_out)
        ln.normalize(chat, store["rstd_c"][t])
        tc = np.multiply(chat, store["ln_c_weight"], out=store["tc"][t])
        tc += store["ln_c_bias"]
        np.tanh(tc, out=tc)
        np.multiply(o, tc, out=h_out)

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
        **params: np.ndarray,
    ) -> None:
        """One online step with the raw weights; ``params`` the cell's own (``ln_ih_weight``, ...)."""
        H, B = h.shape[-1], h.shape[0]
        rstd = np.empty(B, h.dtype)
        if b_ih is not None and b_hh is not None:
            params = dict(params, bias_ih=b_ih, bias_hh=b_hh)
        a = ln.normalize(x @ W_ih.T, rstd) * params["ln_ih_weight"]  # (B, I) x (I, 4H)
        a += ln.normalize(h @ W_hh.T, rstd) * params["ln_hh_weight"]  # (B, H) x (H, 4H)
        a += ln.bias_sum(params, _BIASES, 4 * H, h.dtype)
        scale, alpha, beta = _gate_affine("ssts", H, h.dtype)
        a *= scale
        o = lstm_gates(a, c, c_out, alpha, beta)
        y = ln.normalize(c_out.copy(), rstd) * params["ln_c_weight"]
        if "ln_c_bias" in params:
            y += params["ln_c_bias"]
        np.multiply(o, np.tanh(y), out=h_out)

    @staticmethod
    def cell_grad(dh: np.ndarray, dc: np.ndarray | None, store: dict[str, np.ndarray], t: int) -> np.ndarray:
        """dL/dc_t: from the future cell state (dc) and through h_t = o * tanh(LN(c_t))."""
        H = dh.shape[-1]
        o, tc = store["gates"][t][:, 3 * H :], store["tc"][t]
        dct = dh * o * (1.0 - tc * tc) * store["ln_c_weight"]
        ln.normalize_backward(dct, store["chat"][t], store["rstd_c"][t])
        if dc is not None:
            dct += dc
        return dct

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
        """dgi (B, 4H) receives da; dgh (B, 5H) dL/d(W_hh h) and dL/dLN(c_t), for weight_grads."""
        H = dh.shape[-1]
        a, tc = store["gates"][t], store["tc"][t]
        dy = dgh[:, 4 * H :]  # dL/dLN(c_t) = dh o (1 - tc^2)
        np.multiply(tc, tc, out=dy)
        np.subtract(1.0, dy, out=dy)
        dy *= dh
        dy *= a[:, 3 * H :]  # o
        dct = np.multiply(dy, store["ln_c_weight"], out=ws["dct"])
        ln.normalize_backward(dct, store["chat"][t], store["rstd_c"][t])
        if dc is not None:
            dct += dc
        lstm_gate_grads(dh, dct, a, c, tc, dgi, dc_out, ws["d4"])  # as the LSTM's, from dc_t on
        dv = np.multiply(dgi, store["ln_hh_weight"], out=dgh[:, : 4 * H])  # through LN(W_hh h)
        ln.normalize_backward(dv, store["xhat_hh"][t], store["rstd_hh"][t])
        product(dv, W_hh, dh_out)  # (B, 4H) x (4H, H)
        if rec_mask is not None:
            dh_out *= rec_mask

    def weight_grads(
        self,
        x2: np.ndarray,
        hr2: np.ndarray,
        gi2: np.ndarray,
        gh2: np.ndarray,
        store: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
    ) -> np.ndarray:
        """Every gradient as one product or sum over the T*B rows; gi2 is reused for dL/d(x W_ih^T)."""
        G = gi2.shape[1]
        db = gi2.sum(axis=0)  # (4H,): the same for every bias of the gates
        for name in _BIASES:
            if name in grads:
                grads[name] += db
        xhat_ih, xhat_hh = store["xhat_ih"].reshape(-1, G), store["xhat_hh"].reshape(-1, G)  # (T*B, 4H)
        grads["ln_ih_weight"] += ln.row_dot(gi2, xhat_ih)
        grads["ln_hh_weight"] += ln.row_dot(gi2, xhat_hh)
        dy = gh2[:, G:]  # (T*B, H) dL/dLN(c_t)
        grads["ln_c_weight"] += ln.row_dot(dy, store["chat"].reshape(dy.shape))
        if "ln_c_bias" in grads:
            grads["ln_c_bias"] += dy.sum(axis=0)
        grads["weight_hh"] += gh2[:, :G].T @ hr2  # (4H, T*B) x (T*B, H)
        gi2 *= store["ln_ih_weight"]  # through LN(W_ih x), all steps at once
        ln.normalize_backward(gi2, xhat_ih, store["rstd_ih"].reshape(-1))
        grads["weight_ih"] += gi2.T @ x2  # (4H, T*B) x (T*B, I)
        return gi2


# ONNX has no such operator: exported as primitives in a Scan loop (rnnkit.interop.onnx_cells)
LN_LSTM = CellSpec(
    "ln_lstm",
    "LN_LSTM",
    LNLSTMCell,
    gates="ifgo",
    torch="LNLSTM",
    onnx="Scan",
    activations=("sigmoid", "sigmoid", "tanh", "sigmoid"),
)
