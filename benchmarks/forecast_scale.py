"""One global Forecaster over 1,000 synthetic series of 200 steps: training time, and the
time to forecast all of them 48 steps ahead with 80% and 95% intervals.

    OPENBLAS_NUM_THREADS=1 python benchmarks/forecast_scale.py [--series 1000] [--epochs 5]

Each series is level * (1 + trend * t + amplitude * sin(2 pi t / 12 + phase)) plus noise,
with levels spread over three orders of magnitude (per-series scaling handles them). The
model reads 24 steps and forecasts 48 at once (direct strategy) with five quantiles.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit.forecast import Forecaster


def make_series(n, T, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    level = 10 ** rng.uniform(0, 3, n)
    trend = rng.uniform(-0.002, 0.004, n)
    amp = rng.uniform(0.05, 0.3, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    base = 1 + trend[:, None] * t + amp[:, None] * np.sin(2 * np.pi * t / 12 + phase[:, None])
    noise = 0.03 * rng.standard_normal((n, T))
    return list(level[:, None] * (base + noise))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument(
        "--target-transform",
        default="seasonal_diff",
        help="the Forecaster's target_transform (deseason+diff: the CLI's choice here)",
    )
    args = p.parse_args(argv)
    h = 48
    series = make_series(args.series, args.length)
    train = [s[:-h] for s in series]
    fc = Forecaster(
        window=24,
        horizon=h,
        strategy="direct",
        loss="quantile",
        scaling="series",
        target_transform=args.target_transform,
        period=12,
        hidden_size=32,
        batch_size=256,
        epochs=args.epochs,
        lr=0.005,
        seed=0,
    )
    start = time.perf_counter()
    fc.fit(train)
    fit_s = time.perf_counter() - start
    fc.predict_intervals(train[:10], h, levels=(80, 95))  # warm up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = fc.predict_intervals(train, h, levels=(80, 95))
        times.append(time.perf_counter() - start)
    truth = np.stack([s[-h:] for s in series])
    point = np.stack(out["point"])
    snaive = np.stack([np.tile(s[-12:], h // 12) for s in train])
    scale = np.array([np.mean(np.abs(s[12:] - s[:-12])) for s in train])[:, None]
    mase = np.mean(np.abs(point - truth) / scale)
    mase_sn = np.mean(np.abs(snaive - truth) / scale)
    lo, hi = np.stack(out["lo_80"]), np.stack(out["hi_80"])
    cover = np.mean((truth >= lo) & (truth <= hi))
    windows = sum(len(s) - 12 - 24 - h + 1 for s in train)
    print(
        f"target transform {args.target_transform}; "
        f"{args.series} series x {args.length} steps, {windows:,} training windows, "
        f"{args.epochs} epochs: fit {fit_s:.1f} s"
    )
    print(
        f"forecast {args.series} series x {h} steps with 80/95% intervals: "
        f"best {min(times):.3f} s of 3 (median {sorted(times)[1]:.3f} s)"
    )
    print(f"MASE model {mase:.3f}, seasonal naive {mase_sn:.3f}; 80% interval coverage {cover:.1%}")


if __name__ == "__main__":
    main()
