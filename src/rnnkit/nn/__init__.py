"""Layers: recurrent (RNN, LSTM, GRU), Linear and Embedding."""

from .linear import Embedding, Linear
from .recurrent import GRU, LSTM, RNN, RecurrentCache

__all__ = ["RNN", "LSTM", "GRU", "Linear", "Embedding", "RecurrentCache"]
