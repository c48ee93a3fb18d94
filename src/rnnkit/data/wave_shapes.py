"""Waveform classes for sequence classification: sine, square, sawtooth, triangle.

Every series draws its own period, phase, amplitude and offset, and gets Gaussian noise,
so the class is in the *shape* of a cycle, not in any one value: a classifier has to
integrate over time. This makes the built-in ``.ts`` classification set
(``files/waveforms_*.ts``).

With cycle position ``c = (t / period + phase) mod 1`` in [0, 1):

    sine     sin(2 pi c)          square   +1 if c < 1/2 else -1
    sawtooth 2c - 1               triangle 1 - 4 |c - 1/2|

and ``x_t = offset + amplitude * wave(c) + noise * e_t`` with ``e_t ~ N(0, 1)``.
"""

from __future__ import annotations

import numpy as np

from ._common import check_float, check_int, resolve_rng

CLASSES = ("sine", "square", "sawtooth", "triangle")

_WAVES = {
    "sine": lambda c: np.sin(2.0 * np.pi * c),
    "square": lambda c: np.where(c < 0.5, 1.0, -1.0),
    "sawtooth": lambda c: 2.0 * c - 1.0,
    "triangle": lambda c: 1.0 - 4.0 * np.abs(c - 0.5),
}


def waveform_classes(
    n_per_class: int,
    T: int = 64,
    *,
    period: tuple[float, float] = (12.0, 32.0),
    noise: float = 0.15,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, list[str]]:
    """``n_per_class`` noisy series of each class in :data:`CLASSES`, shuffled.

    Args:
        n_per_class: series per class.
        T: time steps per series.
        period: (low, high) range of the uniformly drawn period, in steps.
        noise: standard deviation of the added Gaussian noise.

    Returns:
        ``(X, labels)``: X (N, T) float64 with N = 4 n_per_class; labels, a list of N
        class names.
    """
    n_per_class, T = check_int(n_per_class, "n_per_class", 1), check_int(T, "T", 2)
    low, high = (check_float(p, "period", positive=True) for p in period)
    noise = check_float(noise, "noise")
    rng = resolve_rng(rng, seed, "waveform_classes")
    N = n_per_class * len(CLASSES)
    labels = np.repeat(np.arange(len(CLASSES)), n_per_class)[rng.permutation(N)]  # (N,)
    periods = rng.uniform(low, high, size=(N, 1))
    phases = rng.random((N, 1))
    amplitudes = rng.uniform(0.7, 1.3, size=(N, 1))
    offsets = rng.normal(0.0, 0.2, size=(N, 1))
    cycle = (np.arange(T)[None, :] / periods + phases) % 1.0  # (N, T)
    X = np.empty((N, T))
    for k, name in enumerate(CLASSES):
        rows = labels == k
        X[rows] = _WAVES[name](cycle[rows])
    X = offsets + amplitudes * X + noise * rng.standard_normal((N, T))  # (N, T)
    return X, [CLASSES[k] for k in labels]
