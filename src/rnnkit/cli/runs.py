"""Run folders: everything one training leaves behind, written atomically.

Layout of a run folder (``runs/<task>-<YYYYmmdd-HHMMSS>`` unless named)::

    run.json        {"format": "rnnkit-run", "version": 1, "task": ..., "created": ...,
                     "status": "running" | "finished" | "stopped: diverged"
                               | "stopped: non-finite score",
                     "rnnkit_version": ..., "stop": {...} when stopped,
                     "environment": {versions, platform, cpu, threads, kernels,
                                     git_commit} (rnnkit.cli.run_record)}
    config.toml     the resolved configuration (readable; loadable with --config)
    config.json     the same, exact (used by --resume)
    model.npz       the trained model (rnnkit.models save format); after a stop, its
                    last good state (rnnkit.cli.tasks.stopping)
    trainer.npz     training state for --resume, when the model supports it
    metrics.csv     one row per epoch (epoch, loss, val_loss, ...)
    metrics.json    per-epoch rows, per-step series (loss, grad_norm, lr) and the results
    summary.txt     the result beside its baseline, as printed
    MODEL_CARD.md   task, data and its digest, settings, scores beside baselines, intended use
    plots/          loss.png, and per task forecast.png, confusion.png, samples.txt ...
    tensorboard/    event files, with --track tensorboard (rnnkit.train.trackers)
    mlruns/         an MLflow file store, with --track mlflow (and no --track-uri)

Every file is written to a temporary name in the same folder and renamed over the target
(``os.replace``), so a run folder never holds a half-written file. Under ``mpiexec`` rank 0
alone creates the folder and writes; the other ranks get its path and write nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from pathlib import Path

from .._version import __version__
from ..distributed import world
from ..utils import files
from ..utils.atomic import write_json_atomic, write_text_atomic
from .options import to_dict, to_toml
from .task_registry import TASKS

RUN_FORMAT, RUN_VERSION = "rnnkit-run", 1
MODEL_FILE, TRAINER_FILE = "model.npz", "trainer.npz"


class RunError(ValueError):
    """A path is not a run folder (or not the run the caller needs); says what to do."""


# -- the run folder ----------------------------------------------------------------------
class Run:
    """A run folder; see the module docstring for its files."""

    def __init__(self, path) -> None:
        self.path = Path(path)

    # -- creating and opening -------------------------------------------------------------
    @classmethod
    def create(cls, task: str, out=None, *, root="runs") -> Run:
        """A new run folder: ``out`` if given (must be empty or absent), else a fresh
        ``<root>/<task>-<stamp>``."""
        w = world()
        if w.active:  # rank 0 creates the folder; every rank gets its path (or its error)
            made: str | RunError | None = None
            if w.is_root:
                try:
                    made = str(cls._create(task, out, root).path)
                except RunError as exc:
                    made = exc
            made = w.bcast(made)
            if isinstance(made, RunError):
                raise made
            return cls(made)
        return cls._create(task, out, root)

    @classmethod
    def _create(cls, task: str, out, root) -> Run:
        if out is not None:
            path = Path(out)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise RunError(
                    f"--out {path}: exists and is not an empty folder; hint: choose "
                    f"a new name, or continue that run with --resume {path}"
                )
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path(root) / f"{task}-{stamp}"
            n = 1
            while path.exists():
                n += 1
                path = Path(root) / f"{task}-{stamp}-{n}"
        (path / "plots").mkdir(parents=True, exist_ok=True)
        run = cls(path)
        run.write_info(task, status="running")
        return run

    @classmethod
    def open(cls, path, *, tasks=None, command: str = "") -> Run:
        """An existing run folder; with ``tasks``, check that it holds one of them."""
        path = Path(path)
        if not path.exists():
            raise RunError(
                f"{path}: no such run folder or model file; hint: list your runs "
                "with 'ls runs/', or train one with 'rnnkit train TASK'"
            )
        if not (path / "run.json").is_file():
            raise RunError(
                f"{path}: not a run folder (no run.json); hint: pass a folder "
                "written by 'rnnkit train', or a model .npz file"
            )
        run = cls(path)
        task = run.task
        if tasks is not None and task not in tasks:
            raise RunError(
                f"{path}: is a {task} run; {command or 'this command'} needs a "
                f"{' or '.join(tasks)} run{_hint_for(task)}"
            )
        return run

    # -- files ----------------------------------------------------------------------------
    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def trainer_path(self) -> Path:
        return self.path / TRAINER_FILE

    @property
    def plots(self) -> Path:
        d = self.path / "plots"
        if world().is_root:
            d.mkdir(exist_ok=True)
        return d

    @property
    def writes(self) -> bool:
        """Whether this process writes the run's files: always, but rank 0 alone under mpiexec."""
        return world().is_root

    def info(self) -> dict:
        try:
            data = json.loads(_read_run_file(self.path / "run.json"))
        except (OSError, ValueError) as exc:
            raise RunError(
                f"{self.path}/run.json: unreadable ({exc}); hint: the run folder is damaged; train again"
            ) from None
        if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
            raise RunError(f"{self.path}/run.json: not an rnnkit run description")
        if not isinstance(data.get("version"), int) or data["version"] > RUN_VERSION:
            raise RunError(
                f"{self.path}/run.json: run format version {data.get('version')!r} is "
                f"newer than this rnnkit reads ({RUN_VERSION}); hint: upgrade rnnkit"
            )
        return data

    @property
    def task(self) -> str:
        return str(self.info().get("task"))

    def write_info(self, task: str, *, status: str, **extra) -> None:
        if not self.writes:
            return
        old = {}
        if (self.path / "run.json").is_file():
            with contextlib.suppress(RunError):
                old = self.info()
        data = {
            "format": RUN_FORMAT,
            "version": RUN_VERSION,
            "task": task,
            "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S")),
            "rnnkit_version": __version__,
            **{k: v for k, v in old.items() if k not in ("format", "version", "task")},
            "status": status,
            **extra,
        }
        write_json_atomic(self.path / "run.json", data)

    def write_config(self, config, task: str) -> None:
        if not self.writes:
            return
        header = (
            f"rnnkit {__version__}: the resolved configuration of this {task} run.\n"
            f"Train again with: rnnkit train {task} --config config.toml"
        )
        write_text_atomic(self.path / "config.toml", to_toml(config, task, header))
        write_json_atomic(self.path / "config.json", {"task": task, "config": to_dict(config)})

    def read_config(self) -> dict:
        """The saved configuration as a dict (keys as in the task's config class)."""
        try:
            data = json.loads(_read_run_file(self.path / "config.json"))
            return dict(data["config"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(
                f"{self.path}/config.json: missing or unreadable ({exc}); "
                "hint: the run folder is incomplete; train again"
            ) from None

    def write_metrics(self, epochs: list[dict], steps: dict | None = None, results: dict | None = None) -> None:
        """``metrics.csv`` (one row per epoch) and ``metrics.json`` (rows, steps, results)."""
        if not self.writes:
            return
        columns: list[str] = []
        for row in epochs:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in epochs:
            writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
        write_text_atomic(self.path / "metrics.csv", buf.getvalue())
        write_json_atomic(
            self.path / "metrics.json", {"epochs": epochs, "steps": steps or {}, "results": results or {}}
        )

    def read_metrics(self) -> dict:
        path = self.path / "metrics.json"
        if not path.is_file():
            return {"epochs": [], "steps": {}, "results": {}}
        try:
            return json.loads(_read_run_file(path))
        except (OSError, ValueError) as exc:
            raise RunError(f"{path}: unreadable ({exc})") from None

    def write_text(self, name: str, text: str) -> Path:
        if not self.writes:
            return self.path / name
        return write_text_atomic(self.path / name, text)


def _cell(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _hint_for(task: str) -> str:
    """Which command takes a run of ``task`` (the task's ``command``), as a hint."""
    command = TASKS[task].command if task in TASKS else None
    return f"; hint: use '{command} RUN' with a {task} run" if command else ""


def _read_run_file(path: Path) -> str:
    """A run folder's file as text: a regular file of bounded size (a FIFO or device planted
    in a run folder is refused, a ValueError, instead of blocking the reader)."""
    return files.read_regular_bytes(path, what="a run folder's file", max_bytes=files.MAX_TEXT_BYTES).decode("utf-8")
