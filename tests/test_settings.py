"""One declaration of each training setting: the command line's defaults, every estimator's
and TrainConfig's are compared with it (and with the models' declared overrides), so a
default that drifts fails here."""

import dataclasses
import inspect

import numpy as np
import pytest

from rnnkit.cli.options import ConfigError, coerce
from rnnkit.cli.tasks import RESUMABLE, TASKS
from rnnkit.forecast import Forecaster
from rnnkit.models import (
    CharLM,
    FeedForward,
    MusicModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceRegressor,
    SequenceTagger,
)
from rnnkit.models.base import BaseEstimator
from rnnkit.train import TrainConfig
from rnnkit.train.settings import SETTINGS, check_setting, effective_defaults, settings_for

ESTIMATORS = [
    CharLM,
    FeedForward,
    Forecaster,
    MusicModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceRegressor,
    SequenceTagger,
]

# The models' own defaults, as their classes declare them (train_defaults): written out
# here on purpose, so that changing one is a visible decision (and a changelog line).
OVERRIDES = {
    "CharLM": {"lr": 2e-3},
    "FeedForward": {"lr": 5e-3},
    "Forecaster": {"lr": 5e-3, "epochs": 60, "patience": 10},
    "MusicModel": {"lr": 3e-3, "batch_size": 8},
    "Seq2Seq": {"lr": 3e-3, "batch_size": 64},
    "SequenceClassifier": {"lr": 5e-3},
    "SequenceGenerator": {},
    "SequenceRegressor": {"lr": 5e-3},
    "SequenceTagger": {"lr": 5e-3},
}


def _expected(cls) -> dict:
    return {s.name: OVERRIDES[cls.__name__].get(s.name, s.default) for s in settings_for("estimator")}


def test_every_estimator_is_listed_here():
    from rnnkit.models.base import _REGISTRY

    estimators = {n for n, c in _REGISTRY.items() if issubclass(c, BaseEstimator) and "__init__" in c.__dict__}
    assert estimators == {c.__name__ for c in ESTIMATORS}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimator_defaults_are_the_declared_ones_with_the_models_overrides(cls):
    params = cls().get_params(deep=False)
    expected = _expected(cls)
    assert {k: params[k] for k in expected} == expected
    assert cls.training_defaults() == expected == effective_defaults(cls)
    # scikit-learn reads the signature: every parameter is there, explicitly
    sig = inspect.signature(cls)
    assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in sig.parameters.values())
    assert {k: sig.parameters[k].default for k in expected} == expected
    assert set(sig.parameters) == set(params)


def test_the_estimators_attribute_annotations_are_the_declared_settings():
    # fitted attributes (net_, history_) end with an underscore, as scikit-learn's do
    annotated = [
        k for k in BaseEstimator.__annotations__ if k in SETTINGS or not (k.startswith("_") or k.endswith("_"))
    ]
    assert [k for k in annotated if k != "train_defaults"] == [s.name for s in settings_for("estimator")]


def test_train_config_defaults_are_the_declared_ones():
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    config_settings = settings_for("config")
    assert {s.name for s in config_settings} <= set(fields)
    for s in config_settings:
        assert fields[s.name].default == s.default, s.name
    assert TrainConfig().clip_norm == 5.0 and TrainConfig().schedule_kwargs == {}


def _task_model(task) -> type:
    module = __import__(task.model_module, fromlist=task.model_names)
    return getattr(module, task.model_names[0])


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_cli_task_defaults_are_its_models(name):
    task = TASKS[name]
    config = task.config_class()
    model = _task_model(task)
    for s in settings_for("cli"):
        if s.where == {"cli"}:  # the command line's own keys (trackers)
            expected = s.default
        else:
            expected = "stop" if s.name == "on_divergence" else _expected(model)[s.name]
        assert getattr(config, s.name) == expected, (name, s.name)
        field = {f.name: f for f in dataclasses.fields(task.config_class)}[s.name]
        assert field.metadata["setting"] == s.name
    for other in task.model_names[1:]:  # e.g. SequenceRegressor for classify
        module = __import__(task.model_module, fromlist=[other])
        assert getattr(module, other).training_defaults() == model.training_defaults()


def test_the_cli_keys_are_the_declared_settings_in_every_task():
    cli = [s.name for s in settings_for("cli")]
    assert cli == [
        "optimizer",
        "lr",
        "nonmono",
        "weight_decay",
        "epochs",
        "batch_size",
        "clip_norm",
        "patience",
        "seed",
        "dtype",
        "precision",
        "on_divergence",
        "track",
        "track_uri",
    ]
    for task in TASKS.values():
        names = [f.name for f in dataclasses.fields(task.config_class)]
        assert [n for n in names if n in SETTINGS] == cli
    assert list(RESUMABLE) == [
        "optimizer",
        "lr",
        "nonmono",
        "weight_decay",
        "epochs",
        "batch_size",
        "clip_norm",
        "patience",
        "precision",
        "track",
        "track_uri",
    ]


