"""Intel MKL's matrix products through ctypes: plain sgemm, packed sgemm and bf16 x bf16 -> fp32.

Optional (``pip install rnnkit[mkl]``, the ``mkl`` wheel): nothing here loads MKL until
:func:`library` is called, and NumPy's own BLAS stays in charge of everything else. Shape
legend: the product is ``C (M, N) = A (M, K) @ B (K, N)``, all row-major.

* :class:`PackedWeight` packs a right-hand operand once (``cblas_sgemm_pack``) and then
  multiplies many left-hand operands by it (``cblas_sgemm_compute``): the recurrent layers'
  per-step ``h_{t-1} @ W_hh^T`` with the same W_hh at every step.
* :class:`BF16PackedWeight` does the same in bf16 with fp32 accumulation
  (``cblas_gemm_bf16bf16f32_pack`` / ``_compute``): the operands are rounded to bf16
  (round to nearest even, :func:`to_bf16`), the products summed in fp32.
* :func:`sgemm` is MKL's ``cblas_sgemm`` into a given output.

Threads: MKL keeps its own default (one per core, its OpenMP runtime); its calls and
NumPy's OpenBLAS calls never overlap, since each product returns before the next starts, and
MKL's threads sleep as soon as a call returns (``KMP_BLOCKTIME=0`` unless set), so that they
do not spin on the cores OpenBLAS's threads need next.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import sys

import numpy as np

# CBLAS enum values (mkl_cblas.h)
_ROW_MAJOR, _NO_TRANS, _PACKED = 101, 111, 151
_B_MATRIX = 162
_ALIGN = 64  # bytes: MKL's packed buffers want cache-line alignment

_lib: ctypes.CDLL | None = None
_error: str | None = None


def _candidates() -> list[str]:
    """Where the ``mkl`` wheel puts ``libmkl_rt``: the environment's lib folder."""
    dirs = [os.path.join(sys.prefix, "lib"), os.path.join(sys.base_prefix, "lib")]
    found = []
    for d in dict.fromkeys(dirs):
        found += sorted(glob.glob(os.path.join(d, "libmkl_rt.so*")), reverse=True)
        found += glob.glob(os.path.join(d, "mkl_rt*.dll")) + glob.glob(os.path.join(d, "libmkl_rt*.dylib"))
    return found + ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"]


