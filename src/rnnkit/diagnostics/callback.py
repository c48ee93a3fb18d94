"""A :class:`DiagnosticsMonitor` driving itself from :class:`rnnkit.train.Trainer`'s hooks."""

from __future__ import annotations

from ..train.callbacks import Callback


class DiagnosticsCallback(Callback):
    """Arms the monitor before due steps and reads it back after them.

    The trainer's hooks fire after a step; what must happen between backward and the
    clip happens in a one-call wrapper around ``model.loss_and_grad`` installed (as an
    instance attribute) only on due steps. Nothing is wrapped on other steps.
    """

    def __init__(self, monitor) -> None:
        self.monitor = monitor
        self._observed = None
        self._model = None

    def on_train_begin(self, ctx) -> None:
        self._arm(ctx.trainer.model, ctx.step + 1)

    def on_step_end(self, ctx) -> None:
        mon, logs = self.monitor, ctx.logs
        if logs.get("skipped"):  # a non-finite step: the same step number comes again
            mon.disarm()
            self._unwrap()
            if self._observed != ctx.step + 1:
                mon.observe(ctx.step + 1, logs.get("loss", float("nan")))
            self._observed = None
            self._arm(ctx.trainer.model, ctx.step + 1)
            return
        if self._observed != ctx.step:
            mon.observe(ctx.step, logs["loss"])
        mon.observe_grad_norm(ctx.step, logs["grad_norm"])
        mon.after_update(ctx.step)
        self._arm(ctx.trainer.model, ctx.step + 1)

    def on_train_end(self, ctx) -> None:
        self._unwrap()
        self.monitor.disarm()

    def _arm(self, model, step: int) -> None:
        mon = self.monitor
        if step in mon.record.steps or not mon.before_step(step):
            return
        bound = model.loss_and_grad
        self._model = model

        def loss_and_grad(batch):
            self._unwrap()
            try:
                loss = bound(batch)
            except BaseException:
                mon.disarm()
                raise
            mon.after_backward(step, loss)
            self._observed = step
            return loss

        model.loss_and_grad = loss_and_grad

    def _unwrap(self) -> None:
        if self._model is not None:
            self._model.__dict__.pop("loss_and_grad", None)
            self._model = None
