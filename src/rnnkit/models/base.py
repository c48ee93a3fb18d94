"""The estimator base shared by every model in :mod:`rnnkit.models`.

Conventions are scikit-learn's, without importing it:

- ``__init__`` only stores its keyword arguments, unchanged, as attributes of the same name.
  Every argument is explicit (no ``**kwargs``), so :meth:`BaseEstimator.get_params` can read
  them from the signature and ``sklearn.base.clone``, ``GridSearchCV`` and ``Pipeline``
  work. Validation happens in ``fit``.
- A model's ``__init__`` lists its model's parameters only: the training settings
  (``optimizer``, ``lr``, ``epochs``, ``clip_norm``, ``schedule``, ``seed``, ``warm_start``,
  ...) are declared once in :mod:`rnnkit.train.settings` and added to every estimator's
  signature (:mod:`._training`); a model with another default says so once
  (``rnnkit.train.settings.MODEL_DEFAULTS``, or a class attribute ``train_defaults``).
- ``fit(..., callbacks=[...])`` hands :class:`rnnkit.train.callbacks.Callback` instances to
  the Trainer; :class:`rnnkit.train.resume_from.ResumeFrom` among them continues a saved
  run. ``warm_start=True`` continues from the fitted ``net_`` (scikit-learn's convention).
- What ``fit`` learns ends with an underscore: ``net_`` (the :class:`~rnnkit.nn.module.Module`
  trained), ``history_``, ``classes_``, ``vocab_``, ``n_features_in_``...
- ``fit`` returns ``self``; ``predict``/``score`` refuse to run before it with
  :class:`NotFittedError`.

A model's network is a ``Module`` that speaks the training protocol of
:mod:`rnnkit.train`: ``loss_and_grad(batch) -> float`` (mean loss of the batch, gradients
accumulated into ``net.grads``) and ``evaluate_batch(batch) -> (loss_sum, count)``.
:meth:`BaseEstimator._train` drives it through :class:`rnnkit.train.Trainer`.

Persistence: ``save(path)`` writes one checkpoint (:mod:`rnnkit.train.checkpoint`) holding the
network's ``state_dict`` as arrays and, as JSON metadata, the model class, its
hyper-parameters and its fitted state (vocabulary, classes, scalers). ``Model.load(path)``
rebuilds the network from those and loads the arrays; ``BaseEstimator.load(path)`` (or
:func:`rnnkit.models.load_model`) picks the class from the file.

A subclass implements four hooks:

    _fit_state(self) -> dict           the fitted state as JSON (no arrays, no net_)
    _set_fit_state(self, state)        its inverse, on a fresh instance
    _build_net(self, rng) -> Module    a new network for the current params and fit state
    fit / predict / score              the public API
"""

from __future__ import annotations

import inspect
import numbers
import os
import sys
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import DTypeLike

from ..nn import cells, make_layer
from ..nn.module import Module
from ..nn.recurrent import _Recurrent
from ..train.checkpoint import CheckpointError, check_keys, load_checkpoint, save_checkpoint
from ..train.config import TrainConfig
from ..train.regularizers import REGULARIZERS, refuse_unhonoured
from ..train.resume_from import start_trainer
from ..train.settings import SETTINGS, check_setting, effective_defaults, settings_for
from ..utils.memory import from_memory_error
from ._memory import check_model_memory, recurrent_weights
from ._regularizers import with_layer_regularizers
from ._state import first_difference, jsonable, jsonable_tree
from ._training import add_training_settings

MODEL_FORMAT = "rnnkit-model"
MODEL_FORMAT_VERSION = 1
_MODEL_META_KEYS = ("format", "format_version", "model", "params", "fitted")
# training settings added since version 1: a file written before one of them loads with its default
_ADDED_SINCE_V1 = ("schedule", "schedule_kwargs", "on_divergence", "warm_start", "precision", "nonmono")

#: cell name -> its :class:`~rnnkit.nn.cells.CellSpec`: the live cell registry, read-only
CELLS = cells.CELLS

