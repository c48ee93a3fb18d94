"""The recurrent layers' per-step matrix product, and which library computes it.

Every step of a recurrent layer multiplies by the same weight: forward ``h_{t-1} (B, H) @
W_hh^T (H, G)``, backward ``dgates (B, G) @ W_hh (G, H)``. The driver turns that weight into
an *operand* once per sequence (:func:`recurrent_operand`) and the cells multiply with
:func:`product`. An operand is one of

* the NumPy array itself: ``np.matmul``, NumPy's BLAS (OpenBLAS in NumPy's wheels), as always;
* ``"mkl"``: MKL's cblas_sgemm on the same array;
* ``"packed"``: the weight packed once by MKL (:class:`rnnkit._kernels.mkl.PackedWeight`);
* with ``precision="bf16-mixed"``: the weight rounded to bf16 and packed
  (:class:`rnnkit._kernels.mkl.BF16PackedWeight`), products summed in float32.

Measured dispatch: the first time a float32 shape (M, K, N, direction) is seen, each
backend runs a few products and the fastest per step is kept for the process (packing
counts once per sequence, spread over its steps). :func:`chosen` reports the choices. The
environment variable ``RNNKIT_GEMM=openblas|mkl|packed`` forces one (``auto``, the default,
measures). float64 always uses NumPy, and without MKL installed nothing changes: the
array itself is the operand.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from . import mkl

BACKENDS = ("openblas", "mkl", "packed")
PRECISIONS = ("fp32", "bf16-mixed")
ENV = "RNNKIT_GEMM"
REPEATS = 7  # timed products per backend; the median counts

_chosen: dict[tuple[int, int, int, str], str] = {}  # (M, K, N, direction) -> backend


class Operand(Protocol):
    """A prepared right-hand operand: ``matmul(a, out)`` writes a @ W into out."""

    shape: tuple[int, ...]

    def matmul(self, a: np.ndarray, out: np.ndarray) -> np.ndarray: ...


class _SgemmWeight:
    """MKL's plain cblas_sgemm on the unpacked weight."""

    def __init__(self, w: np.ndarray) -> None:
        self.w = np.ascontiguousarray(w)
        self.shape = self.w.shape

    def matmul(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        return mkl.sgemm(a, self.w, out)


def product(a: np.ndarray, w: np.ndarray | Operand, out: np.ndarray) -> np.ndarray:
    """out = a @ w, for w an array or an operand from :func:`recurrent_operand`."""
    if isinstance(w, np.ndarray):
        return np.matmul(a, w, out=out)
    return w.matmul(a, out)


def forced() -> str:
    """The backend ``RNNKIT_GEMM`` forces, or "auto"; ValueError for an unknown value."""
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value != "auto" and value not in BACKENDS:
        raise ValueError(f"{ENV}: expected one of auto, {', '.join(BACKENDS)}, got {value!r}")
    return value


def check_precision(precision: str, dtype: np.dtype) -> None:
    """Refuse a precision this machine or dtype cannot run, in one line naming what is missing."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return
    if np.dtype(dtype) != np.float32:
        raise ValueError(f"precision: 'bf16-mixed' needs dtype float32, got {np.dtype(dtype).name}")
    flags = cpu_flags()
    if not flags & {"amx_bf16", "avx512_bf16"}:
        raise RuntimeError(
            "precision: 'bf16-mixed' needs a CPU with AMX or AVX512-BF16 (neither flag is in /proc/cpuinfo); "
            "hint: use precision='fp32'"
        )
    if not mkl.available():
        raise ImportError("precision: 'bf16-mixed' needs Intel MKL's bf16 products; hint: pip install rnnkit[mkl]")


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (an empty set where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def chosen() -> dict[tuple[int, int, int, str], str]:
    """The backend measured for each shape so far: {(M, K, N, direction): backend}."""
    return dict(_chosen)


def recurrent_operand(
    w: np.ndarray, m: int, steps: int, direction: str, precision: str = "fp32"
) -> np.ndarray | Operand:
    """The operand for ``steps`` products a (m, K) @ w (K, N) with the same w.

    ``direction`` ("forward" or "backward") only keys the measurement. Returns ``w``
    itself for float64, without MKL, or when NumPy's BLAS measured fastest.
    """
    if precision == "bf16-mixed" and w.dtype == np.float32:
        return mkl.BF16PackedWeight(w, m)
    if w.dtype != np.float32:
        return w
    backend = forced()
    if backend == "auto":
        if not mkl.available():
            return w
        key = (m, w.shape[0], w.shape[1], direction)
        backend = _chosen.get(key) or _chosen.setdefault(key, _measure(w, m, steps))
    if backend == "packed":
        return mkl.PackedWeight(w, m)
    if backend == "mkl":
        mkl.library()  # the error naming the extra, when forced without MKL
        return _SgemmWeight(w)
    return w


def _median_seconds(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm: first-touch of buffers, thread start-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _measure(w: np.ndarray, m: int, steps: int) -> str:
    """The backend with the smallest time per step for (m, K) @ w over ``steps`` steps."""
    a = np.random.default_rng(0).standard_normal((m, w.shape[0])).astype(np.float32)
    out = np.empty((m, w.shape[1]), np.float32)
    wc = np.ascontiguousarray(w)
    t0 = time.perf_counter()
    packed = mkl.PackedWeight(wc, m)
    pack = time.perf_counter() - t0
    cost = {
        "openblas": _median_seconds(lambda: np.matmul(a, wc, out=out), REPEATS),
        "mkl": _median_seconds(lambda: mkl.sgemm(a, wc, out), REPEATS),
        "packed": _median_seconds(lambda: packed.matmul(a, out), REPEATS) + pack / max(steps, 1),
    }
    return min(cost, key=lambda k: cost[k])
