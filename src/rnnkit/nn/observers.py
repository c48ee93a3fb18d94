"""Observers of a recurrent layer: an extension point to watch forward and backward calls.

A tool that needs what a layer computes (the diagnostics read gate activations from the
forward cache and ``||dL/dh_t||`` per step from the backward) registers an observer, much
as PyTorch's ``register_forward_hook`` / ``register_full_backward_hook`` do::

    handle = layer.observe(obs)   # obs.after_forward / obs.after_backward on every call
    ...                           # train, evaluate: the layer's methods are its own
    handle.remove()               # or: with layer.observe(obs): ...

An observer only looks: it must not change the arrays it is handed. Without observers a
layer pays one falsy test per ``forward`` and per ``backward`` call, none per time step.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class LayerObserver:
    """What a layer calls; subclass it and override either method (both do nothing here).

    Any object with these two methods may observe a layer.
    """

    def after_forward(self, layer: Any, cache: Any) -> None:
        """After each ``forward``; ``cache`` is the :class:`RecurrentCache` it returned."""

    def after_backward(self, layer: Any, cache: Any, grad_flow: dict[str, np.ndarray]) -> None:
        """After each ``backward`` of ``cache`` (its parameter gradients accumulated).

        ``grad_flow``: this call's ``||dL/dh_t||`` (and ``||dL/dc_t||`` for an LSTM) per
        time step, shape (T,), keyed ``"h_l0"``, ``"c_l0_reverse"``, ... as
        ``layer.grad_flow``; empty unless ``layer.record_grad_flow`` is set.
        """


class ObserverHandle:
    """Returned by ``layer.observe(observer)``: ``remove()`` stops the calls (a second
    ``remove()`` does nothing); as a context manager it removes on exit."""

    def __init__(self, layer: Observable, observer: Any) -> None:
        self.layer, self.observer = layer, observer

    def remove(self) -> None:
        self.layer._observers = tuple(h for h in self.layer._observers if h is not self)

    def __enter__(self) -> ObserverHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Observable:
    """The ``observe`` extension point of a layer (a mixin of the recurrent driver)."""

    _observers: tuple[ObserverHandle, ...] = ()  # in registration order; replaced, never mutated

    @property
    def observers(self) -> tuple:
        """The observers now registered, in the order they are called."""
        return tuple(h.observer for h in self._observers)

    def observe(self, observer: Any) -> ObserverHandle:
        """Call ``observer.after_forward(layer, cache)`` after every ``forward`` and
        ``observer.after_backward(layer, cache, grad_flow)`` after every ``backward`` (see
        :class:`LayerObserver`) until the returned handle's ``remove()``."""
        missing = [m for m in ("after_forward", "after_backward") if not callable(getattr(observer, m, None))]
        if missing:
            raise TypeError(
                f"observer: expected an object with methods after_forward(layer, cache) and "
                f"after_backward(layer, cache, grad_flow), got {type(observer).__name__} without {', '.join(missing)}; "
                "hint: subclass rnnkit.nn.observers.LayerObserver"
            )
        handle = ObserverHandle(self, observer)
        self._observers = (*self._observers, handle)
        return handle

    def _notify_forward(self, cache: Any) -> None:
        for h in self._observers:
            h.observer.after_forward(self, cache)

    def _notify_backward(self, cache: Any, grad_flow: dict[str, np.ndarray]) -> None:
        for h in self._observers:
            h.observer.after_backward(self, cache, grad_flow)
