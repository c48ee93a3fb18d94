"""The training tasks behind ``rnnkit train TASK``: importable, one module per task.

A task knows its configuration class, which model it trains, how its data is split, what
baseline its result is compared with, and which plots it draws. :func:`train` runs one
task end to end and leaves a run folder (:mod:`rnnkit.runs`)::

    from rnnkit.cli.tasks import TASKS, train
    from rnnkit.config import resolve
    task = TASKS["forecast"]
    config = resolve(task.config_class, "forecast", preset_name="tiny")
    results = train("forecast", config, out="runs/mg")

``results`` is the dict saved as ``metrics.json["results"]``: the metric, the model's
value, each baseline's value and the split they were measured on.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from pathlib import Path

from ...runs import Run, RunError
from .._base import CliError, Console
from .base import Task, history_rows

_MODULES = {"charlm": "charlm", "forecast": "forecast", "classify": "classify", "tag": "tag",
            "seq2seq": "seq2seq", "generate": "generate"}


# What may change when a run is resumed: how to train, not what is trained or on what.
RESUMABLE = ("epochs", "lr", "batch_size", "clip_norm", "patience", "optimizer", "weight_decay")


def _load_tasks() -> dict[str, Task]:
    tasks = {}
    for name, module in _MODULES.items():
        try:
            tasks[name] = importlib.import_module(f"{__name__}.{module}").TASK
        except ModuleNotFoundError as exc:  # the task's model has not been installed
            if not exc.name or not exc.name.startswith("rnnkit"):
                raise
    return tasks


TASKS: dict[str, Task] = _load_tasks()


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise CliError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}")
    return TASKS[name]


def train(task_name: str, config, *, out=None, run: Run | None = None, resume: bool = False,
          console: Console | None = None, plots: bool = True) -> dict:
    """Train ``task_name`` with ``config``; write the run folder; return the results.

    Args:
        out: the run folder to create (default: ``runs/<task>-<stamp>``).
        run: an existing run to write into instead (``--resume``).
        resume: continue from ``run``'s saved model instead of starting afresh.
        plots: draw PNG plots (needs matplotlib; skipped with a note without it).
    """
    console = console or Console(quiet=True)
    task = get_task(task_name)
    data = task.load(config)
    run = run if run is not None else Run.create(task_name, out)
    run.write_config(config, task_name)
    console.note(f"data: {data.describe()}")
    for note in data.notes or ():
        console.note(f"note: {note}")
    if resume:
        model = task.load_model(run.model_path)
        valid = set(model.get_params(deep=False))
        model.set_params(**{k: getattr(config, k) for k in RESUMABLE if k in valid})
        console.note(f"resuming {run.path} for {config.epochs} more epoch(s)")
        previous = run.read_metrics()
    else:
        model = task.build_model(config, data)
        previous = None
    # The progress bar is for people: on a terminal, unless --quiet.
    model.set_params(verbose=not console.quiet and _is_terminal(sys.stderr))
    console.note(f"training {type(model).__name__} ({task_name}) -> {run.path}")
    start = time.perf_counter()
    if resume:
        with warm_start(model):
            task.fit(model, data, config)
    else:
        task.fit(model, data, config)
    seconds = time.perf_counter() - start
    model.save(run.model_path)
    epochs, steps = history_rows(getattr(model, "history_", None))
    if previous:
        epochs, steps = _append_history(previous, epochs, steps)
    results = task.evaluate(model, data, config)
    results.update(task.samples(model, config))
    results["train_seconds"] = round(seconds, 2)
    results["parameters"] = int(model.net_.num_parameters())
    run.write_metrics(epochs, steps, results)
    summary = task.summary(results)
    written = _plots(task, model, data, config, run, epochs, steps, results, console) if plots else []
    run.write_text("summary.txt", summary + "\n")
    run.write_info(task_name, status="finished", train_seconds=round(seconds, 2))
    console.result(summary)
    console.note(f"run folder: {run.path}  (model.npz, config.toml, metrics.csv"
                 + (", plots/" if written else "") + ")")
    return results


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def warm_start(model):
    """Make ``model.fit`` continue from the network it holds instead of a fresh one.

    ``fit`` rebuilds what it learns from the data (vocabulary, classes, scalers) before it
    builds the network; from the same data these come out the same, which is checked after
    training. The optimizer starts afresh.
    """
    net, before = model.net_, model._fit_state()
    model._build_net = lambda rng: net   # an instance attribute shadows the method
    try:
        yield
    finally:
        del model._build_net
    if model._fit_state() != before:
        raise CliError("--resume: the data gave a different vocabulary, classes or scaling than "
                       "the run was trained with; hint: resume with the run's own data")


def _plots(task, model, data, config, run, epochs, steps, results, console) -> list[Path]:
    from ... import plots

    if not plots.available():
        console.note(plots.missing_note())
        return []
    written = [plots.loss_curves(epochs, steps, run.plots / "loss.png",
                                 title=f"{task.name}: training loss")]
    written += task.plots(model, data, config, run.plots, results)
    return [p for p in written if p is not None]


def _append_history(previous: dict, epochs: list[dict], steps: dict):
    """Number the new epochs after the old ones and join the per-step series."""
    old_epochs = list(previous.get("epochs", []))
    offset = len(old_epochs)
    new = [{**row, "epoch": offset + int(row.get("epoch", i + 1))} for i, row in enumerate(epochs)]
    old_steps = previous.get("steps", {}) or {}
    joined = {k: list(old_steps.get(k, [])) + list(steps.get(k, [])) for k in set(old_steps) | set(steps)}
    return old_epochs + new, joined


def open_model(path, tasks, command: str):
    """Load a model from a run folder or a model file, checking it serves ``command``.

    Returns:
        ``(model, run or None, task name)``.
    """
    from ...checkpoint import CheckpointError, load_checkpoint

    path = Path(path)
    run = None
    if path.is_dir():
        run = Run.open(path, tasks=tasks, command=command)
        path = run.model_path
        if not path.is_file():
            raise RunError(f"{run.path}: has no model.npz (training did not finish); hint: "
                           f"continue it with 'rnnkit train {run.task} --resume {run.path}'")
    elif not path.exists():
        raise RunError(f"{path}: no such run folder or model file; hint: train one with "
                       "'rnnkit train TASK', which prints the run folder")
    try:
        _, meta = load_checkpoint(path)
    except CheckpointError as exc:
        raise CliError(f"{exc}; hint: the model file is damaged or not an rnnkit model; "
                       "train again") from None
    model_name = meta.get("model") if isinstance(meta, dict) else None
    owners = [t for t in TASKS.values() if model_name in t.model_names]
    if not owners:
        raise CliError(f"{path}: not an rnnkit model file (holds {model_name!r}); hint: pass the "
                       "run folder or model.npz written by 'rnnkit train'")
    task = owners[0] if run is None else TASKS[run.task]
    if task.name not in tasks:
        raise CliError(f"{path}: holds a {model_name} ({task.name} model); {command} needs a "
                       f"{' or '.join(tasks)} model; hint: use '{task.command} {path}'")
    return task.load_model(path), run, task.name
