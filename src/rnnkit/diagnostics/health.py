"""Health numbers for a recurrent model: weights, gates, gradients, updates, memory.

Shape legend
    T  time steps    B  batch    H  hidden units    G  gates x H

Why these numbers. Backpropagation through time multiplies one Jacobian per step,

    dL/dh_{t-k} = dL/dh_t  prod_{j=0}^{k-1}  dh_{t-j}/dh_{t-j-1},
    dh_t/dh_{t-1} = diag(act'(a_t)) W_hh            (Elman RNN, a_t the pre-activation)

so ||dL/dh_{t-k}|| <= ||dL/dh_t|| (gamma * sigma_max(W_hh))^k with gamma = max |act'|
(1 for tanh and ReLU): if the largest singular value of W_hh is below 1, gradients vanish
exponentially in k; a spectral radius rho(W_hh) above 1 is necessary for them to explode
(Pascanu, Mikolov & Bengio 2013). Saturated activations make act' ~ 0 and cut the chain
too; for gated cells a saturated sigmoid also stops its gate from learning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ..nn.recurrent import RecurrentCache, _Recurrent
from ._layers import direction_activations, gate_activations, gate_letters, qualified, recurrent_layers
from .flow import steps_back

if TYPE_CHECKING:
    from ..nn.module import Module


# -- recurrent weights ----------------------------------------------------------------
def _square(W: ArrayLike, name: str) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(
            f"{name}: expected a square (H, H) matrix, got shape {W.shape}; "
            "hint: for an LSTM/GRU W_hh use recurrent_weight_health(), which splits the gate blocks"
        )
    return W


def spectral_radius(W: ArrayLike) -> float:
    """rho(W) = max |lambda_i(W)|, the largest eigenvalue modulus of a square matrix.

    It governs the long-run growth of W^k: ||W^k||^(1/k) -> rho(W).
    """
    W = _square(W, "W")
    if not np.all(np.isfinite(W)):
        return math.nan
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def largest_singular_value(W: ArrayLike) -> float:
    """sigma_max(W) = ||W||_2: the most any vector can be stretched by W (any 2-D shape)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W: expected a 2-D matrix, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        return math.nan
    return float(np.linalg.norm(W, 2))


def recurrent_weight_health(module: Module) -> dict[str, dict]:
    """rho and sigma_max of every W_hh in ``module``, whole and per gate block.

    Returns, per parameter name (``"rnn.weight_hh_l0"``)::

        {"mode": "LSTM",
         "spectral_radius": rho(W_hh) or None when W_hh is not square (gated cells),
         "max_singular": sigma_max(W_hh),
         "blocks": {"i": {"spectral_radius": .., "max_singular": ..}, "f": ..., ...}}

    The blocks are PyTorch's row blocks W_hh[g*H:(g+1)*H] (LSTM i, f, g, o; GRU r, z, n;
    RNN a single block "h" equal to the whole matrix).
    """
    out = {}
    for prefix, layer in recurrent_layers(module).items():
        H = layer.hidden_size
        for pname, W in layer.parameters().items():
            if not pname.startswith("weight_hh"):
                continue
            blocks = {}
            for g, gate in enumerate(gate_letters(layer)):
                Wg = W[g * H : (g + 1) * H]  # (H, H)
                blocks[gate] = {"spectral_radius": spectral_radius(Wg), "max_singular": largest_singular_value(Wg)}
            square = W.shape[0] == W.shape[1]
            out[qualified(prefix, pname)] = {
                "mode": layer.mode,
                "spectral_radius": spectral_radius(W) if square else None,
                "max_singular": largest_singular_value(W),
                "blocks": blocks,
            }
    return out


def headline_radius(entry: Mapping) -> float:
    """One number per W_hh for plots: rho(W_hh) if square, else the largest block's rho."""
    if entry["spectral_radius"] is not None:
        return float(entry["spectral_radius"])
    return max(float(b["spectral_radius"]) for b in entry["blocks"].values())


