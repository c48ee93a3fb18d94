"""The fault policy of training: every non-finite value ends a step as a clean stop, or a skip.

Where a non-finite value can appear, and how it is caught:

- forward and backward (``model.loss_and_grad``): a NaN/inf loss, a layer's input check
  (``x: contains NaN or inf``, ``dout: ...``, raised as :class:`~rnnkit.nn.NonFiniteError`)
  or a NumPy floating-point error under ``numpy.seterr(all="raise")``;
- the gradients: a non-finite global norm;
- the optimizer update: parameters or optimizer state not finite after the step (the
  state before the step is kept aside, so the update can be undone);
- validation: a non-finite validation loss.

A step that fails is never applied. With ``TrainConfig(on_nonfinite="stop")`` (the
default) :class:`TrainingError` is raised naming the step, the epoch and batch (counted
from 1, as in ``metrics.csv``), what was not finite, the likely cause and a remedy; the
model holds the parameters after the last good step (the initial ones if no step
succeeded; see below for a loss that ran away), and when ``checkpoint_path`` is set the trainer is saved there. With
``"skip"`` the step is recorded as skipped and training goes on. NumPy's overflow
warnings are silenced inside the step (the checks above report the fault instead); a
``numpy.seterr(all="raise")`` set by the caller is kept.

The divergence guard (:mod:`rnnkit.train.divergence`) stops the same way; when the last
good parameters gave a loss that is not finite or ran away, it restores those of the best
loss instead (under ``on_divergence="stop"``), or marks the stop ``resumable=False``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from ..nn import NonFiniteError
from ..optim.optimizer import Optimizer

if TYPE_CHECKING:
    from .callbacks import History

# ``trainer: Any`` below is a Trainer: rnnkit.train.trainer imports this module, so the
# class cannot be named here (imports form no cycle, not even for types).

__all__ = [
    "TrainingError",
    "nonfinite_step",
    "forward_backward",
    "apply_update",
    "validate",
    "stop_training",
    "NONFINITE_ERRORS",
]

#: what a step's forward and backward raise when a value is not finite
NONFINITE_ERRORS = (FloatingPointError, NonFiniteError)


class TrainingError(RuntimeError):
    """Training stopped cleanly: a non-finite value, or a loss that diverged.

    Attributes:
        step: the step that failed, counted from 1.
        epoch, batch: where it failed, counted from 1 (``epoch`` as in ``metrics.csv``).
        kind: ``"nonfinite"`` or ``"diverged"``.
        what: what went wrong (``"loss is inf"``...); cause: the likely cause; remedy: what
            to try (in ``TrainConfig`` terms).
        good_step: the step whose parameters the model holds (0: the initial ones).
        resumable: False when those parameters are not sane (their loss ran away, and no
            copy of the best ones was kept): continuing from them would stop again.
        lr: the learning rate of the failed step.
        history: the run's :class:`~rnnkit.train.callbacks.History`; trainer: the trainer,
            restored to its last good state (``trainer.save(path)`` keeps it).
    """

    step: int | None
    epoch: int | None
    batch: int | None
    good_step: int | None
    kind: str | None
    what: str | None
    cause: str | None
    remedy: str | None
    lr: float
    history: History | None
    trainer: Any
    resumable: bool

    def __init__(self, message: str, **info: object) -> None:
        super().__init__(message)
        self.step = self.epoch = self.batch = self.good_step = None
        self.kind = self.what = self.cause = self.remedy = None
        self.lr, self.history, self.trainer, self.resumable = math.nan, None, None, True
        for key, value in info.items():
            setattr(self, key, value)


# -- forward and backward ----------------------------------------------------------------
def quiet_numpy() -> np.errstate:
    """``numpy.errstate`` with "warn" turned into "ignore" (over, invalid, divide); "raise" kept."""
    # ignore: a TypedDict's items() are typed as object, so geterr()'s literal values are lost
    return np.errstate(**{k: ("ignore" if v == "warn" else v) for k, v in np.geterr().items() if k != "under"})  # type: ignore[arg-type]


def forward_backward(trainer: Any, batch: object) -> tuple[float, BaseException | None]:
    """``trainer.model.loss_and_grad(batch)`` as ``(loss, error)``: a non-finite fault is
    returned (loss NaN), never raised. NumPy's "warn" becomes "ignore" for the step (the
    checks report the fault); "raise" is kept."""
    try:
        with quiet_numpy():
            return float(trainer.model.loss_and_grad(batch)), None
    except NONFINITE_ERRORS as exc:
        return math.nan, exc


# -- the optimizer update ----------------------------------------------------------------
class _Snapshot:
    """Copies of the parameters and optimizer slots before an update, to undo it."""

    def __init__(self, trainer: Any) -> None:
        self.params = [(p, np.empty_like(p)) for _, p, _ in trainer.model.named_parameters()]
        self.slots = [(a, np.empty_like(a)) for s in trainer.optimizer.state.values() for a in s.values()]

    def take(self, trainer: Any) -> None:
        for live, copy in self.params + self.slots:
            np.copyto(copy, live)
        self.count = trainer.optimizer.step_count

    def restore(self, trainer: Any) -> None:
        for live, copy in self.params + self.slots:
            np.copyto(live, copy)
        trainer.optimizer.step_count = self.count


def apply_update(trainer: Any, n: int, loss: float, norm: float, lr: float) -> bool:
    """Run ``trainer.optimizer.step()`` and check that the parameters and the optimizer
    state stay finite; if not, undo the update and apply the policy. True when applied."""
    snap = getattr(trainer, "_fault_snapshot", None)
    if snap is None or snap.slots and snap.slots[0][0] is not _first_slot(trainer.optimizer):
        snap = trainer._fault_snapshot = _Snapshot(trainer)
    snap.take(trainer)
    error = None
    try:
        with quiet_numpy():
            trainer.optimizer.step()
    except FloatingPointError as exc:
        error = exc
    bad = [name for name, p, _ in trainer.model.named_parameters() if not np.isfinite(p).all()]
    bad += [
        f"optimizer state of {name}"
        for name, s in trainer.optimizer.state.items()
        if not all(np.isfinite(a).all() for a in s.values())
    ]
    if error is None and not bad:
        return True
    snap.restore(trainer)
    what = (
        f"floating-point error in the optimizer update ({error})"
        if error is not None
        else "the optimizer update made " + _listing(bad) + " NaN/inf"
    )
    nonfinite_step(trainer, n, loss, norm, lr, None, what=what)
    return False


def _first_slot(optimizer: Optimizer) -> np.ndarray | None:
    for s in optimizer.state.values():
        for a in s.values():
            return a
    return None


def _listing(names: list) -> str:
    return f"{names[:3]}" + (f" and {len(names) - 3} more" if len(names) > 3 else "")


# -- the policy --------------------------------------------------------------------------
def describe_nonfinite(model: Any, loss: float, norm: float, error: BaseException | None) -> str:
    """What was not finite: a floating-point error, a layer's input, the loss, or which gradients."""
    if isinstance(error, NonFiniteError):
        return f"a layer's input is not finite ({error})"
    if error is not None:
        return f"floating-point error ({error})"
    if not math.isfinite(loss):
        return f"loss is {loss}"
    bad = [name for name, _, g in model.named_parameters() if not np.isfinite(g).all()]
    if bad:
        return "gradient has NaN/inf in " + _listing(bad)
    return f"gradient norm is {norm}"


