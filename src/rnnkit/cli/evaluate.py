"""``rnnkit evaluate RUN``: score a trained model on data, beside the task's baseline.

Without ``--data`` the run's own evaluation split is used (the test split that ships with
a set, else the validation part, rebuilt from the saved configuration and seed). With
``--data NAME|FILE`` the model is scored on that data; the baseline is fitted on the
run's training data when it can still be loaded, and left out otherwise.
"""

from __future__ import annotations

import dataclasses
import math

from ._base import EXIT_OK, CliError, Command, Console, examples
from .options import resolve
from .sources import FORMATS
from .tasks import TASKS, open_model
from .tasks.task import TaskData

EVAL_TASKS = tuple(name for name in TASKS if TASKS[name].serves("evaluate"))


def evaluate_run(
    model, task, config, data: str | None = None, fmt: str | None = None, console: Console | None = None
) -> dict:
    """The results dict of ``task.evaluate`` on the run's split or on ``data``."""
    console = console or Console(quiet=True)
    try:
        own = task.load(config)
    except (CliError, ValueError, OSError) as exc:
        if data is None:
            raise CliError(f"cannot rebuild the run's data ({exc}); hint: pass --data FILE") from None
        console.note(f"note: baselines skipped: the training data cannot be loaded ({exc})")
        own = None
    if data is None:
        return task.evaluate(model, own, config)
    new_config = dataclasses.replace(config, data=data, format=fmt, val_data=None)
    part, source = task.evaluation_data(new_config)
    target = TaskData(own.train if own is not None else None, None, part, source, test_name=f"{source}:")
    return task.evaluate(model, target, new_config)


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder")
    parser.add_argument("--data", metavar="NAME|FILE", help="data to score on (default: the run's evaluation split)")
    parser.add_argument(
        "--format", default=None, choices=list(FORMATS), help="the file format (default: from the extension)"
    )


def run(args) -> int:
    model, run_folder, name = open_model(args.run, EVAL_TASKS, "rnnkit evaluate")
    if run_folder is None:
        raise CliError(
            f"{args.run}: evaluate needs the run folder (its configuration says "
            "how the data was prepared), not only the model file"
        )
    task = TASKS[name]
    config = resolve(task.config_class, name, base=run_folder.read_config())
    console = Console(args.quiet)
    results = evaluate_run(model, task, config, args.data, args.format, console)
    if not math.isfinite(results["model"]):
        raise CliError(
            f"{args.run}: the model's {results['metric']} on the {results['split']} part is {results['model']}, "
            "not a score; hint: its outputs overflow on that data (values far beyond those it trained on, or too "
            "large for float32): rescale the data, or train again"
        )
    console.result(task.summary(results))
    return EXIT_OK


COMMAND = Command(
    name="evaluate",
    help="score a trained model on data, beside a baseline",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit evaluate runs/tag-<stamp>",
        "rnnkit evaluate runs/tag-<stamp> --data en_ewt-ud-test.conllu",
        "rnnkit evaluate runs/forecast-<stamp> --data other_series.csv",
    ),
)
