"""``rnnkit backtest RUN_OR_CONFIG [--data FILE]``: rolling-origin evaluation beside baselines.

The forecaster is built from a forecast run's settings (a run folder), from a forecast
configuration file (TOML, e.g. a run's config.toml), or left out with ``baselines``; it is
fitted afresh on the history before the first origin and every ``--refit-every`` origins,
so no forecast sees data after its origin (a run's saved weights are not used: they were
trained on data the origins may come before). The series are read as ``rnnkit train
forecast`` reads them (one series, or many in a long or wide CSV, with their past,
known-future and static covariates): by default with the run's or configuration's own
data settings, each of which a flag below changes. Every origin forecasts ``--horizon``
steps; the tables give MAE, RMSE, sMAPE, MASE (scaled by the in-sample seasonal-naive error)
and the coverage of split-conformal intervals for the model and the baselines naive,
seasonal naive (with a period), drift and AR(p), per series and pooled over all of them.
``--out`` writes the errors per series, model and horizon step as CSV, ``--plot`` draws MASE
by horizon step.
"""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from ..utils import plots
from ..utils.atomic import write_bytes_atomic, write_text_atomic
from . import sources
from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from .options import keys_in_group, read_config_file, resolve
from .runs import Run
from .task_configs import ForecastConfig
from .tasks import TASKS
from .tasks.forecast_data import as_series_set, covariates, held_out_share, infer_settings
from .train import add_config_flags, flag_overrides

if TYPE_CHECKING:
    from .tasks.forecast import ForecastTask

BASELINE_NAMES = ("naive", "seasonal_naive", "drift", "ar")
#: the forecast task's keys on reading its data that a backtest takes as flags (--id-column,
#: --past-covariates, ...); not the split (a backtest has its own origins) nor --data itself
DATA_KEYS = tuple(
    k
    for k in keys_in_group(ForecastConfig, "data")
    if k not in ("data", "format", "val_data", "val_fraction", "data_size", "test_fraction")
)


def _int_list(text, flag, low, high):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{flag}: expected comma-separated numbers such as 80,95, got {text!r}") from None
    for v in values:
        if not low < v < high:
            raise UsageError(f"{flag}: expected values between {low} and {high}, got {v:g}")
    return tuple(values)


def add_arguments(parser) -> None:
    parser.add_argument(
        "source", metavar="RUN_OR_CONFIG", help="a forecast run folder, a forecast config .toml, or 'baselines'"
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="NAME|FILE",
        help="the series to backtest on (default: the run's or config's data)",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=None,
        metavar="H",
        help="steps forecast at each origin (default: the config's horizon)",
    )
    parser.add_argument(
        "--origins",
        type=int,
        default=None,
        metavar="N",
        help="the last N origins (default: every origin in the second half)",
    )
    parser.add_argument("--step", type=int, default=1, metavar="S", help="steps between origins")
    parser.add_argument(
        "--refit-every",
        type=int,
        default=0,
        metavar="K",
        help="refit the model every K origins (0: fit once, at the first)",
    )
    parser.add_argument(
        "--window",
        choices=("expanding", "sliding"),
        default="expanding",
        help="train on all history before the origin, or its last --window-length",
    )
    parser.add_argument(
        "--window-length", type=int, default=None, metavar="L", help="steps of history for --window sliding"
    )
    parser.add_argument(
        "--period",
        type=int,
        default=None,
        metavar="M",
        help="season length for seasonal naive and MASE (default: the config's)",
    )
    parser.add_argument(
        "--intervals",
        default="80,95",
        metavar="LEVELS",
        help="conformal interval levels in percent; 'none' for no intervals",
    )
    parser.add_argument(
        "--calibration-window",
        type=int,
        default=None,
        metavar="N",
        help="calibrate each band on the latest N residuals only (default: all)",
    )
    parser.add_argument(
        "--adapt",
        type=float,
        default=None,
        metavar="GAMMA",
        help="adaptive conformal inference with step GAMMA (e.g. 0.05): each band's "
        "level follows the earlier misses (default: off, split conformal)",
    )
    parser.add_argument(
        "--baselines",
        default=",".join(BASELINE_NAMES),
        metavar="NAMES",
        help=f"comma-separated, from {', '.join(BASELINE_NAMES)}; 'none' for none",
    )
    parser.add_argument("--out", default=None, metavar="FILE.csv", help="write the errors per model and horizon step")
    parser.add_argument("--plot", default=None, metavar="FILE.png", help="draw MASE by horizon step")
    group = parser.add_argument_group(
        "reading the data", "as 'rnnkit train forecast' reads it (default: the run's or configuration's settings)"
    )
    add_config_flags(parser, ForecastConfig, keys=DATA_KEYS, group=group)


