"""rnnkit: recurrent neural networks from the equations up, in NumPy."""

from . import cells, functional, losses, nn
from ._version import __version__
from .module import Module

__all__ = ["__version__", "Module", "nn", "cells", "functional", "losses"]
