"""Numerically stable activations and their derivatives, written for in-place use.

Derivatives are expressed through the activation's *output*, which is what the backward
passes keep in their caches:

    sigmoid'(x) = s (1 - s)        with s = sigmoid(x)
    tanh'(x)    = 1 - t^2          with t = tanh(x)
    relu'(x)    = [y > 0]          with y = relu(x)
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sigmoid(x) = (1 + tanh(x / 2)) / 2: never overflows, unlike 1 / (1 + exp(-x))."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(x, out=out)


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(x, 0, out=out)


def dsigmoid_from_output(s: np.ndarray) -> np.ndarray:
    return s * (1.0 - s)


def dtanh_from_output(t: np.ndarray) -> np.ndarray:
    return 1.0 - t * t


def drelu_from_output(y: np.ndarray) -> np.ndarray:
    return (y > 0).astype(y.dtype)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z - max(z) - log sum exp(z - max(z)): exact for |z| up to float max."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATIONS = {"tanh": (tanh, dtanh_from_output), "relu": (relu, drelu_from_output)}
