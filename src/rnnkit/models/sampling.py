"""Drawing the next token from a model's logits: temperature and top-k sampling, or greedy.

Shape legend: B rows (batch or beams), V vocabulary.

With logits z (B, V), temperature tau > 0 and an optional cut-off k, the next token of row b
is drawn from

    p_b(v) = exp(z_bv / tau) / sum_{u in K_b} exp(z_bu / tau)   for v in K_b, else 0,

where K_b holds the k largest logits of row b (all V when k is None). tau < 1 sharpens the
distribution towards the arg-max, tau > 1 flattens it towards uniform; tau -> 0 is greedy
decoding, which :func:`greedy` does exactly (``temperature=0`` is refused, because a
division by zero is not a sampler). Ties at the k-th largest logit keep every tied token.

The draw is one uniform number per row, inverted through the row's cumulative
distribution in float64, so a seeded ``numpy.random.Generator`` gives the same tokens on
every platform and for every batch size (row b uses the b-th uniform number).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike


def check_temperature(temperature: float) -> float:
    """``temperature``: a finite float > 0."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature: expected a float > 0, got {temperature!r}")
    t = float(temperature)
    if not (t > 0 and np.isfinite(t)):
        raise ValueError(
            f"temperature: expected a finite float > 0, got {temperature}; "
            "hint: for deterministic (greedy) output use the model's predict(), "
            "or a small temperature such as 0.1"
        )
    return t


def check_top_k(top_k: int | None, vocab_size: int) -> int | None:
    """``top_k``: None (no cut-off) or an int in [1, V]; larger values are clipped to V."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
        raise TypeError(f"top_k: expected None or an int >= 1, got {top_k!r}")
    if top_k < 1:
        raise ValueError(f"top_k: expected None or an int >= 1, got {top_k}; hint: top_k=1 is greedy")
    return min(int(top_k), vocab_size)


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """``seed``: None (fresh entropy), an int >= 0, or a ``numpy.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed: expected None, an int >= 0 or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def probabilities(logits: ArrayLike, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """The sampling distribution p (B, V) in float64 for logits (B, V); see the module doc."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"logits: expected a 2-D array (B, V) with V >= 1, got shape {z.shape}")
    tau = check_temperature(temperature)
    k = check_top_k(top_k, z.shape[1])
    z = z / tau
    if k is not None and k < z.shape[1]:
        kth = np.partition(z, -k, axis=1)[:, -k][:, None]  # (B, 1) the k-th largest
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)  # the max entry is exactly 0
    p = np.exp(z)  # exp(-inf) = 0, no warning
    return p / p.sum(axis=1, keepdims=True)


def sample(
    logits: ArrayLike, *, temperature: float = 1.0, top_k: int | None = None, rng: np.random.Generator
) -> np.ndarray:
    """Draw one token per row from :func:`probabilities`; returns int64 ids (B,)."""
    p = probabilities(logits, temperature, top_k)
    cdf = np.cumsum(p, axis=1)  # (B, V)
    u = rng.random((p.shape[0], 1)) * cdf[:, -1:]  # (B, 1) in [0, total)
    ids = (cdf <= u).sum(axis=1)  # first v with cdf_v > u
    # Rounding can leave u at the very top; never return a token of probability 0.
    ids = np.minimum(ids, p.shape[1] - 1)
    zero = p[np.arange(p.shape[0]), ids] == 0
    if np.any(zero):
        ids[zero] = np.argmax(p[zero], axis=1)
    return ids.astype(np.int64)


def greedy(logits: ArrayLike) -> np.ndarray:
    """The arg-max token per row (the lowest id among ties); int64 ids (B,)."""
    z = np.asarray(logits)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"logits: expected a 2-D array (B, V) with V >= 1, got shape {z.shape}")
    return np.argmax(z, axis=1).astype(np.int64)
