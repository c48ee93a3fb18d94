"""Learning-rate schedules that write an optimizer's ``lr`` once per ``.step()``.

Used like ``torch.optim.lr_scheduler``: build the schedule after the optimizer, then call
``optimizer.step()`` and ``schedule.step()`` once per epoch (or per batch). Building it
applies step 0, so ``LinearWarmup`` lowers the learning rate right away, as PyTorch's
``LinearLR`` does. ``t`` below is the number of ``schedule.step()`` calls so far and
``lr_0`` the optimizer's learning rate when the schedule was built.

Step, exponential, cosine and warm-up schedules are closed forms ``lr_t = f(lr_0, t)``
(PyTorch uses equivalent recursive updates; the values agree to rounding), so a resumed
schedule recomputes ``lr`` exactly. ``ReduceLROnPlateau`` reacts to a metric instead.

State dicts are JSON-able: ``{"name", "hyper", "last_epoch", "base_lr", ...}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..utils.checks import check_number
from .optimizer import Optimizer

__all__ = [
    "Schedule",
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearWarmup",
    "ReduceLROnPlateau",
    "SCHEDULES",
    "make_schedule",
    "register_schedule",
    "unregister_schedule",
]


def _check_optimizer(optimizer: Optimizer) -> Optimizer:
    if not hasattr(optimizer, "lr"):
        raise TypeError(
            f"optimizer: expected an optimizer with an `lr` attribute, got {type(optimizer).__name__}; "
            "hint: make_optimizer('adam', model)"
        )
    return optimizer


def _check_int(arg: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{arg}: expected an int >= {low}, got {value!r}")
    return value


class Schedule:
    """A closed-form schedule: ``lr_t = lr_at(t)``, applied at build time and on every step."""

    name = ""

    def __init__(self, optimizer: Optimizer, hyper: dict) -> None:
        self.optimizer = _check_optimizer(optimizer)
        self.hyper = self._check_hyper(hyper)
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0
        self._apply()

    @staticmethod
    def _check_hyper(h: dict) -> dict:  # pragma: no cover - always overridden
        raise NotImplementedError

    def lr_at(self, t: int) -> float:  # pragma: no cover - always overridden
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and write the new learning rate into the optimizer."""
        self.last_epoch += 1
        self._apply()

    @property
    def last_lr(self) -> float:
        return float(self.optimizer.lr)

    def _apply(self) -> None:
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def state_dict(self) -> dict:
        return {"name": self.name, "hyper": dict(self.hyper), "last_epoch": self.last_epoch, "base_lr": self.base_lr}

    def load_state_dict(self, d: Mapping) -> None:
        """Restore a :meth:`state_dict` and rewrite the optimizer's ``lr`` for that step."""
        d = _check_state(self, d, {"last_epoch", "base_lr"})
        hyper = self._check_hyper(dict(d["hyper"]))
        last = _check_int("state['last_epoch']", d["last_epoch"], 0)
        base = check_number("state['base_lr']", d["base_lr"], low=0.0)
        self.hyper, self.last_epoch, self.base_lr = hyper, last, base
        self._apply()

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({hyper}, last_epoch={self.last_epoch})"


def _check_state(sched: Schedule | ReduceLROnPlateau, d: Any, extra: set) -> Mapping:
    if not isinstance(d, Mapping):
        raise TypeError(f"state: expected a mapping from state_dict(), got {type(d).__name__}")
    if d.get("name") != sched.name:
        raise ValueError(f"state['name']: expected {sched.name!r}, got {d.get('name')!r}")
    keys = {"name", "hyper"} | extra
    if set(d) != keys:
        raise ValueError(f"state: expected keys {sorted(keys)}, got {sorted(d)}")
    hyper = d["hyper"]
    if not isinstance(hyper, Mapping) or set(hyper) != set(sched.hyper):
        got = sorted(hyper) if isinstance(hyper, Mapping) else type(hyper).__name__
        raise ValueError(f"state['hyper']: expected keys {sorted(sched.hyper)}, got {got}")
    return d


