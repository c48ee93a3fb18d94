"""Coverage of a point model's conformal bands on short cuts of the shipped series.

    python benchmarks/forecast_intervals.py                 # every series (a few minutes)
    python benchmarks/forecast_intervals.py --cuts 1        # one cut per series
    python benchmarks/forecast_intervals.py --epochs 20     # shorter training

Each series of ../shared/data/series (see its README.md) is cut into 96 steps of history
and the next 48 as the truth, several times where the series is long enough (cuts whose
forecast origins lie 24 steps apart, the latest at the series' end, at most 6); nile (100 years) is
shorter than 96 + 48 and is cut once into its first 67 years and the 33 after. On each cut
the command line's default forecaster (what `rnnkit train forecast` builds for the history:
preset "default", period and horizon as the dates give them: co2 and elec_equip monthly,
12; macro quarterly, 4, one global model over its 12 series; nile yearly, none) is fitted
on the history and forecasts the 48 steps after it, with 80% and 95% bands calibrated two
ways (:func:`rnnkit.forecast.conformal.point_intervals`):

- own errors: split conformal per step on the fitted model's errors at the last 40 origins
  of the history (fewer when the history has no room), every one of them on steps it
  trained on: what `rnnkit forecast --intervals` did before;
- cross-fit: 3 copies refitted on earlier parts of the history, their errors at the origins
  after each part (the method used now whenever the calibration origins would reach into
  trained steps).

Coverage is the share of the truth inside the bands, over the 48 steps, the cuts and (for
macro) the 12 series; co2's months without an observation are left out (its history is
interpolated); "nan" where the old method refused (too few own errors per step for 95%).
The bar: 80% / 95% bands cover at least 75% / 90%.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings

import numpy as np
from _series import DATA  # benchmarks/_series.py: a script's own folder is on sys.path

from rnnkit.forecast.backtest import fill_history
from rnnkit.forecast.conformal import conformal_intervals, point_intervals

HISTORY, AHEAD, SPACING = 96, 48, 24
PERIODS = {"co2": 12, "elec_equip": 12, "nile": None, "macro": 4}  # what the dates give
LEVELS = (80, 95)


def load(name: str) -> np.ndarray:
    """(T, F) values, NaN where missing (csv module only: no pandas needed)."""
    import csv

    file = {"macro": "macrodata.csv"}.get(name, f"{name}.csv")
    with open(DATA / file, newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    num = lambda v: float(v) if v.strip() else np.nan  # noqa: E731
    if name == "co2":  # weekly: monthly means of the observed weeks, as benchmarks/forecast.py
        months: dict = {}
        for r in body:
            months.setdefault(r[0][:6], []).append(num(r[1]))
        keys = sorted(months)
        first, last = int(keys[0][:4]) * 12 + int(keys[0][4:]) - 1, int(keys[-1][:4]) * 12 + int(keys[-1][4:]) - 1
        out = np.full(last - first + 1, np.nan)
        for k, v in months.items():
            v = [a for a in v if np.isfinite(a)]
            if v:
                out[int(k[:4]) * 12 + int(k[4:]) - 1 - first] = np.mean(v)
        return out[:, None]
    if name == "macro":
        cols = [i for i, c in enumerate(head) if c not in ("year", "quarter")]
        return np.array([[num(r[i]) for i in cols] for r in body])
    return np.array([[num(r[-1])] for r in body])


def cuts(T: int, most: int) -> list[tuple[int, int]]:
    """(history start, forecast origin) pairs, the latest first."""
    if T < HISTORY + AHEAD:
        origin = round(T * 2 / 3)
        return [(0, origin)]
    out, origin = [], T - AHEAD
    while origin - HISTORY >= 0 and len(out) < most:
        out.append((origin - HISTORY, origin))
        origin -= SPACING
    return out


def default_model(period, history, epochs):
    """The Forecaster `rnnkit train forecast` builds for these series with its defaults."""
    from rnnkit.cli.options import resolve
    from rnnkit.cli.task_configs import ForecastConfig
    from rnnkit.cli.tasks import TASKS

    config = dataclasses.replace(resolve(ForecastConfig, "forecast", preset_name="default"), period=period)
    if epochs:
        config = dataclasses.replace(config, epochs=epochs)
    return TASKS["forecast"].model_for_arrays(config, history)


def old_bands(cal) -> dict:
    """The bands `rnnkit forecast --intervals` gave before: split conformal per step on the
    own errors, no widening beyond them."""
    out: dict = {f"{side}_{lv}": [] for side in ("lo", "hi") for lv in LEVELS}
    for y, p, point in zip(cal.truth, cal.pred, cal.point, strict=True):
        b = conformal_intervals(y - p, point, LEVELS)
        for key in out:
            out[key].append(b[key])
    return out


def inside(bands: dict, truth: list, level: int) -> np.ndarray:
    """1/0 per observed truth value: inside the band or not."""
    hits = []
    for y, lo, hi in zip(truth, bands[f"lo_{level}"], bands[f"hi_{level}"], strict=True):
        ok = np.isfinite(y)
        hits.append(((lo <= y) & (y <= hi))[ok])
    return np.concatenate(hits).astype(float)


def run_series(name: str, most: int, epochs: int | None) -> dict:
    x = load(name)
    ahead = AHEAD
    hits: dict = {m: {lv: [] for lv in LEVELS} for m in ("own-errors", "cross-fit")}
    seconds, n_cuts = {"own-errors": 0.0, "cross-fit": 0.0, "fit": 0.0}, 0
    for start, origin in cuts(len(x), most):
        ahead = min(AHEAD, len(x) - origin)
        history = [fill_history(x[start:origin, f]).reshape(-1, 1) for f in range(x.shape[1])]
        truth = [x[origin : origin + ahead, f : f + 1] for f in range(x.shape[1])]
        t0 = time.perf_counter()
        model = default_model(PERIODS[name], history, epochs).fit(history)
        seconds["fit"] += time.perf_counter() - t0
        for method in hits:
            t0 = time.perf_counter()
            cal = point_intervals(model, history, ahead, LEVELS, method=method)
            try:
                bands = cal.bands(LEVELS) if method == "cross-fit" else old_bands(cal)
            except ValueError:  # too few own errors per step for 95%: the old command refused
                continue
            seconds[method] += time.perf_counter() - t0
            for lv in LEVELS:
                hits[method][lv].append(inside(bands, truth, lv))
        n_cuts += 1
    return {
        "name": name,
        "cuts": n_cuts,
        "ahead": ahead,
        "series": x.shape[1],
        "hits": {m: {lv: np.concatenate(v or [np.empty(0)]) for lv, v in d.items()} for m, d in hits.items()},
        "seconds": seconds,
    }


def _pct(hits: np.ndarray) -> float:
    return 100 * float(hits.mean()) if len(hits) else float("nan")


def table(results: list) -> str:
    head = f"{'series':<11}{'cuts':>5}{'ahead':>6}{'own 80%':>9}{'own 95%':>9}{'cross 80%':>11}{'cross 95%':>11}"
    head += f"{'fit s':>8}{'cross s':>9}"
    lines = [head]
    pooled: dict = {m: {lv: [] for lv in LEVELS} for m in ("own-errors", "cross-fit")}
    for r in results:
        cov = {m: {lv: _pct(r["hits"][m][lv]) for lv in LEVELS} for m in pooled}
        for m in pooled:
            for lv in LEVELS:
                pooled[m][lv].append(r["hits"][m][lv])
        name = r["name"] + ("*" if r["ahead"] < AHEAD else "")
        lines.append(
            f"{name:<11}{r['cuts']:>5}{r['ahead']:>6}{cov['own-errors'][80]:>9.1f}{cov['own-errors'][95]:>9.1f}"
            f"{cov['cross-fit'][80]:>11.1f}{cov['cross-fit'][95]:>11.1f}"
            f"{r['seconds']['fit']:>8.0f}{r['seconds']['cross-fit']:>9.0f}"
        )
    total = {m: {lv: _pct(np.concatenate(pooled[m][lv])) for lv in LEVELS} for m in pooled}
    lines.append(
        f"{'pooled':<22}{total['own-errors'][80]:>9.1f}{total['own-errors'][95]:>9.1f}"
        f"{total['cross-fit'][80]:>11.1f}{total['cross-fit'][95]:>11.1f}"
    )
    for r in results:
        if r["ahead"] < AHEAD:
            lines.append(f"* {r['name']}: shorter than {HISTORY + AHEAD}: 2/3 history, the last {r['ahead']} truth")
    ok = total["cross-fit"][80] >= 75 and total["cross-fit"][95] >= 90
    lines.append(
        f"bar (80%/95% bands cover at least 75%/90%, pooled): cross-fit {total['cross-fit'][80]:.1f}%/"
        f"{total['cross-fit'][95]:.1f}% -> {'met' if ok else 'NOT met'}"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", default="co2,elec_equip,nile,macro", help="comma-separated names")
    ap.add_argument("--cuts", type=int, default=6, help="most cuts per series")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's)")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"error: the series folder {DATA} is missing", file=sys.stderr)
        return 1
    results = []
    for name in args.series.split(","):
        if name not in PERIODS:
            print(f"error: --series: expected names among {', '.join(PERIODS)}, got {name!r}", file=sys.stderr)
            return 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(run_series(name, args.cuts, args.epochs))
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
