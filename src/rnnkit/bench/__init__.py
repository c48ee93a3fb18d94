"""Benchmark rnnkit against PyTorch on the same work, in one run, on this machine.

Shape legend: T time steps, B batch, I input features, H hidden units, G gates x H.

What is timed (float32 unless stated; both sides get the same weights and inputs):

* training step: forward + full BPTT + SGD update of RNN (tanh), LSTM and GRU layers. The
  loss is ``sum(out * R)`` for a fixed R, and both sides compute dL/dx (rnnkit's backward
  always returns it; the PyTorch input has ``requires_grad=True``);
* inference: eval-mode forward (PyTorch under ``no_grad``), in sequences per second;
* streaming: one ``LSTM.step`` at B = 1 against ``torch.nn.LSTMCell`` under ``no_grad``;
* CharLM sampling: Embedding -> LSTM.step -> Linear -> softmax -> draw, characters/s;
* truncated-BPTT memory: tracemalloc peak of training over a stream and over one 10x
  longer (it must stay flat);
* float64 / float32 time of a training step;
* the machine's float32 GEMM rate, against which each step's FLOPs are judged.

Timing is interleaved: every round runs each side once, in alternating order, so load
from other processes hits both, and each timed call starts after a short pause
(``_timing.SETTLE_S``), so that the other side's idle threads have gone to sleep and each
side runs as it would alone. Reported: the median time, its spread (interquartile range
as a percentage of the median) and the ratio, the median over rounds of
``t_torch / t_rnnkit`` (above 1: rnnkit is faster). Before any timing, both sides'
outputs and gradients are compared; a mismatch stops the benchmark.

Targets (from the project's speed issue): a ratio of at least 1.25 for the LSTM and 2 for
the RNN and GRU, at least 4 for the streaming step, each "or 90% of the GEMM rate for the
step's FLOPs, whichever is lower"; float64 at most ~2.2x the float32 time. Each row prints
the issue's ratio (goal), the ratio at 90% of the GEMM rate, the target (the lower) and
the verdict: MET on the median ratio, MET(best) on the best round only, or NOT MET. The
run ends with the same numbers as a Markdown table for the README.

Use ``rnnkit bench``, ``python -m rnnkit.bench`` or :func:`run`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

from .. import _kernels
from .._kernels import gemm, mkl
from .._version import __version__
from . import _timing
from ._bf16 import bf16_case, format_bf16
from ._cases import (
    CELLS,
    F64_TARGET,
    STREAM_TARGET,
    TARGETS,
    TRAIN_SIZES,
    _judge,
    charlm_case,
    inference_case,
    judge_streaming,
    precision_case,
    streaming_case,
    tbptt_memory_case,
    training_case,
)
from ._report import (
    _header,
    format_charlm,
    format_inference,
    format_memory,
    format_precision,
    format_readme,
    format_streaming,
    format_train,
    write_json,
)
from ._timing import (
    BenchmarkError,
    _try_import,
    current_threads,
    gemm_rate,
    interleaved,
    restore_threads,
    set_threads,
    step_flops,
)

__all__ = [
    "run",
    "main",
    "SECTIONS",
    "BenchmarkError",
    "set_threads",
    "interleaved",
    "gemm_rate",
    "step_flops",
    "training_case",
    "inference_case",
    "streaming_case",
    "charlm_case",
    "tbptt_memory_case",
    "precision_case",
    "write_json",
    "TRAIN_SIZES",
    "TARGETS",
    "CELLS",
    "STREAM_TARGET",
    "F64_TARGET",
]

# -- the run -----------------------------------------------------------------------------
SECTIONS = ("train", "inference", "streaming", "charlm", "memory", "precision", "bf16")


def _plan(quick: bool) -> dict:
    if quick:  # seconds: a smoke run that exercises every section
        tiny = (10, 4, 8, 16)
        return dict(
            train=[(c, *tiny, 1, False) for c in CELLS] + [("LSTM", *tiny, 2, True)],
            inference=[(c, *tiny) for c in CELLS],
            streaming=dict(I=32, H=32, steps=20),
            charlm=dict(V=20, E=8, H=32, chars=20),
            memory=dict(lengths=(50, 500), k=10, B=2, F=4, H=8),
            precision=[("LSTM", *tiny)],
            bf16=[("LSTM", 10, 8, 8, 16)],
            rounds=3,
            budget_s=0.2,
            gemm_n=256,
        )
    train = [(c, *s, 1, False) for c in CELLS for s in TRAIN_SIZES]
    train += [(c, 100, 32, 64, 128, 2, True) for c in CELLS]
    return dict(
        train=train,
        inference=[(c, 100, 64, 128, 256) for c in CELLS],
        streaming=dict(I=128, H=128, steps=200),
        charlm=dict(V=96, E=32, H=256, chars=300),
        memory=dict(lengths=(2_000, 20_000), k=50, B=8, F=8, H=64),
        precision=[(c, 100, 32, 64, 128) for c in CELLS],
        bf16=[(c, 50, 64, 256, 256) for c in CELLS] + [("LSTM", 50, 64, 256, 512)],
        rounds=21,
        budget_s=4.0,
        gemm_n=1024,
    )


def environment(threads: dict) -> dict:
    torch = sys.modules.get("torch")
    return {
        "rnnkit": __version__,
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": threads,
        "kernels": _kernels.describe(),
        "gemm": _gemm_description(),
    }


def _gemm_description() -> str:
    """How the per-step products are chosen: forced by RNNKIT_GEMM, measured with MKL, or NumPy's BLAS."""
    forced = gemm.forced()
    if forced != "auto":
        return f"{forced} (RNNKIT_GEMM)"
    if not mkl.available():
        return "openblas (MKL not installed: pip install rnnkit[mkl])"
    flags = gemm.cpu_flags() & {"amx_bf16", "avx512_bf16"}
    return f"measured per shape among openblas, mkl {mkl.version()}, packed; bf16 via {', '.join(flags) or 'none'}"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(
    *,
    quick: bool = False,
    threads: int | None = None,
    sections=SECTIONS,
    torch_side: bool = True,
    kernels: str | None = None,
    echo=print,
) -> dict:
    """Run the benchmark; print each table through ``echo`` as it completes; return all rows.

    ``kernels`` ("auto", "numpy", "numba") selects rnnkit's path for the run (see
    :mod:`rnnkit._kernels`); None keeps the current one.
    """

    if kernels is not None:
        with _kernels.using(kernels):
            return run(quick=quick, threads=threads, sections=sections, torch_side=torch_side, echo=echo)
    saved = current_threads()  # the run pins thread counts; the caller gets its own back
    settle = _timing.SETTLE_S
    _timing.SETTLE_S = 0.0 if quick else settle  # a smoke run measures nothing: no pauses
    try:
        return _run(quick, threads, sections, torch_side, echo)
    finally:
        _timing.SETTLE_S = settle
        restore_threads(saved)


