"""rnnkit: recurrent neural networks from the equations up, in NumPy.

Floors, read bottom-up (a floor imports only the floors below it; ARCHITECTURE.md):

    rnnkit.nn           the engine: cells, RNN/LSTM/GRU layers (hand-written BPTT), Linear,
                        Embedding, losses, initializers, Module
    rnnkit.optim        optimizers; rnnkit.optim.schedules, rnnkit.optim.clip
    rnnkit.train        Trainer, TrainConfig, TBPTT (truncated BPTT), checkpoints, callbacks
    rnnkit.data         generated and shipped data sets, readers of user formats
    rnnkit.models       the sequence setups as scikit-learn style estimators
    rnnkit.forecast     forecasting series: Forecaster, baselines, backtests, intervals
    rnnkit.diagnostics  gradient flow, weight and gate health, warnings, reports
    rnnkit.interop      layers and fitted models out: ONNX, PyTorch, safetensors
    rnnkit.experiments  the vanishing/exploding-gradient experiments
    rnnkit.cli          the command line

``rnnkit.nn`` loads with the package; the others load on first use. The former flat paths
(``rnnkit.losses``, ``rnnkit.clip``, ``rnnkit.bptt``, ...) name the same modules as their
new homes (``_MOVED`` below), so code written against them keeps working.
"""

import importlib
import importlib.abc
import importlib.util
import sys

from . import nn
from ._version import __version__
from .nn.module import Module

_LAZY = ("optim", "train", "data", "models", "forecast", "diagnostics", "interop", "experiments", "utils")
_LAZY_NAMES = {"Trainer": "train", "TrainConfig": "train", "TBPTT": "train"}

# Former module paths -> the module that now holds the code (the same module object).
_MOVED = {
    "cells": "rnnkit.nn.cells",
    "functional": "rnnkit.nn.functional",
    "losses": "rnnkit.nn.losses",
    "init": "rnnkit.nn.init",
    "module": "rnnkit.nn.module",
    "clip": "rnnkit.optim.clip",
    "schedules": "rnnkit.optim.schedules",
    "bptt": "rnnkit.train.bptt",
    "streams": "rnnkit.train.streams",
    "callbacks": "rnnkit.train.callbacks",
    "checkpoint": "rnnkit.train.checkpoint",
    "train_config": "rnnkit.train.config",
    "data.music": "rnnkit.data.pianoroll",
    "data.registry": "rnnkit.data.catalog",
    "models.music": "rnnkit.models.music_model",
    "diagnostics.plots": "rnnkit.diagnostics.figures",
    "models.forecaster": "rnnkit.forecast.forecaster",
    "models.backtest": "rnnkit.forecast.backtest",
    "models.conformal": "rnnkit.forecast.conformal",
    "models.forecast_baselines": "rnnkit.forecast.baselines",
    "models.forecast_metrics": "rnnkit.forecast.metrics",
    "models.forecast_naive": "rnnkit.forecast.baselines",
    "forecast.naive": "rnnkit.forecast.baselines",
}

__all__ = ["__version__", "Module", "nn", "load_model", *_LAZY, *_LAZY_NAMES]


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import rnnkit.losses`` yields ``rnnkit.nn.losses`` itself, not a copy."""

    def find_spec(self, fullname, path, target=None):
        prefix, _, leaf = fullname.partition(".")
        if prefix == __name__ and leaf in _MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(_MOVED[spec.name.partition(".")[2]])
        spec.loader_state = module.__spec__  # the import system overwrites __spec__ next
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # put the real module's spec back


sys.meta_path.append(_MovedModules())


def load_model(path):
    """Load any model saved with ``model.save(path)`` (an estimator of ``rnnkit.models`` or a
    ``rnnkit.forecast.Forecaster``); the class is read from the file."""
    from . import forecast, models  # noqa: F401 (importing them registers their classes)

    return models.BaseEstimator.load(path)


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
    if name in _MOVED:
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_NAMES))
