"""The divergence guard: a loss that stays finite but runs away.

A step's loss counts as *diverged* when it is above the run's first loss and more than
``TrainConfig.divergence_factor`` times the larger of the best (lowest) loss so far and the
absolute floor :data:`LOSS_FLOOR` (1e-6): with the default factor of 100, a loss is never
divergence while it is at most 1e-4, nor while it is at most the first loss. The floor is
relative to the scale of the problems rnnkit trains: cross-entropy and the mean squared
error of scaled targets are of order 1 at initialisation, so a loss of 1e-4 is a nearly
exact fit. Without it, a run whose first or best loss is ~0 (a series whose transformed
target is almost exactly predictable starts near 1e-28) would call any hundredfold rise,
to 1e-5 say, a runaway. A true blow-up (a loss rising far above its first value) is caught
as before. After
``divergence_steps`` diverged steps in a row (or, at the end of an epoch, a run of at least
two that covers half the epoch's steps: a short run that diverged early) the guard acts,
once per run, as ``TrainConfig.on_divergence`` says:

- ``"warn"`` (the default): a :class:`DivergenceWarning` naming the step, the loss, the
  best and first losses and a remedy; training goes on;
- ``"stop"``: the fault policy's clean stop (:class:`~rnnkit.train.faults.TrainingError`
  of kind ``"diverged"``), with the parameters that gave the best loss restored (and the
  optimizer's state and step count of that step);
- ``"off"``: nothing.

A non-finite stop of the fault policy (:mod:`rnnkit.train.faults`) asks the guard whether
the parameters it would keep (the last finite ones) are sane: not when the loss they gave
is not finite or ran away by the rule above (even once). Then, under ``"stop"``, the
parameters of the best loss are restored instead, so that continuing with a lower learning
rate starts from sane weights, not from weights of ~1e23 that overflow again at the first
step; without that copy (``"warn"``) the stop is marked ``resumable=False`` and says to
start again.

The first and best losses are read from the trainer's history the first time the guard
runs, so a resumed run keeps guarding from where it was; the parameters of the best step
are kept (one copy, with the optimizer's state, refreshed when the best improves) only
under ``"stop"``.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .faults import stop_training

if TYPE_CHECKING:
    from .callbacks import History

# ``trainer: Any`` below is a Trainer, which cannot be named here: rnnkit.train.trainer
# imports this module (imports form no cycle, not even for types).

__all__ = ["DivergenceWarning", "LOSS_FLOOR", "divergence_check", "divergence_epoch_end"]

#: the absolute floor under the best loss: a loss at most ``divergence_factor`` x this is
#: never divergence (see the module docstring)
LOSS_FLOOR = 1e-6


class DivergenceWarning(RuntimeWarning):
    """The training loss ran far above its first and best values for many steps."""


class _Guard:
    def __init__(self, history: History) -> None:
        # The steps before this one (the current step is already recorded).
        steps = zip(history.steps["loss"][:-1], history.steps["skipped"][:-1], strict=False)
        losses = [x for x, s in steps if not s and math.isfinite(x)]
        self.first = losses[0] if losses else None
        self.best = min(losses) if losses else math.inf
        self.best_step: int | None = None
        self.params: list[np.ndarray] | None = None
        self.slots: list[np.ndarray] = []
        self.count = 0
        self.run, self.fired = 0, False

    def update(self, trainer: Any, n: int, loss: float) -> bool:
        """Record step ``n``'s loss; True when the guard should act now."""
        cfg = trainer.config
        if self.first is None:
            self.first = loss
        if loss < self.best:
            self.best, self.best_step = loss, n
            if cfg.on_divergence == "stop":
                self._keep(trainer)
        self.run = self.run + 1 if self.runaway(trainer, loss) else 0
        return self.run >= cfg.divergence_steps and not self.fired

    def runaway(self, trainer: Any, loss: float) -> bool:
        """True when ``loss`` is not finite, or above the first loss and the floor of the rule."""
        if not math.isfinite(loss):
            return True
        first = loss if self.first is None else self.first
        return loss > first and loss > trainer.config.divergence_factor * max(self.best, LOSS_FLOOR)

    def fall_back(self, trainer: Any, state: str, good_step: int, loss: float) -> tuple[str, int, bool]:
        """For a non-finite stop whose held parameters (after ``good_step``) gave ``loss``:
        ``(state, good_step, resumable)``, with the best parameters restored when those ran away."""
        if not self.runaway(trainer, loss):
            return state, good_step, True
        if self.restore(trainer) and self.best_step is not None:
            good = self.best_step - 1
            return (
                f"The last finite parameters (after step {good_step}) gave a loss of {loss:.4g}, far above its "
                f"best: the parameters are restored to those after step {good}, which gave the best loss "
                f"({self.best:.4g})",
                good,
                True,
            )
        return (
            f"{state}; they gave a loss of {loss:.4g}, far above its best ({self.best:.4g}): start again "
            "rather than continue from them",
            good_step,
            False,
        )

    def _keep(self, trainer: Any) -> None:
        # The loss of step n is that of the parameters before its update: the fault policy's
        # copies from before the update (rnnkit.train.faults.apply_update).
        # The optimizer's state (momentum, moments) is kept with them: restored beside the
        # best parameters, the state of a runaway would throw them far again at the next step.
        snap = trainer._fault_snapshot
        self.params = _copy_into(self.params, [copy for _, copy in snap.params])
        self.slots = _copy_into(self.slots, [copy for _, copy in snap.slots])
        self.count = snap.count

    def restore(self, trainer: Any) -> bool:
        """Put the best parameters (and the optimizer's state then) back; False without a copy."""
        if self.params is None:
            return False
        for copy, (_, p, _) in zip(self.params, trainer.model.named_parameters(), strict=False):
            np.copyto(p, copy)
        live = [a for s in trainer.optimizer.state.values() for a in s.values()]
        same = len(live) == len(self.slots) and all(a.shape == c.shape for a, c in zip(live, self.slots, strict=True))
        for i, a in enumerate(live):  # state made after the best step (a lazy optimizer): as new, zero
            np.copyto(a, self.slots[i] if same else 0)
        trainer.optimizer.step_count = self.count
        return True


