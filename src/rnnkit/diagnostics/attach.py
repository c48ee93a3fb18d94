"""Attach a :class:`DiagnosticsMonitor` to a network or estimator trained by any loop.

:meth:`DiagnosticsMonitor.callback` serves :class:`rnnkit.train.Trainer`; these helpers
serve everything else by wrapping ``net.loss_and_grad`` (an instance attribute, removed
by :func:`detach`). Every call is one training step, numbered from 1:

    call n:  after_update(n - 1)  ->  before_step(n)  ->  loss_and_grad  ->  after_backward(n)

so the previous step's parameter update is measured when the next step starts (the
optimizer ran in between), and :func:`detach` measures the last one. On steps that are
not due the wrapper adds one function call, a modulo and a float test.

For a scikit-learn style estimator, whose ``fit`` builds a new network, :func:`watch_fit`
wraps the estimator's ``_train(net, ...)`` for one ``fit`` so the monitor attaches to the
network it trains (or, for a language model trained by truncated BPTT, to the
:class:`rnnkit.train.bptt.TBPTT` driver around it, whose ``loss_and_grad`` is one update).
"""

from __future__ import annotations

from ..nn.module import Module
from .monitor import DiagnosticsMonitor


def attach(net, *, module=None, **monitor_kwargs) -> DiagnosticsMonitor:
    """A monitor on ``net`` (anything with ``loss_and_grad``), attached until :func:`detach`.

    ``module``: the Module holding the recurrent layers, when ``net`` is a driver around
    it (default: ``net`` itself, or ``net.model``).
    """
    if not callable(getattr(net, "loss_and_grad", None)):
        raise TypeError(f"net: expected a network with loss_and_grad(batch), got {type(net).__name__}")
    if "loss_and_grad" in vars(net):
        raise ValueError("net: a monitor is already attached; hint: detach(net) first")
    if module is None:
        module = net if isinstance(net, Module) else getattr(net, "model", net)
    mon = DiagnosticsMonitor(module, **monitor_kwargs)
    bound = net.loss_and_grad
    state = {"calls": 0, "pending": None}

    def loss_and_grad(batch):
        if state["pending"] is not None:
            mon.after_update(state["pending"])
            state["pending"] = None
        state["calls"] += 1
        step = state["calls"]
        mon.before_step(step)
        try:
            loss = bound(batch)
        except BaseException:
            mon.disarm()
            raise
        mon.after_backward(step, loss)
        state["pending"] = step
        return loss

    net.loss_and_grad = loss_and_grad
    net._diagnostics = (mon, state)
    return mon


def detach(net) -> DiagnosticsMonitor:
    """Remove the wrapper (measuring the last step's update); returns the monitor."""
    mon, state = vars(net).pop("_diagnostics", (None, None))
    if mon is None:
        raise ValueError("net: no monitor is attached")
    vars(net).pop("loss_and_grad", None)
    if state["pending"] is not None:
        mon.after_update(state["pending"])
    mon.disarm()
    return mon


class watch_fit:
    """Context manager: monitor the network an estimator trains during ``fit``.

        with watch_fit(model, every=5) as watch:
            model.fit(X, y)
        watch.monitor.write_report("report/")

    Works for estimators that train through ``self._train(net, ...)`` (all of
    :mod:`rnnkit.models`). The wrapper is removed when the block ends.
    """

    def __init__(self, estimator, **monitor_kwargs) -> None:
        if not callable(getattr(estimator, "_train", None)):
            raise TypeError(f"estimator: expected an rnnkit model (with _train), got {type(estimator).__name__}")
        self.estimator = estimator
        self.kwargs = monitor_kwargs
        self.monitor: DiagnosticsMonitor | None = None

    def __enter__(self) -> watch_fit:
        train = self.estimator._train

        def _train(net, *args, **kwargs):
            if self.monitor is not None:  # a second training in one fit: leave it alone
                return train(net, *args, **kwargs)
            self.monitor = attach(net, **self.kwargs)
            try:
                return train(net, *args, **kwargs)
            finally:
                detach(net)

        self.estimator._train = _train
        return self

    def __exit__(self, *exc) -> None:
        vars(self.estimator).pop("_train", None)