def test_cli_checks_come_from_the_declaration():
    cls = TASKS["classify"].config_class
    with pytest.raises(ConfigError, match="lr: expected a value > 0.0, got 0.0"):
        coerce(cls, "lr", "0")
    with pytest.raises(ConfigError, match="clip_norm: expected a value > 0.0"):
        coerce(cls, "clip_norm", "0")
    with pytest.raises(ConfigError, match="optimizer: expected one of .*adamw"):
        coerce(cls, "optimizer", "adamm")
    assert coerce(cls, "clip_norm", "none") is None
    assert coerce(cls, "patience", "0") == 0
    with pytest.raises(ConfigError, match="seed: expected an integer, got 'none'"):
        coerce(cls, "seed", "none")  # a run's split must be reproducible


@pytest.mark.parametrize(
    "name,value,exc,match",
    [
        ("lr", 0.0, ValueError, "lr: expected a number > 0, got 0.0"),
        ("lr", float("nan"), TypeError, "lr: expected a finite number"),
        ("epochs", 0, ValueError, "epochs: expected an int >= 1, got 0"),
        ("epochs", 2.0, TypeError, "epochs: expected an int"),
        ("optimizer", "adamm", ValueError, r"optimizer: expected one of \[.*'adagrad'.*got 'adamm'"),
        ("dtype", "float16", ValueError, "dtype: expected one of"),
        ("optimizer", ["adam"], ValueError, r"optimizer: expected one of .*got \['adam'\]"),
        ("schedule", "cos", ValueError, r"schedule: expected one of \['cosine'"),
        ("schedule_kwargs", [1], TypeError, "schedule_kwargs: expected a dict or None"),
        ("verbose", "yes", ValueError, "verbose: expected one of"),
        ("batch_size", None, TypeError, "batch_size: expected an int, got None"),
    ],
)
def test_every_setting_is_checked_by_name_in_the_estimator_and_trainconfig(name, value, exc, match):
    with pytest.raises(exc, match=match):
        check_setting(name, value)
    with pytest.raises(exc, match=match):
        SequenceClassifier(**{name: value}).fit([[1.0], [2.0]], [0, 1])
    if "config" in SETTINGS[name].where:
        with pytest.raises(exc, match=match):
            TrainConfig(**{name: value})


def test_a_model_without_its_training_list_gets_it_and_may_override_a_default():
    class Toy(BaseEstimator):
        train_defaults = {"lr": 0.5}

        def __init__(self, width=3):
            self.width = width

    class SubToy(Toy):
        train_defaults = {"epochs": 2}

    toy = Toy(width=4, lr=0.1, epochs=3)
    assert (toy.width, toy.lr, toy.epochs, toy.clip_norm) == (4, 0.1, 3, 5.0)
    assert SubToy().get_params(deep=False)["lr"] == 0.5 and SubToy().epochs == 2
    assert "epochs=2" in str(inspect.signature(SubToy))
    with pytest.raises(TypeError, match=r"\['lr'\] are training settings"):

        class Retyped(BaseEstimator):
            def __init__(self, lr=0.1):
                self.lr = lr

    with pytest.raises(ValueError, match=r"train_defaults: unknown settings \['learning_rate'\]"):

        class Misspelt(BaseEstimator):
            train_defaults = {"learning_rate": 0.1}

            def __init__(self, width=3):
                self.width = width


def test_clone_and_grid_search_see_the_training_settings():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    model = SequenceClassifier(hidden_size=4, lr=0.01, epochs=1, schedule="step", schedule_kwargs={"step_size": 1})
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    X = np.random.default_rng(0).standard_normal((12, 5, 2))
    y = np.array([0, 1] * 6)
    grid = GridSearchCV(SequenceClassifier(hidden_size=4, epochs=1), {"lr": [0.01, 0.02]}, cv=2).fit(X, y)
    assert grid.best_params_["lr"] in (0.01, 0.02)


def test_schedule_reaches_the_trainer():
    X = np.random.default_rng(0).standard_normal((8, 4, 2))
    model = SequenceClassifier(
        hidden_size=4, epochs=3, batch_size=8, lr=0.01, schedule="step", schedule_kwargs={"step_size": 1, "gamma": 0.5}
    ).fit(X, [0, 1] * 4)
    assert model.history_.steps["lr"] == pytest.approx([0.01, 0.005, 0.0025])
