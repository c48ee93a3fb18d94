"""The fault policy of training: a non-finite value ends a step as a clean stop, or a skip.

A step whose loss, gradient or floating-point arithmetic is not finite is never applied:
the gradients are zeroed, and with ``TrainConfig(on_nonfinite="stop")`` (the default)
:class:`TrainingError` is raised naming the step, the cause and a remedy, while the
parameters stay those after the last good step; with ``"skip"`` the step is recorded as
skipped in the history and training goes on.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TrainingError", "nonfinite_step"]


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss or gradient); the message says what to try.

    Attributes: ``step`` (the step that failed, counted from 1) and ``history``.
    """


def describe_nonfinite(model, loss: float, norm: float, error: BaseException | None) -> str:
    """What was not finite: a floating-point error, the loss, or which gradients."""
    if error is not None:
        return f"floating-point error ({error})"
    if not math.isfinite(loss):
        return f"loss is {loss}"
    bad = [name for name, _, g in model.named_parameters() if not np.isfinite(g).all()]
    if bad:
        return f"gradient has NaN/inf in {bad[:3]}" + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    return f"gradient norm is {norm}"


def nonfinite_step(trainer, n: int, loss: float, norm: float, lr: float, error: BaseException | None) -> None:
    """Apply the policy to step ``n`` of ``trainer``, whose update has not been applied.

    Raises :class:`TrainingError` under ``on_nonfinite="stop"``; otherwise records the step
    as skipped. Either way the model's gradients are zeroed.
    """
    what = describe_nonfinite(trainer.model, loss, norm, error)
    trainer.model.zero_grad()
    if trainer.config.on_nonfinite == "stop":
        err = TrainingError(
            f"step {n} (epoch {trainer.epoch}, batch {trainer.batch_in_epoch}): {what}. The update was not "
            f"applied: the parameters are those after step {n - 1}. Hint: lower the learning rate "
            f"(now {lr:.3g}), set clip_norm (e.g. 1.0), check the data for NaN/inf, or set "
            "on_nonfinite='skip' to drop such steps")
        err.step, err.history = n, trainer.history
        raise err
    trainer.step = n
    trainer.history.record_step(loss, math.nan, lr, skipped=True)
