"""The recurrent per-step product on each backend: ``python benchmarks/gemm_step.py``.

Shape legend: B batch, H hidden units, G gates x H (4H: the LSTM's).

For each (B, H) this times ``h (B, H) @ W (H, 4H)`` into a preallocated output, float32:
NumPy's BLAS (OpenBLAS in NumPy's wheels), MKL's cblas_sgemm, MKL packed (the weight packed
once, ``cblas_sgemm_compute`` per call; the packing itself is reported apart, as it is paid
once per sequence) and MKL bf16 packed (``cblas_gemm_bf16bf16f32_compute``, fp32 sums,
including the per-call rounding of h to bf16). The backends run round by round in rotating
order; each number is the median over rounds of the mean over ``--calls`` calls, so load
from other processes hits every backend alike. Needs ``pip install rnnkit[mkl]``.

    python benchmarks/gemm_step.py [--sizes 64x256,64x512,32x128] [--rounds 15] [--calls 50]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit._kernels import gemm, mkl


def _mean_call(fn, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def measure(B: int, H: int, rounds: int, calls: int) -> dict:
    rng = np.random.default_rng(0)
    h = rng.standard_normal((B, H)).astype(np.float32)
    W = rng.standard_normal((H, 4 * H)).astype(np.float32)
    out = np.empty((B, 4 * H), np.float32)
    t0 = time.perf_counter()
    packed = mkl.PackedWeight(W, B)
    pack_s = time.perf_counter() - t0
    bf16 = mkl.BF16PackedWeight(W, B)
    fns = {
        "openblas": lambda: np.matmul(h, W, out=out),
        "mkl": lambda: mkl.sgemm(h, W, out),
        "packed": lambda: packed.matmul(h, out),
        "bf16_packed": lambda: bf16.matmul(h, out),
    }
    names = list(fns)
    for f in fns.values():
        _mean_call(f, 5)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for k in names[r % 4 :] + names[: r % 4]:
            time.sleep(0.05)  # the other library's idle threads go to sleep first
            times[k].append(_mean_call(fns[k], calls))
    row = {"B": B, "H": H, "pack_us": 1e6 * pack_s}
    row.update({k: 1e6 * float(np.median(v)) for k, v in times.items()})
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="64x256,64x512,64x1024,32x128")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--calls", type=int, default=50)
    a = p.parse_args()
    flags = gemm.cpu_flags() & {"amx_bf16", "amx_tile", "avx512_bf16", "avx512f"}
    print(f"MKL {mkl.version()}, {mkl.library().mkl_get_max_threads()} MKL threads; CPU flags: {sorted(flags)}")
    print("| B, H | OpenBLAS | MKL sgemm | MKL packed | MKL bf16 packed | pack once |")
    print("|---|---|---|---|---|---|")
    for size in a.sizes.split(","):
        B, H = (int(v) for v in size.split("x"))
        r = measure(B, H, a.rounds, a.calls)
        print(
            f"| {B}, {H} | {r['openblas']:.0f} us | {r['mkl']:.0f} | {r['packed']:.0f} | "
            f"{r['bf16_packed']:.0f} | {r['pack_us']:.0f} |"
        )


if __name__ == "__main__":
    main()
