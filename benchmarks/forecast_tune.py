"""Tuning by backtest against the CLI's defaults, on the real series of benchmarks/forecast.py.

    python benchmarks/forecast_tune.py                        # every series, 20 trials each (15 min)
    python benchmarks/forecast_tune.py --series nile --trials 10 --backend random

For each series (co2, elec_equip, nile, macro; read and split as benchmarks/forecast.py
does, so the numbers compare with its table): the test part is that benchmark's rolling
origins (its last N origins, a refit every k). Everything before the first test origin is
the training part; rnnkit.forecast.tune searches window, hidden size, cell, lr, target
transform and scaling on the training part alone (its last origins, in 3 folds; the
trials trained with the CLI's settings, each averaging 5 networks as the test rows do,
--trial-ensemble 1 trains them as `rnnkit tune forecast` does by default; the best
--confirm trials and the defaults' are re-scored on --confirm-seeds fresh seeds and the
defaults kept unless beaten by more than a standard error, as tune does). Then both the
tuned settings and the CLI defaults (`rnnkit train forecast --horizon H --period M`, 5
networks averaged) are scored by the same backtest on the test origins, beside naive and
seasonal naive: test MASE side by side, and the search's lowest trial too when it is not
the one chosen.

macro is one global model over its 12 series, each standardized by its own history, for
both rows (as in benchmarks/forecast.py).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forecast import DATA, SERIES, PerSeriesScaled, cli_default_params, load  # noqa: E402

from rnnkit.forecast import Forecaster  # noqa: E402
from rnnkit.forecast.backtest import backtest  # noqa: E402
from rnnkit.forecast.tune import tune  # noqa: E402


def training_part(values: np.ndarray, cfg: dict) -> np.ndarray:
    """Everything before the first test origin of benchmarks/forecast.py's backtest."""
    first = len(values) - cfg["horizon"] - (cfg["n_origins"] - 1)
    return values[:first]


def run_series(
    name: str,
    data: Path,
    trials: int,
    backend: str,
    seed: int,
    quick: bool,
    ensemble: int,
    confirm: int,
    seeds: int,
    holdout: bool,
) -> dict:
    cfg = SERIES[name]
    values, columns = load(name, data)
    train = training_part(values, cfg)
    default = cli_default_params(cfg, [values[: len(values) // 2]])
    if quick:
        default["epochs"] = 3
    t0 = time.perf_counter()
    if name == "macro":  # one global model over the 12 columns, each standardized by the training part
        mean, std = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
        series = [(train[:, f] - mean[f]) / std[f] for f in range(train.shape[1])]
    else:
        series = train
    result = tune(
        series,
        cfg["horizon"],
        n_trials=trials,
        params=dict(default, ensemble=ensemble),
        seed=seed,
        backend=backend,
        confirm=confirm,
        confirm_seeds=seeds,
        holdout=holdout,
        progress=lambda t: print(
            f"  {name} trial {t.number}: {t.state} MASE {t.mase:.3f} ({t.seconds:.1f} s) {t.params}"
            + (f" [{t.message[:80]}]" if t.message else ""),
            flush=True,
        ),
    )
    tune_seconds = time.perf_counter() - t0
    if result.confirmation is not None:
        print(f"  {name}: {result.confirmation.summary()}", flush=True)
    tuned = dict(default, **result.best_params)
    top = min((t for t in result.trials if t.state == "complete"), key=lambda t: t.mase)
    wrap = PerSeriesScaled if name == "macro" else (lambda **p: Forecaster(**p))
    models = {"tuned": wrap(**tuned), "cli_default": wrap(**default)}
    if top.number != result.best_trial.number:  # what choosing by the search score alone gives
        models["search_top"] = wrap(**dict(default, **top.params))
    t0 = time.perf_counter()
    test = backtest(
        models,
        values,
        cfg["horizon"],
        n_origins=24 if quick else cfg["n_origins"],
        refit_every=cfg["refit"],
        period=cfg["period"],
        baselines=("naive", "seasonal_naive"),
        levels=(),
        missing="interpolate",
        columns=columns,
    )
    m = test.metrics()
    return {
        "series": name,
        "train": len(train),
        "mase": {k: v["mase"] for k, v in m.items()},
        "best": result.best_params,
        "tune_mase": result.best_score,
        "chosen": result.best_trial.number,
        "top": top.number,
        "confirmation": None if result.confirmation is None else result.confirmation.summary(),
        "default_tune_mase": math.nan if result.base_trial is None else result.trials[result.base_trial].mase,
        "trials": len(result.trials),
        "pruned": sum(t.state == "pruned" for t in result.trials),
        "failed": sum(t.state == "failed" for t in result.trials),
        "tune_seconds": tune_seconds,
        "test_seconds": time.perf_counter() - t0,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", default=",".join(SERIES), help="comma-separated subset")
    ap.add_argument("--data", type=Path, default=DATA, help="the folder with the series CSVs")
    ap.add_argument("--trials", type=int, default=20, help="trials per series")
    ap.add_argument("--backend", default="auto", choices=("auto", "optuna", "random"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--trial-ensemble", type=int, default=5, help="networks per trial (the CLI's trials: 1; the test rows: 5)"
    )
    ap.add_argument("--confirm", type=int, default=3, help="best trials re-scored on fresh seeds (0: none)")
    ap.add_argument("--confirm-seeds", type=int, default=2, help="fresh seeds of the re-scoring")
    ap.add_argument("--holdout", action="store_true", help="re-score the best trials on the last fold, unsearched")
    ap.add_argument("--quick", action="store_true", help="3 epochs, 24 test origins: a smoke run")
    args = ap.parse_args(argv)
    rows = []
    for name in [s.strip() for s in args.series.split(",") if s.strip()]:
        row = run_series(
            name,
            args.data,
            args.trials,
            args.backend,
            args.seed,
            args.quick,
            args.trial_ensemble,
            args.confirm,
            args.confirm_seeds,
            args.holdout,
        )
        rows.append(row)
        print(
            f"## {name}: training part {row['train']} steps, {row['trials']} trials "
            f"({row['pruned']} pruned, {row['failed']} failed) in {row['tune_seconds']:.0f} s, "
            f"test backtest {row['test_seconds']:.0f} s; best {row['best']} "
            f"(tuning MASE {row['tune_mase']:.3f}, defaults' {row['default_tune_mase']:.3f})",
            flush=True,
        )
    print("\n## test MASE (benchmarks/forecast.py's origins and refits)")
    print("| series | chosen (search's top) | tuned | search's top | CLI defaults | naive | seasonal naive |")
    print("|---|---|---|---|---|---|---|")
    wins = top_wins = 0
    for r in rows:
        m = r["mase"]
        top = m.get("search_top", m["tuned"])
        wins += m["tuned"] < m["cli_default"]
        top_wins += top < m["cli_default"]
        sn = f"{m['seasonal_naive']:.3f}" if "seasonal_naive" in m else "-"
        print(
            f"| {r['series']} | {r['chosen']} ({r['top']}) | {m['tuned']:.3f} | {top:.3f} | {m['cli_default']:.3f} "
            f"| {m['naive']:.3f} | {sn} |"
        )
    print(f"\ntuned beats the CLI defaults on {wins} of {len(rows)} series (the bar: at least 2 of 4)")
    print(f"the search's top trial would beat them on {top_wins} of {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
