"""Training configuration: :class:`TrainConfig`, every field validated on construction.

Errors name the field, what was expected and what came, and list the valid names.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..optim.optimizers import OPTIMIZERS
from ..optim.schedules import SCHEDULES
from .settings import SETTINGS, check_setting

__all__ = ["TrainConfig"]


def _declared(name: str) -> Any:  # a dataclasses.Field, standing for the value as field() does
    """A field whose default and check are the training setting ``name``'s (:mod:`.settings`)."""
    default = SETTINGS[name].default
    assert not isinstance(default, (list, dict)), name  # mutable defaults are declared as None
    return dataclasses.field(default=default, metadata={"setting": name})


@dataclasses.dataclass
class TrainConfig:
    """Everything the training loop needs to know, validated on construction.

    The fields shared with the estimators and the command line (optimizer, lr, nonmono,
    weight_decay, epochs, batch_size, clip_norm, schedule, schedule_kwargs, patience, seed,
    on_divergence) take their defaults and checks from :mod:`rnnkit.train.settings`.

    Attributes:
        epochs: passes over the training batches.
        batch_size: examples per batch, for the code that builds the batches (the models,
            :func:`minibatches`); the Trainer itself takes batches as given.
        optimizer, lr, weight_decay, optimizer_kwargs: ``make_optimizer(optimizer, model,
            lr=lr, weight_decay=weight_decay, **optimizer_kwargs)``; weight_decay None
            keeps the optimizer's default (AdamW's is 1e-2).
        nonmono: with ``optimizer="ntasgd"``, averaging starts at the first validation whose
            monitored metric is worse than the best of those more than ``nonmono`` before
            (:mod:`rnnkit.train.averaging`); other optimizers ignore it.
        schedule, schedule_kwargs, schedule_interval: ``make_schedule(schedule, optimizer,
            **schedule_kwargs)`` (None kwargs: ``{}``), stepped once per ``"epoch"`` or per ``"step"``;
            ``"plateau"`` is stepped per epoch with the monitored metric.
        clip_norm: rescale the gradients when their global L2 norm exceeds it.
        clip_value: clip every gradient element to ``[-v, v]`` (a number) or to an
            interval ``(lo, hi)``; applied before ``clip_norm``.
        on_nonfinite: ``"stop"`` (raise :class:`TrainingError`, parameters untouched) or
            ``"skip"`` (drop the step, record it as skipped, go on). See
            :mod:`rnnkit.train.faults`.
        on_divergence, divergence_factor, divergence_steps: the divergence guard
            (:mod:`rnnkit.train.divergence`): when the loss stays above its first value and
            above ``divergence_factor`` x its best (a best under 1e-6 counts as 1e-6) for
            ``divergence_steps`` steps in a row,
            ``"warn"`` (a DivergenceWarning), ``"stop"`` (a clean stop, the best
            parameters restored) or ``"off"``.
        patience, min_delta, monitor, mode, restore_best: early stopping on ``monitor``
            (``"auto"``: ``val_loss`` when validating, else ``loss``); None patience: off.
        seed: seeds the trainer's generator, passed to ``train_batches(epoch, rng)``.
        shuffle: when ``train_batches`` is a list, visit it in a new order each epoch.
        max_steps: stop (pause, resumable) once this many steps are done in total.
        progress: None (a bar on a terminal, for runs longer than a second), True
            (always) or False (quiet: print nothing).
        log_every: print a line (loss, gradient norm, lr, steps/s) every N steps; 0: off.
        checkpoint_every, checkpoint_path: ``Trainer.save(checkpoint_path)`` every N steps.
        grad_flow_every: every N steps, record ``||dL/dh_t||`` per time step of every
            recurrent layer into ``history.grad_flow``; 0: off (and free).
        precision: "fp32", or "bf16-mixed": the recurrent layers' products in bf16 with
            fp32 sums during ``fit`` (:mod:`rnnkit._kernels.gemm`; refused where it cannot run).
    """

    epochs: int = _declared("epochs")
    batch_size: int = _declared("batch_size")
    optimizer: str = _declared("optimizer")
    lr: float = _declared("lr")
    nonmono: int = _declared("nonmono")
    weight_decay: float | None = _declared("weight_decay")
    optimizer_kwargs: dict = dataclasses.field(default_factory=dict)
    schedule: str | None = _declared("schedule")
    schedule_kwargs: dict = _declared("schedule_kwargs")  # None (declared): {} once validated
    schedule_interval: str = "epoch"
    clip_norm: float | None = _declared("clip_norm")
    clip_value: float | tuple | None = None
    on_nonfinite: str = "stop"
    on_divergence: str = _declared("on_divergence")
    divergence_factor: float = 100.0
    divergence_steps: int = 20
    patience: int | None = _declared("patience")
    min_delta: float = 0.0
    monitor: str = "auto"
    mode: str = "min"
    restore_best: bool = True
    seed: int | None = _declared("seed")
    shuffle: bool = False
    max_steps: int | None = None
    progress: bool | None = None
    log_every: int = 0
    checkpoint_every: int = 0
    checkpoint_path: str | None = None
    grad_flow_every: int = 0
    precision: str = _declared("precision")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field; raise TypeError/ValueError naming it, the expected and the received."""
        for f in dataclasses.fields(self):
            if "setting" in f.metadata:
                check_setting(f.name, getattr(self, f.name))
        if self.schedule_kwargs is None:
            self.schedule_kwargs = {}
        _kwargs("optimizer_kwargs", self.optimizer_kwargs, OPTIMIZERS[self.optimizer], ("params", "lr", "weight_decay"))
        if self.schedule is not None:
            _kwargs("schedule_kwargs", self.schedule_kwargs, SCHEDULES[self.schedule], ("optimizer",))
        elif self.schedule_kwargs:
            raise ValueError(
                f"schedule_kwargs: expected {{}} without a schedule, got {self.schedule_kwargs!r}; "
                f"hint: set schedule to one of {sorted(SCHEDULES)}"
            )
        _choice("schedule_interval", self.schedule_interval, ("epoch", "step"))
        if self.schedule == "plateau" and self.schedule_interval == "step":
            raise ValueError(
                "schedule_interval: expected 'epoch' for the 'plateau' schedule (it reads the "
                "epoch's monitored metric), got 'step'"
            )
        if self.clip_value is not None:
            if isinstance(self.clip_value, (tuple, list)):
                if len(self.clip_value) != 2:
                    raise ValueError(f"clip_value: expected a number or an interval (lo, hi), got {self.clip_value!r}")
                lo, hi = (_num(f"clip_value[{i}]", v) for i, v in enumerate(self.clip_value))
                if not lo < hi:
                    raise ValueError(f"clip_value: expected an interval (lo, hi) with lo < hi, got {self.clip_value!r}")
                self.clip_value = (lo, hi)
            else:
                _num("clip_value", self.clip_value, 0.0, open_low=True)
        _choice("on_nonfinite", self.on_nonfinite, ("stop", "skip"))
        _num("divergence_factor", self.divergence_factor, 1.0, open_low=True)
        _int("divergence_steps", self.divergence_steps, 1)
        _num("min_delta", self.min_delta, 0.0)
        if not isinstance(self.monitor, str) or not self.monitor:
            raise TypeError(f"monitor: expected a metric name ('auto', 'loss', 'val_loss', ...), got {self.monitor!r}")
        _choice("mode", self.mode, ("min", "max"))
        for name in ("restore_best", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.max_steps is not None:
            _int("max_steps", self.max_steps, 0)
        if self.progress not in (None, True, False):
            raise TypeError(f"progress: expected None (auto), True or False, got {self.progress!r}")
        _int("log_every", self.log_every, 0)
        _int("checkpoint_every", self.checkpoint_every, 0)
        _int("grad_flow_every", self.grad_flow_every, 0)
        if self.checkpoint_every and not isinstance(self.checkpoint_path, (str, Path)):
            raise ValueError(
                f"checkpoint_path: expected a file path when checkpoint_every > 0, got "
                f"{self.checkpoint_path!r}; hint: checkpoint_path='runs/last.ckpt'"
            )

    def to_dict(self) -> dict:
        """A JSON-able dict (tuples become lists); :meth:`from_dict` reads it back."""
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping) -> TrainConfig:
        if not isinstance(d, Mapping):
            raise TypeError(f"d: expected a dict of TrainConfig fields, got {type(d).__name__}")
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(valid))
        if unknown:
            raise ValueError(f"d: unknown TrainConfig fields {unknown}; valid fields: {valid}")
        d = dict(d)
        if isinstance(d.get("clip_value"), list):
            d["clip_value"] = tuple(d["clip_value"])
        return cls(**d)


def _int(name: str, v: object, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {low}, got {type(v).__name__} {v!r}")
    if v < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {v!r}")
    return int(v)


def _num(name: str, v: object, low: float | None = None, open_low: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise TypeError(f"{name}: expected a finite number, got {type(v).__name__} {v!r}")
    if low is not None and (v < low or (open_low and v == low)):
        raise ValueError(f"{name}: expected a number {'>' if open_low else '>='} {low:g}, got {v!r}")
    return float(v)


def _choice(name: str, v: object, valid: tuple[str, ...]) -> None:
    if v not in valid:
        raise ValueError(f"{name}: expected one of {sorted(valid)}, got {v!r}")


def _kwargs(name: str, kw: object, cls: type[object], reserved: tuple[str, ...]) -> None:
    if not isinstance(kw, Mapping):
        raise TypeError(f"{name}: expected a dict, got {type(kw).__name__}")
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self",) + tuple(reserved)]
    bad = sorted(set(kw) - set(params))
    if bad:
        moved = [k for k in bad if k in reserved]
        hint = f"; hint: {moved} are TrainConfig fields of their own" if moved else ""
        raise ValueError(f"{name}: unknown keys {bad} for {cls.__name__}; valid keys: {params}{hint}")


def _plain(v: object) -> Any:  # the same data, JSON-able
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    return v
