"""``rnnkit train --resume RUN``: go on training where a run stopped.

Every epoch of ``rnnkit train`` ends by saving the whole training state to the run's
``trainer.npz`` (:meth:`rnnkit.train.Trainer.save`: parameters, optimizer moments and step
counts, schedule, random generators, epoch and step counters, history, early stopping).
A resumed run rebuilds the model from the run's configuration and data, restores that
state into it and trains ``--epochs N`` more epochs, so ``--epochs 3`` in one go and
``--epochs 1`` then ``--resume --epochs 2`` give the same parameters, bit for bit, except
with ``lr_schedule = "cosine"``, whose plan stays that of the first run's total length. A
run stopped by Ctrl-C or a crash resumes from its last finished epoch, even before it
wrote ``model.npz``.

When the learning rate, optimizer, weight decay, gradient clipping or patience change,
the optimizer cannot go on as it was: the weights carry over, a new optimizer starts, and
the run says so. Runs written before ``trainer.npz`` existed continue from their
``model.npz`` the same way (the estimator's ``warm_start=True``).

All of it goes through the estimator's ``fit(callbacks=[...])``: :class:`SaveEachEpoch` is the
callback that saves the trainer after each epoch and, asked to, restores it before
training (a :class:`rnnkit.train.resume_from.ResumeFrom`). The metrics of a resumed run are
those of all its epochs, each once: ``trainer.npz`` holds the history of its trainer, and
:class:`SaveEachEpoch` remembers how many epochs (and steps) of the run's ``metrics.json`` came
before that trainer started.
"""

from __future__ import annotations

from ...train import Trainer
from ...train.checkpoint import CheckpointError
from ...train.resume_from import ResumeFrom
from .._base import CliError
from .task import history_rows

# TrainConfig keys that must match the saved run for the optimizer state to carry over.
_SAME = (
    "optimizer",
    "lr",
    "weight_decay",
    "clip_norm",
    "patience",
    "optimizer_kwargs",
    "schedule",
    "schedule_interval",
)


class SaveEachEpoch(ResumeFrom):
    """The trainer of a run: saved to ``path`` (the run's ``trainer.npz``, atomically) at the
    end of every epoch, and, with ``restore``, restored from it before training. (The name is
    the one saved trainers record their callback under, so older runs resume too.)

    Args:
        path: the run's ``trainer.npz``.
        restore: continue from ``path`` (which must exist); the estimator's ``epochs``
            count the epochs beyond those done.
        before: without ``restore``, the ``(epochs, steps)`` of the run's metrics that came
            before this training (a warm start of an older run).
        say: called with a line for the user when the optimizer cannot carry over.

    After training: ``before`` (epochs and steps of the old metrics to keep), ``carried``
    (history rows and steps of a restored trainer whose optimizer was replaced, which the
    new trainer's history lacks) and ``net`` (the network trained, for saving the last good
    state of a stopped run).
    """

    def __init__(self, path, *, restore: bool = False, before: tuple[int, int] = (0, 0), say=None) -> None:
        super().__init__(path)
        self.restore, self.say = restore, say
        self.before = (int(before[0]), int(before[1]))
        self.carried: tuple[list, dict] = ([], {})
        self._carried_steps = 0  # steps of the replaced trainer (skipped ones included)
        self.net = None

    # -- the callback: saved with the trainer, restored with it ------------------------------
    def on_epoch_end(self, ctx) -> None:
        ctx.trainer.save(self.path)

    def state_dict(self) -> dict:
        # What precedes this trainer's own history: the old metrics and a replaced trainer's.
        return {
            "epochs_before": self.before[0] + len(self.carried[0]),
            "steps_before": self.before[1] + self._carried_steps,
        }

    def load_state_dict(self, d: dict) -> None:
        self.before = (int(d.get("epochs_before", 0)), int(d.get("steps_before", 0)))

    # -- the trainer the estimator fits with ---------------------------------------------------
    def start(self, model, config, callbacks):
        self.net = model
        if not self.restore:
            return Trainer(model, config, callbacks=callbacks), None
        try:
            trainer, epochs = super().start(model, config, callbacks)
        except CheckpointError as exc:
            text = str(exc)
            more = f"delete {self.path.name} to continue from model.npz with a fresh optimizer, or start a new run"
            raise CliError(
                f"--resume: {text}; "
                + (f"or {more}" if "hint:" in text else f"hint: resume with the run's own data, {more}")
            ) from None
        changed = [k for k in _SAME if getattr(trainer.config, k) != getattr(config, k)]
        if not changed:
            return trainer, epochs
        # The weights and generators are in ``model`` now; a new optimizer starts with the
        # new keys and a history of its own.
        if self.say is not None:
            self.say(f"{', '.join(changed)} changed: the weights carry over, the optimizer state starts afresh")
        self.carried = history_rows(trainer.history)
        self._carried_steps = len(trainer.history.steps.get("loss", []))
        return Trainer(model, config, callbacks=callbacks), None


def check_fit_state(model, expected: dict) -> None:
    """The vocabulary, classes and scalers ``fit`` learnt must be those of the saved run."""
    if model._fit_state() != expected:
        raise CliError(
            "--resume: the data gave a different vocabulary, classes or scaling than "
            "the run was trained with; hint: resume with the run's own data"
        )


def join_history(previous: dict, runner: SaveEachEpoch, epochs: list[dict], steps: dict):
    """The run's whole history, each epoch once and numbered 1..n: the old metrics that came
    before this training's trainer, what a replaced trainer had recorded, then ``model``'s
    history (which, when a saved trainer continued, starts with that trainer's old epochs)."""
    n_epochs, n_steps = runner.before
    carried_rows, carried_steps = runner.carried
    old_steps = previous.get("steps", {}) or {}
    rows = list(previous.get("epochs", []))[:n_epochs] + list(carried_rows) + list(epochs)
    keys = list(old_steps) + [k for k in [*carried_steps, *steps] if k not in old_steps]
    joined = {
        k: list(old_steps.get(k, []))[:n_steps] + list(carried_steps.get(k, [])) + list(steps.get(k, []))
        for k in dict.fromkeys(keys)
    }
    return [{**row, "epoch": i + 1} for i, row in enumerate(rows)], joined
