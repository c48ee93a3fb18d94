"""A :class:`DiagnosticsMonitor` on a network trained by a loop of your own, or by an estimator.

:class:`rnnkit.train.Trainer` drives a monitor from its step hooks (:meth:`DiagnosticsMonitor.callback`).
A loop of your own trains the wrapper :func:`attach` returns, a :class:`Monitored`, instead of
the network: its ``loss_and_grad`` runs the monitor's hooks around the network's, and every
other attribute (``named_parameters``, ``grads``, ``zero_grad``, ...) is the network's. Nothing
is set on the network itself. Every call is one training step, numbered from 1::

    call n:  after_update(n - 1)  ->  before_step(n)  ->  net.loss_and_grad  ->  after_backward(n)

so the previous step's parameter update is measured when the next step starts (the
optimizer ran in between), and :func:`detach` measures the last one. On steps that are
not due the wrapper adds one function call, a modulo and a float test::

    monitored = attach(net, every=5)
    opt = SGD(monitored, lr=0.1)                # the network's parameters
    for batch in batches:
        monitored.zero_grad()
        monitored.loss_and_grad(batch)
        opt.step()
    detach(monitored).write_report("report/")

For a scikit-learn style estimator, whose ``fit`` builds a new network, :func:`watch_fit`
gives a Trainer callback that builds its monitor on the network the estimator trains (for a
language model trained by truncated BPTT, on the network inside the
:class:`rnnkit.train.bptt.TBPTT` driver, whose ``loss_and_grad`` is one update).
"""

from __future__ import annotations

import inspect
from typing import Any

from ..nn.module import Module
from .callback import DiagnosticsCallback, recurrent_module
from .monitor import DiagnosticsMonitor, _check_every

__all__ = ["Monitored", "attach", "detach", "watch_fit"]


class Monitored:
    """``net`` trained under ``monitor``: call this wrapper's ``loss_and_grad`` in the loop.

    Args:
        net: anything with ``loss_and_grad(batch)`` (a network, or a driver such as ``TBPTT``).
        monitor: a :class:`DiagnosticsMonitor` on ``net``'s recurrent layers.

    Attributes: ``net``, ``monitor``, ``calls`` (steps so far). Any other attribute is read
    from ``net``.
    """

    def __init__(self, net: Any, monitor: DiagnosticsMonitor) -> None:
        if isinstance(net, Monitored):
            raise ValueError("net: already monitored; hint: detach(net) and attach the network itself again")
        if not callable(getattr(net, "loss_and_grad", None)):
            raise TypeError(f"net: expected a network with loss_and_grad(batch), got {type(net).__name__}")
        if not isinstance(monitor, DiagnosticsMonitor):
            raise TypeError(f"monitor: expected a DiagnosticsMonitor, got {type(monitor).__name__}")
        self.net, self.monitor = net, monitor
        self.calls = 0
        self._pending: int | None = None  # a step whose update is measured when the next one starts
        self._detached = False

    def loss_and_grad(self, batch: Any) -> float:
        """One training step: ``net.loss_and_grad(batch)`` with the monitor's hooks around it."""
        if self._detached:
            raise ValueError("net: the monitor was detached; hint: train the network itself now")
        mon = self.monitor
        if self._pending is not None:
            mon.after_update(self._pending)
            self._pending = None
        self.calls += 1
        step = self.calls
        mon.before_step(step)
        try:
            loss = self.net.loss_and_grad(batch)
        except BaseException:
            mon.disarm()
            raise
        mon.after_backward(step, loss)
        self._pending = step
        return loss

    def detach(self) -> DiagnosticsMonitor:
        """End monitoring (measuring the last step's update); returns the monitor. Idempotent."""
        if not self._detached:
            if self._pending is not None:
                self.monitor.after_update(self._pending)
                self._pending = None
            self.monitor.disarm()
            self._detached = True
        return self.monitor

    def __getattr__(self, name: str) -> Any:
        # Only for names the wrapper lacks: the network's parameters, grads, zero_grad, ...
        net = vars(self).get("net")
        if net is None:
            raise AttributeError(name)
        return getattr(net, name)

    def __repr__(self) -> str:
        return f"Monitored({self.net!r}, every={self.monitor.every}, calls={self.calls})"


def attach(net: Any, *, module: Module | None = None, **monitor_kwargs: Any) -> Monitored:
    """``net`` (anything with ``loss_and_grad``) wrapped with a new :class:`DiagnosticsMonitor`.

    Train the returned :class:`Monitored` in place of ``net``; :func:`detach` ends it.

    Args:
        module: the Module holding the recurrent layers, when ``net`` is a driver around it
            (default: ``net`` itself, or ``net.model``).
        **monitor_kwargs: the monitor's settings (``every``, ``first``, ``eps``, ``thresholds``,
            ``warn``).
    """
    if isinstance(net, Monitored):
        raise ValueError("net: already monitored; hint: detach(net) and attach the network itself again")
    if not callable(getattr(net, "loss_and_grad", None)):
        raise TypeError(f"net: expected a network with loss_and_grad(batch), got {type(net).__name__}")
    mon = DiagnosticsMonitor(recurrent_module(net) if module is None else module, **monitor_kwargs)
    return Monitored(net, mon)


def detach(monitored: Monitored) -> DiagnosticsMonitor:
    """End monitoring (measuring the last step's update); returns the monitor."""
    if not isinstance(monitored, Monitored):
        raise TypeError(
            f"monitored: expected what attach(net) returned, got {type(monitored).__name__}; "
            "hint: monitored = attach(net); train monitored; detach(monitored)"
        )
    return monitored.detach()


def watch_fit(**monitor_kwargs: Any) -> DiagnosticsCallback:
    """A Trainer callback that monitors the network an estimator's ``fit`` builds and trains::

        watch = watch_fit(every=5)
        model.fit(X, y, callbacks=[watch])
        watch.monitor.write_report("report/")

    ``monitor_kwargs``: the monitor's settings (``every``, ``first``, ``eps``,
    ``thresholds``, ``warn``), checked now. The monitor is built when training begins
    (``watch.monitor`` is None before), on the network the Trainer fits, or on the network
    inside its driver (``TBPTT(net).model``).
    """
    try:
        inspect.signature(DiagnosticsMonitor).bind(None, **monitor_kwargs)
    except TypeError as exc:
        raise TypeError(f"monitor_kwargs: {exc}; valid: every, first, eps, thresholds, warn") from None
    if "every" in monitor_kwargs:
        _check_every(monitor_kwargs["every"])
    return DiagnosticsCallback(lambda module: DiagnosticsMonitor(module, **monitor_kwargs))