def _batch_has_nonfinite(batch: object) -> bool:
    """True when an array in ``batch`` (a tuple, dict or object of arrays) holds NaN/inf."""
    parts = (
        batch.values()
        if isinstance(batch, dict)
        else (batch if isinstance(batch, (tuple, list)) else getattr(batch, "__dict__", {}).values())
    )
    for part in parts:
        if isinstance(part, np.ndarray) and part.dtype.kind in "fc" and not np.isfinite(part).all():
            return True
    return False


def nonfinite_step(
    trainer: Any,
    n: int,
    loss: float,
    norm: float,
    lr: float,
    error: BaseException | None,
    *,
    what: str | None = None,
    batch: object = None,
) -> None:
    """Apply the policy to step ``n`` of ``trainer``, whose update has not been applied.

    Raises :class:`TrainingError` under ``on_nonfinite="stop"``; otherwise records the step
    as skipped. Either way the model's gradients are zeroed.
    """
    what = what or describe_nonfinite(trainer.model, loss, norm, error)
    trainer.model.zero_grad()
    if trainer.config.on_nonfinite == "stop":
        if batch is not None and _batch_has_nonfinite(batch):
            cause = "the batch's data holds NaN or inf"
            remedy = "drop or fill the NaN/inf values in the data"
        else:
            cause = f"the values overflowed: the learning rate ({lr:.3g}) is too high for this model" + (
                "" if trainer.config.clip_norm is not None else ", and no clip_norm bounds the updates"
            )
            remedy = (
                f"lower the learning rate (now {lr:.3g}), set clip_norm (e.g. 1.0), check the data for "
                "NaN/inf, or set on_nonfinite='skip' to drop such steps"
            )
        state = f"The update was not applied: the parameters are those after step {n - 1}" + (
            " (the initial ones)" if n == 1 else ""
        )
        good, resumable = n - 1, True
        if batch is None or not _batch_has_nonfinite(batch):
            state, good, resumable = _fall_back(trainer, state, good, loss)
        stop_training(trainer, n, "nonfinite", what, cause, remedy, lr, state, good_step=good, resumable=resumable)
    trainer.step = n
    trainer.history.record_step(loss, math.nan, lr, skipped=True)


