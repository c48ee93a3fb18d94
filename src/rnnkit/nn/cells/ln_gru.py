"""The layer-normalized GRU cell (Ba et al. 2016; gates r, z, n): one time step, forward and backward.

Shape legend
    T  time steps      B  batch      I  input features      H  hidden units      G  3H

As the LN-LSTM (:mod:`.ln_lstm`): W_ih x normalized for all steps at once in ``prepare``,
W_hh h per step; every parameter gradient one product or sum after the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from ..._kernels.gemm import product
from . import _layernorm as ln
from .cell import _gate_affine
from .gru import GRUCell, gru_gate_grads, gru_gates, gru_gates_once
from .registry import CellSpec


class LNGRUCell(ln.LNInputs, GRUCell):  # type: ignore[misc]  # online_step: None, on purpose
    """Layer-normalized GRU cell, PyTorch's gate order r, z, n:

        u = LN(W_ih x; ln_ih) + b_ih            v = LN(W_hh h_{t-1}; ln_hh) + b_hh     (B, 3H), over all 3H
        r = sigmoid(u_r + v_r),   z = sigmoid(u_z + v_z)
        n = tanh(u_n + r * v_n)                 (v_n, with b_hn, inside the reset product)
        h_t = (1 - z) * n + z * h_{t-1}

    Parameters beyond PyTorch's four: ``ln_ih_weight``, ``ln_hh_weight`` (3H,), ones, and
    with ``bias`` the zero ``ln_ih_bias``, ``ln_hh_bias`` (3H,).

    Backward, with dh = dL/dh_t:

        dn = dh (1 - z) (1 - n^2)     dz = dh (h_{t-1} - n) z (1 - z)
        dr = dn * v_n * r (1 - r)     dv_n = dn * r
        du = [dr dz dn],   dv = [dr dz dv_n]
        dh_{t-1} = LN'(dv * gamma_hh) W_hh + dh * z          (LN' the normalization's backward)

    On :class:`GRUCell`: its workspace and its gate math (:func:`gru_gates`,
    :func:`gru_gate_grads`, :func:`gru_gates_once`) with v in place of W_hh h + b_hh; what
    layer norm changes is overridden here.
    """

    separate_recurrent_grad = 3  # dgh (T, B, 3H): dL/d(W_hh h)

    def extra_parameters(self, G: int, H: int, bias: bool, dtype: DTypeLike) -> dict[str, np.ndarray]:
        return ln.parameters({"ih": G, "hh": G}, bias, dtype)

    def allocate(
        self, T: int, B: int, H: int, dtype: DTypeLike, empty: Callable[..., np.ndarray] = np.empty
    ) -> dict[str, np.ndarray]:
        store = super().allocate(T, B, H, dtype, empty)  # gates, hn: here v_n
        store.update(
            xhat_ih=empty((T, B, 3 * H), dtype),  # W_ih x normalized
            rstd_ih=empty((T, B), dtype),
            xhat_hh=empty((T, B, 3 * H), dtype),  # W_hh h_{t-1} normalized
            rstd_hh=empty((T, B), dtype),
        )
        return store

    def prepare(self, xp: np.ndarray, store: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> None:
        """Normalize W_ih x for all steps; xp becomes u, with v's r and z biases folded in."""
        G = xp.shape[-1]
        H = G // 3
        scale, _, _ = _gate_affine("sst", H, xp.dtype)  # sigmoid(a) = (1 + tanh(a / 2)) / 2
        xhat = store["xhat_ih"]
        np.copyto(xhat, xp)
        ln.normalize(xhat, store["rstd_ih"])
        b_v = ln.bias_sum(params, ("ln_hh_bias", "bias_hh"), G, xp.dtype)
        b_u = ln.bias_sum(params, ("ln_ih_bias", "bias_ih"), G, xp.dtype)
        b_u[: 2 * H] += b_v[: 2 * H]  # v_n's bias stays inside r * (...)
        np.multiply(xhat, params["ln_ih_weight"] * scale, out=xp)  # (T, B, 3H)
        xp += b_u * scale
        store["gain_hh"] = params["ln_hh_weight"] * scale  # (3H,) scaled for the forward
        store["b_hn"] = b_v[2 * H :]
        store["ln_ih_weight"], store["ln_hh_weight"] = params["ln_ih_weight"], params["ln_hh_weight"]

    def step_forward(
        self,
        xp: np.ndarray,
        hr: np.ndarray,
        h: np.ndarray,
        c: None,
        Wr: np.ndarray,
        br: np.ndarray | None,
        store: dict[str, np.ndarray],
        t: int,
        h_out: np.ndarray,
        c_out: None,
        ws: dict[str, np.ndarray],
        kern: ModuleType | None,
    ) -> None:
        v = store["xhat_hh"][t]  # (B, 3H)
        product(hr, Wr, v)  # (B, H) x (H, 3H)
        ln.normalize(v, store["rstd_hh"][t])
        hh = np.multiply(v, store["gain_hh"], out=ws["hh"])  # the step's scaled LN(W_hh h)
        gru_gates(xp, hh, store["b_hn"], h, store["gates"][t], store["hn"][t], h_out)

    def step_once(
        self,
        x: np.ndarray,
        h: np.ndarray,
        c: None,
        W_ih: np.ndarray,
        W_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        h_out: np.ndarray,
        c_out: None,
        **params: np.ndarray,
    ) -> None:
        """One online step with the raw weights; ``params`` the cell's own (``ln_ih_weight``, ...)."""
        H, B = h.shape[-1], h.shape[0]
        rstd = np.empty(B, h.dtype)
        if b_ih is not None and b_hh is not None:
            params = dict(params, bias_ih=b_ih, bias_hh=b_hh)
        u = ln.normalize(x @ W_ih.T, rstd) * params["ln_ih_weight"]  # (B, I) x (I, 3H)
        u += ln.bias_sum(params, ("ln_ih_bias", "bias_ih"), 3 * H, h.dtype)
        v = ln.normalize(h @ W_hh.T, rstd) * params["ln_hh_weight"]  # (B, H) x (H, 3H)
        v += ln.bias_sum(params, ("ln_hh_bias", "bias_hh"), 3 * H, h.dtype)
        gru_gates_once(u, v, h, h_out)

    def step_backward(
        self,
        dh: np.ndarray,
        dc: None,
        h: np.ndarray,
        c: None,
        h_new: np.ndarray,
        W_hh: np.ndarray,
        store: dict[str, np.ndarray],
        t: int,
        dgi: np.ndarray,
        dgh: np.ndarray,
        rec_mask: np.ndarray | None,
        dh_out: np.ndarray,
        dc_out: None,
        ws: dict[str, np.ndarray],
        kern: ModuleType | None,
    ) -> None:
        """dgi (B, 3H) receives du = [dr dz dn]; dgh (B, 3H) dL/d(W_hh h), for weight_grads."""
        H = dh.shape[-1]
        a, hn, tmp = store["gates"][t], store["hn"][t], ws["tmp"]
        gru_gate_grads(dh, a, hn, h, dgi, tmp)  # [dr dz dn], as the GRU's (hn is v_n)
        dgh[:, : 2 * H] = dgi[:, : 2 * H]
        np.multiply(dgi[:, 2 * H :], a[:, :H], out=dgh[:, 2 * H :])  # dv_n = dn r
        dgh *= store["ln_hh_weight"]  # through LN(W_hh h)
        ln.normalize_backward(dgh, store["xhat_hh"][t], store["rstd_hh"][t])
        product(dgh, W_hh, dh_out)  # (B, 3H) x (3H, H)
        if rec_mask is not None:
            dh_out *= rec_mask
        dh_out += np.multiply(dh, a[:, H : 2 * H], out=tmp)  # the z * h_{t-1} path skips W_hh

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
        H = G // 3
        du = gi2.sum(axis=0)  # (3H,)
        dv_n = gi2[:, 2 * H :] * store["gates"].reshape(-1, G)[:, :H]  # (T*B, H) dn * r
        dv = du.copy()
        dv[2 * H :] = dv_n.sum(axis=0)
        for name, d in (("ln_ih_bias", du), ("bias_ih", du), ("ln_hh_bias", dv), ("bias_hh", dv)):
            if name in grads:
                grads[name] += d
        xhat_ih, xhat_hh = store["xhat_ih"].reshape(-1, G), store["xhat_hh"].reshape(-1, G)  # (T*B, 3H)
        grads["ln_ih_weight"] += ln.row_dot(gi2, xhat_ih)
        g_hh = grads["ln_hh_weight"]
        g_hh[: 2 * H] += ln.row_dot(gi2[:, : 2 * H], xhat_hh[:, : 2 * H])
        g_hh[2 * H :] += ln.row_dot(dv_n, xhat_hh[:, 2 * H :])
        grads["weight_hh"] += gh2.T @ hr2  # (3H, T*B) x (T*B, H)
        gi2 *= store["ln_ih_weight"]  # through LN(W_ih x), all steps at once
        ln.normalize_backward(gi2, xhat_ih, store["rstd_ih"].reshape(-1))
        grads["weight_ih"] += gi2.T @ x2  # (3H, T*B) x (T*B, I)
        return gi2


# ONNX has no such operator: exported as primitives in a Scan loop (rnnkit.interop.onnx_cells)
LN_GRU = CellSpec(
    "ln_gru", "LN_GRU", LNGRUCell, gates="rzn", torch="LNGRU", onnx="Scan", activations=("sigmoid", "sigmoid", "tanh")
)
