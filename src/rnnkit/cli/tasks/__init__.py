"""The training tasks behind ``rnnkit train TASK``: importable, one module per task.

A task knows its configuration class, which model it trains, how its data is split, what
baseline its result is compared with, and which plots it draws. :func:`train` runs one
task end to end and leaves a run folder (:mod:`rnnkit.cli.runs`)::

    from rnnkit.cli.tasks import TASKS, train
    from rnnkit.cli.options import resolve
    task = TASKS["forecast"]
    config = resolve(task.config_class, "forecast", preset_name="tiny")
    results = train("forecast", config, out="runs/mg")

``results`` is the dict saved as ``metrics.json["results"]``: the metric, the model's
value, each baseline's value and the split they were measured on.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ...train.checkpoint import CheckpointError, load_checkpoint
from ...utils import files
from .._base import CliError, Console
from ..runs import Run, RunError
from ..task_registry import TASKS, get_task, register
from .run import RESUMABLE, run_task
from .task import Task

__all__ = ["RESUMABLE", "TASKS", "Task", "get_task", "open_model", "run_task", "train"]

# The task modules, in the order of ``rnnkit train --help`` and ``rnnkit datasets``; each
# defines ``TASK``, registered in :data:`rnnkit.cli.task_registry.TASKS`.
TASK_MODULES = ("charlm", "forecast", "classify", "tag", "seq2seq", "generate", "music")


def _load_tasks() -> None:
    for module in TASK_MODULES:
        try:
            register(importlib.import_module(f"{__name__}.{module}").TASK)
        except ModuleNotFoundError as exc:  # the task's model has not been installed
            if not exc.name or not exc.name.startswith("rnnkit"):
                raise


_load_tasks()


def train(
    task_name: str,
    config,
    *,
    out=None,
    run: Run | None = None,
    resume: bool = False,
    console: Console | None = None,
    plots: bool = True,
) -> dict:
    """Train the task named ``task_name`` with ``config``: :func:`rnnkit.cli.tasks.run.run_task`
    (same keyword arguments) with the task looked up in :data:`TASKS`; returns the results."""
    return run_task(get_task(task_name), config, out=out, run=run, resume=resume, console=console, plots=plots)


def open_model(path, tasks, command: str):
    """Load a model from a run folder or a model file, checking it serves ``command``.

    Returns:
        ``(model, run or None, task name)``.
    """
    path = Path(path)
    run = None
    if path.is_dir():
        run = Run.open(path, tasks=tasks, command=command)
        path = run.model_path
        if not path.is_file():
            raise RunError(
                f"{run.path}: has no model.npz (training did not finish); hint: "
                f"continue it with 'rnnkit train {run.task} --resume {run.path}'"
            )
    elif not path.exists():
        raise RunError(
            f"{path}: no such run folder or model file; hint: train one with "
            "'rnnkit train TASK', which prints the run folder"
        )
    files.check_regular_file(path, what="an rnnkit model file", max_bytes=files.MAX_MODEL_BYTES)
    try:
        _, meta = load_checkpoint(path)
    except CheckpointError as exc:
        raise CliError(f"{exc}; hint: the model file is damaged or not an rnnkit model; train again") from None
    model_name = meta.get("model") if isinstance(meta, dict) else None
    if model_name is None and meta.get("format") == "rnnkit-model":
        raise CliError(f"{path}: missing key 'meta.model'; hint: the file was edited or damaged; save the model again")
    owners = [t for t in TASKS.values() if model_name in t.model_names]
    if not owners:
        raise CliError(
            f"{path}: not an rnnkit model file (holds {model_name!r}); hint: pass the "
            "run folder or model.npz written by 'rnnkit train'"
        )
    task = owners[0] if run is None else TASKS[run.task]
    if task.name not in tasks:
        raise CliError(
            f"{path}: holds a {model_name} ({task.name} model); {command} needs a "
            f"{' or '.join(tasks)} model; hint: use '{task.command} {path}'"
        )
    return task.load_model(path), run, task.name
