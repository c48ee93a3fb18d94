"""The training settings of every estimator, from their one declaration (:mod:`rnnkit.train.settings`).

An estimator's ``__init__`` lists only its model's parameters;
:func:`add_training_settings` (run by ``BaseEstimator.__init_subclass__``) wraps it into
one that also takes every declared training setting as a keyword argument, with the
declared default or the model's own (``rnnkit.train.settings.MODEL_DEFAULTS`` for rnnkit's
models, the class attribute ``train_defaults`` for others), and every declared regularizer
(:mod:`rnnkit.train.regularizers`) with its default, and stores each as an attribute
of the same name. The wrapper's ``__signature__`` lists them all, explicitly, as
scikit-learn's ``get_params``/``clone`` read them::

    class Tiny(BaseEstimator):
        train_defaults = {"lr": 2e-3}

        def __init__(self, hidden_size=8):
            self.hidden_size = hidden_size

    inspect.signature(Tiny)   # (hidden_size=8, *, optimizer='adam', lr=0.002, ...)
"""

from __future__ import annotations

import functools
import inspect

from ..train.regularizers import REGULARIZERS
from ..train.settings import effective_defaults

__all__ = ["add_training_settings"]


def add_training_settings(cls) -> None:
    """Give ``cls.__init__`` the training settings (see the module docstring)."""
    own = cls.__dict__.get("__init__")
    model_init = getattr(cls.__init__ if own is None else own, "__model_init__", own)
    if model_init is None:  # no __init__ of an estimator's anywhere above
        return
    defaults = effective_defaults(cls)
    defaults.update((r.name, r.default) for r in REGULARIZERS.values())  # checked, or refused, by fit
    params = list(inspect.signature(model_init).parameters.values())
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{cls.__name__}.__init__: estimators list every parameter explicitly; got *{p.name}")
    clash = [p.name for p in params if p.name in defaults]
    if clash:
        raise TypeError(
            f"{cls.__name__}.__init__: {clash} are training settings or regularizers "
            "(rnnkit.train.settings, rnnkit.train.regularizers), added to every estimator; "
            "hint: list only the model's parameters, and put another default in the class attribute train_defaults"
        )

    @functools.wraps(model_init)
    def __init__(self, *args, **kwargs):
        training = {name: kwargs.pop(name, default) for name, default in defaults.items()}
        model_init(self, *args, **kwargs)
        for name, value in training.items():
            setattr(self, name, value)

    keyword = inspect.Parameter.KEYWORD_ONLY
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params + [inspect.Parameter(name, keyword, default=value) for name, value in defaults.items()]
    )
    __init__.__model_init__ = model_init  # type: ignore[attr-defined]
    cls.__init__ = __init__
