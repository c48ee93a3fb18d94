"""The engine: layers with an explicit BPTT contract, and what they are made of.

module       Module: parameters, gradients, state_dict in PyTorch's names
functional   stable sigmoid/tanh/softmax and their derivatives
cells        RNNCell, LSTMCell, GRUCell: one time step, forward and backward
recurrent    RNN, LSTM, GRU: the driver that owns the time loop, directions, lengths, BPTT
linear       Linear (y = W h + b), Embedding
losses       mse, cross_entropy: each returns (loss, dlogits)
init         initializers (Xavier, He, orthogonal, identity, ...) and initialize(module)
observers    LayerObserver: watch a recurrent layer's forward and backward (layer.observe)
"""

from . import cells, functional, init, losses
from ._checks import NonFiniteError
from .linear import Embedding, Linear
from .module import Module
from .recurrent import GRU, LSTM, RNN, RecurrentCache

__all__ = [
    "Module",
    "RNN",
    "LSTM",
    "GRU",
    "Linear",
    "Embedding",
    "RecurrentCache",
    "NonFiniteError",
    "cells",
    "functional",
    "init",
    "losses",
]
