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
from other processes hits both. Reported: the median time, its spread (interquartile range
as a percentage of the median) and the ratio, the median over rounds of
``t_torch / t_rnnkit`` (above 1: rnnkit is faster). Before any timing, both sides'
outputs and gradients are compared; a mismatch stops the benchmark.

Targets (from the project's speed issue): a ratio of at least 1.25 for the LSTM and 2 for
the RNN and GRU, or 90% of the GEMM rate for the step's FLOPs, whichever is lower; at least
4 for the streaming step; float64 at most ~2.2x the float32 time.

Use ``python -m rnnkit bench`` / ``rnnkit bench`` or :func:`run`.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np

TRAIN_SIZES = [(100, 32, 32, 64), (100, 32, 64, 128), (100, 64, 128, 256), (50, 64, 256, 512),
               (200, 1, 16, 64)]
TARGETS = {"RNN": 2.0, "LSTM": 1.25, "GRU": 2.0}
STREAM_TARGET, F64_TARGET = 4.0, 2.2
CELLS = ("RNN", "LSTM", "GRU")


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
    got = {"openblas": None, "torch": None}
    handles = _openblas()
    if handles is not None:
        handles[0](n)
        got["openblas"] = int(handles[1]())
    torch = _try_import("torch") if torch_side else None
    if torch is not None:
        torch.set_num_threads(n)
        got["torch"] = torch.get_num_threads()
    return got


def _try_import(name):
    try:
        return __import__(name)
    except ImportError:
        return None


# -- timing ----------------------------------------------------------------------------
@dataclass
class Timing:
    ours: np.ndarray      # seconds per call, one per round
    theirs: np.ndarray | None

    @staticmethod
    def _spread(t):
        q1, q3 = np.percentile(t, [25, 75])
        return 100.0 * (q3 - q1) / np.median(t)

    def summary(self) -> dict:
        s = {"ours_s": float(np.median(self.ours)), "ours_spread_pct": self._spread(self.ours)}
        if self.theirs is not None:
            s.update(theirs_s=float(np.median(self.theirs)), theirs_spread_pct=self._spread(self.theirs),
                     ratio=float(np.median(self.theirs / self.ours)))
        return s


def interleaved(ours, theirs=None, *, rounds: int, budget_s: float, warmup: int = 2) -> Timing:
    """Time ``ours()`` and ``theirs()`` once per round, alternating which goes first.

    Stops after ``rounds`` rounds or when ``budget_s`` seconds are spent (at least 3 rounds).
    """
    fns = [ours] + ([theirs] if theirs is not None else [])
    for f in fns:
        for _ in range(warmup):
            f()
    times = [[] for _ in fns]
    start = time.perf_counter()
    for r in range(rounds):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for j in order:
            t0 = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - t0)
        if r >= 2 and time.perf_counter() - start > budget_s:
            break
    arrays = [np.array(t) for t in times]
    return Timing(arrays[0], arrays[1] if theirs is not None else None)


