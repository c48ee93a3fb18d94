"""``rnnkit forecast RUN``: forecast the steps after each series with a trained model.

The history is the run's own data (every series, its whole length, test part included) or
``--data`` (a CSV read with the run's column settings, or a set's name). Prints CSV, or
writes it to ``--out``: the id column (several series only), the date column (the real
future dates when the data has dates; else ``step``), then per value column ``NAME`` and,
with ``--intervals 80,95``, ``NAME_lo_80``, ``NAME_hi_80``, ``NAME_lo_95``, ``NAME_hi_95``.
Intervals come from the model's quantiles or Gaussian likelihood (``--loss quantile`` or
``--loss gaussian``), or for a point model (``--loss mse``, the default) from split
conformal prediction on its own errors at the last origins of each series. Known-future
covariates for the forecast steps are read from rows after a series' last value (value
cells left empty). ``--plot FILE.png`` draws the first series' forecast, its intervals
and the naive forecast.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np

from ..data.series_dates import format_dates, future_dates
from ..utils import plots
from ..utils.memory import check_steps
from . import sources
from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from .options import resolve
from .runs import write_text_atomic
from .tasks import TASKS, open_model
from .tasks.forecast_data import as_series_set, covariates


def parse_levels(text: str | None) -> tuple:
    if not text:
        return ()
    try:
        levels = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"--intervals: expected levels such as 80,95, got {text!r}") from None
    bad = [lv for lv in levels if not 0 < lv < 100]
    if bad or not levels:
        raise UsageError(f"--intervals: expected levels in (0, 100) such as 80,95, got {text!r}")
    return tuple(int(lv) if lv.is_integer() else lv for lv in levels)


def _check_histories(model, s) -> None:
    """Every series of ``s`` is long enough for the model to forecast from (one-line error)."""
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ..forecast.scaling import history_steps

    need = history_steps(model.parts_, model.period_, model.window)
    for key, x in zip(s.ids, s.values, strict=False):
        if len(x) < need:
            who = f"series {key!r}" if len(s.ids) > 1 else "the history"
            raise CliError(
                f"{who} has {len(x)} steps; the model reads a window of {need}; hint: pass a longer series with --data"
            )


def _inputs(s, cov) -> dict:
    """predict's keyword arguments besides the histories: dates and covariates."""
    return {
        "dates": s.dates,
        "past_covariates": cov.past,
        "future_covariates": cov.future,
        "static_covariates": cov.static,
    }


def forecast_set(model, s, cov, horizon: int, levels=()) -> dict:
    """Forecasts of every series of ``s``: ``{"point": [(h, F)...], "lo_80": [...], ...}``."""
    _check_histories(model, s)
    kw = _inputs(s, cov)
    if levels:
        out = model.predict_intervals(list(s.values), horizon, levels=levels, **kw)
    else:
        out = {"point": model.predict(list(s.values), horizon, **kw)}
    return {k: [np.asarray(v).reshape(horizon, -1) for v in vals] for k, vals in out.items()}


def conformal_set(model, s, cov, horizon: int, levels, config, console, adapt=None) -> dict:
    """A point model's forecasts with split-conformal bands from its own errors at the last
    origins of each series (:mod:`rnnkit.forecast.own_errors`)."""
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ..forecast.own_errors import own_error_intervals

    _check_histories(model, s)
    try:
        out, used = own_error_intervals(
            model, list(s.values), horizon, levels, adapt=adapt, ids=s.ids, **_inputs(s, cov)
        )
    except ValueError as exc:
        raise CliError(f"--intervals: {str(exc).removeprefix('intervals: ')}") from None
    span = max(used) + horizon - 1  # steps whose errors calibrate
    held = min(int(round(config.test_fraction * len(x))) for x in s.values)
    how = "split conformal" if adapt is None else f"adaptive conformal (gamma {adapt:g})"
    console.note(
        f"intervals: {how} from the model's own {horizon}-step errors at the "
        f"last {min(used)}{'-' + str(max(used)) if max(used) > min(used) else ''} origins "
        "of each series (no refit)"
    )
    if span > held:
        console.note(
            f"intervals: they span the last {span} steps of a series, more than the "
            f"{held} held out of training (--test-fraction {config.test_fraction:g}); "
            "errors on trained steps are smaller, so the bands may be too narrow"
        )
    return out


def check_finite(out: dict, s, run) -> None:
    """Refuse forecasts that are not finite (NaN or inf) rather than print them: a
    :class:`CliError` naming the series, the step and the column."""
    names = s.value_names if s.layout != "wide" else ["value"] * len(s.ids)
    for name, arrays in out.items():
        for key, a in zip(s.ids, arrays, strict=False):
            bad = np.argwhere(~np.isfinite(a))  # (k, 2): step, feature
            if len(bad):
                step, f = (int(i) for i in bad[0])
                what = "the forecast" if name == "point" else f"the {name} bound"
                raise CliError(
                    f"{run}: {what} of series {key!r} is {a[step, f]} at step {step + 1} (column {names[f]!r}): the "
                    "model "
                    "computes no number there; hint: its weights or the history's scale overflow (values far beyond "
                    "those it trained on, or too large for float32): rescale the data, or train again"
                )


