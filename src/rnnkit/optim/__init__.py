"""Optimization: optimizers over a whole model, learning-rate schedules, gradient clipping.

    optimizer    Optimizer: the base class (slots, step count, state dict)
    optimizers   SGD (momentum, Nesterov), NTASGD, Adagrad, RMSprop, Adam, AdamW
    schedules    StepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup, ReduceLROnPlateau
    averaging    RunningAverage: the averaged weights NTASGD validates and keeps
    clip         clip_grad_value, clip_grad_norm (global norm), grad_norm, all_finite

The optimizers are exported here, as ``torch.optim`` exports its own; schedules and
clipping are used through their modules (``rnnkit.optim.schedules``, ``rnnkit.optim.clip``).
"""

from . import averaging, clip, schedules
from .optimizer import Optimizer
from .optimizers import (
    NTASGD,
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    make_optimizer,
    register_optimizer,
    unregister_optimizer,
)

__all__ = [
    "Optimizer",
    "SGD",
    "NTASGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "OPTIMIZERS",
    "make_optimizer",
    "register_optimizer",
    "unregister_optimizer",
    "schedules",
    "averaging",
    "clip",
]