def gemm_rate(n: int = 1024, rounds: int = 7) -> float:
    """The machine's float32 GEMM rate in GFLOP/s: an (n, n) x (n, n) product."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    c = np.empty_like(a)
    t = interleaved(lambda: np.matmul(a, b, out=c), rounds=rounds, budget_s=2.0).ours
    return 2.0 * n ** 3 / float(np.median(t)) / 1e9


def step_flops(cell, T, B, I, H, layers=1, directions=1, train=True) -> float:
    """Matrix-product FLOPs of a step: 2 T B G (I_k + H) per layer and direction forward,
    twice that again backward (dW_ih, dx, dW_hh, dh)."""
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[cell] * H
    total = 0.0
    for k in range(layers):
        I_k = I if k == 0 else H * directions
        total += directions * 2.0 * T * B * G * (I_k + H)
    return total * (3 if train else 1)


# -- the two sides -----------------------------------------------------------------------
def _pair(cell, I, H, layers, bidi, dtype, seed):
    """An rnnkit layer and its PyTorch twin with the same weights (twin None without torch)."""
    from . import nn

    ours = getattr(nn, cell)(I, H, layers, bidirectional=bidi, dtype=dtype, rng=np.random.default_rng(seed))
    torch = _try_import("torch")
    if torch is None:
        return ours, None
    theirs = getattr(torch.nn, cell)(I, H, layers, bidirectional=bidi, dtype=getattr(torch, dtype))
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _close(what, a, b, tol):
    b = np.asarray(b)
    err = float(np.abs(np.asarray(a, np.float64) - b).max() / max(np.abs(b).max(), 1e-6))
    if not err < tol:
        raise BenchmarkError(f"{what}: rnnkit and PyTorch differ by {err:.2e} (relative), more than {tol:.0e}; "
                             "hint: the timings would compare different computations, so none were taken")
    return err


def training_case(cell, T, B, I, H, *, layers=1, bidi=False, dtype="float32", rounds=15,
                  budget_s=3.0, torch_side=True, seed=0) -> dict:
    """Time one training step (forward, full BPTT, SGD) on both sides after checking them."""
    from .optim import SGD

    ours, theirs = _pair(cell, I, H, layers, bidi, dtype, seed)
    theirs = theirs if torch_side else None
    rng = np.random.default_rng(seed + 1)
    D = 2 if bidi else 1
    x = rng.standard_normal((T, B, I)).astype(dtype)
    R = rng.standard_normal((T, B, D * H)).astype(dtype)
    opt = SGD(ours, lr=1e-3)

    def ours_step():
        ours.zero_grad()
        out, _, cache = ours.forward(x)
        ours.backward(R, None, cache)
        opt.step()
        return out

    row = {"cell": cell, "T": T, "B": B, "I": I, "H": H, "layers": layers, "bidirectional": bidi,
           "dtype": dtype, "flops": step_flops(cell, T, B, I, H, layers, D)}
    theirs_step = None
    if theirs is not None:
        import torch

        tx, tR = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(R)
        topt = torch.optim.SGD(theirs.parameters(), lr=1e-3)

        def theirs_step():
            topt.zero_grad()
            tx.grad = None
            out, _ = theirs(tx)
            out.backward(tR)
            topt.step()
            return out

        # the same numbers first: outputs, every gradient and dL/dx, before any update
        ours.zero_grad()
        out, _, cache = ours.forward(x)
        dx, _ = ours.backward(R, None, cache)
        tout, _ = theirs(tx)
        tout.backward(tR)
        tol = 1e-3 if dtype == "float32" else 1e-9
        errs = [_close("output", out, tout.detach().numpy(), tol), _close("dL/dx", dx, tx.grad.numpy(), tol)]
        errs += [_close(f"grad {n}", ours.grads[n], p.grad.numpy(), tol) for n, p in theirs.named_parameters()]
        row["max_rel_err"] = max(errs)
    timing = interleaved(ours_step, theirs_step, rounds=rounds, budget_s=budget_s)
    row.update(timing.summary())
    return row


def _judge(row, gemm_gflops):
    """Add the GEMM-rate view and whether the target is met."""
    row["ours_gflops"] = row["flops"] / row["ours_s"] / 1e9
    row["ours_pct_gemm"] = 100.0 * row["ours_gflops"] / gemm_gflops
    if "ratio" in row:
        # "ratio X, or 90% of the GEMM rate, whichever is lower"
        cap = 0.9 * gemm_gflops / (row["flops"] / row["theirs_s"] / 1e9)
        row["target"] = min(TARGETS[row["cell"]], cap)
        row["met"] = row["ratio"] >= row["target"]
    return row


# -- inference, streaming, sampling ------------------------------------------------------
def inference_case(cell, T, B, I, H, *, rounds=15, budget_s=2.0, torch_side=True) -> dict:
    ours, theirs = _pair(cell, I, H, 1, False, "float32", 0)
    ours.eval()
    x = np.random.default_rng(1).standard_normal((T, B, I)).astype(np.float32)
    theirs_fn = None
    if theirs is not None and torch_side:
        import torch

        tx = torch.from_numpy(x)
        _close("inference output", ours.forward(x)[0], theirs(tx)[0].detach().numpy(), 1e-3)

        def theirs_fn():
            with torch.no_grad():
                return theirs(tx)

    t = interleaved(lambda: ours.forward(x), theirs_fn, rounds=rounds, budget_s=budget_s)
    row = {"cell": cell, "T": T, "B": B, "I": I, "H": H, **t.summary()}
    row["ours_seq_per_s"] = B / row["ours_s"]
    if "theirs_s" in row:
        row["theirs_seq_per_s"] = B / row["theirs_s"]
    return row


def streaming_case(I=128, H=128, *, steps=200, rounds=15, budget_s=2.0, torch_side=True) -> dict:
    """Latency of one LSTM step at B = 1 (per step, averaged over ``steps`` calls)."""
    from .nn import LSTM

    ours = LSTM(I, H, rng=np.random.default_rng(0))
    xs = np.random.default_rng(1).standard_normal((steps, 1, I)).astype(np.float32)

    def ours_fn():
        state = None
        for x in xs:
            state = ours.step(x, state)
        return state

    theirs_fn = None
    torch = _try_import("torch") if torch_side else None
    if torch is not None:
        cell = torch.nn.LSTMCell(I, H)
        sd = ours.state_dict()
        cell.load_state_dict({k[:-3]: torch.from_numpy(v) for k, v in sd.items()})  # drop "_l0"
        txs = torch.from_numpy(xs)

        def theirs_fn():
            with torch.no_grad():
                h = c = torch.zeros(1, H)
                for x in txs:
                    h, c = cell(x, (h, c))
            return h, c

        _close("streaming state", ours_fn()[0][0], theirs_fn()[0].numpy(), 1e-3)
    t = interleaved(ours_fn, theirs_fn, rounds=rounds, budget_s=budget_s)
    row = {"I": I, "H": H, "B": 1, **t.summary()}
    row["ours_us"] = 1e6 * row["ours_s"] / steps
    if "theirs_s" in row:
        row["theirs_us"] = 1e6 * row["theirs_s"] / steps
        row["target"], row["met"] = STREAM_TARGET, row["ratio"] >= STREAM_TARGET
    return row


def charlm_case(V=96, E=32, H=256, *, chars=300, rounds=7, budget_s=3.0, torch_side=True) -> dict:
    """Sampling speed of a character model: characters per second, one at a time."""
    from .nn import LSTM, Embedding, Linear
    from .functional import softmax

    rng = np.random.default_rng(0)
    emb, lstm, head = Embedding(V, E, rng=rng), LSTM(E, H, rng=rng), Linear(H, V, rng=rng)

    def ours_fn():
        draw = np.random.default_rng(1)
        state, ch, text = None, 0, []
        for _ in range(chars):
            vec, _ = emb.forward(np.array([ch]))
            state = lstm.step(vec, state)
            logits, _ = head.forward(state[0][-1])
            p = softmax(logits[0].astype(np.float64))
            ch = int(min(np.searchsorted(np.cumsum(p), draw.random()), V - 1))
            text.append(ch)
        return text

    theirs_fn = None
    torch = _try_import("torch") if torch_side else None
    if torch is not None:
        temb, tcell, thead = torch.nn.Embedding(V, E), torch.nn.LSTMCell(E, H), torch.nn.Linear(H, V)
        temb.weight.data = torch.from_numpy(emb.state_dict()["weight"])
        tcell.load_state_dict({k[:-3]: torch.from_numpy(v) for k, v in lstm.state_dict().items()})
        thead.load_state_dict({k: torch.from_numpy(v) for k, v in head.state_dict().items()})
        gen = torch.Generator().manual_seed(1)

        def theirs_fn():
            with torch.no_grad():
                h = c = torch.zeros(1, H)
                ch, text = torch.zeros(1, dtype=torch.long), []
                for _ in range(chars):
                    h, c = tcell(temb(ch), (h, c))
                    p = torch.softmax(thead(h), dim=-1)
                    ch = torch.multinomial(p, 1, generator=gen)[0]
                    text.append(int(ch))
            return text

        with np.errstate(all="ignore"):
            logits = head.forward(lstm.step(emb.forward(np.array([3]))[0], None)[0][-1])[0]
        with torch.no_grad():
            tl = thead(tcell(temb(torch.tensor([3])))[0]).numpy()
        _close("CharLM logits", logits, tl, 1e-3)
    t = interleaved(ours_fn, theirs_fn, rounds=rounds, budget_s=budget_s, warmup=1)
    row = {"V": V, "E": E, "H": H, **t.summary()}
    row["ours_chars_per_s"] = chars / row["ours_s"]
    if "theirs_s" in row:
        row["theirs_chars_per_s"] = chars / row["theirs_s"]
    return row


# -- memory and precision ----------------------------------------------------------------
class _StreamModel:
    """LSTM -> Linear -> squared error over a stream: the TBPTT stream-model protocol."""

    def __init__(self, F, H):
        from .module import Module
        from .nn import LSTM, Linear

        self.net = Module()
        self.lstm = self.net.add_module("lstm", LSTM(F, H, rng=np.random.default_rng(0)))
        self.head = self.net.add_module("head", Linear(H, F, rng=np.random.default_rng(1)))
        self.named_parameters, self.zero_grad = self.net.named_parameters, self.net.zero_grad

    def init_state(self, B):
        return None

    def chunk_forward(self, inputs, targets, state, loss_mask=None):
        from .losses import mse

        out, state, c1 = self.lstm.forward(inputs, state)
        y, c2 = self.head.forward(out)
        loss, dy = mse(y, targets)
        return loss * y.size, y.size, state, (c1, c2, dy * y.size)

    def chunk_backward(self, cache, dloss_scale, dstate):
        c1, c2, dy = cache
        dout = self.head.backward(dy * dloss_scale, c2)
        return self.lstm.backward(dout, dstate, c1)[1]


def tbptt_memory_case(lengths=(2_000, 20_000), *, k=50, B=8, F=8, H=64) -> dict:
    """tracemalloc peak (bytes) of TBPTT training over streams of each length."""
    from .bptt import TBPTT
    from .optim import SGD

    peaks = {}
    for n in lengths:
        data = np.random.default_rng(0).standard_normal((n * B + 1, F)).astype(np.float32)
        model = _StreamModel(F, H)
        tb, opt = TBPTT(model, k1=k), SGD(model.net, lr=1e-3)
        tracemalloc.start()
        for chunk in tb.stream(data, batch_size=B):
            model.zero_grad()
            tb.loss_and_grad(chunk)
            opt.step()
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    lo, hi = lengths[0], lengths[-1]
    return {"k": k, "B": B, "F": F, "H": H, "peaks": {str(n): p for n, p in peaks.items()},
            "growth": peaks[hi] / peaks[lo], "length_ratio": hi / lo, "met": peaks[hi] / peaks[lo] < 1.2}


def precision_case(cell, T, B, I, H, *, rounds=9, budget_s=3.0) -> dict:
    """float64 time over float32 time of a training step, for rnnkit (and for PyTorch)."""
    rows = {dt: training_case(cell, T, B, I, H, dtype=dt, rounds=rounds, budget_s=budget_s)
            for dt in ("float32", "float64")}
    out = {"cell": cell, "T": T, "B": B, "I": I, "H": H,
           "ours_f64_over_f32": rows["float64"]["ours_s"] / rows["float32"]["ours_s"]}
    if "theirs_s" in rows["float32"]:
        out["theirs_f64_over_f32"] = rows["float64"]["theirs_s"] / rows["float32"]["theirs_s"]
    out["met"] = out["ours_f64_over_f32"] <= F64_TARGET
    return out


# -- the run -----------------------------------------------------------------------------
SECTIONS = ("train", "inference", "streaming", "charlm", "memory", "precision")


def _plan(quick: bool) -> dict:
    if quick:  # seconds: a smoke run that exercises every section
        tiny = (10, 4, 8, 16)
        return dict(train=[(c, *tiny, 1, False) for c in CELLS] + [("LSTM", *tiny, 2, True)],
                    inference=[(c, *tiny) for c in CELLS], streaming=dict(I=32, H=32, steps=20),
                    charlm=dict(V=20, E=8, H=32, chars=20), memory=dict(lengths=(50, 500), k=10, B=2, F=4, H=8),
                    precision=[("LSTM", *tiny)], rounds=3, budget_s=0.2, gemm_n=256)
    train = [(c, *s, 1, False) for c in CELLS for s in TRAIN_SIZES]
    train += [(c, 100, 32, 64, 128, 2, True) for c in CELLS]
    return dict(train=train, inference=[(c, 100, 64, 128, 256) for c in CELLS],
                streaming=dict(I=128, H=128, steps=200), charlm=dict(V=96, E=32, H=256, chars=300),
                memory=dict(lengths=(2_000, 20_000), k=50, B=8, F=8, H=64),
                precision=[(c, 100, 32, 64, 128) for c in CELLS], rounds=21, budget_s=4.0, gemm_n=1024)


def environment(threads: dict) -> dict:
    from . import _kernels
    from ._version import __version__

    torch = sys.modules.get("torch")
    return {"rnnkit": __version__, "numpy": np.__version__, "torch": getattr(torch, "__version__", None),
            "python": platform.python_version(), "machine": platform.machine(), "processor": _cpu_name(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "threads": threads, "kernels": _kernels.describe()}


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(*, quick: bool = False, threads: int | None = None, sections=SECTIONS, torch_side: bool = True,
        kernels: str | None = None, echo=print) -> dict:
    """Run the benchmark; print each table through ``echo`` as it completes; return all rows.

    ``kernels`` ("auto", "numpy", "numba") selects rnnkit's path for the run (see
    :mod:`rnnkit._kernels`); None keeps the current one.
    """
    from . import _kernels

    if kernels is not None:
        with _kernels.using(kernels):
            return run(quick=quick, threads=threads, sections=sections, torch_side=torch_side, echo=echo)
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
        rows = [_judge(training_case(c, T, B, I, H, layers=L, bidi=bd, rounds=r, budget_s=b,
                                     torch_side=torch_side), result["gemm_gflops"])
                for c, T, B, I, H, L, bd in plan["train"]]
        result["train"] = rows
        echo(format_train(rows))
    if "inference" in sections:
        result["inference"] = [inference_case(*a, rounds=r, budget_s=b, torch_side=torch_side) for a in plan["inference"]]
        echo(format_inference(result["inference"]))
    if "streaming" in sections:
        result["streaming"] = streaming_case(**plan["streaming"], rounds=r, budget_s=b, torch_side=torch_side)
        echo(format_streaming(result["streaming"]))
    if "charlm" in sections:
        result["charlm"] = charlm_case(**plan["charlm"], rounds=max(3, r // 3), budget_s=b, torch_side=torch_side)
        echo(format_charlm(result["charlm"]))
    if "memory" in sections:
        result["memory"] = tbptt_memory_case(**plan["memory"])
        echo(format_memory(result["memory"]))
    if "precision" in sections:
        result["precision"] = [precision_case(*a, rounds=max(3, r // 2), budget_s=b) for a in plan["precision"]]
        echo(format_precision(result["precision"]))
    return result


# -- tables ------------------------------------------------------------------------------
def _ms(s):
    return f"{1e3 * s:9.2f}"


def _header(res):
    e = res["env"]
    th = e["threads"]
    lines = [f"rnnkit {e['rnnkit']} bench{' (quick)' if res['quick'] else ''}: numpy {e['numpy']}, "
             f"torch {e['torch'] or 'absent'}, python {e['python']}",
             f"cpu: {e['processor']} ({e['cores']} usable cores); threads: OpenBLAS {th['openblas']}, "
             f"torch {th['torch']}",
             f"kernels: {e['kernels']}" + (f"; compile/load {res['kernel_compile_s']:.2f} s"
                                           if res["kernel_compile_s"] is not None else ""),
             f"float32 GEMM rate: {res['gemm_gflops']:.1f} GFLOP/s",
             "ratio = median over interleaved rounds of t_torch / t_rnnkit (above 1: rnnkit faster); "
             "+-% = interquartile range / median"]
    return "\n".join(lines)


def format_train(rows):
    out = ["", "training step (forward + BPTT + SGD, float32), ms",
           f"{'cell':5} {'T/B/I/H':>15} {'L':>1} {'D':>1} {'rnnkit':>9} {'+-%':>4} {'torch':>9} {'+-%':>4} "
           f"{'ratio':>6} {'target':>6} {'GF/s':>6} {'%GEMM':>5}  ok"]
    for r in rows:
        size = f"{r['T']}/{r['B']}/{r['I']}/{r['H']}"
        s = (f"{r['cell']:5} {size:>15} {r['layers']:>1} {2 if r['bidirectional'] else 1:>1} {_ms(r['ours_s'])} "
             f"{r['ours_spread_pct']:4.0f}")
        if "ratio" in r:
            s += (f" {_ms(r['theirs_s'])} {r['theirs_spread_pct']:4.0f} {r['ratio']:6.2f} {r['target']:6.2f} "
                  f"{r['ours_gflops']:6.1f} {r['ours_pct_gemm']:5.0f}  {'yes' if r['met'] else 'NO'}")
        else:
            s += f" {'':>9} {'':>4} {'':>6} {'':>6} {r['ours_gflops']:6.1f} {r['ours_pct_gemm']:5.0f}"
        out.append(s)
    return "\n".join(out)


def format_inference(rows):
    out = ["", "inference (eval forward; torch under no_grad), sequences/s",
           f"{'cell':5} {'T/B/I/H':>15} {'rnnkit':>10} {'torch':>10} {'ratio':>6}"]
    for r in rows:
        size = f"{r['T']}/{r['B']}/{r['I']}/{r['H']}"
        out.append(f"{r['cell']:5} {size:>15} {r['ours_seq_per_s']:10.0f} {r.get('theirs_seq_per_s', float('nan')):10.0f}"
                   f" {r.get('ratio', float('nan')):6.2f}")
    return "\n".join(out)


def format_streaming(r):
    s = f"\nstreaming LSTM step, B=1, I={r['I']}, H={r['H']}: rnnkit {r['ours_us']:.1f} us"
    if "ratio" in r:
        s += (f", torch LSTMCell (no_grad) {r['theirs_us']:.1f} us, ratio {r['ratio']:.2f} "
              f"(target {r['target']:.0f}: {'yes' if r['met'] else 'NO'})")
    return s


def format_charlm(r):
    s = f"\nCharLM sampling (V={r['V']}, E={r['E']}, H={r['H']}): rnnkit {r['ours_chars_per_s']:.0f} chars/s"
    if "ratio" in r:
        s += f", torch {r['theirs_chars_per_s']:.0f} chars/s, ratio {r['ratio']:.2f}"
    return s


def format_memory(r):
    peaks = ", ".join(f"{int(n):,} steps: {p / 1024:.0f} KiB" for n, p in r["peaks"].items())
    return (f"\ntruncated BPTT peak memory (tracemalloc, k={r['k']}, B={r['B']}, H={r['H']}): {peaks}; "
            f"x{r['growth']:.2f} for a x{r['length_ratio']:.0f} longer stream ({'flat' if r['met'] else 'GROWS'})")


def format_precision(rows):
    out = ["", "float64 time / float32 time, training step"]
    for r in rows:
        s = f"{r['cell']:5} {r['T']}/{r['B']}/{r['I']}/{r['H']}: rnnkit {r['ours_f64_over_f32']:.2f}"
        if "theirs_f64_over_f32" in r:
            s += f", torch {r['theirs_f64_over_f32']:.2f}"
        out.append(s + f" (target <= {F64_TARGET}: {'yes' if r['met'] else 'NO'})")
    return "\n".join(out)


def write_json(path, result) -> None:
    """Write the result atomically (a temporary file, then ``os.replace``)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    os.replace(tmp, path)


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m rnnkit.bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few rounds: a smoke run of seconds")
    p.add_argument("--threads", type=int, default=None, help="threads for OpenBLAS and torch (default: usable cores)")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--no-torch", action="store_true", help="time rnnkit alone")
    p.add_argument("--kernels", choices=("auto", "numpy", "numba"), default=None,
                   help="rnnkit's path: numba kernels when installed (auto, the default) or the NumPy reference")
    p.add_argument("--json", default=None, metavar="PATH", help="also write every number to PATH")


def run_from_args(args) -> int:
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    result = run(quick=args.quick, threads=args.threads, sections=sections, torch_side=not args.no_torch,
                 kernels=args.kernels, echo=lambda s: print(s, flush=True))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