_REGISTRY: dict[str, type] = {}


class NotFittedError(ValueError, AttributeError):
    """A model was used before ``fit`` (or ``load``).

    When scikit-learn is in use (``sklearn.exceptions`` imported), the error raised is also
    ``sklearn.exceptions.NotFittedError`` (see :func:`not_fitted_error`); rnnkit never
    imports scikit-learn itself.
    """


_SKLEARN_TWINS: dict = {}


def _sklearn_twin(ours: type, name: str) -> type:
    """``ours`` combined with scikit-learn's class of the same role, when scikit-learn is loaded."""
    sk = sys.modules.get("sklearn.exceptions")
    theirs = getattr(sk, name, None) if sk is not None else None
    if theirs is None:
        return ours
    if ours not in _SKLEARN_TWINS:
        _SKLEARN_TWINS[ours] = type(
            ours.__name__, (ours, theirs), {"__module__": ours.__module__, "__doc__": ours.__doc__}
        )
    return _SKLEARN_TWINS[ours]


def not_fitted_error(message: str) -> NotFittedError:
    """A :class:`NotFittedError` that is also scikit-learn's when scikit-learn is loaded."""
    return _sklearn_twin(NotFittedError, "NotFittedError")(message)


class _DataConversionWarning(UserWarning):
    """Data was converted to the layout the model needs (a column vector y, raveled)."""


def data_conversion_warning() -> type:
    """The warning class for converted data: scikit-learn's ``DataConversionWarning`` too
    when scikit-learn is loaded."""
    return _sklearn_twin(_DataConversionWarning, "DataConversionWarning")


def make_recurrent(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    *,
    bidirectional: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    weight_drop: float = 0.0,
    dtype: DTypeLike = "float32",
    rng: np.random.Generator | None = None,
) -> _Recurrent:
    """A time-major recurrent layer from a cell name in :data:`CELLS`."""
    key = cell.lower() if isinstance(cell, str) else cell
    if key not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    return make_layer(
        key,
        input_size,
        hidden_size,
        num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        weight_drop=weight_drop,
        dtype=dtype,
        rng=rng,
    )


