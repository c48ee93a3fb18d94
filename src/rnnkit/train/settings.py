"""The training settings, declared once: name, default, type, help text and check.

Everything that trains reads this table instead of retyping it:

- :class:`~rnnkit.train.config.TrainConfig` takes its defaults and checks from it;
- every estimator of :mod:`rnnkit.models` gets these keyword arguments (with their
  defaults, or the model's own ``train_defaults``) in its signature, built by
  ``BaseEstimator.__init_subclass__``; ``get_params``/``set_params``/``clone`` see them;
- ``rnnkit train``'s keys, ``--set`` checks and help (:mod:`rnnkit.cli.task_configs`) are
  generated from it, each task's default that of the model class it trains.

A model of rnnkit that needs another default says so once, in :data:`MODEL_DEFAULTS`
(by class name, so that the command line reads it without importing the models); a model
defined elsewhere sets its class attribute ``train_defaults``. :func:`effective_defaults`
merges both along the class hierarchy.

``where`` says who has the setting: ``"estimator"`` (a keyword argument of every
estimator), ``"config"`` (a :class:`TrainConfig` field), ``"cli"`` (a key of every
``rnnkit train`` task).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from ..optim.optimizers import OPTIMIZERS
from ..optim.schedules import SCHEDULES
from .trackers import TRACKERS

__all__ = [
    "MODEL_DEFAULTS",
    "SETTINGS",
    "Setting",
    "check_setting",
    "effective_defaults",
    "model_defaults",
    "settings_for",
]

_SAME = object()  # cli_default: the declared default
_ALL = frozenset({"estimator", "config", "cli"})
_V = TypeVar("_V")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One training setting.

    Attributes:
        name, default, type, help: as a keyword argument, a TrainConfig field and a CLI key
            (``type`` is the annotation: ``int``, ``float``, ``str``, ``bool``, ``X | None``,
            ``dict | None``).
        choices: the valid values (a dict: its keys, read when checking, so a registry's
            later entries count), or None.
        min: the lowest valid number; ``above`` makes it exclusive (``lr > 0``).
        where: ``"estimator"``, ``"config"``, ``"cli"``: who has the setting.
        cli_default: the command line's own default when it must differ (said here, once).
        cli_type: the command line's type when it must differ (``seed``: no ``none`` there,
            as a run's data split must be reproducible).
        cli_group: where ``rnnkit train`` sends the key: "model" (the estimator's
            constructor) or "run" (the run itself).
        resumable: ``rnnkit train --resume`` may change it (how to train, not what).
    """

    name: str
    default: object
    type: Any
    help: str
    choices: Collection | None = None
    min: float | None = None
    above: bool = False
    where: frozenset = _ALL
    cli_default: object = _SAME
    cli_type: object = None
    cli_group: str = "model"
    resumable: bool = False

    @property
    def optional(self) -> bool:
        return isinstance(self.type, types.UnionType) and type(None) in self.type.__args__

    def command_line_default(self, model_default: object = _SAME) -> object:
        """The default of ``rnnkit train``: ``cli_default`` when declared, else the trained
        model's default (``model_default``), else the declared default."""
        if self.cli_default is not _SAME:
            return self.cli_default
        return self.default if model_default is _SAME else model_default

    def check(self, value: _V) -> _V:
        """``value`` if valid for this setting; TypeError/ValueError naming the setting otherwise."""
        return check_setting(self.name, value)


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("optimizer", "adam", str, "optimizer", choices=OPTIMIZERS, resumable=True),
        Setting("lr", 1e-3, float, "learning rate", min=0.0, above=True, resumable=True),
        Setting(
            "nonmono",
            5,
            int,
            "ntasgd: average the weights from the first validation worse than the best of those "
            "more than this many before",
            min=1,
            resumable=True,
        ),
        Setting(
            "weight_decay",
            0.0,
            float | None,
            "weight decay (L2; decoupled for adamw); none: the optimizer's own default",
            min=0.0,
            resumable=True,
        ),
        Setting("epochs", 10, int, "passes over the training data", min=1, resumable=True),
        Setting("batch_size", 32, int, "sequences per batch", min=1, resumable=True),
        Setting(
            "clip_norm",
            5.0,
            float | None,
            "clip the global gradient norm to this; none: off",
            min=0.0,
            above=True,
            resumable=True,
        ),
        Setting(
            "schedule",
            None,
            str | None,
            "learning-rate schedule (rnnkit.optim.schedules); none: a constant rate",
            choices=SCHEDULES,
            where=frozenset({"estimator", "config"}),
        ),
        Setting(
            "schedule_kwargs",
            None,
            dict | None,
            "the schedule's keyword arguments, e.g. {'step_size': 5}; none: {}",
            where=frozenset({"estimator", "config"}),
        ),
        Setting(
            "patience",
            None,
            int | None,
            "stop after this many epochs without validation improvement (keeps the best); none: off",
            min=0,
            resumable=True,
        ),
        Setting(
            "seed",
            0,
            int | None,
            "random seed of data splits, initialization and shuffling; none: fresh entropy",
            min=0,
            cli_type=int,
        ),
        Setting(
            "dtype",
            "float32",
            str,
            "floating-point precision",
            choices=("float32", "float64"),
            where=frozenset({"estimator", "cli"}),
        ),
        Setting(
            "precision",
            "fp32",
            str,
            "the recurrent layers' matrix products: fp32, or bf16-mixed (bf16 products summed in fp32 "
            "through Intel MKL, fp32 weights and gate math; float32, a CPU with AMX or AVX512-BF16, rnnkit[mkl])",
            choices=("fp32", "bf16-mixed"),
            resumable=True,
        ),
        Setting(
            "on_divergence",
            "warn",
            str,
            "when the loss runs far above its first and best values for 20 steps: stop "
            "(a TrainingError; from the command line exit code 3, best weights saved), warn, or off",
            choices=("stop", "warn", "off"),
            # A library call warns and goes on; a command-line run stops, saves the best
            # weights and says how to continue (rnnkit.cli.tasks.stopping).
            cli_default="stop",
            cli_group="run",
        ),
        Setting(
            "track",
            None,
            tuple[str, ...] | None,
            "send the run to trackers, comma-separated, each installed by the extra of its name; none: off",
            choices=TRACKERS,
            where=frozenset({"cli"}),
            cli_group="run",
            resumable=True,
        ),
        Setting(
            "track_uri",
            None,
            str | None,
            "where mlflow keeps runs (a tracking URI); none: a file store in the run folder (mlruns/)",
            where=frozenset({"cli"}),
            cli_group="run",
            resumable=True,
        ),
        Setting(
            "verbose",
            False,
            bool,
            "show a progress bar while training",
            choices=(False, True, 0, 1, 2),
            where=frozenset({"estimator"}),
        ),
        Setting(
            "warm_start",
            False,
            bool,
            "fit again from the fitted network (net_) instead of a new one; the data must give "
            "the same vocabulary, classes and scalers",
            choices=(False, True),
            where=frozenset({"estimator"}),
        ),
    )
}


