"""The forecast command line with its defaults, as a new user runs it on real series.

    python benchmarks/forecast_cli.py              # every case, 4 seeds (about 5 min)
    python benchmarks/forecast_cli.py --seeds 1    # one seed

Cases (files from ../shared/data/series, see its README.md):

- elec_equip, 96 -> 48: the first 96 months of elec_equip as the training file,
  `rnnkit train forecast --data FILE`, then `rnnkit forecast RUN --data FILE --horizon 48`;
  RMSE of the 48 forecast months against what happened, beside seasonal naive (the last
  year repeated) on the same months.
- elec_equip, co2 (weekly, period 52) and the shipped `seasonal` set (no dates, so
  `--period 24`): `rnnkit train forecast --data FILE` alone; the test-part NRMSE (the error
  over the targets' deviation, every origin of the last 20%, horizon one season) that the
  summary prints, beside seasonal naive and naive.

Nothing else is set but --seed: every other choice (period from the dates, window, horizon,
target transform, scaling, ensemble, early stopping) is the command line's own.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _series import DATA  # benchmarks/_series.py: a script's own folder is on sys.path

from rnnkit.forecast.baselines import seasonal_naive_forecast
from rnnkit.forecast.metrics import rmse


def rnnkit(*args) -> str:
    out = subprocess.run([sys.executable, "-m", "rnnkit", *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"rnnkit {' '.join(map(str, args))} failed:\n{out.stderr}")
    return out.stdout + out.stderr


def test_nrmse(text: str) -> dict:
    """{'model': ..., 'naive': ..., 'seasonal naive': ...} from a training summary."""
    found = dict(re.findall(r"^\s+(?:baseline: )?(model|naive|seasonal naive)\s+([0-9.]+)\s*$", text, re.M))
    return {k: float(v) for k, v in found.items()}


def short_history(tmp: Path, seed: int) -> tuple[float, float]:
    with open(DATA / "elec_equip.csv") as f:
        rows = list(csv.reader(f))
    x = np.array([float(r[1]) for r in rows[1:]])
    hist = tmp / "elec_equip_96.csv"
    hist.write_text("\n".join(",".join(r) for r in rows[:97]) + "\n")
    run = tmp / f"short{seed}"
    rnnkit("train", "forecast", "--data", hist, "--seed", seed, "--out", run, "--no-plots", "-q")
    out = tmp / f"fc{seed}.csv"
    rnnkit("forecast", run, "--data", hist, "--horizon", 48, "--out", out, "-q")
    with open(out) as f:
        fc = np.array([float(r[1]) for r in list(csv.reader(f))[1:]])
    y, sn = x[96:144], seasonal_naive_forecast(x[:96], 48, 12)  # the last year repeated
    return rmse(y, fc), rmse(y, sn)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=4, help="seeds 0..N-1")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"error: the series folder {DATA} is missing", file=sys.stderr)
        return 1
    seeds = range(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        got = [short_history(tmp, s) for s in seeds]
        model = [g[0] for g in got]
        print("## elec_equip: 96 months of history, 48 forecast (RMSE)")
        print(f"model {min(model):.2f}-{max(model):.2f} ({len(model)} seeds), seasonal naive {got[0][1]:.2f}\n")
        print("## test-part NRMSE with the CLI defaults")
        print("| data | model | seasonal naive | naive |")
        print("|---|---|---|---|")
        for i, (name, data, extra) in enumerate(
            (
                ("elec_equip, monthly, 12-step", DATA / "elec_equip.csv", ()),
                ("co2, weekly, 52-step", DATA / "co2.csv", ()),
                ("seasonal (shipped, no dates: --period 24), 24-step", "seasonal", ("--period", 24)),
            )
        ):
            res = [
                test_nrmse(
                    rnnkit(
                        "train",
                        "forecast",
                        "--data",
                        data,
                        "--seed",
                        s,
                        *extra,
                        "--out",
                        tmp / f"run-{i}-{s}",
                        "--no-plots",
                    )
                )
                for s in seeds
            ]
            m = sorted(r["model"] for r in res)
            spread = f"{m[0]:.2f}" if f"{m[0]:.2f}" == f"{m[-1]:.2f}" else f"{m[0]:.2f}-{m[-1]:.2f}"
            print(
                f"| {name} | {spread} ({len(m)} seeds) | {res[0]['seasonal naive']:.2f} | {res[0]['naive']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