# -- hyper-parameter checks --------------------------------------------------------------
def check_int_param(name, value, minimum=1, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}: expected an int >= {minimum}" + (" or None" if allow_none else "") + f", got {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def check_float_param(name, value, *, low=0.0, high=None, low_open=False, high_open=False, allow_none=False):
    if value is None and allow_none:
        return None
    rng_txt = (
        ("(" if low_open else "[")
        + f"{low:g}, "
        + ("inf)" if high is None else f"{high:g}" + (")" if high_open else "]"))
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name}: expected a number in {rng_txt}, got {value!r}")
    v = float(value)
    if (v < low or (low_open and v == low)) or (high is not None and (v > high or (high_open and v == high))):
        raise ValueError(f"{name}: expected a number in {rng_txt}, got {value!r}")
    return v


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


# Checks for the model parameters several models share; run by ``_validate_params`` (the
# training settings' checks are declared with them, in rnnkit.train.settings).
COMMON_CHECKS = {
    "cell": lambda v: check_choice("cell", v, list(CELLS)),
    "hidden_size": lambda v: check_int_param("hidden_size", v),
    "num_layers": lambda v: check_int_param("num_layers", v),
    "bidirectional": lambda v: check_choice("bidirectional", v, (False, True)),
    "dropout": lambda v: check_float_param("dropout", v, high=1.0, high_open=True),
    "recurrent_dropout": lambda v: check_float_param("recurrent_dropout", v, high=1.0, high_open=True),
    "embedding_dim": lambda v: check_int_param("embedding_dim", v),
}


# -- the estimator base ------------------------------------------------------------------
class BaseEstimator:
    """get_params/set_params, fitted checks, training, save/load. See the module docstring."""

    #: "classifier", "regressor" or None; scikit-learn reads it (through the tags below)
    #: to pick stratified folds and default scorers.
    _estimator_type: str | None = None
    _requires_y = True  # fit(X, y) needs y (Forecaster: no, the series is its own target)
    #: a model defined outside rnnkit: its defaults of training settings that differ from the
    #: declared ones, e.g. ``{"lr": 2e-3}`` (rnnkit's own are in rnnkit.train.settings.MODEL_DEFAULTS)
    train_defaults: dict = {}

    # The training settings' attributes, for type checkers only: every estimator's __init__
    # sets them (tests/test_settings.py checks these names against the declaration).
    optimizer: str
    lr: float
    nonmono: int
    weight_decay: float | None
    epochs: int
    batch_size: int
    clip_norm: float | None
    schedule: str | None
    schedule_kwargs: dict | None
    patience: int | None
    seed: int | np.random.Generator | None
    dtype: str
    precision: str
    on_divergence: str
    verbose: bool | int
    warm_start: bool
    net_: Any  # the fitted network, a Module of the estimator's own kind (set by fit and load)
    history_: Any  # the training History (None after load)

    def __sklearn_tags__(self) -> Any:  # sklearn.utils.Tags (scikit-learn is optional)
        """Capabilities for scikit-learn >= 1.6, which alone calls this (so it is installed)."""
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        kind = self._estimator_type
        return Tags(
            estimator_type=kind,
            target_tags=TargetTags(required=self._requires_y, multi_output=kind == "regressor"),
            classifier_tags=ClassifierTags() if kind == "classifier" else None,
            regressor_tags=RegressorTags() if kind == "regressor" else None,
            input_tags=InputTags(three_d_array=True, string=True),
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        add_training_settings(cls)
        if not cls.__name__.startswith("_"):
            _REGISTRY[cls.__name__] = cls

    # -- parameters -----------------------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__: estimators list every parameter explicitly; got *{p.name}")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments as a dict (with ``deep``, nested ``a__b`` keys too)."""
        out: dict[str, object] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Self:
        """Set constructor arguments (``name=value`` or nested ``a__b=value``); returns self."""
        valid = self._get_param_names()
        nested: dict[str, dict] = {}
        sub: Any  # the key's tail (str) in the first loop, the nested parameters (dict) in the second
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"{key}: not a parameter of {type(self).__name__}; valid parameters: {valid}")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub in nested.items():
            getattr(self, name).set_params(**sub)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = [
            f"{k}={v!r}"
            for k, v in self.get_params(deep=False).items()
            if not (k in defaults and _same(defaults[k], v))
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def training_defaults(cls) -> dict:
        """The default of every training setting for this model: the declared ones
        (:mod:`rnnkit.train.settings`) with this class's ``train_defaults`` applied."""
        return effective_defaults(cls)

    def _validate_params(self) -> None:
        """Check the shared hyper-parameters, then that the sizes they ask for fit in the
        machine's memory (:mod:`._memory`, before anything is allocated); subclasses check
        their own after calling this."""
        params = self.get_params(deep=False)
        for name, value in params.items():
            if name in COMMON_CHECKS:
                COMMON_CHECKS[name](value)
            if name in SETTINGS and not (name == "seed" and isinstance(value, np.random.Generator)):
                check_setting(name, value)
        refuse_unhonoured(type(self), params)
        check_model_memory(params)

    def _make_rng(self) -> np.random.Generator:
        seed = self.get_params(deep=False).get("seed")
        if isinstance(seed, np.random.Generator):
            return seed
        return np.random.default_rng(seed)

    # -- fitted state ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if getattr(self, "net_", None) is None:
            raise not_fitted_error(
                f"{type(self).__name__}: this model is not fitted yet; "
                "hint: call fit(X, y) first, or load(path) a saved model"
            )

    def _fit_state(self) -> dict:
        raise NotImplementedError

    def _set_fit_state(self, state: dict) -> None:
        raise NotImplementedError

    def _build_net(self, rng: np.random.Generator) -> Module:
        raise NotImplementedError

    # -- training -------------------------------------------------------------------------
    def _start_net(self, rng: np.random.Generator) -> Any:  # the subclass's network, as _build_net's
        """The network ``fit`` trains: a new one from :meth:`_build_net`, or, with
        ``warm_start`` and a fitted ``net_``, that one, when the data gave the same fitted
        state (vocabulary, classes, scalers) it was fitted for."""
        state = self._fit_state()
        net = getattr(self, "net_", None)
        if self.get_params(deep=False).get("warm_start") and net is not None:
            diff = first_difference(jsonable_tree(getattr(self, "_net_fit_state", state)), jsonable_tree(state), "fit")
            if diff:
                raise ValueError(
                    f"warm_start: the data gave another fitted state than net_ was fitted for ({diff}); "
                    "hint: fit with the same vocabulary, classes and scaling, or warm_start=False"
                )
            with_layer_regularizers(self, net)  # set_params may have changed them
        else:
            check_model_memory(self.get_params(deep=False), **self._memory_sizes())
            net = self._new_net(rng)
        self._net_fit_state = state
        return net

    def _new_net(self, rng: np.random.Generator) -> Any:
        """:meth:`_build_net`, with the layer regularizers set on its recurrent layers."""
        return with_layer_regularizers(self, self._build_net(rng))

    def _memory_sizes(self) -> dict:
        """The sizes the data decided, for the memory estimate before the network is built
        (keywords of :func:`._memory.estimate_bytes`: ``length``, ``vocab_size``, ...); {}: none known."""
        return {}

    def _train(self, net, train_batches, val_batches=None, rng=None, *, callbacks=None, steps_per_epoch=None):
        """Train ``net`` with this estimator's training settings and ``callbacks`` (the
        argument of ``fit``); returns the history. ``steps_per_epoch``: for schedules
        planned over the whole run."""
        config = self._train_config(rng if rng is not None else self._make_rng(), steps_per_epoch)
        trainer, epochs = start_trainer(net, config, callbacks or ())
        history = trainer.fit(train_batches, val=val_batches, epochs=epochs)
        net.eval()
        return history

    def _train_config(self, rng: np.random.Generator, steps_per_epoch: int | None = None) -> TrainConfig:
        """The :class:`TrainConfig` of this estimator's training settings (the one place it is
        built); the trainer's seed is drawn from ``rng``, the estimator's generator."""
        p = self.get_params(deep=False)
        fields = {s.name: p[s.name] for s in settings_for("config") if s.name in p}
        fields.update(seed=int(rng.integers(2**31)), progress=bool(p.get("verbose")), log_every=0)
        fields.update(self._planned_schedule(steps_per_epoch))
        return TrainConfig(**fields)

    def _planned_schedule(self, steps_per_epoch: int | None) -> dict:
        """TrainConfig fields of a schedule the model plans itself (``lr_schedule``); {}: none."""
        return {}

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to one checkpoint file (atomically); returns its path."""
        self._check_fitted()
        params = {k: jsonable(v) for k, v in self.get_params(deep=False).items()}
        if isinstance(self.get_params(deep=False).get("seed"), np.random.Generator):
            params["seed"] = None  # a Generator is state, not a hyper-parameter
        meta = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "model": type(self).__name__,
            "params": params,
            "fitted": self._fit_state(),
        }
        return save_checkpoint(path, self.net_.state_dict(), meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Rebuild a model saved by :meth:`save`; the file must hold this class (or a subclass
        when called on :class:`BaseEstimator`)."""
        arrays, meta = load_checkpoint(path)
        if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
            raise CheckpointError(
                f"{path}: expected a saved rnnkit model (format {MODEL_FORMAT!r}), "
                f"got format {meta.get('format') if isinstance(meta, dict) else None!r}; "
                "hint: Trainer checkpoints load with Trainer.load"
            )
        check_keys(meta, _MODEL_META_KEYS, str(path), "meta.")
        version = meta.get("format_version")
        if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
            raise CheckpointError(
                f"{path}: expected model format version <= {MODEL_FORMAT_VERSION}, "
                f"got {version!r}; hint: upgrade rnnkit"
            )
        name = meta.get("model")
        if not isinstance(name, str):
            raise CheckpointError(f"{path}: meta.model is {name!r}, expected a model class name")
        target = _REGISTRY.get(name)
        if cls is BaseEstimator:
            if target is None:
                raise CheckpointError(
                    f"{path}: holds an unknown model class {name!r}; known: {sorted(_REGISTRY)}; hint: "
                    f"rnnkit.load_model(path) knows every rnnkit model (a Forecaster is in rnnkit.forecast)"
                )
            cls = target
        elif target is None or not issubclass(target, cls):
            raise CheckpointError(
                f"{path}: holds a {name}, not a {cls.__name__}; "
                f"hint: use {name}.load(path) or rnnkit.models.load_model(path)"
            )
        if not isinstance(meta["params"], dict) or not isinstance(meta["fitted"], dict):
            raise CheckpointError(
                f"{path}: meta.params and meta.fitted must be objects, got "
                f"{type(meta['params']).__name__} and {type(meta['fitted']).__name__}"
            )
        # Files written before a training setting or a regularizer existed hold no value for it: its default.
        defaults = {k: v for k, v in cls.training_defaults().items() if k in _ADDED_SINCE_V1}
        defaults.update((r.name, r.default) for r in REGULARIZERS.values())
        meta["params"] = {**defaults, **meta["params"]}
        check_keys(meta["params"], cls._get_param_names(), str(path), "meta.params.")
        params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["params"].items()}
        try:
            model = cls(**params)
            model._validate_params()
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: meta.params: {exc}") from None
        try:
            model._set_fit_state(meta["fitted"])
        except KeyError as exc:
            raise CheckpointError(
                f"{path}: missing key {'meta.fitted.' + str(exc.args[0])!r}; hint: the file was "
                "edited or damaged; save the model again"
            ) from None
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CheckpointError(
                f"{path}: meta.fitted does not describe a fitted {cls.__name__} ({type(exc).__name__}: {exc})"
            ) from None
        diff = first_difference(jsonable_tree(model._fit_state()), meta["fitted"], "meta.fitted")
        if diff:
            raise CheckpointError(f"{path}: {diff}; hint: the file was edited or damaged; save the model again")
        _check_declared_sizes(path, model.get_params(deep=False), arrays)
        try:
            net = model._new_net(model._make_rng())
            net.load_state_dict(arrays)
        except MemoryError as exc:
            raise CheckpointError(f"{path}: {from_memory_error(exc, 'building the saved network')}") from None
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise CheckpointError(
                f"{path}: the arrays do not fit a {cls.__name__} with the saved parameters: {exc}"
            ) from exc
        net.eval()
        model.net_ = net
        model.history_ = None
        model._net_fit_state = model._fit_state()
        return model


def _check_declared_sizes(path: object, params: dict, arrays: dict) -> None:
    """Refuse a file whose declared sizes need more weights than its arrays hold (a hostile
    or damaged ``meta.params``), before the network is built."""
    held = sum(int(getattr(a, "size", 0)) for a in arrays.values())
    need = recurrent_weights(params)
    if need > held:
        sizes = ", ".join(f"{k}={params[k]!r}" for k in ("hidden_size", "num_layers", "bidirectional") if k in params)
        raise CheckpointError(
            f"{path}: meta.params declares {sizes}, which need at least {need} weights, but the file "
            f"holds {held}; hint: the file was edited or damaged; save the model again"
        )


def _same(a: object, b: object) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # arrays and other objects without a plain truth value
        return a is b


def encode_labels(values: np.ndarray) -> dict:
    """A label array as JSON: ``{"values": [...], "dtype": "<U5"}``."""
    return {"values": [jsonable(v) for v in values.tolist()], "dtype": values.dtype.str}


def decode_labels(spec: dict) -> np.ndarray:
    return np.array(spec["values"], dtype=np.dtype(spec["dtype"]))