def _open() -> ctypes.CDLL:
    """Load libmkl_rt and declare the functions used here; OSError when it cannot be found."""
    # MKL's OpenMP threads spin for 200 ms after each call by default, on the very cores NumPy's
    # OpenBLAS threads then need (measured: OpenBLAS's next products 3x slower); 0: sleep at once.
    # An explicit KMP_BLOCKTIME in the environment is kept.
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    reasons = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as exc:
            reasons.append(str(exc))
    else:
        raise OSError(reasons[-1] if reasons else "libmkl_rt not found")
    i, f, p, sz = ctypes.c_int, ctypes.c_float, ctypes.c_void_p, ctypes.c_size_t
    sig = {
        "cblas_sgemm": (None, [i, i, i, i, i, i, f, p, i, p, i, f, p, i]),
        "cblas_sgemm_pack_get_size": (sz, [i, i, i, i]),
        "cblas_sgemm_pack": (None, [i, i, i, i, i, i, f, p, i, p]),
        "cblas_sgemm_compute": (None, [i, i, i, i, i, i, p, i, p, i, f, p, i]),
        "cblas_gemm_bf16bf16f32_pack_get_size": (sz, [i, i, i, i]),
        "cblas_gemm_bf16bf16f32_pack": (None, [i, i, i, i, i, i, p, i, p]),
        "cblas_gemm_bf16bf16f32_compute": (None, [i, i, i, i, i, i, f, p, i, p, i, f, p, i]),
        "cblas_gemm_bf16bf16f32": (None, [i, i, i, i, i, i, f, p, i, p, i, f, p, i]),
        "mkl_get_max_threads": (i, []),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def library() -> ctypes.CDLL:
    """The loaded libmkl_rt; ImportError naming the extra when MKL is not installed."""
    global _lib, _error
    if _lib is None and _error is None:
        try:
            _lib = _open()
        except (OSError, AttributeError) as exc:
            _error = f"{type(exc).__name__}: {exc}"
    if _lib is None:
        raise ImportError(f"Intel MKL is not available ({_error}); hint: pip install rnnkit[mkl]")
    return _lib


def available() -> bool:
    """True when libmkl_rt loads (loads it on the first call; later calls cost a lookup)."""
    if _lib is None and _error is None:
        with contextlib.suppress(ImportError):
            library()
    return _lib is not None


def version() -> str:
    """The installed ``mkl`` wheel's version, or "" when unknown (for the dispatch cache's key)."""
    from importlib import metadata

    try:
        return metadata.version("mkl")
    except metadata.PackageNotFoundError:
        return ""


def _aligned(nbytes: int) -> np.ndarray:
    """A byte buffer of ``nbytes`` whose start is 64-byte aligned (a view into a larger one)."""
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = (-raw.ctypes.data) % _ALIGN
    return raw[start : start + nbytes]


def _rows(a: np.ndarray, dtype: type, name: str) -> int:
    """The leading dimension of a 2-D row-major operand (rows may be strided, columns not)."""
    if a.ndim != 2 or a.dtype != dtype or a.strides[1] != a.itemsize or a.strides[0] % a.itemsize:
        raise ValueError(f"{name}: expected a 2-D {np.dtype(dtype).name} array with contiguous rows, got {a.dtype}")
    return max(a.strides[0] // a.itemsize, a.shape[1], 1)


def to_bf16(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16), rounded to nearest, ties to even (NaN stays NaN)."""
    a = np.ascontiguousarray(a, np.float32)
    u = a.view(np.uint32)
    rounded = u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))  # wraps only for NaN/inf payloads
    bits = (rounded >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        bits[nan] = 0x7FC0
    if out is None:
        return bits
    out[...] = bits
    return out


def from_bf16(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) -> float32, exactly."""
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def sgemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out (M, N) = a (M, K) @ b (K, N) by MKL's cblas_sgemm (float32, row-major)."""
    lib = library()
    (M, K), N = a.shape, b.shape[1]
    lda, ldb, ldc = _rows(a, np.float32, "a"), _rows(b, np.float32, "b"), _rows(out, np.float32, "out")
    args = (M, N, K, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0, out.ctypes.data, ldc)
    lib.cblas_sgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, *args)
    return out


class PackedWeight:
    """A float32 right-hand operand B (K, N) packed once; ``matmul(a, out)`` is a (M, K) @ B.

    The packed buffer belongs to this object (a NumPy byte array of the size MKL asks for), so
    it is freed with it. M, the number of rows of every left operand, is fixed at packing.
    """

    def __init__(self, b: np.ndarray, m: int) -> None:
        lib = library()
        b = np.ascontiguousarray(b, np.float32)
        self.shape = b.shape  # (K, N)
        self.m = int(m)
        K, N = b.shape
        self._buf = _aligned(lib.cblas_sgemm_pack_get_size(_B_MATRIX, self.m, N, K))
        lib.cblas_sgemm_pack(
            _ROW_MAJOR, _B_MATRIX, _NO_TRANS, self.m, N, K, 1.0, b.ctypes.data, N, self._buf.ctypes.data
        )

    def matmul(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out (M, N) = a (M, K) @ B."""
        (K, N), M = self.shape, a.shape[0]
        if self.m != M or a.shape[1] != K or out.shape != (M, N):
            raise ValueError(f"a: expected ({self.m}, {K}) and out ({self.m}, {N}), got {a.shape} and {out.shape}")
        lda, ldc = _rows(a, np.float32, "a"), _rows(out, np.float32, "out")
        args = (M, N, K, a.ctypes.data, lda, self._buf.ctypes.data, N, 0.0, out.ctypes.data, ldc)
        library().cblas_sgemm_compute(_ROW_MAJOR, _NO_TRANS, _PACKED, *args)
        return out


class BF16PackedWeight:
    """B (K, N) rounded to bf16 and packed once; ``matmul(a, out)`` rounds a (M, K) to bf16 and
    accumulates a @ B in float32 into ``out`` (MKL's gemm_bf16bf16f32)."""

    def __init__(self, b: np.ndarray, m: int) -> None:
        lib = library()
        bits = to_bf16(b)  # (K, N) uint16
        self.shape = bits.shape
        self.m = int(m)
        K, N = bits.shape
        self._a16 = np.empty((self.m, K), np.uint16)  # the left operand's bf16 copy, reused per call
        self._buf = _aligned(lib.cblas_gemm_bf16bf16f32_pack_get_size(_B_MATRIX, self.m, N, K))
        args = (self.m, N, K, bits.ctypes.data, N, self._buf.ctypes.data)
        lib.cblas_gemm_bf16bf16f32_pack(_ROW_MAJOR, _B_MATRIX, _NO_TRANS, *args)

    def matmul(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out (M, N) = bf16(a) (M, K) @ bf16(B), summed in float32."""
        (K, N), M = self.shape, a.shape[0]
        if self.m != M or a.shape[1] != K or out.shape != (M, N):
            raise ValueError(f"a: expected ({self.m}, {K}) and out ({self.m}, {N}), got {a.shape} and {out.shape}")
        to_bf16(a, out=self._a16)
        ldc = _rows(out, np.float32, "out")
        args = (M, N, K, 1.0, self._a16.ctypes.data, K, self._buf.ctypes.data, N, 0.0, out.ctypes.data, ldc)
        library().cblas_gemm_bf16bf16f32_compute(_ROW_MAJOR, _NO_TRANS, _PACKED, *args)
        return out


def bf16_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """bf16(a) (M, K) @ bf16(b) (K, N) summed in float32 (cblas_gemm_bf16bf16f32, unpacked)."""
    lib = library()
    a16, b16 = to_bf16(a), to_bf16(b)
    (M, K), N = a16.shape, b16.shape[1]
    out = np.empty((M, N), np.float32) if out is None else out
    ldc = _rows(out, np.float32, "out")
    args = (M, N, K, 1.0, a16.ctypes.data, K, b16.ctypes.data, N, 0.0, out.ctypes.data, ldc)
    lib.cblas_gemm_bf16bf16f32(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, *args)
    return out
