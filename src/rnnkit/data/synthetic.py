"""Generated data sets: classic memory tasks for RNNs and synthetic time series.

Every random generator takes a keyword ``rng`` (a ``numpy.random.Generator``) or ``seed``
(an int), never global state, so the same call returns the same data.

Shapes: ``N`` sequences, ``T`` time steps. Floats are float64; tokens are int64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._common import check_float, check_int, resolve_rng

_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


# -- memory tasks ----------------------------------------------------------------------
def adding_problem(
    n: int, T: int, *, rng: np.random.Generator | None = None, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997, experiment 4).

    Channel 0 holds values drawn from U(0, 1); channel 1 is a marker that is 1 at exactly
    two steps, one in the first half (``t < T // 2``) and one in the second half, and 0
    elsewhere. The target is the sum of the two marked values. Always answering 1 gives a
    mean squared error of Var(u1 + u2) = 1/6 ~ 0.167: a model must beat that to have
    learned anything.

    Returns:
        X: (N, T, 2) inputs. y: (N, 1) targets.
    """
    n, T = check_int(n, "n", 1), check_int(T, "T", 2)
    rng = resolve_rng(rng, seed, "adding_problem")
    values = rng.random((n, T))  # (N, T)
    first = rng.integers(0, T // 2, size=n)  # (N,)
    second = rng.integers(T // 2, T, size=n)  # (N,)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]  # (N, 1)
    return X, y


def copy_memory(
    n: int,
    T: int,
    n_symbols: int = 8,
    copy_len: int = 10,
    *,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

    Tokens: 0 is blank, ``1..n_symbols`` are data symbols, ``n_symbols + 1`` is the
    delimiter (vocabulary size ``n_symbols + 2``). With ``K = copy_len``, each sequence has
    length ``L = T + 2K``::

        inputs : s_1 .. s_K, blank * (T - 1), delimiter, blank * K
        targets: blank * (T + K),                         s_1 .. s_K

    so the model must hold K symbols over T steps. A memoryless model that predicts blanks
    and then guesses uniformly scores a cross-entropy of ``K log(n_symbols) / (T + 2K)``
    per step: the baseline to beat.

    Returns:
        inputs: (N, L) int64 tokens. targets: (N, L) int64 tokens.
    """
    n, T = check_int(n, "n", 1), check_int(T, "T", 1)
    n_symbols, K = check_int(n_symbols, "n_symbols", 1), check_int(copy_len, "copy_len", 1)
    rng = resolve_rng(rng, seed, "copy_memory")
    symbols = rng.integers(1, n_symbols + 1, size=(n, K))  # (N, K)
    L = T + 2 * K
    inputs = np.zeros((n, L), dtype=np.int64)
    targets = np.zeros((n, L), dtype=np.int64)
    inputs[:, :K] = symbols
    inputs[:, K + T - 1] = n_symbols + 1  # the delimiter
    targets[:, T + K :] = symbols
    return inputs, targets


def running_sum(
    n: int, T: int, max_value: int = 1, *, rng: np.random.Generator | None = None, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Keep a running total, as in "1 + 1 + 1": the target at step t is the sum so far.

    Inputs are integers drawn uniformly from ``0..max_value`` (stored as floats); with
    the default ``max_value=1`` the task is counting the ones seen so far.

    Returns:
        X: (N, T, 1) inputs. Y: (N, T, 1) targets, ``Y[:, t] = X[:, :t + 1].sum(axis=1)``.
    """
    n, T = check_int(n, "n", 1), check_int(T, "T", 1)
    max_value = check_int(max_value, "max_value", 1)
    rng = resolve_rng(rng, seed, "running_sum")
    X = rng.integers(0, max_value + 1, size=(n, T, 1)).astype(np.float64)
    return X, np.cumsum(X, axis=1)


def arithmetic_pairs(
    n: int, max_digits: int = 3, op: str = "+", *, rng: np.random.Generator | None = None, seed: int | None = None
) -> list[tuple[str, str]]:
    """Integer arithmetic as string pairs for sequence-to-sequence models: ("123+45", "168").

    Each operand first draws its number of digits uniformly from ``1..max_digits``, then a
    value with that many digits, so short numbers are as common as long ones. ``op`` is
    one of ``"+"``, ``"-"`` (results may be negative, "3-12" -> "-9"), ``"*"``, or several
    of them (``"+-"``) to mix operators uniformly. Sources are all distinct.

    Returns:
        a list of N ``(source, target)`` pairs, ``str(eval(source)) == target``.
    """
    n, max_digits = check_int(n, "n", 1), check_int(max_digits, "max_digits", 1)
    if not isinstance(op, str) or not op or any(c not in _OPS for c in op) or len(set(op)) != len(op):
        raise ValueError(f"op: expected one or more distinct operators from {''.join(_OPS)!r}, got {op!r}")
    if max_digits > 9:
        raise ValueError(f"max_digits: expected at most 9 (int64 keys), got {max_digits}")
    rng = resolve_rng(rng, seed, "arithmetic_pairs")
    M = 10**max_digits
    total = len(op) * M * M
    if n > total:
        raise ValueError(
            f"n: expected at most {total} (the number of distinct {max_digits}-digit "
            f"problems with operators {op!r}), got {n}; hint: increase max_digits"
        )
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < n:
        size = 2 * (n - len(keys)) + 16
        ops = rng.integers(0, len(op), size=size)
        a, b = _operands(rng, max_digits, size), _operands(rng, max_digits, size)
        keys = np.concatenate([keys, (ops * M + a) * M + b])
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]  # distinct, in order of first draw
    pairs = []
    for key in keys[:n].tolist():
        rest, b = divmod(key, M)
        k, a = divmod(rest, M)
        pairs.append((f"{a}{op[k]}{b}", str(_OPS[op[k]](a, b))))
    return pairs


def _operands(rng: np.random.Generator, max_digits: int, size: int) -> np.ndarray:
    digits = rng.integers(1, max_digits + 1, size=size)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return rng.integers(low, 10**digits)


# -- time series -------------------------------------------------------------------------
def mackey_glass(
    n: int,
    tau: float = 17,
    beta: float = 0.2,
    gamma: float = 0.1,
    p: float = 10,
    dt: float = 1.0,
    x0: float = 1.2,
    discard: int = 250,
    substeps: int = 10,
) -> np.ndarray:
    """The Mackey-Glass delay differential equation (Mackey & Glass 1977), sampled every dt.

        dx/dt = beta * x(t - tau) / (1 + x(t - tau)^p) - gamma * x(t),  x(t) = x0 for t <= 0

    Integrated by fourth-order Runge-Kutta with step ``h = dt / substeps``; the delayed
    value between grid points is linearly interpolated. The first ``discard`` samples
    (the transient) are dropped. With the defaults (tau = 17) the series is chaotic and
    stays within about 0.2..1.4. Deterministic: there is no noise.

    Returns:
        (N,) float64 samples ``x(dt * (discard + k))``, k = 0..N-1.
    """
    n, discard = check_int(n, "n", 1), check_int(discard, "discard", 0)
    substeps = check_int(substeps, "substeps", 1)
    tau, beta, gamma = check_float(tau, "tau"), check_float(beta, "beta"), check_float(gamma, "gamma")
    p, x0, dt = check_float(p, "p"), check_float(x0, "x0"), check_float(dt, "dt", positive=True)
    h = dt / substeps
    if tau < h:
        raise ValueError(
            f"tau: expected at least the integration step dt / substeps = {h}, got {tau}; hint: increase substeps"
        )
    delay = tau / h  # the delay in grid steps

    def rate(x: float, xd: float) -> float:
        return beta * xd / (1.0 + xd**p) - gamma * x

    steps = (discard + n - 1) * substeps
    x = [x0] * (steps + 1)
    for k in range(steps):
        d0, dh, d1 = (_delayed(x, k + s - delay, x0) for s in (0.0, 0.5, 1.0))
        k1 = rate(x[k], d0)
        k2 = rate(x[k] + 0.5 * h * k1, dh)
        k3 = rate(x[k] + 0.5 * h * k2, dh)
        k4 = rate(x[k] + h * k3, d1)
        x[k + 1] = x[k] + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.array(x[discard * substeps :: substeps], dtype=np.float64)


def _delayed(x: list[float], position: float, x0: float) -> float:
    """x at a fractional grid index; the constant history x0 before time 0."""
    if position <= 0.0:
        return x0
    i = math.floor(position)
    frac = position - i
    return x[i] if frac == 0.0 else (1.0 - frac) * x[i] + frac * x[i + 1]


def noisy_seasonal(
    n: int,
    period: float | Sequence[float] = 24,
    trend: float = 0.01,
    noise: float = 0.1,
    *,
    amplitude: float | Sequence[float] = 1.0,
    level: float = 0.0,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """A seasonal series with a linear trend and Gaussian noise:

        x_t = level + trend * t + sum_k amplitude_k * sin(2 pi t / period_k) + noise * e_t

    with ``e_t ~ N(0, 1)``. ``period`` may be one number or several (``(24, 168)``: daily
    and weekly cycles of hourly data); ``amplitude`` is one number or one per period.

    Returns:
        (N,) float64 values at t = 0..N-1.
    """
    n = check_int(n, "n", 1)
    periods = [check_float(v, "period", positive=True) for v in np.atleast_1d(period).tolist()]
    amps = np.atleast_1d(amplitude).tolist()
    if len(amps) == 1:
        amps = amps * len(periods)
    if len(amps) != len(periods):
        raise ValueError(f"amplitude: expected one value or one per period ({len(periods)}), got {len(amps)}")
    amps = [check_float(a, "amplitude") for a in amps]
    trend, noise = check_float(trend, "trend"), check_float(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise: expected a standard deviation >= 0, got {noise}")
    rng = resolve_rng(rng, seed, "noisy_seasonal")
    t = np.arange(n, dtype=np.float64)
    season = sum(a * np.sin(2.0 * np.pi * t / P) for a, P in zip(amps, periods, strict=False))
    return check_float(level, "level") + trend * t + season + noise * rng.standard_normal(n)
