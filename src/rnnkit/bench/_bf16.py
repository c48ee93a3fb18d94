"""bf16 mixed precision against PyTorch: one training step of rnnkit in fp32 and in bf16-mixed,
PyTorch in float32 and under ``torch.autocast("cpu", dtype=torch.bfloat16)``, timed interleaved.

Shape legend: T time steps, B batch, I input features, H hidden units.
"""

from __future__ import annotations

import numpy as np

from .._kernels import gemm
from ..optim.optimizers import SGD
from ._cases import _pair
from ._timing import BenchmarkError, interleaved_sides

SIDES = ("rnnkit_fp32", "rnnkit_bf16", "torch_fp32", "torch_autocast")


def _rnnkit_step(layer, x, R, precision):
    opt = SGD(layer, lr=1e-3)

    def step():
        layer.precision = precision
        try:
            layer.zero_grad()
            out, _, cache = layer.forward(x)
            layer.backward(R, None, cache)
            opt.step()
        finally:
            layer.precision = "fp32"
        return out

    return step


def _torch_step(layer, x, R, autocast):
    import torch

    tx, tR = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(R)
    opt = torch.optim.SGD(layer.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        tx.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out, _ = layer(tx)
        out.float().backward(tR)
        opt.step()
        return out

    return step


def bf16_case(cell, T, B, I, H, *, rounds=9, budget_s=3.0, seed=0) -> dict:
    """Median seconds per training step of each side and the ratios against rnnkit bf16-mixed.

    Each round runs every side once, the order rotating, each call after a short pause
    (``SETTLE_S``, as in :func:`rnnkit.bench._timing.interleaved`). Before timing, rnnkit's
    bf16-mixed outputs are checked against its fp32 ones (within 2e-2 relative).
    """
    gemm.check_precision("bf16-mixed", np.dtype(np.float32))
    ours, theirs = _pair(cell, I, H, 1, False, "float32", seed)
    if theirs is None:
        raise BenchmarkError("the bf16 section compares with PyTorch; hint: pip install torch")
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    R = rng.standard_normal((T, B, H)).astype(np.float32)
    fns = {  # the same weights: each side's SGD steps are tiny (lr 1e-3) and alike
        "rnnkit_fp32": _rnnkit_step(ours, x, R, "fp32"),
        "rnnkit_bf16": _rnnkit_step(ours, x, R, "bf16-mixed"),
        "torch_fp32": _torch_step(theirs, x, R, False),
        "torch_autocast": _torch_step(theirs, x, R, True),
    }
    ref = ours.forward(x)[0]
    ours.precision = "bf16-mixed"
    got = ours.forward(x)[0]
    ours.precision = "fp32"
    err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    if not err < 2e-2:
        raise BenchmarkError(f"bf16-mixed output differs from fp32 by {err:.2e} (relative), more than 2e-02")
    t = interleaved_sides(fns, rounds=rounds, budget_s=budget_s, warmup=1)
    row: dict = {"cell": cell, "T": T, "B": B, "I": I, "H": H, "bf16_rel_err": err}
    row.update({f"{k}_s": float(np.median(v)) for k, v in t.items()})
    for k in ("rnnkit_fp32", "torch_fp32", "torch_autocast"):  # above 1: rnnkit bf16-mixed is faster
        row[f"{k}_over_bf16"] = float(np.median(t[k] / t["rnnkit_bf16"]))
    return row


def format_bf16(rows) -> str:
    out = [
        "",
        "bf16 mixed precision: training step (forward + BPTT + SGD), ms; ratio = median of t_other / t_rnnkit_bf16",
        f"{'cell':5} {'T/B/I/H':>15} {'rnnkit fp32':>11} {'rnnkit bf16':>11} {'torch fp32':>10} {'autocast':>9} "
        f"{'x own fp32':>10} {'x torch':>8} {'x autocast':>10} {'err':>8}",
    ]
    for r in rows:
        size = f"{r['T']}/{r['B']}/{r['I']}/{r['H']}"
        ms = [1e3 * r[f"{k}_s"] for k in SIDES]
        out.append(
            f"{r['cell']:5} {size:>15} {ms[0]:11.2f} {ms[1]:11.2f} {ms[2]:10.2f} {ms[3]:9.2f} "
            f"{r['rnnkit_fp32_over_bf16']:10.2f} {r['torch_fp32_over_bf16']:8.2f} "
            f"{r['torch_autocast_over_bf16']:10.2f} {r['bf16_rel_err']:8.1e}"
        )
    return "\n".join(out)
