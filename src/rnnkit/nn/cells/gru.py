"""The GRU cell (gates r, z, n; b_hn inside the reset product): one time step, forward and backward."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from ..._kernels.gemm import product
from .cell import Cell, _gate_affine
from .registry import CellSpec


class GRUCell(Cell):
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
    separate_recurrent_grad = 1  # dgh (T, B, H): d(W_hn h + b_hn), apart from dgi

    def project(
        self,
        x2: np.ndarray,
        W_ih: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        H = W_ih.shape[0] // 3
        scale, _, _ = _gate_affine("sst", H, W_ih.dtype)
        xp = np.matmul(x2, np.ascontiguousarray((W_ih * scale[:, None]).T), out=out)  # (T*B, I) x (I, 3H)
        if b_ih is not None:
            assert b_hh is not None  # the layer has both biases or neither
            b = b_ih.copy()
            b[: 2 * H] += b_hh[: 2 * H]  # b_hn stays inside r * (...)
            xp += b * scale
        return xp

    def recurrent_weight(self, W_hh: np.ndarray, b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        H = W_hh.shape[1]
        scale, _, _ = _gate_affine("sst", H, W_hh.dtype)
        b_hn = b_hh[2 * H :] if b_hh is not None else np.zeros(H, W_hh.dtype)
        return np.ascontiguousarray((W_hh * scale[:, None]).T), b_hn  # (H, 3H), (H,)

    def allocate(
        self, T: int, B: int, H: int, dtype: DTypeLike, empty: Callable[..., np.ndarray] = np.empty
    ) -> dict[str, np.ndarray]:
        return {
            "gates": empty((T, B, 3 * H), dtype),  # activated r, z, n
            "hn": empty((T, B, H), dtype),  # W_hn h + b_hn, inside the reset product
        }

    def workspace(self, B: int, H: int, dtype: DTypeLike) -> dict[str, np.ndarray]:
        return {
            "tmp": np.empty((B, H), dtype),
            "dz": np.empty((B, H), dtype),
            "hh": np.empty((B, 3 * H), dtype),  # the step's h W_hh^T (r, z halved)
            "dgh": np.empty((B, 3 * H), dtype),
        }  # the step's [dr dz d(hn)], multiplied by W_hh

    @staticmethod
    def recurrent_grads(
        gi2: np.ndarray,
        gh2: np.ndarray,
        hr2: np.ndarray,
        db: np.ndarray | None,
        dW_hh: np.ndarray,
        db_hh: np.ndarray | None,
    ) -> None:
        """As for the other cells, but gh2 (T*B, H) holds d(W_hn h + b_hn): rows r and z of
        dW_hh come from the gate gradients gi2, rows n from gh2."""
        H = hr2.shape[1]
        dW_hh[: 2 * H] += gi2[:, : 2 * H].T @ hr2  # (2H, T*B) x (T*B, H)
        dW_hh[2 * H :] += gh2.T @ hr2  # (H, T*B) x (T*B, H)
        if db_hh is not None:
            assert db is not None  # the layer has both biases or neither
            db_hh[: 2 * H] += db[: 2 * H]
            db_hh[2 * H :] += gh2.sum(axis=0)

    def step_forward(
        self,
        xp: np.ndarray,
        hr: np.ndarray,
        h: np.ndarray,
        c: None,
        Wr: np.ndarray,
        br: np.ndarray,
        store: dict[str, np.ndarray],
        t: int,
        h_out: np.ndarray,
        c_out: None,
        ws: dict[str, np.ndarray],
        kern: ModuleType | None,
    ) -> None:
        hh = ws["hh"]  # (B, 3H)
        product(hr, Wr, hh)  # (B, H) x (H, 3H)
        a, hn = store["gates"][t], store["hn"][t]
        if kern is not None:
            kern.gru_forward(a, xp, hh, br, h, h_out, hn)
            return
        gru_gates(xp, hh, br, h, a, hn, h_out)

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
    ) -> None:
        """One online step with the raw weights (no per-sequence preparation)."""
        xp = x @ W_ih.T  # (B, I) x (I, 3H)
        hh = h @ W_hh.T  # (B, H) x (H, 3H)
        if b_ih is not None:
            xp += b_ih
            hh += b_hh
        gru_gates_once(xp, hh, h, h_out)

    def online_step(
        self,
        kern: ModuleType,
        x: np.ndarray,
        h: np.ndarray,
        c: None,
        k: int,
        W_ih: np.ndarray,
        W_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        h_out: np.ndarray,
        c_out: None,
    ) -> bool:
        """The compiled online step of layer ``k`` (see :mod:`rnnkit.nn._step`)."""
        return kern.gru_step(x, h, k, W_ih, W_hh, b_ih, b_hh, h_out)

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
        dhn: np.ndarray,
        rec_mask: np.ndarray | None,
        dh_out: np.ndarray,
        dc_out: None,
        ws: dict[str, np.ndarray],
        kern: ModuleType | None,
    ) -> None:
        """dgi (B, 3H) receives [dr dz dn]; dhn (B, H) receives d(hn)."""
        a, hn = store["gates"][t], store["hn"][t]
        dz_direct, dgh = ws["dz"], ws["dgh"]
        if kern is not None:
            kern.gru_backward(dh, a, hn, h, dgi, dgh, dhn, dz_direct)
        else:
            H = dh.shape[-1]
            gru_gate_grads(dh, a, hn, h, dgi, ws["tmp"])
            np.multiply(dgi[:, 2 * H :], a[:, :H], out=dhn)  # d(W_hn h + b_hn) = dn r
            dgh[:, : 2 * H] = dgi[:, : 2 * H]
            dgh[:, 2 * H :] = dhn
            np.multiply(dh, a[:, H : 2 * H], out=dz_direct)  # dh z
        product(dgh, W_hh, dh_out)  # (B, 3H) x (3H, H)
        if rec_mask is not None:
            dh_out *= rec_mask
        dh_out += dz_direct  # the z * h_{t-1} path skips W_hh


def gru_gates(
    xp: np.ndarray,
    hh: np.ndarray,
    b_hn: np.ndarray,
    h: np.ndarray,
    a: np.ndarray,
    hn: np.ndarray,
    h_out: np.ndarray,
) -> None:
    """The gate math of one step, shared with the layer-normalized GRU: from the input side
    ``xp`` and the recurrent side ``hh`` (B, 3H), their r and z blocks halved, and b_hn (H,),
    writes hn = hh_n + b_hn (B, H), the activated r, z, n into ``a`` (B, 3H) and h_t into
    ``h_out`` (B, H)."""
    H = h.shape[-1]
    np.add(hh[:, 2 * H :], b_hn, out=hn)
    rz = a[:, : 2 * H]
    np.add(xp[:, : 2 * H], hh[:, : 2 * H], out=rz)
    np.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5  # r, z
    r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
    np.multiply(r, hn, out=n)
    n += xp[:, 2 * H :]
    np.tanh(n, out=n)
    np.subtract(h, n, out=h_out)  # h_t = n + z * (h_{t-1} - n)
    h_out *= z
    h_out += n


def gru_gates_once(xp: np.ndarray, hh: np.ndarray, h: np.ndarray, h_out: np.ndarray) -> None:
    """The online step's gate math (raw weights, nothing halved), shared with the
    layer-normalized GRU: ``xp`` and ``hh`` (B, 3H), biases included, are overwritten;
    h_t goes into ``h_out`` (B, H)."""
    H = h.shape[-1]
    rz = xp[:, : 2 * H]
    rz += hh[:, : 2 * H]
    rz *= 0.5
    np.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5  # r, z
    n = xp[:, 2 * H :]
    n += rz[:, :H] * hh[:, 2 * H :]
    np.tanh(n, out=n)
    np.subtract(h, n, out=h_out)
    h_out *= rz[:, H:]
    h_out += n


def gru_gate_grads(
    dh: np.ndarray, a: np.ndarray, hn: np.ndarray, h: np.ndarray, dgi: np.ndarray, tmp: np.ndarray
) -> None:
    """Backward of :func:`gru_gates`, shared with the layer-normalized GRU: from dh (B, H),
    the activated gates ``a`` (B, 3H), hn and h_{t-1} (B, H), writes [dr dz dn] into dgi
    (B, 3H); ``tmp`` (B, H) is scratch."""
    H = dh.shape[-1]
    r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
    dn = dgi[:, 2 * H :]
    np.multiply(n, n, out=dn)  # dn = dh (1 - z) (1 - n^2)
    np.subtract(1.0, dn, out=dn)
    dn *= dh
    np.subtract(1.0, z, out=tmp)
    dn *= tmp
    dr = dgi[:, :H]
    np.subtract(1.0, r, out=dr)  # dr = dn hn r (1 - r)
    dr *= r
    dr *= hn
    dr *= dn
    dzg = dgi[:, H : 2 * H]
    np.subtract(1.0, z, out=dzg)  # dz = dh (h_{t-1} - n) z (1 - z)
    dzg *= z
    np.subtract(h, n, out=tmp)
    dzg *= tmp
    dzg *= dh


# ONNX's GRU gates are z, r, h (its h is PyTorch's n), with linear_before_reset = 1
GRU = CellSpec(
    "gru",
    "GRU",
    GRUCell,
    gates="rzn",
    layer="GRU",
    torch="GRU",
    onnx="GRU",
    onnx_gates="zrn",
    activations=("sigmoid", "sigmoid", "tanh"),
)