def _config(source: str, data: str | None, overrides: list | None = None):
    """(ForecastConfig, model or None, from_config) from a run folder, a TOML file or 'baselines',
    with the data flags given on top: a run gives a fresh model with its settings; a
    configuration file gives from_config True, its model built once the series is read (the
    settings it leaves to the data)."""
    path, saved, base = Path(source), None, None
    if source == "baselines":
        with_model = False
    elif path.is_dir():
        run = Run.open(path, tasks=("forecast",), command="rnnkit backtest")
        base, with_model = run.read_config(), True
        saved = TASKS["forecast"].load_model(run.model_path)  # its settings, as inferred from the data
    elif path.is_file():
        base, with_model = read_config_file(path), True
    else:
        raise CliError(
            f"{source}: no such run folder or config file; hint: pass a forecast run "
            "folder, a .toml configuration, or 'baselines'"
        )
    config = resolve(ForecastConfig, "forecast", base=base, overrides=overrides or ())
    if data is None and source == "baselines":
        raise UsageError("--data: expected the series to backtest the baselines on")
    if data is not None:
        config = dataclasses.replace(config, data=data, format=None)
    if saved is not None:  # a fresh model with the run's settings (the saved weights are not used)
        params = dict(saved.get_params(), validation_fraction=held_out_share(config))
        return config, type(saved)(**params), False  # the validation part training held out, too
    return config, None, with_model


def _load_series(config, console):
    """The series as ``rnnkit train forecast`` reads them: a SeriesSet (values, dates, ids,
    covariate columns)."""
    loaded = sources.load(TASKS["forecast"], config)
    for note in loaded.notes:
        console.note(f"note: {note}")
    s = as_series_set(loaded.train, loaded.source)
    if s.n_missing:
        # the reader interpolated them over the whole series; here each origin fills them from its own past
        s.values = [np.where(m, np.nan, v) for v, m in zip(s.values, s.missing, strict=True)]
        console.note(
            f"note: {s.n_missing:,} missing value(s): filled from each origin's history alone, left out of the scores"
        )
    return s


