"""Activation regularization (AR) and temporal activation regularization (TAR) on the top
recurrent layer's outputs (Merity et al. 2017, AWD-LSTM's ``alpha`` and ``beta``).

Shape legend
    T  time steps      B  batch      F  features (D*H of the top layer)

With m the valid steps (padding excluded), n = F * #{(t, b) valid} and
n' = F * #{(t, b): t and t-1 both valid}:

    AR  = alpha / n  * sum_{t,b valid} ||h~_t||^2          h~ = the outputs after output dropout
    TAR = beta  / n' * sum_{t,b: t, t-1 valid} ||h_t - h_{t-1}||^2     h = the outputs before it

i.e. ``alpha * mean(h~^2)`` and ``beta * mean((h_t - h_{t-1})^2)`` over the valid entries,
as AWD-LSTM writes them. The penalty is added to the data loss while training only, and
its gradients flow into BPTT: dAR/dh~ goes into the layer's ``dout`` and dTAR/dh into its
``doutput`` (:meth:`rnnkit.nn.recurrent._Recurrent.backward`).

    penalty, cache = ar_tar_forward(dropped, raw, alpha, beta, mask)
    d_dropped, d_raw = ar_tar_backward(1.0, cache)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ActivationReg", "ar_tar_backward", "ar_tar_forward"]


def ar_tar_forward(
    dropped: np.ndarray, raw: np.ndarray, alpha: float, beta: float, mask: np.ndarray | None = None
) -> tuple[float, Any]:
    """The penalty AR + TAR (a float) and the cache for :func:`ar_tar_backward`.

    Args:
        dropped: h~ (T, B, F), the outputs after output dropout (AR reads these).
        raw: h (T, B, F), the outputs before it (TAR reads these).
        alpha: the weight of AR (>= 0; 0 switches it off).
        beta: the weight of TAR (>= 0; 0 switches it off).
        mask: (T, B) bool of valid steps, or None when all are.
    """
    T, B, F = raw.shape
    valid = np.ones((T, B), bool) if mask is None else np.asarray(mask, bool).reshape(T, B)
    pairs = valid[1:] & valid[:-1]  # (T-1, B): both ends of the difference are valid
    penalty, n_ar, n_tar = 0.0, F * int(valid.sum()), F * int(pairs.sum())
    diff = None
    if alpha > 0 and n_ar:
        penalty += alpha * float(np.sum(np.square(dropped, dtype=np.float64)[valid])) / n_ar
    if beta > 0 and n_tar:
        diff = raw[1:] - raw[:-1]  # (T-1, B, F)
        penalty += beta * float(np.sum(np.square(diff, dtype=np.float64)[pairs])) / n_tar
    return penalty, (dropped, diff, valid, pairs, alpha if n_ar else 0.0, beta if n_tar else 0.0, n_ar, n_tar)


def ar_tar_backward(dpenalty: float, cache: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(dL/dh~, dL/dh), each (T, B, F) or None where its term is off, for dL/dpenalty = ``dpenalty``."""
    dropped, diff, valid, pairs, alpha, beta, n_ar, n_tar = cache
    dt = dropped.dtype
    d_dropped = d_raw = None
    if alpha > 0:
        d_dropped = dropped * (valid[:, :, None] * dt.type(2.0 * dpenalty * alpha / n_ar))
    if beta > 0 and diff is not None:
        g = diff * (pairs[:, :, None] * dt.type(2.0 * dpenalty * beta / n_tar))  # dTAR/d(h_t - h_{t-1})
        d_raw = np.zeros(dropped.shape, dt)
        d_raw[1:] += g
        d_raw[:-1] -= g
    return d_dropped, d_raw


class ActivationReg:
    """AR (``alpha``) and TAR (``beta``) of one recurrent layer's outputs, for a network:

        penalty, cache = reg.forward(out, rnn_cache, mask)   # out: the layer's (dropped) output
        dout, doutput = reg.backward(dpenalty, cache, dout)  # then layer.backward(dout, ..., doutput=doutput)

    ``forward`` gives (0.0, None) when both weights are 0; ``backward`` then passes ``dout``
    through and gives ``doutput=None``. The network calls it while training only.
    """

    def __init__(self, alpha: float = 0.0, beta: float = 0.0) -> None:
        for name, v in (("activation_reg", alpha), ("temporal_activation_reg", beta)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 <= v < np.inf:
                raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
        self.alpha, self.beta = float(alpha), float(beta)

    def forward(self, out: np.ndarray, rnn_cache: Any, mask: np.ndarray | None = None) -> tuple[float, Any]:
        """out (T, B, F) time-major; rnn_cache the layer's (its ``output`` is h before output dropout)."""
        if not (self.alpha or self.beta):
            return 0.0, None
        return ar_tar_forward(out, rnn_cache.output, self.alpha, self.beta, mask)

    def backward(self, dpenalty: float, cache: Any, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(dout + dL/dh~, dL/dh) for the layer's backward (``dout`` and ``doutput``)."""
        if cache is None:
            return dout, None
        d_dropped, d_raw = ar_tar_backward(dpenalty, cache)
        return (dout if d_dropped is None else dout + d_dropped), d_raw
