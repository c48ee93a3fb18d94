"""rnnkit: recurrent neural networks from the equations up, in NumPy.

    rnnkit.nn           RNN, LSTM, GRU layers (hand-written BPTT), Linear, Embedding
    rnnkit.cells        one time step of each cell, forward and backward
    rnnkit.losses       MSE and fused softmax cross-entropy
    rnnkit.optim        SGD, Adagrad, RMSprop, Adam, AdamW
    rnnkit.schedules    learning-rate schedules
    rnnkit.clip         gradient clipping by value and by global norm
    rnnkit.init         initializers (Xavier, He, orthogonal, identity, ...)
    rnnkit.train        Trainer, TrainConfig
    rnnkit.bptt         truncated BPTT(k1, k2) over streams
    rnnkit.checkpoint   pickle-free, atomic checkpoints
    rnnkit.data         generated and shipped data sets, readers of user formats
    rnnkit.models       the sequence setups as scikit-learn style estimators
    rnnkit.diagnostics  gradient flow, weight and gate health, warnings, reports

The engine modules load with the package; the others load on first use.
"""

import importlib

from . import cells, functional, losses, nn
from ._version import __version__
from .module import Module

_LAZY = ("optim", "schedules", "clip", "init", "train", "train_config", "bptt", "streams", "callbacks", "checkpoint", "data", "models",
         "diagnostics", "experiments")

__all__ = ["__version__", "Module", "nn", "cells", "functional", "losses", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
