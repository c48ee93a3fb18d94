"""The engine: layers with an explicit BPTT contract, and what they are made of.

module       Module: parameters, gradients, state_dict in PyTorch's names
functional   stable sigmoid/tanh/softmax and their derivatives
cells        RNNCell, LSTMCell, GRUCell: one time step, forward and backward; the cell registry
recurrent    RNN, LSTM, GRU, Recurrent (any registered cell), make_layer: the driver that owns
             the time loop, directions, lengths, BPTT
linear       Linear (y = W h + b), Embedding (with embedding dropout), TiedLinear (weight tying)
losses       mse, cross_entropy: each returns (loss, dlogits)
init         initializers (Xavier, He, orthogonal, identity, ...) and initialize(module)
observers    LayerObserver: watch a recurrent layer's forward and backward (layer.observe)
"""

from . import cells, functional, init, losses
from ._checks import NonFiniteError
from .linear import Embedding, Linear, TiedLinear
from .module import Module
from .observers import LayerObserver
from .recurrent import GRU, LSTM, RNN, Recurrent, RecurrentCache, make_layer

__all__ = [
    "Module",
    "RNN",
    "LSTM",
    "GRU",
    "Recurrent",
    "make_layer",
    "Linear",
    "Embedding",
    "TiedLinear",
    "RecurrentCache",
    "LayerObserver",
    "NonFiniteError",
    "cells",
    "functional",
    "init",
    "losses",
]
