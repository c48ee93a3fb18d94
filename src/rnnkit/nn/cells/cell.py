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
    ``separate_recurrent_grad``: the recurrent product's gradient ``dgh`` differs from the
    input side's ``dgi`` (the GRU's reset product), so the driver gives it its own array.
    ``online_step``: a compiled one-step kernel for ``layer.step`` (see
    :mod:`rnnkit.nn._step`), or None for the NumPy ``step_once``.
    """

    has_cell_state = False
    separate_recurrent_grad = False
    online_step: Callable[..., bool] | None = None

    @staticmethod
    def recurrent_grads(
        gi2: np.ndarray, gh2: np.ndarray, hr2: np.ndarray, db: np.ndarray, dW_hh: np.ndarray, db_hh: np.ndarray | None
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
