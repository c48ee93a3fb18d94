"""The Elman cell (tanh or ReLU): one time step, forward and backward."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from ..._kernels.gemm import product
from ..functional import ACTIVATIONS
from .cell import Cell
from .registry import CellSpec


class RNNCell(Cell):
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
        self._relu = nonlinearity == "relu"

    def project(
        self,
        x2: np.ndarray,
        W_ih: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        xp = np.matmul(x2, np.ascontiguousarray(W_ih.T), out=out)  # (T*B, I) x (I, H); NN: BLAS's fast case
        if b_ih is not None:
            xp += b_ih + b_hh
        return xp

    def recurrent_weight(self, W_hh: np.ndarray, b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        return np.ascontiguousarray(W_hh.T), None  # (H, H): W_hh^T, laid out for h W^T

    def allocate(
        self, T: int, B: int, H: int, dtype: DTypeLike, empty: Callable[..., np.ndarray] = np.empty
    ) -> dict[str, np.ndarray]:
        return {}  # h_t itself (kept by the driver) is all backward needs

    def workspace(self, B: int, H: int, dtype: DTypeLike) -> dict[str, np.ndarray]:
        return {}

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
        product(hr, Wr, h_out)  # (B, H) x (H, H)
        if kern is not None and self.nonlinearity == "tanh" and h_out.dtype == np.float32:
            # fused add + tanh; in float64 NumPy's own vectorized tanh is the faster of the two
            kern.rnn_tanh_forward(h_out, xp)
            return
        h_out += xp
        self.act(h_out, out=h_out)

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
        np.matmul(x, W_ih.T, out=h_out)  # (B, I) x (I, H)
        h_out += h @ W_hh.T  # (B, H) x (H, H)
        if b_ih is not None:
            h_out += b_ih
            h_out += b_hh
        self.act(h_out, out=h_out)

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
        return kern.rnn_step(x, h, k, W_ih, W_hh, b_ih, b_hh, h_out, self._relu)

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
        if self.nonlinearity == "tanh":
            if kern is not None:
                kern.tanh_backward(dh, h_new, dgi)
            else:
                np.multiply(h_new, h_new, out=dgi)  # dpre = dh * (1 - h^2)
                np.subtract(1.0, dgi, out=dgi)
                dgi *= dh
        else:
            np.multiply(dh, h_new > 0, out=dgi)
        product(dgi, W_hh, dh_out)  # (B, H) x (H, H)
        if rec_mask is not None:
            dh_out *= rec_mask


RNN_TANH = CellSpec(
    "rnn_tanh",
    "RNN_TANH",
    functools.partial(RNNCell, "tanh"),
    gates="h",
    layer="RNN",
    layer_kwargs={"nonlinearity": "tanh"},
    torch="RNN",
    onnx="RNN",
    onnx_activation="Tanh",
    activations=("tanh",),
)
RNN_RELU = CellSpec(
    "rnn_relu",
    "RNN_RELU",
    functools.partial(RNNCell, "relu"),
    gates="h",
    layer="RNN",
    layer_kwargs={"nonlinearity": "relu"},
    torch="RNN",
    onnx="RNN",
    onnx_activation="Relu",
    activations=("relu",),
)
