"""The AWD-LSTM regularizers (Merity et al. 2017), declared once: name, default, type, help,
check, the name AWD-LSTM's code gives it, and which of rnnkit's models honour it.

Everything that offers them reads this table:

- every estimator of :mod:`rnnkit.models` gets each one as a keyword argument with its
  default (``BaseEstimator.__init_subclass__``, as the training settings of
  :mod:`rnnkit.train.settings`); ``fit`` checks it, and a model that cannot honour a
  regularizer refuses a value other than its default, naming the models that can;
- ``rnnkit train TASK`` gets a key (``--set input_dropout=0.2``, ``--input-dropout 0.2``)
  for each regularizer the task's model honours (:func:`rnnkit.cli.options.training_keys`).

Who honours what is said once, in :data:`MODEL_REGULARIZERS` (by class name, so that the
command line reads it without importing the models); a model defined elsewhere sets a
class attribute ``regularizers`` (a tuple of names). ``where`` says who applies it:
``"layer"``: every recurrent layer of the network (:class:`rnnkit.nn.recurrent._Recurrent`'s
option of the same name, set by the estimator on each layer it builds); ``"net"``: the
network's constructor (a keyword argument of the same name).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = ["MODEL_REGULARIZERS", "REGULARIZERS", "Regularizer", "check_regularizer", "honoured", "refuse_unhonoured"]


@dataclasses.dataclass(frozen=True)
class Regularizer:
    """One regularizer: ``type`` float (a probability in [0, 1) when ``probability``, else
    a weight >= 0) or bool; ``awd``: AWD-LSTM's name for it; ``where``: "layer" or "net"."""

    name: str
    default: object
    type: type
    help: str
    awd: str
    where: str
    probability: bool = False

    def check(self, value: Any) -> Any:
        return check_regularizer(self.name, value)


REGULARIZERS: dict[str, Regularizer] = {
    r.name: r
    for r in (
        Regularizer(
            "embedding_dropout",
            0.0,
            float,
            "embedding dropout: drop whole rows of the embedding (every occurrence of a word or character)",
            "dropoute",
            "net",
            probability=True,
        ),
        Regularizer(
            "weight_drop",
            0.0,
            float,
            "DropConnect on the recurrent weights W_hh, one mask per forward, the same at every step",
            "wdrop",
            "layer",
            probability=True,
        ),
        Regularizer(
            "input_dropout",
            0.0,
            float,
            "locked dropout on the recurrent layers' input, one mask per sequence",
            "dropouti",
            "layer",
            probability=True,
        ),
        Regularizer(
            "locked_dropout",
            False,
            bool,
            "make the dropout between stacked layers locked: one mask per sequence, not per step",
            "dropouth",
            "layer",
        ),
        Regularizer(
            "output_dropout",
            0.0,
            float,
            "locked dropout on the top recurrent layer's output, one mask per sequence",
            "dropout",
            "layer",
            probability=True,
        ),
        Regularizer(
            "activation_reg",
            0.0,
            float,
            "activation regularization (AR): this times the mean square of the top layer's (dropped) outputs",
            "alpha",
            "net",
        ),
        Regularizer(
            "temporal_activation_reg",
            0.0,
            float,
            "temporal activation regularization (TAR): this times the mean square of h_t - h_{t-1} of the top layer",
            "beta",
            "net",
        ),
        Regularizer(
            "tie_weights",
            False,
            bool,
            "tie the output projection to the input embedding (needs embedding_dim == hidden_size)",
            "tied",
            "net",
        ),
    )
}

_LAYER = ("weight_drop", "input_dropout", "locked_dropout", "output_dropout")
_TEXT = ("embedding_dropout", *_LAYER, "activation_reg", "temporal_activation_reg")

#: rnnkit's models and the regularizers each honours, by class name (FeedForward: none).
MODEL_REGULARIZERS: dict[str, tuple[str, ...]] = {
    "CharLM": (*_TEXT, "tie_weights"),
    "SequenceClassifier": _TEXT,
    "SequenceRegressor": _TEXT,
    "SequenceTagger": _TEXT,
    "SequenceGenerator": _LAYER,
    "Seq2Seq": _LAYER,
    "MusicModel": _LAYER,
    "Forecaster": _LAYER,
}


def check_regularizer(name: str, value: Any) -> Any:
    """``value`` if valid for the regularizer ``name``; TypeError/ValueError naming it otherwise."""
    r = REGULARIZERS[name]
    if r.type is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name}: expected True or False, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if r.probability and not 0.0 <= v < 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")
    if not r.probability and not 0.0 <= v < float("inf"):
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return value


def honoured(cls: type) -> tuple[str, ...]:
    """The regularizers the estimator class ``cls`` honours: its nearest ``regularizers``
    attribute or :data:`MODEL_REGULARIZERS` entry along its bases."""
    for klass in cls.__mro__:
        own = klass.__dict__.get("regularizers")
        if own is not None:
            return tuple(own)
        if klass.__module__.startswith("rnnkit.") and klass.__name__ in MODEL_REGULARIZERS:
            return MODEL_REGULARIZERS[klass.__name__]
    return ()


def refuse_unhonoured(cls: type, params: Mapping[str, Any]) -> None:
    """Check every regularizer in ``params``; refuse one ``cls`` cannot honour at a value
    other than its default."""
    can = honoured(cls)
    for name, r in REGULARIZERS.items():
        if name not in params:
            continue
        value = check_regularizer(name, params[name])
        if name not in can and value != r.default:
            models = sorted(m for m, names in MODEL_REGULARIZERS.items() if name in names)
            raise ValueError(
                f"{name}: {cls.__name__} cannot apply it (it has no {_needs(name)}), got {value!r}; "
                f"hint: leave it at {r.default!r}, or use a model that has it: {', '.join(models)}"
            )


def _needs(name: str) -> str:
    if name == "tie_weights":
        return "input embedding and output projection over the same vocabulary"
    if name == "embedding_dropout":
        return "embedding of token inputs"
    if REGULARIZERS[name].where == "layer":
        return "recurrent layers"
    return "recurrent outputs it regularizes in its loss"
