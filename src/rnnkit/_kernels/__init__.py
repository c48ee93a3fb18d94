"""Which implementation runs the per-step gate math: NumPy (the reference) or Numba.

The recurrent layers ask :func:`active` once per call; ``None`` means the NumPy code in
:mod:`rnnkit.nn.cells`, otherwise a module of compiled kernels with the same contract
(:mod:`rnnkit._kernels.numba_cells`). Matrix products always go to NumPy's BLAS.

    from rnnkit import _kernels
    _kernels.use("numpy")          # the reference path
    _kernels.use("numba")          # compiled kernels; ImportError without numba
    _kernels.use("auto")           # the default: numba when installed, else numpy
    with _kernels.using("numpy"):  # temporarily
        ...

Numba comes with the optional extra ``pip install rnnkit[fast]``. It is imported on the
first forward pass, never by ``import rnnkit``; compiled kernels are cached on disk
(``cache=True``), so only the first run on a machine pays the compile time.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

MODES = ("auto", "numpy", "numba")
_mode = "auto"
_loaded = None  # the kernel module, or the reason it could not be loaded (str)


def use(mode: str) -> None:
    """Select the implementation: "auto", "numpy" or "numba"."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if mode == "numba" and isinstance(_load(), str):
        raise ImportError(f"numba kernels unavailable ({_loaded}); hint: pip install rnnkit[fast]")
    _mode = mode


@contextlib.contextmanager
def using(mode: str):
    """``with using("numpy"): ...`` runs the block with ``mode``, then restores the old one."""
    old = _mode
    use(mode)
    try:
        yield
    finally:
        use(old)


def _load():
    global _loaded
    if _loaded is None:
        try:
            from . import numba_cells  # imports numba, an optional dependency (rnnkit[fast])

            _loaded = numba_cells
        except Exception as exc:  # ImportError, or a numba that does not fit this numpy
            _loaded = f"{type(exc).__name__}: {exc}"
    return _loaded


def active(dtype=None):
    """The kernel module to use now, or None for the NumPy reference path."""
    if _mode == "numpy":
        return None
    mod = _loaded if _loaded is not None else _load()  # called per online step: kept lean
    return None if type(mod) is str else mod


def describe() -> str:
    """One line: which path runs, and why."""
    if _mode == "numpy":
        return "numpy (reference path, selected)"
    mod = _load()
    if isinstance(mod, str):
        return "numpy (reference path; numba not available: pip install rnnkit[fast])"
    import numba

    return (
        f"numba {numba.__version__} (fused gate kernels per step; whole sequences and online steps "
        "compiled for small batches; large matrix products in NumPy's BLAS)"
    )


def warm_up() -> float | None:
    """Import, compile or load from cache every kernel for float32 and float64; seconds taken.

    None when the NumPy path is active.
    """
    t0 = time.perf_counter()
    k = active()
    if k is None:
        return None

    B, H = 1, 2
    for dt in (np.float32, np.float64):
        z = lambda *shape, dt=dt: np.zeros(shape, dt)  # noqa: E731
        k.tanh_inplace(z(B, H))
        k.rnn_tanh_forward(z(B, H), z(B, H))
        k.tanh_backward(z(B, H), z(B, H), z(B, H))
        k.lstm_forward(z(B, 4 * H), z(B, 4 * H), z(B, H), z(B, H), z(B, H), z(B, H))
        k.lstm_backward(z(B, H), z(B, H), z(B, 4 * H), z(B, H), z(B, H), z(B, 4 * H), z(B, H))
        k.gru_forward(z(B, 3 * H), z(B, 3 * H), z(B, 3 * H), z(H), z(B, H), z(B, H), z(B, H))
        k.gru_backward(z(B, H), z(B, 3 * H), z(B, H), z(B, H), z(B, 3 * H), z(B, 3 * H), z(B, H), z(B, H))
        s = lambda z=z: z(1, B, H)  # noqa: E731  (states are (L, B, H))
        k.lstm_step(z(B, H), s(), s(), 0, z(4 * H, H), z(4 * H, H), z(4 * H), z(4 * H), s(), s())
        k.gru_step(z(B, H), s(), 0, z(3 * H, H), z(3 * H, H), z(3 * H), z(3 * H), s())
        k.rnn_step(z(B, H), s(), 0, z(H, H), z(H, H), z(H), z(H), s(), False)
        for rev in (False, True):
            k.lstm_sequence_forward(
                z(1, B, 4 * H), z(H, 4 * H), z(2, B, H), z(2, B, H), z(1, B, 4 * H), z(1, B, H), rev
            )
            k.lstm_sequence_backward(
                z(1, B, H), z(B, H), z(B, H), z(1, B, 4 * H), z(1, B, H), z(1, B, H), z(4 * H, H), z(1, B, 4 * H), rev
            )
            k.lstm_sequence_backward(
                z(1, B, 2 * H)[:, :, :H],
                z(B, H),
                z(B, H),
                z(1, B, 4 * H),
                z(1, B, H),
                z(1, B, H),
                z(4 * H, H),
                z(1, B, 4 * H),
                rev,
            )  # a bidirectional slice
    return time.perf_counter() - t0
