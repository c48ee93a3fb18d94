"""One ``rnnkit train TASK`` end to end: data, model, fit, evaluation, run folder.

:func:`run_task` is what :func:`rnnkit.cli.tasks.train` does once it has found the task.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from ...train.checkpoint import CheckpointError
from ...train.faults import TrainingError
from ...train.settings import SETTINGS
from ...train.trackers import Tracker, make_trackers
from ...utils import plots as run_plots
from .._base import CliError, Console
from ..options import to_dict
from ..run_record import data_fingerprint, environment, model_card
from ..runs import Run
from .continuing import SaveEachEpoch, check_fit_state, join_history
from .stopping import nonfinite_score, stopped_run
from .task import Task, check_same_data, history_rows

# What may change when a run is resumed: how to train, not what is trained or on what.
RESUMABLE = tuple(s.name for s in SETTINGS.values() if s.resumable)


def run_task(
    task: Task,
    config,
    *,
    out=None,
    run: Run | None = None,
    resume: bool = False,
    console: Console | None = None,
    plots: bool = True,
) -> dict:
    """Train ``task`` with ``config``; write the run folder; return the results.

    Args:
        out: the run folder to create (default: ``runs/<task>-<stamp>``).
        run: an existing run to write into instead (``--resume``).
        resume: continue ``run`` where it stopped: from its ``trainer.npz`` (bit for bit;
            see :mod:`rnnkit.cli.tasks.continuing`), else from its ``model.npz``.
        plots: draw PNG plots (needs matplotlib; skipped with a note without it).
    """
    console = console or Console(quiet=True)
    task_name = task.name
    data = task.load(config)
    check_same_data(data, config)  # under mpiexec: before anything is built from the data
    if not resume:  # sizes that would not fit in memory are refused before the run folder exists
        task.build_model(config, data)._validate_params()
    run = run if run is not None else Run.create(task_name, out)
    run.write_config(config, task_name)
    if run.writes:  # the status stays (a resumed run's too, until it ends)
        run.write_info(task_name, status=run.info().get("status", "running"), environment=environment())
    console.note(f"data: {data.describe()}")
    for note in data.notes or ():
        console.note(f"note: {note}")
    runner = SaveEachEpoch(run.trainer_path, say=lambda line: console.note(f"note: {line}"))
    saved = None
    if resume:
        previous = run.read_metrics()
        if run.trainer_path.is_file():
            saved = _saved_model(task, run)
            # Built as the run built it; the saved trainer state is restored into it.
            model = task.build_model(config, data)
            runner.restore = True
            console.note(f"resuming {run.path} from {run.trainer_path.name} for {config.epochs} more epoch(s)")
        else:
            saved = task.load_model(run.model_path) if run.model_path.is_file() else None
            if saved is None:
                raise CliError(
                    f"--resume {run.path}: the run has neither trainer.npz nor "
                    f"model.npz to continue from; hint: start it again with 'rnnkit "
                    f"train {task_name} --config {run.path / 'config.toml'}'"
                )
            model = saved
            valid = set(model.get_params(deep=False))
            model.set_params(**{k: getattr(config, k) for k in RESUMABLE if k in valid}, warm_start=True)
            old_rows, old_steps = previous.get("epochs") or [], previous.get("steps") or {}
            runner.before = (len(old_rows), max((len(v) for v in old_steps.values()), default=0))
            console.note(
                f"note: {run.path} has no trainer.npz (written by an older rnnkit): "
                "the weights continue from model.npz, the optimizer starts afresh"
            )
            console.note(f"resuming {run.path} for {config.epochs} more epoch(s)")
    else:
        model = task.build_model(config, data)
        previous = None
    # Progress unless --quiet: a bar redrawn in place on a terminal; in a log file or a pipe
    # whole lines (the first step's, one every 10 s, each epoch's last): train/progress.py.
    model.set_params(verbose=not console.quiet, on_divergence=config.on_divergence)
    console.note(f"training {type(model).__name__} ({task_name}) -> {run.path}")
    trackers = _trackers(task_name, config, run)
    try:
        results = _train(task, model, data, config, run, runner, saved, previous, console, plots, trackers)
    finally:
        for tracker in trackers:  # closed (as failed) by the trainer when training raised
            tracker.close(failed=True)
    return results


def _train(task, model, data, config, run, runner, saved, previous, console, plots, trackers) -> dict:
    task_name = task.name
    start = time.perf_counter()
    # The saved model shows a bar when fitted again only where the run drew one (a terminal):
    # a refit of it (rnnkit backtest) writes no progress lines into a log.
    saved_verbose = not console.quiet and _is_terminal(sys.stderr)
    try:
        task.fit(model, data, config, callbacks=[runner, *trackers])
    except TrainingError as exc:
        model.set_params(verbose=saved_verbose)
        raise stopped_run(task_name, model, runner, run, exc, previous, config) from None
    model.set_params(warm_start=False, verbose=saved_verbose)  # the saved model starts afresh when fitted again
    if runner.restore and saved is not None:
        check_fit_state(model, saved._fit_state())
    if not run.writes:  # under mpiexec rank 0 alone evaluates, writes and reports
        return {}
    seconds = time.perf_counter() - start
    model.save(run.model_path)
    epochs, steps = history_rows(getattr(model, "history_", None))
    if previous is not None:
        epochs, steps = join_history(previous, runner, epochs, steps)
    results = task.evaluate(model, data, config)
    if not math.isfinite(results["model"]):  # no summary, no verdict: a NaN score is no success
        raise nonfinite_score(task_name, run, results, epochs, steps)
    results.update(task.samples(model, config))
    results["train_seconds"] = round(seconds, 2)
    results["parameters"] = int(model.net_.num_parameters())
    run.write_metrics(epochs, steps, results)
    summary = task.summary(results)
    written = _plots(task, model, data, config, run, epochs, steps, results, console) if plots else []
    run.write_text("summary.txt", summary + "\n")
    card = model_card(
        task=task,
        run_path=str(run.path),
        model=model,
        data=data,
        digest=data_fingerprint(data.train, data.val, data.test),
        config_rows=to_dict(config),
        summary=summary,
        seconds=seconds,
    )
    run.write_text("MODEL_CARD.md", card)
    run.write_info(task_name, status="finished", train_seconds=round(seconds, 2))
    texts = task.sample_texts(results)
    for tracker in trackers:
        tracker.finish(run.path, results, texts=texts, model=run.model_path, export=_onnx_export(model, console))
    console.result(summary)
    console.note(
        f"run folder: {run.path}  (model.npz, config.toml, metrics.csv" + (", plots/" if written else "") + ")"
    )
    return results


def _trackers(task_name: str, config, run: Run) -> list[Tracker]:
    """The trackers of ``config.track`` into the run folder (rank 0 alone sends)."""
    if not config.track or not run.writes:
        return []
    params = {"task": task_name, **to_dict(config)}
    try:
        return make_trackers(config.track, run.path, uri=config.track_uri, params=params)
    except ImportError as exc:
        raise CliError(f"--track: {exc}") from None


def _onnx_export(model, console: Console):
    """For a tracker that keeps the model: a function writing ``model`` as ONNX into the
    folder it is given, returning the files written; none, with a note naming why, when the
    ``onnx`` extra is missing or the model cannot be exported."""

    def export(folder: Path) -> list[Path]:
        try:
            from ...interop import to_onnx  # rnnkit.interop loads on use: start-up time (cli/__init__.py)

            written = to_onnx(model, folder / "model.onnx")
        except (ImportError, ValueError, TypeError) as exc:  # the exporter's refusals name why
            console.note(f"note: the tracked model has no ONNX export: {exc}")
            return []
        return list(written.values()) if isinstance(written, dict) else [written]

    return export


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _saved_model(task, run: Run):
    """The run's model.npz, to check that the data is the run's own; None when it has none
    (a run stopped before its end) or it is damaged (trainer.npz holds the weights)."""
    if not run.model_path.is_file():
        return None
    try:
        return task.load_model(run.model_path)
    except CheckpointError:
        return None


def _plots(task, model, data, config, run, epochs, steps, results, console) -> list[Path]:
    if not run_plots.available():
        console.note(run_plots.missing_note())
        return []
    written = [run_plots.loss_curves(epochs, steps, run.plots / "loss.png", title=f"{task.name}: training loss")]
    written += task.plots(model, data, config, run.plots, results)
    return [p for p in written if p is not None]