class StepLR(Schedule):
    r""":math:`\mathrm{lr}_t = \mathrm{lr}_0\, \gamma^{\lfloor t / \text{step\_size} \rfloor}`."""

    name = "step"

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, dict(step_size=step_size, gamma=gamma))

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(
            step_size=_check_int("step_size", h["step_size"], 1),
            gamma=check_number("gamma", h["gamma"], low=0.0, low_open=True),
        )

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.hyper["gamma"] ** (t // self.hyper["step_size"])


class ExponentialLR(Schedule):
    r""":math:`\mathrm{lr}_t = \mathrm{lr}_0\, \gamma^t`."""

    name = "exponential"

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, dict(gamma=gamma))

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(gamma=check_number("gamma", h["gamma"], low=0.0, low_open=True))

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.hyper["gamma"] ** t


class CosineAnnealingLR(Schedule):
    r"""SGDR's cosine without restarts (Loshchilov & Hutter 2017):

    .. math::
        \mathrm{lr}_t = \eta_{min} + \tfrac12 (\mathrm{lr}_0 - \eta_{min})
            \left(1 + \cos\left(\pi\, t / T_{max}\right)\right)

    Past ``T_max`` the cosine keeps going (back up towards ``lr_0``), as in PyTorch.
    """

    name = "cosine"

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (torch's name)
        super().__init__(optimizer, dict(T_max=T_max, eta_min=eta_min))

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(T_max=_check_int("T_max", h["T_max"], 1), eta_min=check_number("eta_min", h["eta_min"], low=0.0))

    def lr_at(self, t: int) -> float:
        T, lo = self.hyper["T_max"], self.hyper["eta_min"]
        return lo + (self.base_lr - lo) * (1 + math.cos(math.pi * t / T)) / 2


class LinearWarmup(Schedule):
    r"""Linear warm-up from ``start_factor * lr_0`` to ``lr_0`` (PyTorch's ``LinearLR`` with
    ``end_factor=1``, ``total_iters=warmup_steps``), then constant:

    .. math::
        \mathrm{lr}_t = \mathrm{lr}_0 \left(s + (1 - s) \frac{\min(t, W)}{W}\right)
    """

    name = "linear_warmup"

    def __init__(self, optimizer: Optimizer, warmup_steps: int = 5, start_factor: float = 1.0 / 3) -> None:
        super().__init__(optimizer, dict(warmup_steps=warmup_steps, start_factor=start_factor))

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(
            warmup_steps=_check_int("warmup_steps", h["warmup_steps"], 1),
            start_factor=check_number("start_factor", h["start_factor"], low=0.0, high=1.0, low_open=True),
        )

    def lr_at(self, t: int) -> float:
        W, s = self.hyper["warmup_steps"], self.hyper["start_factor"]
        return self.base_lr * (s + (1.0 - s) * min(W, t) / W)


class ReduceLROnPlateau:
    r"""Multiply ``lr`` by ``factor`` when the metric has not improved for ``patience`` steps.

    An improvement in ``mode="min"`` is ``metric < best (1 - threshold)`` (``"rel"``) or
    ``metric < best - threshold`` (``"abs"``); ``"max"`` mirrors it. After a reduction,
    ``cooldown`` steps are ignored. ``lr`` never drops below ``min_lr``, and a reduction
    smaller than ``eps`` is skipped. Same rules and defaults as PyTorch.
    """

    name = "plateau"

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        self.optimizer = _check_optimizer(optimizer)
        self.hyper = self._check_hyper(
            dict(
                mode=mode,
                factor=factor,
                patience=patience,
                threshold=threshold,
                threshold_mode=threshold_mode,
                cooldown=cooldown,
                min_lr=min_lr,
                eps=eps,
            )
        )
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        if h["mode"] not in ("min", "max"):
            raise ValueError(f"mode: expected 'min' or 'max', got {h['mode']!r}")
        if h["threshold_mode"] not in ("rel", "abs"):
            raise ValueError(f"threshold_mode: expected 'rel' or 'abs', got {h['threshold_mode']!r}")
        return dict(
            mode=h["mode"],
            factor=check_number("factor", h["factor"], low=0.0, high=1.0, high_open=True),
            patience=_check_int("patience", h["patience"], 0),
            threshold=check_number("threshold", h["threshold"], low=0.0),
            threshold_mode=h["threshold_mode"],
            cooldown=_check_int("cooldown", h["cooldown"], 0),
            min_lr=check_number("min_lr", h["min_lr"], low=0.0),
            eps=check_number("eps", h["eps"], low=0.0),
        )

    def _is_better(self, a: float) -> bool:
        h, best, rel = self.hyper, self.best, self.hyper["threshold_mode"] == "rel"
        if h["mode"] == "min":
            return a < (best * (1.0 - h["threshold"]) if rel else best - h["threshold"])
        return a > (best * (h["threshold"] + 1.0) if rel else best + h["threshold"])

    def step(self, metric: float) -> None:
        """Record this step's ``metric`` (e.g. validation loss) and reduce ``lr`` if it stalled."""
        if isinstance(metric, bool) or not hasattr(metric, "__float__"):
            raise TypeError(f"metric: expected a number, got {type(metric).__name__} {metric!r}")
        current = float(metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.hyper["patience"]:
            old = float(self.optimizer.lr)
            new = max(old * self.hyper["factor"], self.hyper["min_lr"])
            if old - new > self.hyper["eps"]:
                self.optimizer.lr = new
            self.cooldown_counter = self.hyper["cooldown"]
            self.num_bad_epochs = 0

    @property
    def last_lr(self) -> float:
        return float(self.optimizer.lr)

    def state_dict(self) -> dict:
        # JSON has no infinity: the initial "nothing seen yet" best is stored as None.
        best = None if math.isinf(self.best) else self.best
        return {
            "name": self.name,
            "hyper": dict(self.hyper),
            "last_epoch": self.last_epoch,
            "best": best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    def load_state_dict(self, d: Mapping) -> None:
        """Restore counters and best metric; the optimizer's ``lr`` comes from its own state."""
        d = _check_state(self, d, {"last_epoch", "best", "num_bad_epochs", "cooldown_counter"})
        hyper = self._check_hyper(dict(d["hyper"]))
        last = _check_int("state['last_epoch']", d["last_epoch"], 0)
        bad = _check_int("state['num_bad_epochs']", d["num_bad_epochs"], 0)
        cool = _check_int("state['cooldown_counter']", d["cooldown_counter"], 0)
        if d["best"] is None:
            best = math.inf if hyper["mode"] == "min" else -math.inf
        else:
            best = check_number("state['best']", d["best"])
        self.hyper, self.last_epoch, self.best = hyper, last, best
        self.num_bad_epochs, self.cooldown_counter = bad, cool

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"ReduceLROnPlateau({hyper}, best={self.best!r})"


SCHEDULES: dict[str, type[Schedule] | type[ReduceLROnPlateau]] = {
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "linear_warmup": LinearWarmup,
    "plateau": ReduceLROnPlateau,
}


def register_schedule(name: str, cls: type) -> type:
    """Register ``cls`` as the schedule ``name`` (lower case, not taken); returns ``cls``.

    :data:`SCHEDULES` is the one list of schedules: ``make_schedule`` and ``TrainConfig``
    (``schedule=`` of the Trainer) read it.
    """
    if not isinstance(name, str) or not name or name != name.lower() or name in SCHEDULES:
        raise ValueError(f"name: expected a new lower-case name, got {name!r} (taken: {sorted(SCHEDULES)})")
    if not isinstance(cls, type):
        raise TypeError(f"cls: expected a schedule class, got {cls!r}")
    SCHEDULES[name] = cls
    return cls


def unregister_schedule(name: str) -> None:
    """Remove the schedule registered as ``name``."""
    if name not in SCHEDULES:
        raise ValueError(f"name: expected one of {sorted(SCHEDULES)}, got {name!r}")
    del SCHEDULES[name]


def make_schedule(name: str, optimizer: Optimizer, **kw: Any) -> Schedule | ReduceLROnPlateau:
    """Build the schedule registered as ``name`` (see :data:`SCHEDULES`) on ``optimizer``."""
    if not isinstance(name, str) or name.lower() not in SCHEDULES:
        raise ValueError(f"name: expected one of {sorted(SCHEDULES)}, got {name!r}")
    return SCHEDULES[name.lower()](optimizer, **kw)