#: rnnkit's models whose training defaults differ from the declared ones, by class name.
MODEL_DEFAULTS: dict[str, dict] = {
    "CharLM": {"lr": 2e-3},
    "FeedForward": {"lr": 5e-3},
    # Up to 60 epochs, stopped after 10 without improvement (of the validation loss, with
    # validation_fraction or validation_data; else of the training loss), the best kept.
    "Forecaster": {"lr": 5e-3, "epochs": 60, "patience": 10},
    "MusicModel": {"lr": 3e-3, "batch_size": 8},
    "Seq2Seq": {"lr": 3e-3, "batch_size": 64},
    "SequenceClassifier": {"lr": 5e-3},
    "SequenceRegressor": {"lr": 5e-3},
    "SequenceTagger": {"lr": 5e-3},
}


def settings_for(where: str) -> list[Setting]:
    """The settings ``"estimator"``, ``"config"`` or ``"cli"`` has, in declaration order."""
    return [s for s in SETTINGS.values() if where in s.where]


def model_defaults(name: str) -> dict:
    """The training defaults of rnnkit's model class ``name``: the declared ones with its
    :data:`MODEL_DEFAULTS` applied."""
    return _apply({s.name: s.default for s in settings_for("estimator")}, MODEL_DEFAULTS.get(name, {}), name)


def effective_defaults(cls: type) -> dict:
    """The declared defaults with, for ``cls`` and its bases (the nearest class wins), rnnkit's
    :data:`MODEL_DEFAULTS` and any class attribute ``train_defaults``; an unknown name is
    refused."""
    out = {s.name: s.default for s in settings_for("estimator")}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("rnnkit."):
            out = _apply(out, MODEL_DEFAULTS.get(klass.__name__, {}), klass.__name__)
        own = klass.__dict__.get("train_defaults")
        if own is not None:
            out = _apply(out, own, f"{klass.__name__}.train_defaults")
    return out


def _apply(defaults: dict, own: object, where: str) -> dict:
    if not isinstance(own, Mapping):
        raise TypeError(f"{where}: expected a dict, got {type(own).__name__}")
    unknown = sorted(set(own) - set(defaults))
    if unknown:
        raise ValueError(f"{where}: unknown settings {unknown}; valid: {sorted(defaults)}")
    return {**defaults, **{name: check_setting(name, value) for name, value in own.items()}}


def check_setting(name: str, value: _V) -> _V:
    """Check ``value`` for the setting ``name``; returns it. Errors name the setting, what was
    expected and what came."""
    s = SETTINGS[name]
    if value is None:
        if s.optional:
            return value  # None
        raise TypeError(f"{name}: expected {_kind(s)}, got None")
    base = _base(s.type)
    if s.choices is not None:
        try:
            known = value in s.choices
        except TypeError:  # unhashable, against a registry's dict
            known = False
        if not known or (base is not bool and isinstance(value, bool)):
            raise ValueError(f"{name}: expected one of {sorted(s.choices, key=str)}, got {value!r}")
        return value
    if base is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected an int >= {s.min}, got {type(value).__name__} {value!r}")
        if s.min is not None and value < s.min:
            raise ValueError(f"{name}: expected an int >= {s.min}, got {value!r}")
        return value
    if base is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise TypeError(f"{name}: expected a finite number, got {type(value).__name__} {value!r}")
        if s.min is not None and (value < s.min or (s.above and value == s.min)):
            raise ValueError(f"{name}: expected a number {'>' if s.above else '>='} {s.min:g}, got {value!r}")
        return value
    if base is dict:
        if not isinstance(value, Mapping):
            raise TypeError(f"{name}: expected a dict or None, got {type(value).__name__}")
        return value
    if not isinstance(value, base):
        raise TypeError(f"{name}: expected {_kind(s)}, got {type(value).__name__} {value!r}")
    return value


def _base(tp: type | types.UnionType) -> type:
    if isinstance(tp, types.UnionType):
        return next(a for a in tp.__args__ if a is not type(None))
    return tp


def _kind(s: Setting) -> str:
    base = _base(s.type)
    name = {int: "an int", float: "a number", str: "a string", bool: "True or False", dict: "a dict"}[base]
    return name + (" or None" if s.optional else "")
