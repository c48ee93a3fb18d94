"""A :class:`DiagnosticsMonitor` driven by :class:`rnnkit.train.Trainer`'s step hooks.

The trainer's hooks (see :mod:`rnnkit.train.callbacks`) are the monitor's, one for one::

    on_step_begin       mon.before_step(n)           arm recording if step n is due
    on_after_backward   mon.after_backward(n, loss)  read the gradients before the clip
    on_step_end         mon.after_update(n)          measure the update; disarm

Steps are numbered as the trainer numbers them (``ctx.step + 1`` is the step under way). A
step the trainer skips (non-finite, ``on_nonfinite="skip"``) keeps its number, as in the
trainer's history: its loss is observed, it is recorded if it was due and its gradients
could be read, and it is disarmed without an update.
"""

from __future__ import annotations

from typing import Any

from ..nn.module import Module
from ..train.callbacks import Callback, Context


class DiagnosticsCallback(Callback):
    """Arms the monitor before due steps and reads it back after backward and after the update.

    Args:
        monitor: a :class:`~rnnkit.diagnostics.DiagnosticsMonitor` on the network the trainer
            fits (what ``monitor.callback()`` passes); or a function ``module -> monitor``,
            called when training begins with the trainer's model (the network inside it when
            the model is a driver such as :class:`rnnkit.train.bptt.TBPTT`, found as
            ``model.model``). The function suits an estimator, whose ``fit`` builds its
            network: see :func:`rnnkit.diagnostics.watch_fit`.

    Attributes: ``monitor`` (None until training begins when built by a function). A monitor
    built by a function watches the first network trained; a later training of another
    network with the same callback is left alone.
    """

    # A DiagnosticsMonitor; None only before on_train_begin builds it, and no hook reads it then.
    monitor: Any
    _build: Any  # module -> DiagnosticsMonitor, set exactly when monitor is None at first

    def __init__(self, monitor: object) -> None:  # a DiagnosticsMonitor or module -> one (monitor.py imports this)
        hooks = ("before_step", "after_backward", "after_update", "observe", "disarm")
        if callable(monitor):
            self.monitor, self._build = None, monitor
        elif all(callable(getattr(monitor, h, None)) for h in hooks):
            self.monitor, self._build = monitor, None
        else:
            raise TypeError(
                f"monitor: expected a DiagnosticsMonitor or a function module -> DiagnosticsMonitor, got "
                f"{type(monitor).__name__}; hint: monitor.callback(), or watch_fit(every=5) for an estimator"
            )
        self._active = True

    def on_train_begin(self, ctx: Context) -> None:
        if self.monitor is None:
            self.monitor = self._build(recurrent_module(ctx.model))
        elif self._build is not None:  # built for an earlier network: watch that one only
            self._active = self.monitor.module is recurrent_module(ctx.model)

    def on_step_begin(self, ctx: Context) -> None:
        if not self._active:
            return
        self.monitor.before_step(ctx.step + 1)

    def on_after_backward(self, ctx: Context) -> None:
        if not self._active:
            return
        mon, logs = self.monitor, ctx.logs
        if logs["error"] is not None:  # forward or backward raised: nothing to read
            mon.disarm()
            mon.observe(ctx.step + 1, logs["loss"])
        else:
            mon.after_backward(ctx.step + 1, logs["loss"])

    def on_step_end(self, ctx: Context) -> None:
        if not self._active:
            return
        mon, logs = self.monitor, ctx.logs
        if logs["skipped"]:  # not applied: nothing to measure
            mon.disarm()
            return
        mon.observe_grad_norm(ctx.step, logs["grad_norm"])
        mon.after_update(ctx.step)

    def on_train_end(self, ctx: Context | None) -> None:  # None: called by hand after a run
        if self._active:
            self.monitor.disarm()

    def on_exception(self, ctx: Context) -> None:
        if self._active and self.monitor is not None:
            self.monitor.disarm()


def recurrent_module(model: object) -> Module:
    """The Module holding a trainer model's recurrent layers: the model itself, or the network
    inside a driver that is not a Module (``TBPTT(net).model``)."""
    if isinstance(model, Module):
        return model
    inner = getattr(model, "model", None)
    if isinstance(inner, Module):
        return inner
    raise TypeError(
        f"model: expected an rnnkit Module, or a driver holding one as .model (such as TBPTT), "
        f"got {type(model).__name__}; hint: pass DiagnosticsCallback(DiagnosticsMonitor(net))"
    )
