"""Losses, each returning ``(loss, dpred)``: the scalar and its gradient w.r.t. the prediction.

Shape legend: N any leading dims (e.g. T, B), C classes or features.
A ``mask`` (N...) of 0/1 or bools selects the elements that count; the loss is their mean
(for :func:`binary_cross_entropy_with_logits`, the mean over frames N of a sum over C).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .functional import log_softmax, sigmoid


def _weights(mask: ArrayLike, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {m.shape}")
    return m.astype(np.float64)


def mse(pred: ArrayLike, target: ArrayLike, mask: ArrayLike | None = None) -> tuple[float, np.ndarray]:
    """Mean squared error: L = sum(w * (pred - target)^2) / sum(w) over the elements counted.

    Args: pred and target of one shape (N..., C); mask (N...) or (N..., C), optional.
    Returns: (loss, dL/dpred).
    """
    pred = np.asarray(pred)
    target = np.asarray(target, dtype=pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"target: expected the shape of pred {pred.shape}, got {target.shape}")
    diff = pred - target
    if mask is None:
        n = diff.size
        return float(np.mean(diff * diff, dtype=np.float64)), (2.0 / n) * diff
    m = np.asarray(mask)
    if m.shape == pred.shape[:-1]:
        m = np.broadcast_to(m[..., None], pred.shape)
    w = _weights(m, pred.shape)
    total = w.sum()
    if total == 0:
        return 0.0, np.zeros_like(diff)
    loss = float(np.sum(w * diff * diff) / total)
    return loss, (2.0 / total * w * diff).astype(pred.dtype)


def cross_entropy(
    logits: ArrayLike, targets: ArrayLike, mask: ArrayLike | None = None, ignore_index: int = -100
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy, fused: L = mean over counted n of -log softmax(z_n)[y_n].

    dL/dz_n = (softmax(z_n) - onehot(y_n)) / count. Stable for logits of any magnitude
    (shifted by their max before exponentiating).

    Args:
        logits: (N..., C); targets: (N...) ints in [0, C) or ``ignore_index``;
        mask: optional (N...) weights; entries with mask 0 or target == ignore_index don't count.
    Returns: (loss, dL/dlogits).
    """
    z = np.asarray(logits)
    y = np.asarray(targets)
    if y.shape != z.shape[:-1]:
        raise ValueError(f"targets: expected shape {z.shape[:-1]} (logits without the class axis), got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"targets: expected integer class ids, got dtype {y.dtype}")
    C = z.shape[-1]
    valid = y != ignore_index
    if np.any(valid & ((y < 0) | (y >= C))):
        raise ValueError(
            f"targets: expected class ids in [0, {C}) or ignore_index={ignore_index}, "
            f"got values in [{y.min()}, {y.max()}]"
        )
    w = valid.astype(np.float64)
    if mask is not None:
        w = w * _weights(mask, y.shape)
    total = w.sum()
    logp = log_softmax(z.astype(np.float64, copy=False) if z.dtype != np.float32 else z)
    yc = np.where(valid, y, 0)
    picked = np.take_along_axis(logp, yc[..., None], axis=-1)[..., 0]
    if total == 0:
        return 0.0, np.zeros_like(z)
    loss = float(-np.sum(w * picked, dtype=np.float64) / total)
    grad = np.exp(logp)
    np.put_along_axis(grad, yc[..., None], np.take_along_axis(grad, yc[..., None], axis=-1) - 1.0, axis=-1)
    grad *= (w / total)[..., None].astype(grad.dtype)
    return loss, grad.astype(z.dtype, copy=False)


def binary_cross_entropy_with_logits(
    logits: ArrayLike, targets: ArrayLike, mask: ArrayLike | None = None
) -> tuple[float, np.ndarray]:
    """Independent sigmoids, fused: L = mean over counted frames n of sum over c of
    -[y_nc log s(z_nc) + (1 - y_nc) log(1 - s(z_nc))], with s the logistic sigmoid.

    The summand is written softplus(z) - y z = max(z, 0) - y z + log(1 + exp(-|z|)), which
    never overflows and keeps its precision where s(z) rounds to 0 or 1. The sum over C
    makes L the negative log-likelihood of a frame of C independent binary outputs (the
    notes of a piano-roll frame); dL/dz_nc = (s(z_nc) - y_nc) w_n / sum(w).

    Args:
        logits: (N..., C); targets: (N..., C) in [0, 1] (0/1 for binary data);
        mask: optional (N...) frame weights (0/1 or bools); frames with mask 0 don't count.
    Returns: (loss, dL/dlogits) with dL/dlogits (N..., C) in the dtype of ``logits``.
    """
    z = np.asarray(logits)
    y = np.asarray(targets)
    if z.ndim < 1:
        raise ValueError(f"logits: expected an array (N..., C) with a class axis, got shape {z.shape}")
    if y.shape != z.shape:
        raise ValueError(f"targets: expected the shape of logits {z.shape}, got {y.shape}")
    if y.size and not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"targets: expected numbers in [0, 1], got dtype {y.dtype}")
    zf = z.astype(np.float64)
    yf = y.astype(np.float64)
    if yf.size and (yf.min() < 0 or yf.max() > 1):
        raise ValueError(f"targets: expected values in [0, 1], got values in [{yf.min()}, {yf.max()}]")
    w = np.ones(z.shape[:-1]) if mask is None else _weights(mask, z.shape[:-1])
    total = w.sum()
    if total == 0:
        return 0.0, np.zeros_like(z)
    per = np.maximum(zf, 0.0) - yf * zf + np.log1p(np.exp(-np.abs(zf)))  # (N..., C)
    loss = float(np.sum(w * per.sum(axis=-1)) / total)
    grad = (sigmoid(zf) - yf) * (w / total)[..., None]  # (N..., C)
    return loss, grad.astype(z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64, copy=False)
