"""``rnnkit forecast RUN``: forecast the steps after a series with a trained model.

The history is the run's own series (its whole length, test part included) or ``--data``
(a CSV read with the run's column settings, or a set's name). Prints ``step,value`` CSV
(one value column per feature), or writes it to ``--out``; ``--plot FILE.png`` draws the
forecast after the end of the history, beside the naive forecast.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np

from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from ..utils.atomic import write_text_atomic


def forecast_history(model, history, horizon: int) -> np.ndarray:
    """(horizon, F) forecasts after ``history`` (T, F)."""
    if len(history) < model.window:
        raise CliError(f"the history has {len(history)} steps; the model reads a window of "
                       f"{model.window}; hint: pass a longer series with --data")
    if model.strategy == "direct" and horizon > model.horizon:
        raise UsageError(f"--horizon: this model forecasts at most {model.horizon} steps at once "
                         "(strategy direct); hint: train with --strategy recursive for longer ones")
    return np.asarray(model.predict(history, horizon=horizon)).reshape(horizon, -1)


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a forecast run folder")
    parser.add_argument("--data", default=None, metavar="NAME|FILE",
                        help="the history to continue (default: the run's series)")
    parser.add_argument("--horizon", type=int, default=None, metavar="N",
                        help="steps to forecast (default: the run's plot_steps)")
    parser.add_argument("--out", default=None, metavar="FILE.csv", help="write CSV here")
    parser.add_argument("--plot", default=None, metavar="FILE.png", help="draw the forecast")


def run(args) -> int:
    from ..models.forecaster import naive_forecast
    from . import sources
    from .config import resolve
    from .tasks import TASKS, open_model

    model, run_folder, task = open_model(args.run, ("forecast",), "rnnkit forecast")
    config_class = TASKS[task].config_class
    config = resolve(config_class, task, base=run_folder.read_config()) if run_folder else None
    if args.data is None and config is None:
        raise UsageError("--data: expected the history to continue (a model file has no run data)")
    if config is None:
        config = config_class()
    if args.data is not None:
        config = dataclasses.replace(config, data=args.data, format=None)
    history = np.asarray(sources.load("forecast", config).train, dtype=np.float64)
    horizon = args.horizon if args.horizon is not None else config.plot_steps
    if horizon < 1:
        raise UsageError(f"--horizon: expected an integer >= 1, got {horizon}")
    pred = forecast_history(model, history, horizon)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    F = pred.shape[1]
    writer.writerow(["step"] + (["forecast"] if F == 1 else [f"forecast_{f}" for f in range(F)]))
    for k, row in enumerate(pred, start=1):
        writer.writerow([len(history) + k - 1] + [f"{v:.6g}" for v in row])
    console = Console(args.quiet)
    if args.plot:
        from ..utils import plots
        if not plots.available():
            console.note(plots.missing_note())
        else:
            naive = naive_forecast(history, horizon)
            plots.forecast_plot(history[:, 0], None, {"model": pred[:, 0], "naive": naive[:, 0]},
                                args.plot, title=f"{horizon}-step forecast")
            console.note(f"wrote {args.plot}")
    if args.out:
        write_text_atomic(args.out, buf.getvalue())
        console.note(f"wrote {horizon} forecast step(s) to {args.out}")
    else:
        console.result(buf.getvalue().rstrip("\n"))
    return EXIT_OK


COMMAND = Command(
    name="forecast",
    help="forecast the steps after a series with a trained forecast run",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments, run=run,
    epilog=examples("rnnkit forecast runs/forecast-<stamp> --horizon 50 --plot next50.png",
                    "rnnkit forecast runs/forecast-<stamp> --data latest.csv --out next.csv"),
)