def stop_training(
    trainer: Any,
    n: int,
    kind: str,
    what: str,
    cause: str,
    remedy: str,
    lr: float,
    state: str,
    good_step: int,
    batch: int | None = None,
    resumable: bool = True,
) -> NoReturn:
    """Raise the clean stop: save the trainer to ``checkpoint_path`` when configured.
    ``batch`` (from 1) defaults to the batch in progress."""
    epoch, batch = trainer.epoch + 1, trainer.batch_in_epoch + 1 if batch is None else batch
    saved = ""
    path = trainer.config.checkpoint_path
    if path:
        with contextlib.suppress(OSError):
            trainer.save(path)
            saved = f" and saved to {path}"
    err = TrainingError(
        f"step {n} (epoch {epoch}, batch {batch}): {what}. Likely cause: {cause}. {state}{saved}. Hint: {remedy}",
        step=n,
        epoch=epoch,
        batch=batch,
        kind=kind,
        what=what,
        cause=cause,
        remedy=remedy,
        good_step=good_step,
        resumable=resumable,
        lr=lr,
        history=trainer.history,
        trainer=trainer,
    )
    raise err


def validate(trainer: Any, val: Iterable[Any] | Callable[[], Any]) -> dict:
    """``trainer.evaluate(val)``, with a non-finite validation loss as a fault: the policy
    stops (the parameters are finite but the model's outputs overflow) or, with
    ``"skip"``, records the loss as it is."""
    try:
        with quiet_numpy():
            metrics = trainer.evaluate(val)
    except NONFINITE_ERRORS:
        metrics = {"val_loss": math.nan}
    value = metrics.get("val_loss")
    if value is None or math.isfinite(value) or trainer.config.on_nonfinite != "stop":
        return metrics
    lr = float(trainer.optimizer.lr)
    state, good, resumable = _fall_back(
        trainer, f"The parameters are those after step {trainer.step}", trainer.step, value
    )
    stop_training(
        trainer,
        trainer.step,
        "nonfinite",
        f"the validation loss is {value}",
        "the weights grew until the model's outputs overflow: the learning rate "
        f"({lr:.3g}) is too high"
        + ("" if trainer.config.clip_norm is not None else " and no clip_norm bounds the updates"),
        f"lower the learning rate (now {lr:.3g}) or set clip_norm (e.g. 1.0)",
        lr,
        state,
        good_step=good,
        batch=max(trainer.batch_in_epoch, 1),
        resumable=resumable,
    )


def _fall_back(trainer: Any, state: str, good_step: int, loss: float) -> tuple[str, int, bool]:
    """``(state, good_step, resumable)`` for a stop whose held parameters gave ``loss``: when
    that loss is not finite or ran away, the divergence guard (:mod:`rnnkit.train.divergence`)
    restores the parameters of the best loss, or says they cannot be continued from."""
    guard = getattr(trainer, "_divergence_guard", None)  # rnnkit.train.divergence._Guard
    return (state, good_step, True) if guard is None else guard.fall_back(trainer, state, good_step, loss)
