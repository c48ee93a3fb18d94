"""Inference time of an exported LSTM: onnxruntime vs rnnkit's forward vs PyTorch's.

``python benchmarks/onnx_inference.py [--threads 2] [--rounds 15] [--sizes 100/64/128/256,...]``

For each size T/B/I/H (time steps, batch, input features, hidden units) one float32
``rnnkit.nn.LSTM`` is built, exported with ``rnnkit.interop.to_onnx`` (``lengths`` input
included, all rows full), loaded into onnxruntime, and converted with
``rnnkit.interop.to_torch``. After checking that the three give the same outputs (to 1e-5),
each round times one forward of each, in an order rotated from round to round, every call
after a short pause (OpenBLAS's worker threads spin for about 0.1 s after a call and
would slow the next engine's call). All use the same thread count (OpenBLAS for rnnkit,
``torch.set_num_threads``, onnxruntime's ``intra_op_num_threads``). Printed: the median
time per call of each and the ratios, as a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from rnnkit.bench._timing import SETTLE_S, set_threads

SIZES = ("100/64/128/256", "100/32/64/128", "200/1/16/64")


def _one(size: str, threads: int, rounds: int, ort, torch) -> dict:
    import rnnkit
    from rnnkit.interop import to_onnx, to_torch

    T, B, I, H = (int(v) for v in size.split("/"))
    rng = np.random.default_rng(0)
    layer = rnnkit.nn.LSTM(I, H, rng=rng).eval()
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    lengths = np.full(B, T, np.int32)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = to_onnx(layer, Path(tmp) / "lstm.onnx", lengths=True)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    tm = to_torch(layer).eval()
    tx = torch.from_numpy(x)
    feeds = {"input": x, "lengths": lengths}

    def run_rnnkit():
        return layer.forward(x)[0]

    def run_ort():
        return sess.run(["output"], feeds)[0]

    def run_torch():
        with torch.no_grad():
            return tm(tx)[0].numpy()

    want = run_rnnkit()
    for name, fn in (("onnxruntime", run_ort), ("torch", run_torch)):
        err = float(np.max(np.abs(fn() - want)))
        if err > 1e-5:
            raise SystemExit(f"error: {name} disagrees with rnnkit on {size} (max abs error {err:.2e})")
    engines = [("rnnkit", run_rnnkit), ("onnxruntime", run_ort), ("torch", run_torch)]
    times = {name: [] for name, _ in engines}
    for fn in (run_rnnkit, run_ort, run_torch):  # warm-up
        fn()
    for r in range(rounds):
        for name, fn in engines[r % 3 :] + engines[: r % 3]:
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(v)) for name, v in times.items()}


def _fmt(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.0f} us"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated T/B/I/H")
    args = parser.parse_args(argv)
    try:
        import onnxruntime as ort
        import torch
    except ImportError as exc:
        print(
            f"error: this benchmark needs onnxruntime and torch ({exc}); pip install 'rnnkit[onnx,torch]'",
            file=sys.stderr,
        )
        return 2
    got = set_threads(args.threads)
    print(
        f"threads: {got}, onnxruntime {ort.__version__}, torch {torch.__version__}, numpy {np.__version__}; "
        f"median of {args.rounds} interleaved rounds, LSTM inference (eval forward) in float32\n"
    )
    print("| LSTM T/B/I/H | rnnkit | onnxruntime | PyTorch | rnnkit / onnxruntime | PyTorch / onnxruntime |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        t = _one(size.strip(), args.threads, args.rounds, ort, torch)
        print(
            f"| {size} | {_fmt(t['rnnkit'])} | {_fmt(t['onnxruntime'])} | {_fmt(t['torch'])} | "
            f"{t['rnnkit'] / t['onnxruntime']:.2f} | {t['torch'] / t['onnxruntime']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
