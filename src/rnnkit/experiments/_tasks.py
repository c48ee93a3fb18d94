"""The data the experiments train on: the adding problem in batches, the "neuron" words."""

from __future__ import annotations

import numpy as np

from ..data.synthetic import adding_problem
from ..nn.init import initialize


def adding_batches(n: int, T: int, batch_size: int, *, rng, dtype=np.float32) -> list:
    """``n`` adding-problem sequences of length T as a list of ``(X (B, T, 2), y (B, 1))``.

    Predicting the mean (1) scores an MSE of 1/6 ~ 0.167: the baseline to beat.
    """
    X, y = adding_problem(n, T, rng=rng)
    X, y = X.astype(dtype), y.astype(dtype)
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, n, batch_size)]


ADDING_BASELINE = 1.0 / 6.0


def initialize_layer(net, init: str, *, rng) -> None:
    """Initialize ``net``'s recurrent weights by a named scheme (see INITS)."""

    if init not in INITS:
        raise ValueError(f"init: expected one of {sorted(INITS)}, got {init!r}")
    spec = INITS[init]
    if spec is not None:
        initialize(net, **spec, rng=rng)


INITS = {
    "recommended": {},  # rnnkit.nn.init defaults: Xavier, orthogonal, forget bias 1
    "pytorch": None,  # U(-1/sqrt(H), 1/sqrt(H)), as built
    "small_normal": {
        "weight_ih": ("scaled_normal", {"std": 0.01}),
        "weight_hh": ("scaled_normal", {"std": 0.01}),
        "bias": "zeros",
        "forget_bias": None,
    },
    "xavier": {"weight_ih": "xavier_uniform", "weight_hh": "xavier_uniform", "bias": "zeros", "forget_bias": None},
    "orthogonal": {"weight_ih": "xavier_uniform", "weight_hh": "orthogonal", "bias": "zeros", "forget_bias": None},
    "identity_relu": {"preset": "irnn"},  # Le, Jaitly & Hinton 2015 (needs a ReLU RNN)
}


def words_batch(words):
    """Next-character pairs for words framed as ``^word$``.

    Returns ``(inputs (B, L), targets (B, L))`` of character ids (targets past a word's
    end are -100, not counted) and the vocabulary (a string: id -> character).
    """
    framed = ["^" + w + "$" for w in words]
    vocab = "".join(sorted(set("".join(framed))))
    L = max(len(f) for f in framed) - 1
    inputs = np.zeros((len(framed), L), dtype=np.int64)
    targets = np.full((len(framed), L), -100, dtype=np.int64)
    for b, f in enumerate(framed):
        ids = [vocab.index(c) for c in f]
        inputs[b, : len(ids) - 1] = ids[:-1]
        targets[b, : len(ids) - 1] = ids[1:]
    return inputs, targets, vocab
