"""What is timed: each case builds both sides, checks they compute the same numbers, times them.

Shape legend: T time steps, B batch, I input features, H hidden units, G gates x H.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from .. import _kernels, nn
from .._kernels import gemm
from ..nn import LSTM, Embedding, Linear
from ..nn.functional import softmax
from ..nn.losses import mse
from ..nn.module import Module
from ..optim.optimizers import SGD
from ..train.bptt import TBPTT
from ._timing import _GATES, BenchmarkError, _try_import, interleaved, step_flops

TRAIN_SIZES = [(100, 32, 32, 64), (100, 32, 64, 128), (100, 64, 128, 256), (50, 64, 256, 512), (200, 1, 16, 64)]
TARGETS = {"RNN": 2.0, "LSTM": 1.25, "GRU": 2.0}
STREAM_TARGET, F64_TARGET = 4.0, 2.2
CELLS = ("RNN", "LSTM", "GRU")


# -- the two sides -----------------------------------------------------------------------
def _pair(cell, I, H, layers, bidi, dtype, seed):
    """An rnnkit layer and its PyTorch twin with the same weights (twin None without torch)."""

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
        raise BenchmarkError(
            f"{what}: rnnkit and PyTorch differ by {err:.2e} (relative), more than {tol:.0e}; "
            "hint: the timings would compare different computations, so none were taken"
        )
    return err


def training_case(
    cell, T, B, I, H, *, layers=1, bidi=False, dtype="float32", rounds=15, budget_s=3.0, torch_side=True, seed=0
) -> dict:
    """Time one training step (forward, full BPTT, SGD) on both sides after checking them."""
    row, ours_step, theirs_step = _training_steps(cell, T, B, I, H, layers, bidi, dtype, torch_side, seed)
    timing = interleaved(ours_step, theirs_step, rounds=rounds, budget_s=budget_s)
    row.update(timing.summary())
    row["backend"] = backend_of(cell, B, H)
    return row


def backend_of(cell, B, H) -> str:
    """Which library computed the case's per-step products (:mod:`rnnkit._kernels.gemm`): "openblas",
    "mkl" or "packed" (forward/backward when they differ), or "kernel" where the compiled kernels ran
    the whole sequence (B <= 4 with numba), which take NumPy arrays."""
    G = _GATES[cell] * H
    chosen = gemm.chosen()
    fwd, bwd = chosen.get((B, H, G, "forward")), chosen.get((B, G, H, "backward"))
    if fwd is None and bwd is None:
        forced = gemm.forced()
        if B <= 4 and _kernels.active(np.float32) is not None:
            return "kernel"
        return forced if forced != "auto" else "openblas"
    return f"{fwd}" if fwd == bwd else f"{fwd}/{bwd}"


def _training_steps(cell, T, B, I, H, layers, bidi, dtype, torch_side, seed):
    """(row, rnnkit's step, PyTorch's step or None), both sides checked to agree first."""

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

    row = {
        "cell": cell,
        "T": T,
        "B": B,
        "I": I,
        "H": H,
        "layers": layers,
        "bidirectional": bidi,
        "dtype": dtype,
        "flops": step_flops(cell, T, B, I, H, layers, D),
    }
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
    return row, ours_step, theirs_step


def _judge(row, gemm_gflops):
    """Add the GEMM-rate view and the verdict.

    ``goal`` is the issue's ratio; ``gemm_bound`` the ratio at which rnnkit would run the
    step's FLOPs at 90% of the machine's float32 GEMM rate; the target is the lower of the
    two ("this ratio, or 90% of the GEMM rate, whichever is lower"). ``met`` judges the
    median ratio, ``met_best`` the best-round ratio.
    """
    row["ours_gflops"] = row["flops"] / row["ours_s"] / 1e9
    row["ours_pct_gemm"] = 100.0 * row["ours_gflops"] / gemm_gflops
    if "ratio" in row:
        row["goal"] = TARGETS[row["cell"]]
        row["gemm_bound"] = 0.9 * gemm_gflops * 1e9 * row["theirs_s"] / row["flops"]
        row["target"] = min(row["goal"], row["gemm_bound"])
        row["binding"] = "ratio" if row["goal"] <= row["gemm_bound"] else "GEMM"
        row["met"] = bool(row["ratio"] >= row["target"])
        row["met_best"] = bool(row["best_ratio"] >= row["target"])
        row["verdict"] = verdict(row["met"], row["met_best"])
    return row


def verdict(met: bool, met_best: bool) -> str:
    """MET (median ratio), MET (best round) or NOT MET."""
    return "MET" if met else ("MET(best)" if met_best else "NOT MET")


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
    row = {"I": I, "H": H, "B": 1, "flops": step_flops("LSTM", 1, 1, I, H, train=False), **t.summary()}
    row["ours_us"] = 1e6 * row["ours_s"] / steps
    if "theirs_s" in row:
        row["theirs_us"] = 1e6 * row["theirs_s"] / steps
        row["goal"] = STREAM_TARGET
    return row


def judge_streaming(row, gemm_gflops):
    """The streaming step's verdict, with its GEMM-rate bound as for training steps."""
    if "ratio" in row:
        row["gemm_bound"] = 0.9 * gemm_gflops * 1e9 * row["theirs_us"] * 1e-6 / row["flops"]
        row["target"] = min(row["goal"], row["gemm_bound"])
        row["met"] = bool(row["ratio"] >= row["target"])
        row["met_best"] = bool(row["best_ratio"] >= row["target"])
        row["verdict"] = verdict(row["met"], row["met_best"])
    return row