def run(args) -> int:
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ..forecast.backtest import backtest
    from ..forecast.conformal import min_residuals

    console = Console(args.quiet)
    config, model, from_config = _config(args.source, args.data, flag_overrides(args))
    s = _load_series(config, console)
    cov = covariates(s, config)
    notes: list[str] = []
    settings = infer_settings(s, dataclasses.replace(config, test_fraction=0.0), notes)
    period = args.period if args.period is not None else getattr(model, "period", None) or settings["period"]
    horizon = args.horizon if args.horizon is not None else config.horizon
    if from_config:  # the settings a configuration leaves to the data, from the series' first half
        task = cast("ForecastTask", TASKS["forecast"])  # the registry's forecast task
        model = task.model_for_arrays(dataclasses.replace(config, period=period), [v[: len(v) // 2] for v in s.values])
    if horizon is None:
        horizon = getattr(model, "horizon", None) or period or 1
    levels = () if args.intervals.strip() == "none" else _int_list(args.intervals, "--intervals", 0, 100)
    baselines = (
        () if args.baselines.strip() == "none" else tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    )
    for b in baselines:
        if b not in BASELINE_NAMES:
            raise UsageError(f"--baselines: expected names from {', '.join(BASELINE_NAMES)}, got {b!r}")
    if model is None and not baselines:
        raise UsageError("--baselines: 'baselines' with no baseline leaves nothing to score")
    if model is not None and getattr(model, "strategy", None) == "direct" and horizon > model.horizon:
        raise UsageError(
            f"--horizon: the configured model forecasts at most {model.horizon} steps "
            "(strategy direct); hint: a smaller --horizon"
        )
    one = len(s.values) == 1
    values = [v[:, 0] if v.shape[1] == 1 else v for v in s.values]
    models = {} if model is None else {"rnnkit": model}
    shown = [b for b in baselines if period or b != "seasonal_naive"]
    steps = sum(len(v) for v in values)
    what = f"{len(values)} series, {steps:,} steps" if not one else f"{steps:,} steps"
    console.note(f"backtest of {', '.join(list(models) + shown)} on {config.data} ({what}, horizon {horizon})")

    def progress(i, n):
        if not args.quiet and (i == n or i % max(1, n // 10) == 0):
            console.note(f"  origin {i}/{n}")

    need = max((min_residuals(v) for v in levels), default=0)
    if levels and args.origins is not None and args.origins <= need:
        raise UsageError(
            f"--origins: {max(levels):g}% intervals need more than {need} origins to calibrate on, got "
            f"{args.origins}; hint: --origins {need + 1} or more, or fewer levels (--intervals 80, or none)"
        )
    with_cov = model is not None
    result = backtest(
        models,
        values[0] if one else values,
        horizon,
        past_covariates=_one(cov.past, one) if with_cov else None,
        future_covariates=_one(cov.future, one) if with_cov else None,
        static_covariates=cov.static if with_cov else None,
        dates=_one(s.dates, one) if with_cov else None,
        n_origins=args.origins,
        step=args.step,
        refit_every=args.refit_every,
        window=args.window,
        window_length=args.window_length,
        period=period,
        baselines=baselines,
        levels=levels,
        calibration_window=args.calibration_window,
        adapt=args.adapt,
        missing="interpolate",
        columns=s.value_names,
        ids=s.ids,
        progress=progress,
    )
    origins = f"{len(result.origins)} origins" + (
        f" ({result.origins[0]}..{result.origins[-1]})" if one else f" in {result.n_series} series"
    )
    console.result(
        f"{origins}, {len(result.fit_origins)} fit(s), horizon {horizon}, MASE scaled by the "
        f"{'seasonal-naive (period ' + str(period) + ')' if period else 'naive'} error"
    )
    if result.skipped:
        console.note(
            f"note: {len(result.skipped)} series too short for an origin, left out: {', '.join(result.skipped)}"
        )
    if not one:
        console.result("per series, then pooled over all (all):")
        console.result(result.series_table())
        console.result("pooled:")
    console.result(result.table())
    console.result(_verdict(result, "rnnkit" if model is not None else None))
    if args.out:
        write_text_atomic(args.out, result.to_csv())
        console.note(f"wrote {args.out}")
    if args.plot:
        why = _no_plot(result)
        if why:
            console.note(f"note: {args.plot} not drawn: {why}")
        else:
            _plot_by_step(result, args.plot)
            console.note(f"wrote {args.plot}")
    return EXIT_OK


def _one(arrs, one: bool):
    """A per-series list as the engine takes it: the array itself for a single series."""
    if arrs is None:
        return None
    return arrs[0] if one else list(arrs)


def _no_plot(result) -> str | None:
    """Why the plot of MASE by step cannot be drawn, or None."""
    if not plots.available():
        return plots.missing_note()
    steps = result.by_step()
    if all(np.isnan(row["mase"]).all() for row in steps.values()):
        return "MASE is undefined (a history that never changes has no seasonal-naive error to scale by)"
    return None


def _plot_by_step(result, path) -> None:
    """MASE per horizon step (pooled over the series), one line per model, steps numbered from 1."""
    # matplotlib is optional: imported where used
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    steps = np.arange(1, result.horizon + 1)
    for name, row in result.by_step().items():
        ax.plot(steps, row["mase"], marker="o", markersize=3, label=name)
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MASE")
    where = f", {result.n_series} series pooled" if result.n_series > 1 else ""
    ax.set_title(f"MASE by horizon step ({len(result.origins)} origins{where})")
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())


def _verdict(result, model_name) -> str:
    """One plain line: does the model beat every baseline on pooled MASE, and if not, which not."""
    m = {k: v for k, v in result.metrics().items() if not math.isnan(v["mase"])}
    if not m:
        return "MASE is undefined: a history never changes (no seasonal-naive error to scale by)"
    if model_name is None or model_name not in m:
        best = min(m, key=lambda k: m[k]["mase"])
        return f"lowest MASE: {best} ({m[best]['mase']:.4g})"
    own = m[model_name]["mase"]
    worse = [f"{k} ({v['mase']:.4g})" for k, v in m.items() if k != model_name and v["mase"] <= own]
    if not worse:
        return f"the model beats every baseline on MASE ({own:.4g})"
    return f"the model (MASE {own:.4g}) does NOT beat: {', '.join(worse)}"


COMMAND = Command(
    name="backtest",
    help="rolling-origin evaluation of a forecaster beside baselines, with intervals",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit backtest runs/forecast-<stamp> --data sales.csv --horizon 12 "
        "--period 12 --origins 36 --refit-every 12 --out errors.csv --plot mase.png",
        "rnnkit backtest my_forecast.toml --data sales.csv --horizon 12",
        "rnnkit backtest baselines --data sales.csv --horizon 12 --period 12",
        "rnnkit backtest runs/forecast-<stamp>    # the run's own data, ids and covariates",
        "rnnkit backtest my.toml --data stores.csv --id-column store --future-covariates price",
    ),
)
