"""A training run that diverged, or whose score is not finite: save its last good state and
say so, as one paragraph.

The training loop's fault policy (:mod:`rnnkit.train.faults`) stops a run on a non-finite
value or, with ``on_divergence = "stop"``, a loss that runs away, with the parameters of
the last good step restored. :func:`stopped_run` keeps that state in the run folder
(``model.npz``, loadable by every command; ``trainer.npz``, for ``--resume``), writes the
metrics so far, marks ``run.json`` ``"stopped: diverged"`` (its ``"stop"`` record says where, why,
which step's weights were kept and whether ``--resume`` may continue from them) and returns the
:class:`~rnnkit.cli._base.TrainingStopped` error (exit code 3) to raise.

A run that trains to its end but scores NaN or inf on its evaluation part is no success
either: :func:`nonfinite_score` keeps what was trained, marks ``run.json``
``"stopped: non-finite score"``, writes no summary (no verdict praises a NaN) and returns
the same error.
"""

from __future__ import annotations

from ...train.bptt import TBPTT
from .._base import TrainingStopped
from .continuing import join_history
from .task import history_rows

STOPPED = "stopped: diverged"
NONFINITE = "stopped: non-finite score"


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
        "resumable": bool(getattr(exc, "resumable", True)),
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


def nonfinite_score(task_name: str, run, results: dict, epochs: list, steps: dict) -> TrainingStopped:
    """A run trained to its end whose score (``results["model"]``) is NaN or inf: mark it
    stopped with the metrics so far (the trained ``model.npz`` and the last epoch's
    ``trainer.npz`` stay); the error to raise."""
    value, metric, split = results["model"], results["metric"], results["split"]
    step, epoch = len(steps.get("loss", ())), len(epochs)
    stop = {
        "step": step,
        "epoch": epoch,
        "batch": None,  # after the last batch, at the evaluation
        "kind": "nonfinite_score",
        "reason": f"the {split} {metric} is {value}",
        "good_step": step,
        "resumable": True,  # the trained weights are finite; only the score overflowed
    }
    run.write_metrics(epochs, steps, {"stopped": stop})
    run.write_info(task_name, status=NONFINITE, stop=stop)
    saved = [p.name for p in (run.model_path, run.trainer_path) if p.is_file()]
    kept = f"The trained weights are saved in {run.path} ({', '.join(saved)})" if saved else "Nothing was saved"
    return TrainingStopped(
        f"training stopped at the evaluation after step {step} (epoch {epoch}): the model's {metric} on the "
        f"{split} part is {value}, not a score. Likely cause: the model's outputs overflow on that part (values "
        f"far beyond those it trained on, or too large for float32). {kept}; run.json says '{NONFINITE}'. "
        "Hint: rescale the data's largest values, or lower --lr and set --clip-norm 1, then start again"
    )