def forecast_csv(s, out: dict, horizon: int) -> str:
    """The CSV text described in the module docstring."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    several = len(s.ids) > 1
    names = s.value_names if s.layout != "wide" else ["value"]
    suffixes = [""] + [f"_{k}" for k in out if k != "point"]
    keys = ["point"] + [k for k in out if k != "point"]
    date_name = "step"
    if s.dates is not None and s.date_column:
        date_name = "date" if "," in s.date_column else s.date_column
    head = ([s.id_column or "id"] if several else []) + [date_name]
    writer.writerow(head + [f"{n}{suf}" for n in names for suf in suffixes])
    for i, (key, x) in enumerate(zip(s.ids, s.values, strict=False)):
        if s.dates is not None and s.freq is not None:
            when = format_dates(future_dates(s.dates[i], s.freq, horizon))
        else:
            when = [str(len(x) + k) for k in range(horizon)]
        for k in range(horizon):
            row = [key] if several else []
            row.append(when[k])
            row += [f"{out[name][i][k, f]:.6g}" for f in range(len(names)) for name in keys]
            writer.writerow(row)
    return buf.getvalue()


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a forecast run folder")
    parser.add_argument(
        "--data", default=None, metavar="NAME|FILE", help="the history to continue (default: the run's series)"
    )
    parser.add_argument(
        "--horizon", type=int, default=None, metavar="N", help="steps to forecast (default: the run's plot_steps)"
    )
    parser.add_argument(
        "--intervals", default=None, metavar="80,95", help="central prediction intervals to add, in percent"
    )
    parser.add_argument(
        "--adapt",
        type=float,
        default=None,
        metavar="GAMMA",
        help="a point model's bands by adaptive conformal inference with step GAMMA "
        "(e.g. 0.1): their level follows the misses at the calibration origins",
    )
    parser.add_argument("--out", default=None, metavar="FILE.csv", help="write CSV here")
    parser.add_argument("--plot", default=None, metavar="FILE.png", help="draw the forecast")


def run(args) -> int:
    model, run_folder, task = open_model(args.run, ("forecast",), "rnnkit forecast")
    config_class = TASKS[task].config_class
    config = resolve(config_class, task, base=run_folder.read_config()) if run_folder else None
    if args.data is None and config is None:
        raise UsageError("--data: expected the history to continue (a model file has no run data)")
    if config is None:
        config = config_class()
    if args.data is not None:
        config = dataclasses.replace(config, data=args.data, format=None)
    levels = parse_levels(args.intervals)
    loaded = sources.load(TASKS[task], config)
    s = as_series_set(loaded.train, loaded.source)
    cov = covariates(s, config)
    horizon = args.horizon if args.horizon is not None else config.plot_steps
    if horizon < 1:
        raise UsageError(f"--horizon: expected an integer >= 1, got {horizon}")
    samples = getattr(model, "num_samples", 1) if levels and model.loss != "mse" else 1
    columns = len(s.ids) * (1 + 2 * len(levels)) * (1 + samples)  # per step: point, bands, sample paths
    check_steps("--horizon", horizon, columns * 8, "the forecast values")
    console = Console(args.quiet)
    if args.adapt is not None:
        if not 0 < args.adapt < 1:
            raise UsageError(f"--adapt: expected a step size gamma in (0, 1) such as 0.1, got {args.adapt:g}")
        if not levels or model.loss != "mse":
            raise UsageError(
                "--adapt: expected --intervals and a point model (loss mse), whose bands are "
                f"conformal; this run's model has loss {model.loss}"
            )
    if levels and model.loss == "mse":
        out = conformal_set(model, s, cov, horizon, levels, config, console, args.adapt)
    else:
        out = forecast_set(model, s, cov, horizon, levels)
    check_finite(out, s, args.run)
    text = forecast_csv(s, out, horizon)
    if args.plot:
        _plot(model, s, out, horizon, levels, args.plot, console)
    if args.out:
        write_text_atomic(args.out, text)
        console.note(f"wrote {horizon} forecast step(s) of {len(s.ids)} series to {args.out}")
    else:
        console.result(text.rstrip("\n"))
    return EXIT_OK


def _plot(model, s, out, horizon, levels, path, console) -> None:
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ..forecast.baselines import naive_forecast, seasonal_naive_forecast

    if not plots.available():
        console.note(plots.missing_note())
        return
    x = s.values[0]
    preds = {"model": out["point"][0][:, 0], "naive": naive_forecast(x, horizon)[:, 0]}
    if model.period_ and len(x) >= model.period_:
        preds["seasonal naive"] = seasonal_naive_forecast(x, horizon, model.period_)[:, 0]
    bands = {f"{lv}%": (out[f"lo_{lv}"][0][:, 0], out[f"hi_{lv}"][0][:, 0]) for lv in levels}
    plots.forecast_plot(
        x[:, 0],
        None,
        preds,
        path,
        bands=bands,
        title=f"{s.ids[0] + ': ' if len(s.ids) > 1 else ''}{horizon}-step forecast",
    )
    console.note(f"wrote {path}")


COMMAND = Command(
    name="forecast",
    help="forecast the steps after each series with a trained forecast run",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit forecast runs/forecast-<stamp> --horizon 48 --plot next48.png",
        "rnnkit forecast runs/forecast-<stamp> --intervals 80,95 --out next.csv",
        "rnnkit forecast runs/forecast-<stamp> --data latest.csv --out next.csv",
    ),
)