def _run(quick, threads, sections, torch_side, echo) -> dict:
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError(f"sections: expected names from {', '.join(SECTIONS)}, got {', '.join(unknown)}")
    if torch_side and _try_import("torch") is None:
        echo("PyTorch is not installed: timing rnnkit alone (pip install torch for the comparison)")
        torch_side = False
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    plan = _plan(quick)
    compile_s = _kernels.warm_up()
    result = {"quick": quick, "env": environment(set_threads(threads, torch_side)), "kernel_compile_s": compile_s}
    result["gemm_gflops"] = gemm_rate(plan["gemm_n"])
    echo(_header(result))
    r, b = plan["rounds"], plan["budget_s"]
    if "train" in sections:
        rows = []
        for c, T, B, I, H, L, bd in plan["train"]:
            rows.append(training_case(c, T, B, I, H, layers=L, bidi=bd, rounds=r, budget_s=b, torch_side=torch_side))
            # the GEMM rate again between cases: the best of all is the machine's (and the strictest bar)
            result["gemm_gflops"] = max(result["gemm_gflops"], gemm_rate(plan["gemm_n"] // 2, rounds=5))
        result["train"] = [_judge(row, result["gemm_gflops"]) for row in rows]
        echo(f"float32 GEMM rate, best of the run: {result['gemm_gflops']:.1f} GFLOP/s")
        echo(format_train(result["train"]))
    if "inference" in sections:
        result["inference"] = [
            inference_case(*a, rounds=r, budget_s=b, torch_side=torch_side) for a in plan["inference"]
        ]
        echo(format_inference(result["inference"]))
    if "streaming" in sections:
        result["streaming"] = judge_streaming(
            streaming_case(**plan["streaming"], rounds=r, budget_s=b, torch_side=torch_side), result["gemm_gflops"]
        )
        echo(format_streaming(result["streaming"]))
    if "charlm" in sections:
        result["charlm"] = charlm_case(**plan["charlm"], rounds=max(3, r // 3), budget_s=b, torch_side=torch_side)
        echo(format_charlm(result["charlm"]))
    if "memory" in sections:
        result["memory"] = tbptt_memory_case(**plan["memory"])
        echo(format_memory(result["memory"]))
    if "precision" in sections:
        result["precision"] = [
            precision_case(*a, rounds=max(3, r // 2), budget_s=b, torch_side=torch_side) for a in plan["precision"]
        ]
        result["gemm_f64_over_f32"] = result["gemm_gflops"] / gemm_rate(plan["gemm_n"] // 2, rounds=5, dtype=np.float64)
        echo(format_precision(result["precision"], result["gemm_f64_over_f32"]))
    if "bf16" in sections:
        _bf16_section(result, plan, torch_side, echo)
    if torch_side:
        echo(format_readme(result))
    return result


def _bf16_section(result, plan, torch_side, echo) -> None:
    """rnnkit bf16-mixed against PyTorch float32 and autocast bf16, where this machine runs bf16."""
    try:
        gemm.check_precision("bf16-mixed", np.dtype(np.float32))
    except (RuntimeError, ImportError) as exc:
        echo(f"bf16 section skipped: {exc}")
        return
    if not torch_side:
        echo("bf16 section skipped: it compares with PyTorch")
        return
    r = plan["rounds"]
    result["bf16"] = [bf16_case(*a, rounds=max(3, r // 2), budget_s=plan["budget_s"]) for a in plan["bf16"]]
    echo(format_bf16(result["bf16"]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnnkit.bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few rounds: a smoke run of seconds")
    p.add_argument("--threads", type=int, default=None, help="threads for OpenBLAS and torch (default: usable cores)")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--no-torch", action="store_true", help="time rnnkit alone")
    p.add_argument(
        "--kernels",
        choices=("auto", "numpy", "numba"),
        default=None,
        help="rnnkit's path: numba kernels when installed (auto, the default) or the NumPy reference",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="also write every number to PATH")


def run_from_args(args) -> int:
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    result = run(
        quick=args.quick,
        threads=args.threads,
        sections=sections,
        torch_side=not args.no_torch,
        kernels=args.kernels,
        echo=lambda s: print(s, flush=True),
    )
    if args.json:
        write_json(args.json, result)
    return 0
