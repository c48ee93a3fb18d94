"""What the training loop records and the hooks it calls: History and callbacks.

:class:`History` is the record of a run: one entry per step (loss, pre-clip gradient norm,
learning rate, whether the step was skipped), one dict per epoch (mean training loss,
validation metrics, learning rate, seconds, steps) and, when asked for, per-time-step
gradient norms of the recurrent layers.

A callback subclasses :class:`Callback` and overrides any of its hooks, which
:meth:`rnnkit.train.Trainer.fit` calls in this order::

    on_train_begin
        for each epoch:
            for each step:
                on_step_begin       before model.zero_grad() and model.loss_and_grad(batch)
                on_after_backward   the loss is known and the gradients are in place (summed
                                    over the ranks under mpiexec); before the finite check,
                                    clipping and the optimizer update
                on_step_end         after the update, or after a skipped (non-finite) step
            on_validation_begin after the epoch's steps, before validation (if any)
            on_epoch_end            after validation and the schedule
    on_train_end
    on_exception                    instead of the rest, when an exception leaves fit()

Every step calls all three step hooks, skipped steps included (a skipped step's number
comes again). ``ctx`` is a :class:`Context`: the trainer (so ``ctx.model``,
``ctx.optimizer``, ``ctx.history``), the epoch and step counters (``ctx.step`` counts the
steps done, so the step under way in ``on_step_begin`` and ``on_after_backward`` is
``ctx.step + 1``) and ``ctx.logs``: nothing in ``on_step_begin``; ``loss`` and ``error``
(the non-finite fault that forward or backward raised, else None) in
``on_after_backward``; the values of the step (``loss``, ``grad_norm``, ``lr``,
``skipped``) in ``on_step_end``; nothing in ``on_validation_begin``; those of the epoch
(``loss``, ``val_loss``, ...) in ``on_epoch_end``; ``exception`` in ``on_exception``. Setting
``ctx.trainer.stop_training = True`` ends training after the current step.

A callback with state that must survive :meth:`rnnkit.train.Trainer.save` implements
``state_dict() -> dict`` (JSON values; arrays under the key ``"arrays"``) and
``load_state_dict(d)``.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..optim.optimizer import Optimizer
from ..utils.atomic import atomic_write

__all__ = ["Callback", "Context", "History", "EarlyStopping", "CheckpointEvery", "MetricLog", "LambdaCallback"]

STEP_KEYS = ("loss", "grad_norm", "lr", "skipped")


class History:
    """The record of a run.

    Attributes:
        steps: ``{"loss", "grad_norm", "lr", "skipped"}`` -> one value per step (Python
            lists); ``grad_norm`` is the global norm *before* clipping; a skipped step
            (non-finite, ``on_nonfinite="skip"``) has ``skipped`` True and norm NaN.
        epochs: one dict per finished epoch: ``epoch``, ``loss`` (mean step loss of the
            epoch), validation metrics (``val_loss``...), ``lr``, ``time`` (s), ``steps``,
            ``skipped``.
        grad_flow: ``{"step", "layer", "key", "norms"}`` per recorded layer and step:
            ``norms[t] = ||dL/dh_t||`` over the batch (see ``TrainConfig.grad_flow_every``).
        best_epoch: the epoch early stopping kept (None without early stopping).
        stop_reason: ``"completed"``, ``"early_stopping"``, ``"callback"``,
            ``"max_steps"`` (paused: resumable) or None while training.
    """

    def __init__(self) -> None:
        self.steps: dict[str, list] = {k: [] for k in STEP_KEYS}
        self.epochs: list[dict] = []
        self.grad_flow: list[dict] = []
        self.best_epoch: int | None = None
        self.stop_reason: str | None = None

    def record_step(self, loss: float, grad_norm: float, lr: float, skipped: bool = False) -> None:
        self.steps["loss"].append(float(loss))
        self.steps["grad_norm"].append(float(grad_norm))
        self.steps["lr"].append(float(lr))
        self.steps["skipped"].append(bool(skipped))

    @property
    def num_steps(self) -> int:
        return len(self.steps["loss"])

    def metric(self, name: str) -> list:
        """One value per epoch of ``name`` (``"loss"``, ``"val_loss"``...); None where missing."""
        if not any(name in e for e in self.epochs):
            known = sorted({k for e in self.epochs for k in e})
            raise KeyError(f"name: no epoch recorded {name!r}; recorded: {known}")
        return [e.get(name) for e in self.epochs]

    def __getitem__(self, name: str) -> list:
        return self.metric(name)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = ", ".join(
            f"{k}={v:.4g}"
            for k, v in (self.epochs[-1].items() if self.epochs else ())
            if isinstance(v, float) and k != "time"
        )
        return f"History({len(self.epochs)} epochs, {self.num_steps} steps{', ' + last if last else ''})"

    # -- persistence (used by Trainer.save / Trainer.load) --------------------------------
    def state_dict(self) -> dict:
        """JSON part plus ``"arrays"``: the per-step lists as float64/bool arrays."""
        arrays = {k: np.asarray(v, dtype=bool if k == "skipped" else np.float64) for k, v in self.steps.items()}
        return {
            "epochs": [dict(e) for e in self.epochs],
            "grad_flow": [dict(g) for g in self.grad_flow],
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            "arrays": arrays,
        }

    def load_state_dict(self, d: dict) -> None:
        arrays = d["arrays"]
        lengths = {len(arrays[k]) for k in STEP_KEYS}
        if len(lengths) != 1:
            raise ValueError(f"history: expected per-step arrays of one length, got lengths {sorted(lengths)}")
        self.steps = {k: [bool(x) if k == "skipped" else float(x) for x in arrays[k]] for k in STEP_KEYS}
        self.epochs = [dict(e) for e in d["epochs"]]
        self.grad_flow = [dict(g) for g in d["grad_flow"]]
        self.best_epoch, self.stop_reason = d["best_epoch"], d["stop_reason"]


@dataclass
class Context:
    """What a callback receives: the trainer and the counters at this point.

    ``step`` counts steps done so far (1 after the first step; the step under way in
    ``on_step_begin`` and ``on_after_backward`` is ``step + 1``); ``epoch`` is the epoch
    being trained (0-based) or, in ``on_epoch_end``, the epoch just finished.
    """

    trainer: Any  # a Trainer (trainer.py imports this module, not the other way round)
    epoch: int
    step: int
    logs: dict = field(default_factory=dict)

    @property
    def model(self) -> Any:
        return self.trainer.model

    @property
    def optimizer(self) -> Optimizer:
        return self.trainer.optimizer

    @property
    def history(self) -> History:
        return self.trainer.history


class Callback:
    """Base class: every hook does nothing. The order of the hooks is in the module docstring."""

    def on_train_begin(self, ctx: Context) -> None:
        pass

    def on_step_begin(self, ctx: Context) -> None:
        pass

    def on_after_backward(self, ctx: Context) -> None:
        pass

    def on_step_end(self, ctx: Context) -> None:
        pass

    def on_validation_begin(self, ctx: Context) -> None:
        pass

    def on_epoch_end(self, ctx: Context) -> None:
        pass

    def on_train_end(self, ctx: Context) -> None:
        pass

    def on_exception(self, ctx: Context) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Improvement in ``mode="min"`` means ``value < best - min_delta`` (``"max"`` mirrors
    it); a NaN never improves. With ``restore_best`` the parameters of the best epoch are
    copied back when training ends (by early stopping or by running out of epochs; not
    when paused by ``max_steps``, so that a paused run resumes exactly).

    Args:
        monitor: an epoch metric such as ``"val_loss"`` or ``"loss"``; ``"auto"`` is
            ``"val_loss"`` when validating, else ``"loss"``.
        patience: epochs without improvement that are tolerated; the next one stops
            training (0: stop at the first epoch that does not improve).
    """

    def __init__(
        self,
        monitor: str = "auto",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "min",
        restore_best: bool = True,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience: expected an int >= 0, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"min_delta: expected a number >= 0, got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode: expected 'min' or 'max', got {mode!r}")
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor: expected a metric name such as 'val_loss', got {monitor!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode, self.restore_best = mode, bool(restore_best)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped = False
        self._best_state: dict | None = None

    def on_train_begin(self, ctx: Context) -> None:
        if self.monitor == "auto":
            self.monitor = ctx.trainer.monitor

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, ctx: Context) -> None:
        if self.monitor not in ctx.logs:
            raise KeyError(
                f"monitor: epoch metrics have no {self.monitor!r}; available: "
                f"{sorted(ctx.logs)}; hint: pass val= to fit() or monitor 'loss'"
            )
        value = float(ctx.logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, ctx.epoch, 0
            if self.restore_best:
                self._best_state = ctx.model.state_dict()
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.stopped = True
                ctx.trainer.stop_training = True
                ctx.trainer.stop_reason = "early_stopping"
        ctx.history.best_epoch = self.best_epoch

    def on_train_end(self, ctx: Context) -> None:
        if self.restore_best and self._best_state is not None and ctx.history.stop_reason != "max_steps":
            ctx.model.load_state_dict(self._best_state)

    def state_dict(self) -> dict:
        return {
            "monitor": self.monitor,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped": self.stopped,
            "arrays": dict(self._best_state or {}),
        }

    def load_state_dict(self, d: dict) -> None:
        self.monitor, self.best, self.best_epoch = d["monitor"], d["best"], d["best_epoch"]
        self.wait, self.stopped = int(d["wait"]), bool(d["stopped"])
        self._best_state = {k: np.array(v) for k, v in d["arrays"].items()} or None


class CheckpointEvery(Callback):
    """Save the trainer (:meth:`rnnkit.train.Trainer.save`) every ``every_steps`` steps and/or
    every ``every_epochs`` epochs.

    ``path`` may contain ``{step}`` and ``{epoch}`` to keep one file per save; without
    them the same file is replaced each time (atomically: a kill at any moment leaves
    the previous complete file).
    """

    def __init__(
        self, path: str | os.PathLike[str], every_steps: int | None = None, every_epochs: int | None = None
    ) -> None:
        for name, v in (("every_steps", every_steps), ("every_epochs", every_epochs)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name}: expected an int >= 1 or None, got {v!r}")
        if every_steps is None and every_epochs is None:
            raise ValueError(
                "every_steps, every_epochs: expected at least one of them, got neither; "
                "hint: CheckpointEvery(path, every_steps=100)"
            )
        self.path = str(path)
        self.every_steps, self.every_epochs = every_steps, every_epochs
        self.last_path: Path | None = None

    def _save(self, ctx: Context) -> None:
        self.last_path = ctx.trainer.save(self.path.format(step=ctx.step, epoch=ctx.epoch))

    def on_step_end(self, ctx: Context) -> None:
        if self.every_steps and ctx.step % self.every_steps == 0:
            self._save(ctx)

    def on_epoch_end(self, ctx: Context) -> None:
        if self.every_epochs and (ctx.epoch + 1) % self.every_epochs == 0:
            self._save(ctx)


class MetricLog(Callback):
    """Rewrite a CSV file of the epoch records (one row per epoch) after every epoch.

    Written atomically (:func:`rnnkit.utils.atomic.atomic_write`); columns are every metric
    seen so far, in order of first appearance.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def on_epoch_end(self, ctx: Context) -> None:
        rows = ctx.history.epochs
        columns: list[str] = []
        for r in rows:
            columns.extend(k for k in r if k not in columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
        with atomic_write(self.path, "w", parents=False) as fh:
            fh.write(buf.getvalue())


#: a callback function: receives the Context
Hook = Callable[[Context], None]


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_step_end=lambda ctx: ...)``."""

    def __init__(
        self,
        on_train_begin: Hook | None = None,
        on_step_end: Hook | None = None,
        on_epoch_end: Hook | None = None,
        on_train_end: Hook | None = None,
        *,
        on_step_begin: Hook | None = None,
        on_after_backward: Hook | None = None,
        on_exception: Hook | None = None,
    ) -> None:
        for name, fn in (
            ("on_train_begin", on_train_begin),
            ("on_step_begin", on_step_begin),
            ("on_after_backward", on_after_backward),
            ("on_step_end", on_step_end),
            ("on_epoch_end", on_epoch_end),
            ("on_train_end", on_train_end),
            ("on_exception", on_exception),
        ):
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"{name}: expected a function of one argument (ctx), got {fn!r}")
                setattr(self, name, fn)