# -- gate saturation --------------------------------------------------------------------
def saturation_counts(values: np.ndarray, activation: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (low, high) of activations within ``eps`` of a flat end.

    sigmoid s: low s < eps, high s > 1 - eps;  tanh t: low t < -1 + eps, high t > 1 - eps;
    relu y: low y <= 0 (zero slope), never high.
    """
    v = np.asarray(values)
    if activation == "sigmoid":
        return v < eps, v > 1.0 - eps
    if activation == "tanh":
        return v < -1.0 + eps, v > 1.0 - eps
    if activation == "relu":
        return v <= 0.0, np.zeros(v.shape, bool)
    raise ValueError(f"activation: expected sigmoid, tanh or relu, got {activation!r}")


def _check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0.0 < eps < 0.5:
        raise ValueError(f"eps: expected a number in (0, 0.5), got {eps!r}")
    return float(eps)


def gate_saturation(
    layer: _Recurrent, cache: RecurrentCache, eps: float = 0.05
) -> dict[str, dict[str, dict[str, float]]]:
    """Fraction of gate activations near 0 or 1 (tanh: near -1 or 1), from one forward's cache.

    Args:
        layer: the RNN/LSTM/GRU layer that produced ``cache``.
        cache: the third value returned by ``layer.forward``.
        eps: distance from the flat end that counts as saturated, in (0, 0.5).
    Returns:
        ``{"l0": {"i": {"low": .., "high": .., "total": ..}, ...}, "l0_reverse": ...}``;
        fractions over the valid (t, b) positions and hidden units (padding excluded).
        For an Elman RNN the one "gate" is the hidden state h itself.
    """

    if not isinstance(layer, _Recurrent):
        raise TypeError(f"layer: expected an rnnkit RNN, LSTM or GRU layer, got {type(layer).__name__}")
    if not isinstance(cache, RecurrentCache) or cache.owner != id(layer):
        raise TypeError(f"cache: expected the cache returned by this layer's forward(); got {type(cache).__name__}")
    eps = _check_eps(eps)
    gates = gate_activations(layer)
    if gates is None:
        raise ValueError(
            f"layer: cell {layer.mode!r} declares no gate activations, so its saturation cannot be measured; "
            "hint: give its CellSpec activations=(...), one per gate"
        )
    valid = None if cache.mask is None else cache.mask  # (T, B, 1)
    out = {}
    for k, lc in enumerate(cache.layers):
        for d, dc in enumerate(lc.dirs):
            acts = direction_activations(layer, dc)
            per_gate = {}
            for gate, activation in gates:
                if gate not in acts:
                    raise ValueError(
                        f"layer: cell {layer.mode!r} keeps no activated gate {gate!r}; "
                        'hint: store its activated gates as store["gates"] (T, B, G)'
                    )
                a = acts[gate]  # (T, B, H)
                low, high = saturation_counts(a, activation, eps)
                if valid is None:
                    n = a.size
                    n_low, n_high = int(low.sum()), int(high.sum())
                else:
                    n = int(valid.sum()) * a.shape[-1]
                    n_low, n_high = int((low & valid).sum()), int((high & valid).sum())
                per_gate[gate] = {"low": n_low / n, "high": n_high / n, "total": (n_low + n_high) / n}
            out[f"l{k}" + ("_reverse" if d else "")] = per_gate
    return out


# -- gradients and updates ----------------------------------------------------------------
def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


def _norms_quiet(arrays: Mapping[str, np.ndarray]) -> dict[str, float]:
    # Exploding weights are the condition being diagnosed: an overflow to inf is a finding,
    # not an error, whatever numpy's error state says.
    with np.errstate(over="ignore", invalid="ignore"):
        return {n: _norm(a) for n, a in arrays.items()}


def grad_norms(module: Module) -> dict[str, float]:
    """||dL/dp|| for every parameter p, by name (the live gradients, after backward)."""
    return _norms_quiet({n: g for n, _, g in module.named_parameters()})


def param_norms(module: Module) -> dict[str, float]:
    """||p|| for every parameter, by name."""
    return _norms_quiet({n: p for n, p, _ in module.named_parameters()})


def update_norms(before: Mapping[str, np.ndarray], module: Module) -> dict[str, dict[str, float]]:
    """||p_after - p_before|| and its ratio to ||p_before|| for every parameter.

    Args:
        before: ``module.state_dict()`` taken before the optimizer step.
        module: the same module after the step.
    Returns: ``{name: {"update": ||dp||, "ratio": ||dp|| / ||p_before||}}``. A ratio
    around 1e-3 per step is the usual healthy range; far below stalls, far above thrashes.
    """
    if not isinstance(before, Mapping):
        raise TypeError(f"before: expected module.state_dict() from before the step, got {type(before).__name__}")
    now = {n: p for n, p, _ in module.named_parameters()}
    if set(before) != set(now):
        raise ValueError(
            f"before: expected the keys of module.state_dict(); missing {sorted(set(now) - set(before))}, "
            f"unexpected {sorted(set(before) - set(now))}"
        )
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for n, p in now.items():
            dp = _norm(p.astype(np.float64) - np.asarray(before[n], np.float64))
            ref = _norm(before[n])
            out[n] = {"update": dp, "ratio": dp / ref if ref > 0 else math.inf if dp > 0 else 0.0}
    return out


# -- memory horizon ------------------------------------------------------------------------
def memory_horizon(norms: ArrayLike, fraction: float = 0.01, key: str = "") -> float:
    """How many steps back the gradient stays above ``fraction`` of its value at the loss.

    With n_k = ||dL/dh_{t0-k}|| counted back from the loss end t0 (the last step of a
    forward direction, the first of a reverse one; ``key`` tells which), the horizon is the
    smallest k >= 1 with n_k < fraction * n_0. ``inf`` when the gradient never falls that
    low within the sequence; ``nan`` when the series is not finite or all zero.
    For n_k = r^k exactly this is floor(log(fraction) / log(r)) + 1.

    The reference n_0 is the first positive value counting back (a loss that ignores the
    last few steps shifts t0 accordingly).
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction: expected a number in (0, 1), got {fraction!r}")
    seq = steps_back(norms, key)
    if seq.ndim != 1 or seq.size == 0:
        raise ValueError(f"norms: expected a non-empty (T,) array, got shape {np.shape(norms)}")
    if not np.all(np.isfinite(seq)):
        return math.nan
    positive = np.flatnonzero(seq > 0)
    if positive.size == 0:
        return math.nan
    k0 = int(positive[0])
    below = np.flatnonzero(seq[k0 + 1 :] < fraction * seq[k0])
    return float(below[0] + 1) if below.size else math.inf


def decay_ratio(norms: ArrayLike, key: str = "") -> float:
    """n_far / n_0: the gradient at the far end of the sequence over its value at the loss.

    ~1 means the gradient reaches the start undiminished; << 1 vanishing; >> 1 exploding.
    ``nan`` when not finite or all zero.
    """
    seq = steps_back(norms, key)
    if not np.all(np.isfinite(seq)):
        return math.nan
    positive = np.flatnonzero(seq > 0)
    if positive.size == 0:
        return math.nan
    with np.errstate(over="ignore", under="ignore"):
        return float(seq[-1] / seq[positive[0]])