def _copy_into(copies: list[np.ndarray] | None, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """``copies`` refreshed from ``arrays`` in place, or new copies when the shapes changed."""
    if (
        copies is None
        or len(copies) != len(arrays)
        or any(c.shape != a.shape for c, a in zip(copies, arrays, strict=True))
    ):
        return [a.copy() for a in arrays]
    for c, a in zip(copies, arrays, strict=True):
        np.copyto(c, a)
    return copies


def divergence_check(trainer: Any, n: int, loss: float) -> None:
    """Run the guard after step ``n`` (applied, with finite ``loss``); see the module docstring."""
    cfg = trainer.config
    if cfg.on_divergence == "off" or not math.isfinite(loss):
        return
    guard = getattr(trainer, "_divergence_guard", None)
    if guard is None:
        guard = trainer._divergence_guard = _Guard(trainer.history)
    if guard.update(trainer, n, loss):
        _act(trainer, guard, n, loss, trainer.batch_in_epoch + 1)


def divergence_epoch_end(trainer: Any) -> None:
    """At the end of an epoch, act when the diverged steps in a row cover at least half
    of the epoch's steps (and two): a short run that diverged early is caught too."""
    guard = getattr(trainer, "_divergence_guard", None)
    if guard is None or guard.fired or trainer.config.on_divergence == "off" or guard.run < 2:
        return
    if 2 * guard.run >= trainer.step - trainer._epoch_first_step:
        _act(trainer, guard, trainer.step, trainer.history.steps["loss"][-1], max(trainer.batch_in_epoch, 1))


def _act(trainer: Any, guard: _Guard, n: int, loss: float, batch: int) -> None:
    cfg = trainer.config
    guard.fired = True
    lr = float(trainer.optimizer.lr)
    what = (
        f"the loss diverged: {loss:.4g} after {guard.run} steps in a row above "
        f"{cfg.divergence_factor:g} x its best ({guard.best:.4g}) and above its first value ({guard.first:.4g})"
    )
    cause = f"the learning rate ({lr:.3g}) is too high" + (
        "" if cfg.clip_norm is not None else ", and no clip_norm bounds the updates"
    )
    remedy = f"lower the learning rate (now {lr:.3g})" + (
        "" if cfg.clip_norm is not None else " or set clip_norm (e.g. 1.0)"
    )
    if cfg.on_divergence == "warn":
        warnings.warn(
            f"step {n} (epoch {trainer.epoch + 1}): {what}. Likely cause: {cause}; hint: {remedy}, "
            "or on_divergence='stop' to stop such runs",
            DivergenceWarning,
            stacklevel=4,
        )
        return
    restored = guard.restore(trainer)
    good = guard.best_step - 1 if restored and guard.best_step is not None else n
    state = (
        f"The parameters are restored to those after step {good}, which gave the best loss"
        if restored
        else f"The parameters are those after step {n}"
    )
    stop_training(trainer, n, "diverged", what, cause, remedy, lr, state, good_step=good, batch=batch)
