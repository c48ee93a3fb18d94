"""NT-ASGD's averaging in the training loop: :class:`NonMonotoneAveraging`.

The trainer adds this callback (first of its built-in ones) when its optimizer declares
``averaging = "nonmonotone"`` (:class:`rnnkit.optim.optimizers.NTASGD`). Merity et al.
2017 (AWD-LSTM), with ``n = nonmono`` and ``v_1, ..., v_k`` the monitored metric of the
validations so far (``val_loss`` when validating, else the training loss)::

    at validation k:  trigger  if  k > n  and  v_k worse than  best(v_1, ..., v_{k-n-1})

From the trigger on, after every (not skipped) optimizer step, the parameters are folded
into a running mean (:class:`rnnkit.optim.averaging.RunningAverage`, ASGD's average); the
optimizer goes on updating the iterate. Validation, the epoch's callbacks (early stopping
and its best weights, checkpoints) and, after ``fit``, the model itself see the average:
the callback swaps it into the model before validation (``on_validation_begin``) and back
before the next step (``on_step_begin``), so between epochs and after training the model
holds the average and the callback the iterate. Its state (the metrics seen, the epoch of
the trigger, the average or the iterate, the count) is saved with the trainer, so a resumed
run goes on exactly. Every epoch record gets ``averaged`` (1 when that epoch's validation
evaluated the average, else 0); the trigger is logged once, with its epoch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..optim.averaging import RunningAverage
from ..utils.log import get_logger
from .callbacks import Callback, Context

__all__ = ["NonMonotoneAveraging", "nonmonotone_trigger"]

_LOG = get_logger("rnnkit.train")


def nonmonotone_trigger(values: list[float], value: float, nonmono: int, mode: str = "min") -> bool:
    """Whether ``value`` (the newest validation) triggers averaging after ``values`` (the
    earlier ones): there are more than ``nonmono`` earlier values and ``value`` is worse than
    the best of all but the last ``nonmono`` of them (AWD-LSTM's rule)."""
    if len(values) <= nonmono or not math.isfinite(value):
        return False
    old = [v for v in values[: len(values) - nonmono] if math.isfinite(v)]
    if not old:
        return False
    return value > min(old) if mode == "min" else value < max(old)


class NonMonotoneAveraging(Callback):
    """Average the weights once the monitored metric stops improving (see the module docstring).

    Args:
        model: the trained model (anything with ``named_parameters()``).
        nonmono: the validations the rule looks back over (AWD-LSTM's default 5).

    Attributes: ``values`` (the monitored metric per validation), ``triggered_epoch`` (the
    epoch whose validation triggered averaging, 0-based, or None), ``average`` (the
    :class:`RunningAverage`, built on the trigger).
    """

    def __init__(self, model: Any, nonmono: int = 5) -> None:
        self.model, self.nonmono = model, nonmono
        self.values: list[float] = []
        self.triggered_epoch: int | None = None
        self.average: RunningAverage | None = None

    def on_step_begin(self, ctx: Context) -> None:
        if self.average is not None and self.average.swapped:  # train the iterate, not the average
            self.average.swap()

    def on_step_end(self, ctx: Context) -> None:
        if self.average is not None and not ctx.logs.get("skipped", False):
            self.average.update()

    def on_validation_begin(self, ctx: Context) -> None:
        if self.average is not None and self.average.count and not self.average.swapped:
            self.average.swap()

    def on_epoch_end(self, ctx: Context) -> None:
        ctx.logs["averaged"] = int(self.average is not None and self.average.swapped)
        if self.triggered_epoch is not None:
            return
        trainer = ctx.trainer
        value = ctx.logs.get(trainer.monitor)
        if value is None:
            return
        value = float(value)
        if not math.isfinite(value):
            return
        if nonmonotone_trigger(self.values, value, self.nonmono, trainer.config.mode):
            self.triggered_epoch = ctx.epoch
            self.average = RunningAverage(self.model)
            if trainer.world.is_root:
                _LOG.info(
                    f"epoch {ctx.epoch + 1}: {trainer.monitor} {value:.4f} is worse than the best "
                    f"more than {self.nonmono} validations before: averaging the weights from here on (NT-ASGD)"
                )
        self.values.append(value)

    def on_train_end(self, ctx: Context) -> None:
        self.on_validation_begin(ctx)  # the fitted model is the average

    # -- persistence ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        out: dict = {"values": list(self.values), "triggered_epoch": self.triggered_epoch, "average": None}
        if self.average is not None:
            avg = self.average.state_dict()
            out["arrays"] = avg.pop("arrays")
            out["average"] = avg
        return out

    def load_state_dict(self, d: dict) -> None:
        self.values = [float(v) for v in d["values"]]
        self.triggered_epoch = d["triggered_epoch"]
        self.average = None
        if d["average"] is not None:
            self.average = RunningAverage(self.model)
            self.average.load_state_dict(dict(d["average"], arrays={k: np.asarray(v) for k, v in d["arrays"].items()}))