def charlm_case(V=96, E=32, H=256, *, chars=300, rounds=7, budget_s=3.0, torch_side=True) -> dict:
    """Sampling speed of a character model: characters per second, one at a time."""

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
        self.net = Module()
        self.lstm = self.net.add_module("lstm", LSTM(F, H, rng=np.random.default_rng(0)))
        self.head = self.net.add_module("head", Linear(H, F, rng=np.random.default_rng(1)))
        self.named_parameters, self.zero_grad = self.net.named_parameters, self.net.zero_grad

    def init_state(self, B):
        return None

    def chunk_forward(self, inputs, targets, state, loss_mask=None):
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
    return {
        "k": k,
        "B": B,
        "F": F,
        "H": H,
        "peaks": {str(n): p for n, p in peaks.items()},
        "growth": peaks[hi] / peaks[lo],
        "length_ratio": hi / lo,
        "met": peaks[hi] / peaks[lo] < 1.2,
    }


def precision_case(cell, T, B, I, H, *, rounds=9, budget_s=3.0, torch_side=True) -> dict:
    """float64 time over float32 time of a training step, for rnnkit (and for PyTorch).

    The two precisions are interleaved round by round, like the two libraries elsewhere,
    and the ratio is the median over rounds of t_float64 / t_float32.
    """
    steps = {dt: _training_steps(cell, T, B, I, H, 1, False, dt, torch_side, 0) for dt in ("float32", "float64")}
    ours = interleaved(steps["float32"][1], steps["float64"][1], rounds=rounds, budget_s=budget_s).summary()
    out = {"cell": cell, "T": T, "B": B, "I": I, "H": H, "ours_f64_over_f32": ours["ratio"]}
    if steps["float32"][2] is not None:
        theirs = interleaved(steps["float32"][2], steps["float64"][2], rounds=rounds, budget_s=budget_s).summary()
        out["theirs_f64_over_f32"] = theirs["ratio"]
    out["ours_best_f64_over_f32"] = ours["best_ratio"]
    out["met"] = bool(out["ours_f64_over_f32"] <= F64_TARGET)
    out["met_best"] = bool(out["ours_best_f64_over_f32"] <= F64_TARGET)
    out["verdict"] = verdict(out["met"], out["met_best"])
    return out
