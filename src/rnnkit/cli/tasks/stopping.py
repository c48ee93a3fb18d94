"""A training run that diverged: save its last good state and say so, as one paragraph.

The training loop's fault policy (:mod:`rnnkit.train.faults`) stops a run on a non-finite
value or, with ``on_divergence = "stop"``, a loss that runs away, with the parameters of
the last good step restored. :func:`stopped_run` keeps that state in the run folder
(``model.npz``, loadable by every command; ``trainer.npz``, for ``--resume``), writes the
metrics so far, marks ``run.json`` ``"stopped: diverged"`` and returns the
:class:`~rnnkit.cli._base.TrainingStopped` error (exit code 3) to raise.
"""

from __future__ import annotations

from ...train.bptt import TBPTT
from .._base import TrainingStopped
from .continuing import join_history
from .task import history_rows

STOPPED = "stopped: diverged"


def stopped_run(task_name: str, model, runner, run, exc, previous, config) -> TrainingStopped:
    """Save the stopped run's last good state into ``run``; the error to raise."""
    net = runner.net.model if isinstance(runner.net, TBPTT) else runner.net
    saved = []
    if net is not None:
        net.eval()
        model.net_ = net
        model.save(run.model_path)
        saved.append(run.model_path.name)
    if exc.trainer is not None:
        exc.trainer.save(run.trainer_path)
        saved.append(run.trainer_path.name)
    epochs, steps = history_rows(exc.history)
    partial = _partial_epoch(exc)
    if partial is not None:
        epochs.append(dict(partial, epoch=len(epochs) + 1))
    if previous is not None:
        epochs, steps = join_history(previous, runner, epochs, steps)
    stop = {
        "step": exc.step,
        "epoch": exc.epoch,
        "batch": exc.batch,
        "kind": exc.kind,
        "reason": exc.what,
        "good_step": exc.good_step,
    }
    run.write_metrics(epochs, steps, {"stopped": stop})
    run.write_info(task_name, status=STOPPED, stop=stop)
    return TrainingStopped(message(task_name, run, exc, config, saved))


def _partial_epoch(exc) -> dict | None:
    """The row of the epoch the stop cut short: its mean loss over the good steps so far."""
    trainer = exc.trainer
    if trainer is None or trainer.history is None:
        return None
    steps = trainer.history.steps
    if len(trainer.history.epochs) >= exc.epoch:
        return None  # the stop came after the epoch's end (its validation)
    first = trainer._epoch_first_step
    good = [x for x, s in zip(steps["loss"][first:], steps["skipped"][first:], strict=False) if not s]
    return {
        "epoch": exc.epoch,
        "loss": sum(good) / len(good) if good else float("nan"),
        "steps": len(good),
        "stopped": f"step {exc.step}",
    }


def message(task_name: str, run, exc, config, saved: list) -> str:
    """The stop as one paragraph: where, what, the likely cause, what was kept, what to do."""
    good = "the initial weights" if exc.good_step == 0 else f"the weights after step {exc.good_step}"
    kept = f"{good} are saved in {run.path} ({', '.join(saved)})" if saved else f"nothing could be saved in {run.path}"
    if "data holds NaN" in (exc.cause or ""):
        hint = "drop or fill the NaN/inf values in the data"
    else:
        lr = exc.lr if exc.lr == exc.lr else config.lr
        hint = f"lower --lr (now {lr:.3g})"
        clip = ""
        if config.clip_norm is None:
            hint += " and set --clip-norm 1"
            clip = " --clip-norm 1"
        if getattr(exc, "resumable", True):
            resume = f"rnnkit train {task_name} --resume {run.path} --lr {lr / 10:.3g}{clip}"
            hint += f", then continue with '{resume}' or start again"
        else:  # the weights kept ran away: continuing from them would stop again
            hint += ", then start again (the weights kept are not sane to continue from)"
    return (
        f"training stopped at step {exc.step} (epoch {exc.epoch}, batch {exc.batch}): {exc.what}. "
        f"Likely cause: {exc.cause}. {kept[0].upper() + kept[1:]}; run.json says '{STOPPED}'. "
        f"Hint: {hint}"
    )
