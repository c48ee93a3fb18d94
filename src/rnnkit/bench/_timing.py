"""Timing on a shared machine: thread control, interleaved rounds, the GEMM rate, FLOPs."""

from __future__ import annotations

import ctypes
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..nn.cells import CELLS


class BenchmarkError(RuntimeError):
    """The two sides disagreed on the numbers, so timing them would mean nothing."""


# -- threads ---------------------------------------------------------------------------
def _openblas():
    """ctypes handles (set, get) of the OpenBLAS that NumPy loaded, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for suffix in ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_", "openblas_{}_num_threads"):
            try:
                return getattr(lib, suffix.format("set")), getattr(lib, suffix.format("get"))
            except AttributeError:
                continue
    return None


def set_threads(n: int, torch_side: bool = True) -> dict:
    """Use ``n`` threads in OpenBLAS (NumPy) and in PyTorch; return what each reports."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads: expected an int >= 1, got {n!r}")
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure the BLAS library is loaded
    got: dict[str, int | None] = {"openblas": None, "torch": None}
    handles = _openblas()
    if handles is not None:
        handles[0](n)
        got["openblas"] = int(handles[1]())
    torch = _try_import("torch") if torch_side else None
    if torch is not None:
        torch.set_num_threads(n)
        got["torch"] = torch.get_num_threads()
    return got


def current_threads() -> dict:
    """The thread counts now in force, to put back after a run (None where unknown)."""
    handles = _openblas()
    torch = sys.modules.get("torch")
    return {
        "openblas": int(handles[1]()) if handles is not None else None,
        "torch": torch.get_num_threads() if torch is not None else None,
    }


def restore_threads(saved: dict) -> None:
    handles = _openblas()
    if handles is not None and saved.get("openblas"):
        handles[0](saved["openblas"])
    torch = sys.modules.get("torch")
    if torch is not None and saved.get("torch"):
        torch.set_num_threads(saved["torch"])


def _try_import(name):
    try:
        return __import__(name)
    except ImportError:
        return None


# -- timing ----------------------------------------------------------------------------
@dataclass
class Timing:
    ours: np.ndarray  # seconds per call, one per round
    theirs: np.ndarray | None

    @staticmethod
    def _spread(t):
        q1, q3 = np.percentile(t, [25, 75])
        return 100.0 * (q3 - q1) / np.median(t)

    def summary(self) -> dict:
        s = {
            "ours_s": float(np.median(self.ours)),
            "ours_spread_pct": self._spread(self.ours),
            "ours_best_s": float(self.ours.min()),
        }
        if self.theirs is not None:
            s.update(
                theirs_s=float(np.median(self.theirs)),
                theirs_spread_pct=self._spread(self.theirs),
                theirs_best_s=float(self.theirs.min()),
                ratio=float(np.median(self.theirs / self.ours)),
                best_ratio=float(self.theirs.min() / self.ours.min()),
            )
        return s


SETTLE_S = 0.15  # pause before each timed call of a two-sided round (see interleaved)


def interleaved(
    ours, theirs=None, *, rounds: int, budget_s: float, warmup: int = 2, settle_s: float | None = None
) -> Timing:
    """Time ``ours()`` and ``theirs()`` once per round, alternating which goes first.

    With two sides, each timed call starts after a pause of ``settle_s`` seconds
    (``SETTLE_S`` unless told): OpenBLAS's worker threads spin for about 0.1 s after a call
    before they sleep, and a call timed straight after the other side's would share its
    cores with them (measured here: PyTorch's LSTM step 25-40% slower straight after
    rnnkit's than after a pause). Stops after ``rounds`` rounds or when ``budget_s``
    seconds of timed calls are spent (pauses not counted; at least 3 rounds).
    """
    sides = {"ours": ours} if theirs is None else {"ours": ours, "theirs": theirs}
    settle = (SETTLE_S if settle_s is None else settle_s) if theirs is not None else 0.0
    t = interleaved_sides(sides, rounds=rounds, budget_s=budget_s, warmup=warmup, settle_s=settle)
    return Timing(t["ours"], t.get("theirs"))


def interleaved_sides(
    fns: dict, *, rounds: int, budget_s: float, warmup: int = 2, settle_s: float = SETTLE_S
) -> dict[str, np.ndarray]:
    """Time each of ``fns`` (name -> callable) once per round, the order rotated by one each
    round (with two sides: alternating which goes first), each call after a pause of
    ``settle_s`` seconds; the seconds per call of each side. Stops as :func:`interleaved`."""
    names = list(fns)
    for f in fns.values():
        for _ in range(warmup):
            f()
    times: dict[str, list[float]] = {k: [] for k in names}
    spent = 0.0
    for r in range(rounds):
        shift = r % len(names)
        for k in names[shift:] + names[:shift]:
            if settle_s:
                time.sleep(settle_s)
            t0 = time.perf_counter()
            fns[k]()
            dt = time.perf_counter() - t0
            times[k].append(dt)
            spent += dt
        if r >= 2 and spent > budget_s:
            break
    return {k: np.array(v) for k, v in times.items()}


def gemm_rate(n: int = 1024, rounds: int = 15, dtype=np.float32) -> float:
    """The machine's GEMM rate in GFLOP/s (float32 unless told): an (n, n) x (n, n) product.

    The best of ``rounds``: a capability of the machine, which load from other processes
    can only hide, so the fastest round is the truest (and the strictest bar).
    """
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    c = np.empty_like(a)
    t = interleaved(lambda: np.matmul(a, b, out=c), rounds=rounds, budget_s=3.0).ours
    return 2.0 * n**3 / float(np.min(t)) / 1e9


# gate blocks per layer class ("RNN", "LSTM", "GRU": the names torch.nn shares), from the cell registry
_GATES = {spec.layer: spec.num_gates for spec in CELLS.values()}


def step_flops(cell, T, B, I, H, layers=1, directions=1, train=True) -> float:
    """Matrix-product FLOPs of a step: 2 T B G (I_k + H) per layer and direction forward,
    twice that again backward (dW_ih, dx, dW_hh, dh)."""
    G = _GATES[cell] * H
    total = 0.0
    for k in range(layers):
        I_k = I if k == 0 else H * directions
        total += directions * 2.0 * T * B * G * (I_k + H)
    return total * (3 if train else 1)
