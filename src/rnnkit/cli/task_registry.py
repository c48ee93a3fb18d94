"""The tasks of ``rnnkit train TASK`` by name: the one table of them, :data:`TASKS`.

A task is a :class:`~rnnkit.cli.tasks.task.Task` that carries its own facts (its config,
the formats and data sets it reads, its readers, the command that uses its models, its
help). :mod:`rnnkit.cli.tasks` imports each task module and :func:`register`\\ s its
``TASK`` here, in the order of ``rnnkit train --help`` and ``rnnkit datasets``.

The table sits below the task modules and what they use (:mod:`~rnnkit.cli.sources`,
:mod:`~rnnkit.cli.runs`), so those can name the other tasks (a format's hint lists every
task that reads it) with no import cycle. It imports no task: it is filled when
:mod:`rnnkit.cli.tasks` is imported, which every task module's import does first.
"""

from __future__ import annotations

from typing import Any

from ._base import CliError

__all__ = ["TASKS", "register", "get_task"]

#: task name -> its Task object, in registration order
TASKS: dict[str, Any] = {}


def register(task):
    """Add ``task`` (a Task object) to :data:`TASKS` under ``task.name``; returns it."""
    if not getattr(task, "name", ""):
        raise ValueError(f"task: expected a Task with a name, got {task!r}")
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"task: a task named {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def get_task(name: str):
    """The registered task called ``name``."""
    if name not in TASKS:
        raise CliError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}")
    return TASKS[name]
