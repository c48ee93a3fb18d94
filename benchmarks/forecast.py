"""Forecasting the real series in ../shared/data/series: rnnkit against statistical models.

    pip install -e ".[bench]"                               # statsmodels, matplotlib
    python benchmarks/forecast.py                           # every series (about 2 min)
    python benchmarks/forecast.py --series elec_equip,nile  # some of them
    python benchmarks/forecast.py --quick                   # few origins, short training
    python benchmarks/forecast.py --out results/            # also CSV per series
    python benchmarks/forecast.py --calibration-window 24   # bands from the latest residuals

Every model is scored by the same rolling-origin backtest (rnnkit.forecast.backtest): the
last N origins of each series, a fit at the first origin and a refit every k origins
(between refits the fitted model reads the newer history: for statsmodels models, the
fitted parameters are applied to it), MASE scaled by each origin's in-sample seasonal-naive
error, and split-conformal 80% and 95% intervals calibrated online on the earlier origins'
residuals (the same method for every model, so coverage compares like with like): all of
them by default, or the latest --calibration-window of them, which follows a change in the
size of the errors (elec_equip's calm after its 2008-09 swings) at the price of noisier bands.
Beside them the summary reports the 80% coverage of adaptive conformal inference (--adapt
gamma, Gibbs and Candes 2021) on the same forecasts: each band's level moved by the misses
of the earlier bands.

Series (see ../shared/data/series/README.md):

- co2:        Mauna Loa CO2, weekly with 59 gaps, taken as monthly means of the observed
              weeks (a month with no observation stays missing: filled from each origin's
              own history, left out of the scores); period 12, 12 months ahead. Weekly
              SARIMA with period 52 takes about 6 minutes per fit here, too slow to refit
              over a backtest.
- elec_equip: euro-area electrical equipment orders, monthly, period 12, 12 months ahead.
- nile:       yearly Nile flow, no season (MASE scaled by the naive error), 10 years ahead.
- macro:      the 12 US quarterly macro series, 8 quarters ahead; rnnkit is one global
              model over all 12 (each standardized by its own history), the statistical
              models are fitted per series; MASE averaged over the 12 (scaled by the naive
              error: the series are seasonally adjusted).

Models: rnnkit's Forecaster twice: "rnnkit" (LSTM, window-relative inputs, recursive; the
settings in RNNKIT below) and "rnnkit_cli" (what `rnnkit train forecast --horizon H
--period M` builds with every other setting at its default, read from the CLI's
configuration so this row follows the defaults when they change), naive, seasonal naive, drift,
AR(p) by least squares with p by AIC, and statsmodels' ETS (Holt-Winters, additive damped trend and additive season,
the trend kept or dropped by AIC) and SARIMA (the airline model (0,1,1)(0,1,1)_m for the
seasonal series; ARIMA(p,1,q) with drift, p <= 2, q <= 1 by AIC otherwise).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from _series import DATA  # benchmarks/_series.py: a script's own folder is on sys.path

from rnnkit.forecast import Forecaster
from rnnkit.forecast.backtest import backtest

#          period horizon origins refit  window of the "rnnkit" row
SERIES = {
    "co2": dict(period=12, horizon=12, n_origins=120, refit=24, window=24),
    "elec_equip": dict(period=12, horizon=12, n_origins=72, refit=12, window=24),
    "nile": dict(period=None, horizon=10, n_origins=40, refit=10, window=10),
    "macro": dict(period=None, horizon=8, n_origins=60, refit=12, window=12),
}
# the "rnnkit" row: the settings that did best among six tried on elec_equip's last 36
# origins (direct or recursive, window 13-36, 60-150 epochs, LSTM or GRU)
RNNKIT = dict(
    cell="lstm", hidden_size=32, scaling="window", strategy="recursive", lr=0.005, batch_size=32, epochs=60, seed=0
)


# -- data ----------------------------------------------------------------------------------
def load(name: str, data: Path):
    """(values (T,) or (T, F) with NaN where missing, column names)."""
    import pandas as pd

    if name == "co2":
        df = pd.read_csv(data / "co2.csv")
        df.index = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
        monthly = df["co2"].resample("MS").mean()  # mean of the observed weeks
        return monthly.to_numpy(dtype=float), ["co2"]
    if name == "elec_equip":
        df = pd.read_csv(data / "elec_equip.csv")
        return df.iloc[:, 1].to_numpy(dtype=float), ["elec_equip"]
    if name == "nile":
        df = pd.read_csv(data / "nile.csv")
        return df["volume"].to_numpy(dtype=float), ["nile"]
    if name == "macro":
        df = pd.read_csv(data / "macrodata.csv")
        cols = [c for c in df.columns if c not in ("year", "quarter")]
        return df[cols].to_numpy(dtype=float), cols
    raise ValueError(f"series: expected one of {', '.join(SERIES)}, got {name!r}")


# -- models --------------------------------------------------------------------------------
class PerSeriesScaled:
    """One global Forecaster over the columns of (T, F), each standardized by its history."""

    def __init__(self, **params):
        self.params = params

    def fit(self, series):
        x = np.asarray(series, dtype=float)
        self.mean_, self.std_ = x.mean(axis=0), x.std(axis=0)
        self.std_ = np.where(self.std_ > 0, self.std_, 1.0)
        z = (x - self.mean_) / self.std_
        self.model_ = Forecaster(**self.params).fit([z[:, f] for f in range(x.shape[1])])
        return self

    def predict(self, history, horizon):
        z = (np.asarray(history, dtype=float) - self.mean_) / self.std_
        out = self.model_.predict([z[:, f] for f in range(z.shape[1])], horizon=horizon)
        return np.stack(out, axis=1) * self.std_ + self.mean_  # (h, F)


class PerColumn:
    """A univariate statsmodels wrapper applied to each column of (T, F) on its own."""

    def __init__(self, make):
        self.make = make

    def fit(self, series):
        x = np.asarray(series, dtype=float)
        cols = x[:, None] if x.ndim == 1 else x
        self.models_ = [self.make().fit(cols[:, f]) for f in range(cols.shape[1])]
        return self

    def predict(self, history, horizon):
        x = np.asarray(history, dtype=float)
        cols = x[:, None] if x.ndim == 1 else x
        out = np.stack([m.predict(cols[:, f], horizon) for f, m in enumerate(self.models_)], axis=1)
        return out[:, 0] if x.ndim == 1 else out


class ETS:
    """Holt-Winters: additive damped trend (or none, by AIC) and additive season."""

    def __init__(self, period):
        self.period = period

    def _spec(self, trend):
        return dict(
            trend="add" if trend else None,
            damped_trend=bool(trend),
            seasonal="add" if self.period else None,
            seasonal_periods=self.period,
        )

    def fit(self, x):
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        best = None
        for trend in (True, False):
            res = ExponentialSmoothing(x, **self._spec(trend), initialization_method="estimated").fit()
            if best is None or res.aic < best[1].aic:
                best = (trend, res)
        self.trend_, self.res_ = best
        self.n_ = len(x)
        return self

    def predict(self, x, horizon):
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        if len(x) == self.n_:
            return np.asarray(self.res_.forecast(horizon))
        p = self.res_.params
        init = dict(initial_level=p["initial_level"])
        if self.trend_:
            init["initial_trend"] = p["initial_trend"]
        if self.period:
            init["initial_seasonal"] = p["initial_seasons"]
        model = ExponentialSmoothing(x, **self._spec(self.trend_), initialization_method="known", **init)
        fixed = {
            k: p[k]
            for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
            if p.get(k) is not None and np.isfinite(p[k])
        }
        return np.asarray(model.fit(optimized=False, **fixed).forecast(horizon))


class SARIMA:
    """The airline model for a seasonal series, else ARIMA(p,1,q) with drift by AIC."""

    def __init__(self, period):
        self.period = period

    def fit(self, x):
        from statsmodels.tsa.arima.model import ARIMA

        if self.period:
            self.res_ = ARIMA(x, order=(0, 1, 1), seasonal_order=(0, 1, 1, self.period)).fit()
        else:
            fits = [ARIMA(x, order=(p, 1, q), trend="t").fit() for p in (0, 1, 2) for q in (0, 1)]
            self.res_ = min(fits, key=lambda r: r.aic)
        self.n_ = len(x)
        return self

    def predict(self, x, horizon):
        res = self.res_ if len(x) == self.n_ else self.res_.apply(x)
        return np.asarray(res.forecast(horizon))


def cli_default_params(cfg: dict, series=None) -> dict:
    """The Forecaster that `rnnkit train forecast --horizon H [--period M]` builds."""
    import dataclasses

    from rnnkit.cli.options import resolve
    from rnnkit.cli.task_configs import ForecastConfig
    from rnnkit.cli.tasks import TASKS

    config = dataclasses.replace(
        resolve(ForecastConfig, "forecast", preset_name="default"), horizon=cfg["horizon"], period=cfg["period"]
    )
    return TASKS["forecast"].model_for_arrays(config, series).get_params(deep=False)


def models_for(name: str, cfg: dict, quick: bool, values=None):
    tuned = dict(RNNKIT, window=cfg["window"], horizon=cfg["horizon"])
    default = cli_default_params(cfg, None if values is None else [values[: len(values) // 2]])
    if quick:
        tuned["epochs"] = default["epochs"] = 3
    wrap = PerSeriesScaled if name == "macro" else (lambda **p: Forecaster(**p))
    return {
        "rnnkit": wrap(**tuned),
        "rnnkit_cli": wrap(**default),
        "ets": PerColumn(lambda: ETS(cfg["period"])),
        "sarima": PerColumn(lambda: SARIMA(cfg["period"])),
    }


# -- the run -------------------------------------------------------------------------------
def run_series(name, data, quick, calibration_window=None):
    cfg = SERIES[name]
    values, columns = load(name, data)
    n_origins = 24 if quick else cfg["n_origins"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence and frequency notes
        result = backtest(
            models_for(name, cfg, quick, values),
            values,
            cfg["horizon"],
            n_origins=n_origins,
            refit_every=cfg["refit"],
            period=cfg["period"],
            levels=(80, 95),
            missing="interpolate",
            columns=columns,
            calibration_window=calibration_window,
        )
    seconds = time.perf_counter() - t0
    return result, seconds, int(np.isnan(values).sum())


def summary_rows(name, result, adapt):
    """[(series, model, MASE, cover80, cover95, per-column MASE dict, adaptive cover80)]."""
    overall = result.metrics()
    adaptive = result.recalibrate((80,), adapt=adapt).metrics()
    per_col = {c: result.metrics(c) for c in result.columns} if len(result.columns) > 1 else {}
    return [
        (
            name,
            model,
            m["mase"],
            m["coverage_80"],
            m["coverage_95"],
            {c: per_col[c][model]["mase"] for c in per_col},
            adaptive[model]["coverage_80"],
        )
        for model, m in overall.items()
    ]


def aims(rows) -> list[str]:
    """The issue's aims, checked on the measured numbers."""
    by = defaultdict(dict)
    for series, model, mase, c80, _c95, _, a80 in rows:
        by[series][model] = (mase, c80, a80)
    lines = []
    for series, ms in by.items():
        for own in ("rnnkit", "rnnkit_cli"):
            lines += _aims_one(series, ms, own)
    return lines


