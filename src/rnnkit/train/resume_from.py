"""Continue a saved run through ``fit(callbacks=[ResumeFrom(path)])``.

Whoever trains through :func:`start_trainer` (every estimator of :mod:`rnnkit.models`) can be
asked, among its callbacks, to go on from a file that :meth:`Trainer.save` wrote::

    clf.fit(X, y, callbacks=[CheckpointEvery("run/trainer.npz", every_epochs=1)])    # stops early
    clf.set_params(epochs=2).fit(X, y, callbacks=[ResumeFrom("run/trainer.npz")])

The trainer is then the saved one (weights, optimizer moments and step counts, schedule,
random generators, epoch and step counters, history, callbacks' state, its configuration)
and ``epochs`` counts the epochs trained *beyond* those it had done; with the same data,
``epochs=3`` in one go and ``epochs=1`` then ``ResumeFrom`` with ``epochs=2`` give the same
parameters, bit for bit. Subclasses change how the trainer is restored by overriding
:meth:`ResumeFrom.start` (``rnnkit train --resume`` does: :mod:`rnnkit.cli.tasks.continuing`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .callbacks import Callback
from .config import TrainConfig
from .trainer import Trainer

__all__ = ["ResumeFrom", "start_trainer"]


class ResumeFrom(Callback):
    """A callback that asks for the trainer saved in ``path`` instead of a new one.

    It is a callback like the others (kept in the trainer's list, where a subclass may also
    act on the hooks); :func:`start_trainer` calls :meth:`start` before training.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def start(self, model: Any, config: TrainConfig, callbacks: list) -> tuple[Trainer, int | None]:
        """The trainer to fit and the epoch count to train to (None: ``config.epochs``).

        Restores :meth:`Trainer.load` ``(path, model, callbacks)``; the saved configuration
        stays, but for ``progress`` and ``on_divergence`` (how to report, not what to
        train), which come from ``config``; ``config.epochs`` more epochs are trained.
        """
        trainer = Trainer.load(self.path, model, callbacks=callbacks)
        trainer.config.progress, trainer.config.on_divergence = config.progress, config.on_divergence
        return trainer, trainer.epoch + config.epochs


def start_trainer(model: Any, config: TrainConfig, callbacks: Iterable[Callback] = ()) -> tuple[Trainer, int | None]:
    """The trainer a fit uses and the epochs to train to (None: ``config.epochs``): a new
    :class:`Trainer` for ``config`` and ``callbacks``, or, when one callback is a
    :class:`ResumeFrom`, the trainer it restores."""
    callbacks = list(callbacks)
    starts = [cb for cb in callbacks if isinstance(cb, ResumeFrom)]
    if len(starts) > 1:
        raise ValueError(
            f"callbacks: expected at most one ResumeFrom, got {len(starts)}; hint: a run continues from one file"
        )
    if starts:
        return starts[0].start(model, config, callbacks)
    return Trainer(model, config, callbacks=callbacks), None
