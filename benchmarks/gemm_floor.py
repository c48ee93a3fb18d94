"""How fast could a training step be on NumPy's BLAS? ``python benchmarks/gemm_floor.py``.

Shape legend: T time steps, B batch, I input features, H hidden units, G gates x H.

For each training case of ``rnnkit bench`` this times, round by round and interleaved:

* rnnkit's whole training step (forward, full BPTT, SGD);
* the same step's matrix products alone: the very shapes and call forms the engine
  issues (one input projection, T recurrent products forward and T backward, the weight
  and input gradients over all steps), into preallocated outputs, with nothing between;
* PyTorch's training step (after checking that both sides compute the same numbers).

"floor" is the products' time: an engine built on these products, with its gate math,
copies and Python all free, would still take that long. "ceiling" = torch / floor is the
highest ratio such an engine could show against PyTorch in the same run; where it is
below the issue's goal, meeting the goal needs faster matrix products than NumPy's BLAS
gives at these shapes, not a better time loop.

    python benchmarks/gemm_floor.py [--threads N] [--rounds R] [--cases LSTM,GRU]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from rnnkit.bench._cases import TARGETS, TRAIN_SIZES, _training_steps
from rnnkit.bench._timing import SETTLE_S, _try_import, current_threads, restore_threads, set_threads

BIDI = (100, 32, 64, 128)


def products(cell, T, B, I, H, layers=1, directions=1, dtype=np.float32):
    """(run, flops): a function that runs the matrix products of one training step as the
    engine issues them, and the FLOPs of those products, counted from their shapes."""
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[cell] * H
    rng = np.random.default_rng(0)
    r = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    calls, flops = [], 0.0

    def add(fn, a, b):  # one product a @ b, by the shapes it multiplies
        nonlocal flops
        calls.append(fn)
        flops += 2.0 * a[0] * a[1] * b[1]

    for k in range(layers):
        I_k = I if k == 0 else H * directions
        x2 = r(T * B, I_k)
        dx2 = np.empty((T * B, I_k), dtype)
        for _d in range(directions):
            W_ih, W_hh = r(G, I_k), r(G, H)
            WT, Wr = np.ascontiguousarray(W_ih.T), np.ascontiguousarray(W_hh.T)
            xp, hs, gates = np.empty((T * B, G), dtype), r(T + 1, B, H), np.empty((T, B, G), dtype)
            dgi, dh = r(T, B, G), np.empty((B, H), dtype)
            dW_ih, dW_hh = np.empty((G, I_k), dtype), np.empty((G, H), dtype)
            gi2, h2 = dgi.reshape(T * B, G), hs[:-1].reshape(T * B, H)
            add(lambda x2=x2, WT=WT, o=xp: np.matmul(x2, WT, out=o), (T * B, I_k), (I_k, G))  # input projection
            for t in range(T):
                add(lambda t=t, hs=hs, Wr=Wr, o=gates: np.matmul(hs[t], Wr, out=o[t]), (B, H), (H, G))
            for t in range(T):
                add(lambda t=t, g=dgi, W=W_hh, o=dh: np.matmul(g[t], W, out=o), (B, G), (G, H))
            add(lambda g=gi2, x2=x2, o=dW_ih: np.matmul(g.T, x2, out=o), (G, T * B), (T * B, I_k))
            if cell == "GRU":  # rows r, z from the input-side gradient, rows n from d(W_hn h + b_hn)
                dhn = r(T * B, H)
                add(
                    lambda g=gi2, h2=h2, o=dW_hh: np.matmul(g[:, : 2 * H].T, h2, out=o[: 2 * H]),
                    (2 * H, T * B),
                    (T * B, H),
                )
                add(lambda g=dhn, h2=h2, o=dW_hh: np.matmul(g.T, h2, out=o[2 * H :]), (H, T * B), (T * B, H))
            else:
                add(lambda g=gi2, h2=h2, o=dW_hh: np.matmul(g.T, h2, out=o), (G, T * B), (T * B, H))
            add(lambda g=gi2, W=W_ih, o=dx2: np.matmul(g, W, out=o), (T * B, G), (G, I_k))

    def run():
        for c in calls:
            c()

    return run, flops


def timed_rounds(fns, rounds, budget_s):
    """Seconds per call of each function, one call each per round, order alternating, each
    call after a pause of ``SETTLE_S`` as in ``rnnkit bench`` (idle BLAS threads asleep)."""
    for f in fns:
        f()
        f()
    times = [[] for _ in fns]
    spent = 0.0
    for i in range(rounds):
        for j in range(len(fns)) if i % 2 == 0 else reversed(range(len(fns))):
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - t0)
            spent += times[j][-1]
        if i >= 2 and spent > budget_s:
            break
    return [np.array(t) for t in times]


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Time rnnkit's training step, the same step's matrix products "
        "alone, and PyTorch's step, interleaved; print the highest ratio the "
        "products allow."
    )
    ap.add_argument("--threads", type=_positive(int), default=2, help="threads for OpenBLAS and PyTorch alike")
    ap.add_argument("--rounds", type=_positive(int), default=11, help="rounds per case at most")
    ap.add_argument("--budget", type=_positive(float), default=4.0, help="seconds of timed calls per case at most")
    ap.add_argument("--cases", default="RNN,LSTM,GRU", help="cells to run, comma-separated (RNN, LSTM, GRU)")
    args = ap.parse_args(argv)
    cells = [c.strip().upper() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cells if c not in TARGETS]
    if unknown or not cells:
        ap.error(f"--cases: expected names from RNN, LSTM, GRU, got {args.cases!r}")
    if _try_import("torch") is None:
        print("gemm_floor: needs PyTorch for the comparison (pip install torch)", file=sys.stderr)
        return 2
    saved = current_threads()
    set_threads(args.threads)
    cases = [(c, *s, 1, False) for c in cells for s in TRAIN_SIZES] + [(c, *BIDI, 2, True) for c in cells]
    print(f"threads {args.threads}; times are medians over interleaved rounds, ms")
    print(
        f"{'cell':5} {'T/B/I/H':>15} {'L':>1} {'D':>1} {'rnnkit':>8} {'floor':>8} {'share':>6} {'torch':>8} "
        f"{'ratio':>6} {'ceiling':>7} {'goal':>5}  reading"
    )
    try:
        for cell, T, B, I, H, layers, bidi in cases:
            D = 2 if bidi else 1
            _, ours, theirs = _training_steps(cell, T, B, I, H, layers, bidi, "float32", True, 0)
            floor, _ = products(cell, T, B, I, H, layers, D)
            t_ours, t_floor, t_theirs = timed_rounds([ours, floor, theirs], args.rounds, args.budget)
            o, f, th = (float(np.median(t)) * 1e3 for t in (t_ours, t_floor, t_theirs))
            ratio, ceiling, goal = float(np.median(t_theirs / t_ours)), th / f, TARGETS[cell]
            reading = (
                "compiled time loop: no per-step BLAS products, no floor"
                if B <= 4
                else "goal met"
                if ratio >= goal
                else "goal within reach of these products"
                if ceiling >= goal
                else "goal beyond these products"
            )
            print(
                f"{cell:5} {f'{T}/{B}/{I}/{H}':>15} {layers} {D} {o:8.2f} {f:8.2f} {100 * f / o:5.0f}% {th:8.2f} "
                f"{ratio:6.2f} {ceiling:7.2f} {goal:5.2f}  {reading}",
                flush=True,
            )
    finally:
        restore_threads(saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