def _aims_one(series, ms, own) -> list[str]:
    rnn, lines = ms[own][0], []
    if "seasonal_naive" in ms:
        sn = ms["seasonal_naive"][0]
        lines.append(
            f"{series}: {own} vs seasonal naive MASE {rnn:.3f} vs {sn:.3f} -> "
            f"{'beats' if rnn < sn else 'does NOT beat'} it ({100 * (rnn / sn - 1):+.1f}%)"
        )
    stats = {k: v[0] for k, v in ms.items() if k in ("ar", "ets", "sarima")}
    best = min(stats, key=stats.get)
    if series == "macro":
        others = [k for k in ms if not k.startswith("rnnkit")]
        top = min(others, key=lambda k: ms[k][0])
        verdict = "better than all" if rnn < ms[top][0] else "NOT better than all"
        lines.append(
            f"{series}: {own} {rnn:.3f} vs best other {top} {ms[top][0]:.3f} -> "
            f"{verdict} ({100 * (rnn / ms[top][0] - 1):+.1f}%)"
        )
    else:
        rel = 100 * (rnn / stats[best] - 1)
        lines.append(
            f"{series}: {own} vs best statistical ({best}) MASE {rnn:.3f} vs "
            f"{stats[best]:.3f} -> {'within' if rel <= 10 else 'NOT within'} 10% ({rel:+.1f}%)"
        )
    for how, c80 in (("split", ms[own][1]), ("adaptive", ms[own][2])):
        lines.append(
            f"{series}: {own} 80% interval coverage ({how}) {c80:.1f}% -> "
            f"{'in' if 75 <= c80 <= 85 else 'NOT in'} 75-85%"
        )
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", default=",".join(SERIES), help="comma-separated subset")
    ap.add_argument("--data", type=Path, default=DATA, help="the folder with the series CSVs")
    ap.add_argument("--quick", action="store_true", help="few origins, 3 epochs: a smoke run")
    ap.add_argument("--out", type=Path, default=None, help="write <series>.csv errors by step here")
    ap.add_argument(
        "--calibration-window",
        type=int,
        default=None,
        metavar="N",
        help="calibrate the intervals on the latest N residuals per step (default: all)",
    )
    ap.add_argument(
        "--adapt",
        type=float,
        default=0.1,
        metavar="GAMMA",
        help="step of the adaptive conformal intervals reported beside split conformal",
    )
    args = ap.parse_args(argv)
    try:
        import statsmodels  # noqa: F401
    except ImportError:
        print("error: benchmarks/forecast.py needs statsmodels: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    rows = []
    for name in [s.strip() for s in args.series.split(",") if s.strip()]:
        result, seconds, gaps = run_series(name, args.data, args.quick, args.calibration_window)
        print(
            f"\n## {name}: {len(result.origins)} origins, horizon {result.horizon}, "
            f"{len(result.fit_origins)} fits, {gaps} missing values, {seconds:.0f} s",
            flush=True,
        )
        print(result.table(), flush=True)
        if len(result.columns) > 1:
            print("MASE per series:")
            per = {c: result.metrics(c) for c in result.columns}
            models = list(result.forecasts)
            print("series".ljust(10) + "".join(m.rjust(15) for m in models))
            for c in result.columns:
                print(c.ljust(10) + "".join(f"{per[c][m]['mase']:15.3f}" for m in models))
        rows += summary_rows(name, result, args.adapt)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}.csv").write_text(result.to_csv())
    models = list(dict.fromkeys(r[1] for r in rows))
    print(f"\n## MASE (80% / 95% split-conformal coverage; 80% adaptive coverage, gamma {args.adapt:g}, %)")
    print("| series | " + " | ".join(models) + " |")
    print("|---" * (len(models) + 1) + "|")
    for series in dict.fromkeys(r[0] for r in rows):
        cells = {r[1]: r for r in rows if r[0] == series}
        print(
            f"| {series} | "
            + " | ".join(
                f"{cells[m][2]:.3f} ({cells[m][3]:.0f} / {cells[m][4]:.0f}; {cells[m][6]:.0f})" if m in cells else "-"
                for m in models
            )
            + " |"
        )
    print("\n## aims")
    for line in aims(rows):
        print(line)
    if args.out:
        with open(args.out / "summary.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["series", "model", "mase", "coverage_80", "coverage_95", "adaptive_coverage_80"])
            for r in rows:
                w.writerow([r[0], r[1], f"{r[2]:.4f}", f"{r[3]:.2f}", f"{r[4]:.2f}", f"{r[6]:.2f}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
