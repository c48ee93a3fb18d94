"""What the cells share: the gate affine map and the recurrent weight's gradient.

See :mod:`rnnkit.nn.cells` for the split of work between a cell and the driver."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

_AFFINE: dict = {}


def _gate_affine(kinds: str, H: int, dtype: DTypeLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    """What the cells share: the recurrent weight's gradient over all steps.

    ``has_cell_state``: the state is the pair (h, c), as the LSTM's; such a cell also offers
    ``cell_grad`` (dL/dc_t for the driver) and ``cell_states`` (every c_t, for the diagnostics).
    ``separate_recurrent_grad``: the number of H-wide blocks of a per-step array ``dgh`` of
    the cell's own, apart from the input side's ``dgi`` (the GRU's d(W_hn h + b_hn): 1); 0
    when the recurrent product sees the gate gradients themselves (``dgh`` is ``dgi``).
    ``online_step``: a compiled one-step kernel for ``layer.step`` (see
    :mod:`rnnkit.nn._step`), or None for the NumPy ``step_once``.
    """

    has_cell_state = False
    separate_recurrent_grad = 0
    online_step: Callable[..., bool] | None = None

    # -- a cell's own parameters (beyond W_ih, W_hh, b_ih, b_hh) -------------------------------
    def extra_parameters(self, G: int, H: int, bias: bool, dtype: DTypeLike) -> dict[str, np.ndarray]:
        """The cell's own parameters of one layer direction, by base name (the layer adds the
        suffix ``_l{k}[_reverse]``), with their initial values; none for the plain cells.
        ``step_once`` receives them as keywords."""
        return {}

    def prepare(self, xp: np.ndarray, store: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> None:
        """Once per sequence, after ``project`` and ``allocate``: ``params`` holds the direction's
        parameters by base name. A cell with its own parameters keeps what it needs in ``store``
        (its backward reads them there) and may rework ``xp`` (T, B, G) for all steps at once."""

    def weight_grads(
        self,
        x2: np.ndarray,
        hr2: np.ndarray,
        gi2: np.ndarray,
        gh2: np.ndarray,
        store: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
    ) -> np.ndarray:
        """After the backward loop, add every parameter gradient of one direction, each one
        product or sum over all steps: x2 (T*B, I) the inputs, hr2 (T*B, H) the states fed
        into each step, gi2 (T*B, G) the gate gradients, gh2 the recurrent side's (see
        ``separate_recurrent_grad``); ``grads`` by base name. Returns dL/d(x W_ih^T) (T*B, G),
        which the driver multiplies by W_ih for dL/dx (it may be ``gi2``, reused)."""
        grads["weight_ih"] += gi2.T @ x2  # (G, T*B) x (T*B, I)
        db = None
        if "bias_ih" in grads:
            db = gi2.sum(axis=0)
            grads["bias_ih"] += db
        self.recurrent_grads(gi2, gh2, hr2, db, grads["weight_hh"], grads.get("bias_hh"))
        return gi2

    @staticmethod
    def recurrent_grads(
        gi2: np.ndarray,
        gh2: np.ndarray,
        hr2: np.ndarray,
        db: np.ndarray | None,
        dW_hh: np.ndarray,
        db_hh: np.ndarray | None,
    ) -> None:
        """Add dL/dW_hh and dL/db_hh (None without biases); gi2 (T*B, G) holds the gate
        gradients, db their sum over steps, hr2 (T*B, H) the states fed into each step.
        Here the recurrent product sees the gate gradients themselves (gh2 is gi2)."""
        dW_hh += gi2.T @ hr2  # (G, T*B) x (T*B, H)
        if db_hh is not None:
            db_hh += db


class Cell(_Cell):
    """The base of a cell without a compiled whole-sequence kernel (the driver loops over
    steps): the RNN, the GRU and every new cell (see :mod:`rnnkit.nn.cells.registry`)."""

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
        return False

    def sequence_backward(
        self,
        dout: np.ndarray,
        dh: np.ndarray,
        dc: np.ndarray | None,
        store: dict[str, np.ndarray],
        c_prev: np.ndarray | None,
        W_hh: np.ndarray,
        dgi: np.ndarray,
        dgh: np.ndarray,
        reverse: bool,
        kern: ModuleType | None,
    ) -> bool:
        return False
