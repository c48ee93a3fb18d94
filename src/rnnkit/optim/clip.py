"""Gradient clipping over a whole model, in place: global norm, element value, finiteness.

Exploding gradients are the classic failure of BPTT (Pascanu et al. 2013); rescaling the
*global* gradient norm keeps the update direction while bounding its size. Every function
takes ``grads`` as a Module (its gradient arrays), a dict ``name -> array``, a single array
or an iterable of arrays, and modifies the arrays in place (they are the live gradients).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ..utils.checks import check_number
from .optimizer import HasParameters

#: a model (its gradient arrays), a dict name -> array, one array or an iterable of arrays
GradsLike = HasParameters | Mapping[str, np.ndarray] | np.ndarray | Iterable[np.ndarray]

__all__ = ["clip_grad_norm", "clip_grad_value", "grad_norm", "all_finite"]


def _arrays(grads: GradsLike) -> list[np.ndarray]:
    """The gradient arrays of a Module, a dict, one array, or an iterable of arrays."""
    if hasattr(grads, "named_parameters"):
        return [g for _, _, g in grads.named_parameters()]
    if isinstance(grads, np.ndarray):
        items = [grads]
    elif isinstance(grads, Mapping):
        items = list(grads.values())
    elif isinstance(grads, Iterable) and not isinstance(grads, (str, bytes)):
        items = list(grads)
    else:
        raise TypeError(
            f"grads: expected a Module, a dict of name -> array or an iterable of arrays, got {type(grads).__name__}"
        )
    for i, g in enumerate(items):
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            raise TypeError(
                f"grads[{i}]: expected a floating-point numpy.ndarray, got {type(g).__name__}; "
                "hint: pass model.grads or the model itself"
            )
    return items


def _check_norm_type(norm_type: float | str) -> float:
    if norm_type == "inf":  # PyTorch accepts the string too
        return math.inf
    p = float(norm_type) if isinstance(norm_type, (int, float)) and not isinstance(norm_type, bool) else None
    if p is None or not (p > 0):
        raise ValueError(f"norm_type: expected a number > 0 or inf, got {norm_type!r}")
    return p


def _norm(arrays: list[np.ndarray], p: float) -> float:
    r"""``||concat(arrays)||_p``, formed like PyTorch as the p-norm of the per-array p-norms.

    Accumulated in float64 whatever the gradient dtype.
    """
    if not arrays:
        return 0.0
    norms = np.array(
        [np.linalg.norm(a.ravel().astype(np.float64, copy=False), ord=p) if a.size else 0.0 for a in arrays]
    )
    return float(np.linalg.norm(norms, ord=p))


def grad_norm(grads: GradsLike, norm_type: float = 2.0) -> float:
    r"""Global gradient norm :math:`\|g\|_p` over all arrays viewed as one vector (float)."""
    return _norm(_arrays(grads), _check_norm_type(norm_type))


def clip_grad_norm(
    grads: GradsLike, max_norm: float, norm_type: float = 2.0, *, error_if_nonfinite: bool = False
) -> float:
    r"""Rescale all gradients together so their global norm is at most ``max_norm``.

    .. math::
        n = \|g\|_p,\qquad c = \frac{\text{max\_norm}}{n + 10^{-6}},\qquad
        g \leftarrow c\, g \quad \text{if } c < 1

    exactly as ``torch.nn.utils.clip_grad_norm_``. A NaN or infinite norm leaves the
    gradients untouched (PyTorch would fill them with NaN) and is returned so the caller
    can skip the step; with ``error_if_nonfinite=True`` it raises instead.

    Args:
        grads: Module, dict name -> array, array, or iterable of arrays; scaled in place.
        max_norm: the largest allowed global norm, >= 0.
        norm_type: ``p`` of the norm, > 0, or ``math.inf`` for the largest absolute value.

    Returns:
        The global norm *before* clipping, as a float.
    """
    arrays = _arrays(grads)
    max_norm = check_number("max_norm", max_norm, low=0.0)
    total = _norm(arrays, _check_norm_type(norm_type))
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise ValueError(
                f"grads: expected a finite gradient norm, got {total}; "
                "hint: lower the learning rate, or pass error_if_nonfinite=False and skip this step"
            )
        return total
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in arrays:
            g *= coef
    return total


def clip_grad_value(
    grads: GradsLike, clip_value: float | None = None, *, interval: tuple[float, float] | None = None
) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]`` or ``[lo, hi] = interval``.

    Pass exactly one of ``clip_value`` (as ``torch.nn.utils.clip_grad_value_``) and
    ``interval`` (an explicit, possibly asymmetric range). In place; NaN stays NaN.
    """
    arrays = _arrays(grads)
    if (clip_value is None) == (interval is None):
        raise TypeError(
            "clip_value, interval: expected exactly one of them, got "
            f"clip_value={clip_value!r}, interval={interval!r}; hint: clip_grad_value(grads, 5.0)"
        )
    if clip_value is not None:
        v = check_number("clip_value", clip_value, low=0.0)
        lo, hi = -v, v
    else:
        if not isinstance(interval, (tuple, list)) or len(interval) != 2:
            raise TypeError(f"interval: expected a pair (lo, hi), got {interval!r}")
        lo, hi = check_number("interval[0]", interval[0]), check_number("interval[1]", interval[1])
        if lo > hi:
            raise ValueError(f"interval: expected lo <= hi, got ({lo!r}, {hi!r})")
    for g in arrays:
        np.clip(g, lo, hi, out=g)


def all_finite(grads: GradsLike) -> bool:
    """True when no gradient element is NaN or infinite."""
    return all(bool(np.isfinite(g).all()) for g in _arrays(grads))
