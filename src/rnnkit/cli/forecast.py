"""``rnnkit forecast RUN``: forecast the steps after each series with a trained model.

The history is the run's own data (every series, its whole length, test part included) or
``--data`` (a CSV read with the run's column settings, or a set's name). Prints CSV, or
writes it to ``--out``: the id column (several series only), the date column (the real
future dates when the data has dates; else ``step``), then per value column ``NAME`` and,
with ``--intervals 80,95``, ``NAME_lo_80``, ``NAME_hi_80``, ``NAME_lo_95``, ``NAME_hi_95``
and ``interval_method``. The horizon is the one the model was trained for unless
``--horizon`` is given. Intervals come from the model's quantiles or Gaussian likelihood
(``--loss quantile`` or ``--loss gaussian``), or for a point model (``--loss mse``, the
default) from conformal prediction: on its own errors at the last origins of each series
when the run's held-out test part holds them, else on the errors of copies refitted on
earlier history (cross-fit; a note says which and what it cost). Known-future covariates
for the forecast steps are read from rows after a series' last value (value cells left
empty); when rows are missing, the error lists them. ``--plot FILE.png`` draws the first
series' forecast, its intervals and the naive forecast.
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
from .tasks.forecast_data import as_series_set, column_list, covariates


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


def conformal_set(model, s, cov, horizon: int, levels, config, console, adapt=None, own_data=True) -> dict:
    """A point model's forecasts with conformal bands (:func:`rnnkit.forecast.conformal.point_intervals`):
    from its own errors at the last origins of each series when the run's test part holds
    them, else from the errors of copies refitted on earlier history (cross-fit). The method
    goes to ``model.interval_method_`` and a note."""
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ..forecast.conformal import MIN_ORIGINS, point_intervals
    from .tasks.forecast_data import held_out_share

    _check_histories(model, s)
    held = [int(round(config.test_fraction * len(x))) for x in s.values] if own_data else None
    try:
        cal = point_intervals(
            model,
            list(s.values),
            horizon,
            levels,
            held_out=held,
            refit_params={"validation_fraction": held_out_share(config)},
            **_inputs(s, cov),
        )
        out = cal.bands(levels) if adapt is None else _adaptive(cal, levels, adapt, s)
    except ValueError as exc:
        raise CliError(f"--intervals: {' '.join(str(exc).removeprefix('intervals: ').split())}") from None
    model.interval_method_ = cal.method
    how = "" if adapt is None else f"; their levels by adaptive conformal (gamma {adapt:g})"
    console.note(f"intervals: {cal.describe(horizon)}{how}")
    if cal.method == "cross-fit":
        why = (
            "the data is not the run's own (any of it may have been trained on)"
            if not own_data
            else f"the part held out of training is too short for {MIN_ORIGINS} origins with a whole "
            f"{horizon}-step horizon in it"
        )
        console.note(f"intervals: cross-fit because {why}")
    return out


def _adaptive(cal, levels, adapt: float, s) -> dict:
    """Bands whose level follows the misses at the calibration origins (adaptive conformal
    inference, :func:`rnnkit.forecast.backtest.online_conformal`), widths non-decreasing in k."""
    from ..forecast.backtest import online_conformal

    out: dict = {"point": cal.point}
    for key, x, p, y, yhat, origins in zip(s.ids, s.values, cal.point, cal.truth, cal.pred, cal.origins, strict=True):
        ends = np.append(origins, len(x))  # then the forecast from the series' end
        bands = online_conformal(
            np.concatenate([y, np.full((1, *p.shape), np.nan)]),
            np.concatenate([yhat, p[None]]),
            ends,
            tuple(levels),
            "absolute",
            None,
            adapt,
        )
        for lv, (_, hi) in bands.items():
            half = np.maximum.accumulate(hi[-1] - p, axis=0)
            if not np.all(np.isfinite(half)):
                k = int(np.argmax(~np.isfinite(half).all(axis=1)))
                raise ValueError(
                    f"series {key!r} has too few calibration errors at step {k + 1} for adaptive "
                    f"{lv:g}% bands; hint: leave out --adapt, or a shorter --horizon"
                )
            out.setdefault(f"lo_{lv:g}", []).append(p - half)
            out.setdefault(f"hi_{lv:g}", []).append(p + half)
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


def forecast_csv(s, out: dict, horizon: int, method: str | None = None) -> str:
    """The CSV text described in the module docstring."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    several = len(s.ids) > 1
    names = s.value_names if s.layout != "wide" else ["value"]
    suffixes = [""] + [f"_{k}" for k in out if k != "point"]
    keys = ["point"] + [k for k in out if k != "point"]
    head = ([s.id_column or "id"] if several else []) + [_date_name(s)]
    tail = [method] if method else []
    writer.writerow(head + [f"{n}{suf}" for n in names for suf in suffixes] + (["interval_method"] if method else []))
    for i, (key, x) in enumerate(zip(s.ids, s.values, strict=False)):
        if s.dates is not None and s.freq is not None:
            when = format_dates(future_dates(s.dates[i], s.freq, horizon))
        else:
            when = [str(len(x) + k) for k in range(horizon)]
        for k in range(horizon):
            row = [key] if several else []
            row.append(when[k])
            row += [f"{out[name][i][k, f]:.6g}" for f in range(len(names)) for name in keys]
            writer.writerow(row + tail)
    return buf.getvalue()


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a forecast run folder")
    parser.add_argument(
        "--data", default=None, metavar="NAME|FILE", help="the history to continue (default: the run's series)"
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=None,
        metavar="N",
        help="steps to forecast (default: the horizon the model was trained for)",
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
    console = Console(args.quiet)
    horizon = args.horizon if args.horizon is not None else model.horizon
    if horizon < 1:
        raise UsageError(f"--horizon: expected an integer >= 1, got {horizon}")
    if args.horizon is None:
        console.note(f"forecasting {horizon} step(s), the horizon the model was trained for (--horizon to change)")
    samples = getattr(model, "num_samples", 1) if levels and model.loss != "mse" else 1
    columns = len(s.ids) * (1 + 2 * len(levels)) * (1 + samples)  # per step: point, bands, sample paths
    check_steps("--horizon", horizon, columns * 8, "the forecast values")
    if args.adapt is not None:
        if not 0 < args.adapt < 1:
            raise UsageError(f"--adapt: expected a step size gamma in (0, 1) such as 0.1, got {args.adapt:g}")
        if not levels or model.loss != "mse":
            raise UsageError(
                "--adapt: expected --intervals and a point model (loss mse), whose bands are "
                f"conformal; this run's model has loss {model.loss}"
            )
    check_future_rows(model, s, cov, horizon, config)
    if levels and model.loss == "mse":
        out = conformal_set(model, s, cov, horizon, levels, config, console, args.adapt, args.data is None)
    else:
        out = forecast_set(model, s, cov, horizon, levels)
    check_finite(out, s, args.run)
    method = getattr(model, "interval_method_", None) if levels else None
    text = forecast_csv(s, out, horizon, method)
    if args.plot:
        _plot(model, s, out, horizon, levels, args.plot, console, method)
    if args.out:
        write_text_atomic(args.out, text)
        console.note(f"wrote {horizon} forecast step(s) of {len(s.ids)} series to {args.out}")
    else:
        console.result(text.rstrip("\n"))
    return EXIT_OK


SHOW_ROWS = 24  # rows to add listed in the error about missing known-future rows


def check_future_rows(model, s, cov, horizon: int, config) -> None:
    """Every series has the known-future rows the forecast reads after its last value; else
    a :class:`CliError` listing the rows to add, as CSV lines (id, date, empty value,
    the covariate columns to fill in)."""
    if cov.future_after is None:
        return
    D = model.horizon if model.strategy == "direct" else 1
    rows = -(-horizon // D) * D
    names = column_list(config.future_covariates)
    head = ([s.id_column or "id"] if s.layout == "long" else []) + [_date_name(s)] + s.value_names + names
    lines, short = [], []
    for i, (key, after) in enumerate(zip(s.ids, cov.future_after, strict=True)):
        have = len(after)
        if have >= rows:
            continue
        short.append(f"{key!r} has {have}" if len(s.ids) > 1 else f"the series has {have}")
        if s.dates is not None and s.freq is not None:
            when = format_dates(future_dates(s.dates[i], s.freq, rows))[have:]
        else:
            when = [str(len(s.values[i]) + k) for k in range(have, rows)]
        ids = [key] if s.layout == "long" else []
        lines += [",".join(ids + [d] + [""] * len(s.value_names) + [f"<{n}>" for n in names]) for d in when]
    if not short:
        return
    block = f" (blocks of {D} steps: the direct strategy reads whole blocks)" if D > 1 and rows > horizon else ""
    more = f"\n... and {len(lines) - SHOW_ROWS} more row(s)" if len(lines) > SHOW_ROWS else ""
    raise CliError(
        f"--future-covariates: a {horizon}-step forecast reads {rows} row(s) of known-future values after each "
        f"series' last value{block}; {', '.join(short)}. Add these rows to {config.data}, value cells empty, "
        f"each <column> replaced by its known value:\n" + "\n".join([",".join(head)] + lines[:SHOW_ROWS]) + more
    )


def _date_name(s) -> str:
    if s.dates is not None and s.date_column:
        return "date" if "," in s.date_column else s.date_column
    return "step"


def _plot(model, s, out, horizon, levels, path, console, method=None) -> None:
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ..forecast.baselines import naive_forecast, seasonal_naive_forecast

    if not plots.available():
        console.note(f"{path} not written: {plots.missing_note()}")
        return
    x = s.values[0]
    preds = {"model": out["point"][0][:, 0], "naive": naive_forecast(x, horizon)[:, 0]}
    if model.period_ and len(x) >= model.period_:
        preds["seasonal naive"] = seasonal_naive_forecast(x, horizon, model.period_)[:, 0]
    how = f" ({method})" if method else ""
    bands = {f"{lv}%{how}": (out[f"lo_{lv}"][0][:, 0], out[f"hi_{lv}"][0][:, 0]) for lv in levels}
    plots.forecast_plot(
        x[:, 0],
        None,
        preds,
        path,
        bands=bands,
        dates=None
        if s.dates is None or s.freq is None
        else np.concatenate([s.dates[0], future_dates(s.dates[0], s.freq, horizon)]),
        title=f"{s.ids[0] + ': ' if len(s.ids) > 1 else ''}{horizon}-step forecast",
    )
    console.note(f"wrote {path}")
    left = []
    if len(s.ids) > 1:
        left.append(f"the other {len(s.ids) - 1} series ({s.ids[1]!r}, ...)")
    if x.shape[1] > 1:
        left.append(f"columns {s.value_names[1:]}")
    if left:
        console.note(f"{path} draws the first series' first column only; not drawn: {' and '.join(left)} (see the CSV)")


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
