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
``model.npz`` the same way (:func:`warm_start`).

The metrics of a resumed run are those of all its epochs, each once: ``trainer.npz``
holds the history of its trainer, and :class:`SaveEachEpoch` remembers how many epochs
(and steps) of the run's ``metrics.json`` came before that trainer started.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from ...train.callbacks import Callback
from .._base import CliError

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


class SaveEachEpoch(Callback):
    """Save the trainer to ``path`` at the end of every epoch (atomically).

    ``epochs_before`` and ``steps_before``: how many epochs and steps of the run's metrics
    precede this trainer's own history (saved and restored with the trainer).
    """

    def __init__(self, path, epochs_before: int = 0, steps_before: int = 0) -> None:
        self.path = Path(path)
        self.epochs_before, self.steps_before = int(epochs_before), int(steps_before)

    def on_epoch_end(self, ctx) -> None:
        ctx.trainer.save(self.path)

    def state_dict(self) -> dict:
        return {"epochs_before": self.epochs_before, "steps_before": self.steps_before}

    def load_state_dict(self, d: dict) -> None:
        self.epochs_before = int(d.get("epochs_before", 0))
        self.steps_before = int(d.get("steps_before", 0))


class TrainerRunner:
    """Stands in for an estimator's ``_run_trainer``: builds or restores the Trainer, keeps
    the training state in ``path`` after each epoch, and remembers what it did.

    Args:
        path: the run's ``trainer.npz``.
        restore: resume from ``path`` (which must exist).
        more_epochs: with ``restore``, epochs to train beyond those already done.
        before: without ``restore``, the ``(epochs, steps)`` of the run's metrics that came
            before this training (a warm start of an older run).
        say: called with a line for the user when the optimizer cannot carry over.

    After training: ``before`` (epochs and steps of the old metrics to keep) and
    ``carried`` (history rows and steps of a restored trainer whose optimizer was
    replaced, which the new trainer's history lacks).
    """

    def __init__(
        self,
        path,
        *,
        restore: bool = False,
        more_epochs: int | None = None,
        before: tuple[int, int] = (0, 0),
        say=None,
        on_divergence: str = "stop",
    ) -> None:
        self.path, self.restore, self.more_epochs = Path(path), restore, more_epochs
        self.say, self.on_divergence = say, on_divergence
        self.before = (int(before[0]), int(before[1]))
        self.carried: tuple[list, dict] = ([], {})
        self.net = None  # the network trained, kept for saving the last good state of a stop

    def __call__(self, net, config, train_batches, val_batches, callbacks=()):
        from ...train import Trainer
        from ...train.checkpoint import CheckpointError
        from .task import history_rows

        self.net = net
        config = dataclasses.replace(config, on_divergence=self.on_divergence)
        if not self.restore:
            saver = SaveEachEpoch(self.path, *self.before)
            return Trainer(net, config, callbacks=[saver, *callbacks]).fit(train_batches, val=val_batches)
        saver = SaveEachEpoch(self.path)
        try:
            trainer = Trainer.load(self.path, net, callbacks=[saver, *callbacks])
        except CheckpointError as exc:
            text = str(exc)
            more = f"delete {self.path.name} to continue from model.npz with a fresh optimizer, or start a new run"
            raise CliError(
                f"--resume: {text}; "
                + (f"or {more}" if "hint:" in text else f"hint: resume with the run's own data, {more}")
            ) from None
        self.before = (saver.epochs_before, saver.steps_before)
        changed = [k for k in _SAME if getattr(trainer.config, k) != getattr(config, k)]
        if changed:
            # The weights and generators are in ``net`` now; a new optimizer starts with the
            # new keys and a history of its own.
            if self.say is not None:
                self.say(f"{', '.join(changed)} changed: the weights carry over, the optimizer state starts afresh")
            rows, steps = history_rows(trainer.history)
            self.carried = (rows, steps)
            n_steps = len(trainer.history.steps.get("loss", []))
            fresh = SaveEachEpoch(self.path, self.before[0] + len(rows), self.before[1] + n_steps)
            return Trainer(net, config, callbacks=[fresh, *callbacks]).fit(train_batches, val=val_batches)
        trainer.config.progress, trainer.config.on_divergence = config.progress, config.on_divergence
        return trainer.fit(train_batches, val=val_batches, epochs=trainer.epoch + self.more_epochs)


@contextlib.contextmanager
def training_through(model, runner: TrainerRunner):
    """Make ``model.fit`` train through ``runner`` (an instance attribute shadows the method)."""
    model._run_trainer = runner
    try:
        yield runner
    finally:
        del model._run_trainer


def check_fit_state(model, expected: dict) -> None:
    """The vocabulary, classes and scalers ``fit`` learnt must be those of the saved run."""
    if model._fit_state() != expected:
        raise CliError(
            "--resume: the data gave a different vocabulary, classes or scaling than "
            "the run was trained with; hint: resume with the run's own data"
        )


@contextlib.contextmanager
def warm_start(model):
    """Make ``model.fit`` continue from the network it holds instead of a fresh one.

    ``fit`` rebuilds what it learns from the data (vocabulary, classes, scalers) before it
    builds the network; from the same data these come out the same, which is checked after
    training. The optimizer starts afresh.
    """
    net, before = model.net_, model._fit_state()
    model._build_net = lambda rng: net  # an instance attribute shadows the method
    try:
        yield
    finally:
        del model._build_net
    check_fit_state(model, before)


def join_history(previous: dict, runner: TrainerRunner, epochs: list[dict], steps: dict):
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
