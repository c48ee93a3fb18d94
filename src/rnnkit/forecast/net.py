"""The Forecaster's network and its three losses: point (squared error), quantiles
(pinball) and a Gaussian likelihood (DeepAR-style).

Shape legend: T input steps, B batch, I inputs per step, H hidden, D forecast steps per
window, F target features, P outputs per target (1 point, Q quantiles, 2 Gaussian).

    inputs (T, B, I) -> recurrent stack -> last hidden state (B, H) -> Linear (B, D*F*P)

Losses, averaged over the B*D*F targets y with predictions p:

    mse       L = (p - y)^2                                    dL/dp = 2 (p - y)
    quantile  L = sum_q max(q (y - p_q), (q - 1)(y - p_q))     dL/dp_q = -q if y > p_q else 1 - q
    gaussian  sigma = softplus(s) + SIGMA_MIN
              L = log sigma + (y - mu)^2 / (2 sigma^2) + log(2 pi) / 2
              dL/dmu = -(y - mu) / sigma^2
              dL/ds = (1 / sigma - (y - mu)^2 / sigma^3) * sigmoid(s)
"""

from __future__ import annotations

import numpy as np

from ..models._data import Batch
from ..models.base import make_recurrent
from ..models.network import BatchProtocol
from ..nn import Linear
from ..nn.module import Module

LOSSES = ("mse", "quantile", "gaussian")
SIGMA_MIN = 1e-3
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def softplus(s):
    return np.logaddexp(0.0, s)


def sigmoid(s):
    return 0.5 * (1.0 + np.tanh(0.5 * s))


def pinball_loss(pred, target, quantiles):
    """Quantile loss. pred (..., Q), target (...), quantiles (Q,) in (0, 1).

    Returns ``(loss, dL/dpred)``: the mean over the target elements of the summed pinball
    losses, and its gradient (at p_q == y the right-hand derivative 1 - q is taken).
    """
    pred = np.asarray(pred)
    q = np.asarray(quantiles, dtype=pred.dtype)
    diff = np.asarray(target, dtype=pred.dtype)[..., None] - pred  # (..., Q)
    n = max(diff[..., 0].size, 1)
    loss = float(np.sum(np.maximum(q * diff, (q - 1) * diff), dtype=np.float64) / n)
    grad = np.where(diff > 0, -q, 1 - q) / n
    return loss, grad.astype(pred.dtype)


def gaussian_nll(pred, target):
    """Gaussian negative log-likelihood. pred (..., 2) holds (mu, s) with
    sigma = softplus(s) + SIGMA_MIN; target (...). Returns ``(loss, dL/dpred)``, the mean
    over the target elements."""
    pred = np.asarray(pred)
    mu, s = pred[..., 0], pred[..., 1]
    y = np.asarray(target, dtype=pred.dtype)
    sigma = softplus(s) + SIGMA_MIN
    r = y - mu
    n = max(r.size, 1)
    loss = float(np.sum(np.log(sigma) + r * r / (2 * sigma * sigma), dtype=np.float64) / n + _HALF_LOG_2PI)
    grad = np.empty_like(pred)
    grad[..., 0] = -r / (sigma * sigma) / n
    grad[..., 1] = (1.0 / sigma - r * r / sigma**3) * sigmoid(s) / n
    return loss, grad


def squared_error(pred, target):
    """pred (..., 1), target (...) -> (mean squared error, dL/dpred)."""
    pred = np.asarray(pred)
    diff = pred[..., 0] - np.asarray(target, dtype=pred.dtype)
    n = max(diff.size, 1)
    return float(np.sum(diff * diff, dtype=np.float64) / n), (2.0 / n * diff)[..., None]


def outputs_per_target(loss, quantiles) -> int:
    return {"mse": 1, "gaussian": 2}.get(loss, len(quantiles))


class ForecastNet(BatchProtocol, Module):
    """A recurrent stack read at its last step, and a Linear head of D*F*P outputs."""

    def __init__(
        self,
        *,
        input_size,
        steps,
        features,
        loss="mse",
        quantiles=(0.5,),
        cell="lstm",
        hidden_size=32,
        num_layers=1,
        dropout=0.0,
        recurrent_dropout=0.0,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        assert loss in LOSSES, loss
        self.loss, self.quantiles = loss, tuple(quantiles)
        self.steps, self.features = steps, features
        self.per_target = outputs_per_target(loss, self.quantiles)
        self.rnn = self.add_module(
            "rnn",
            make_recurrent(
                cell,
                input_size,
                hidden_size,
                num_layers,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                dtype=dtype,
                rng=rng,
            ),
        )
        self.head = self.add_module(
            "head", Linear(hidden_size, steps * features * self.per_target, dtype=dtype, rng=rng)
        )
        # The head starts at zero: the first forecasts are the scaled series' centre (with
        # deseason+diff, the drift forecast plus the average season; with a seasonal
        # difference, seasonal naive plus the mean yearly change), and training moves away
        # from that baseline only as far as the data supports.
        for p in self.head.parameters().values():
            p[...] = 0.0
        self.dtype = self.rnn.dtype

    def forward(self, inputs, lengths=None):
        """inputs (T, B, I) -> (y (B, D, F, P), cache)."""
        out, _, rnn_cache = self.rnn.forward(inputs, None, None)  # (T, B, H)
        z = out[-1]  # (B, H)
        y, head_cache = self.head.forward(z)  # (B, D*F*P)
        B = y.shape[0]
        return y.reshape(B, self.steps, self.features, self.per_target), (out.shape, rnn_cache, head_cache)

    def backward(self, dy, cache):
        shape, rnn_cache, head_cache = cache
        dz = self.head.backward(dy.reshape(dy.shape[0], -1), head_cache)  # (B, H)
        dout = np.zeros(shape, dz.dtype)
        dout[-1] = dz
        self.rnn.backward(dout, None, rnn_cache)

    def _loss(self, y, batch: Batch):
        target = batch.targets  # (B, D, F)
        if self.loss == "mse":
            loss, dy = squared_error(y, target)
        elif self.loss == "quantile":
            loss, dy = pinball_loss(y, target, self.quantiles)
        else:
            loss, dy = gaussian_nll(y, target)
        return loss, dy.astype(y.dtype), y.shape[0]


class ForecastEnsemble(BatchProtocol, Module):
    """k :class:`ForecastNet` members trained side by side, each on its own loss; the
    forecast is the mean of their outputs (for quantiles, the mean of each quantile).

    The training loss is L = (1/k) sum_j L_j(y_j): member j's gradient comes from its own
    output only, so the members stay independent draws (different initialisations) that
    share batches and early stopping. Averaging them lowers the variance a single small
    network shows on a short series.
    """

    def __init__(self, members):
        super().__init__()
        self.members = [self.add_module(f"member{j}", m) for j, m in enumerate(members)]
        self.dtype = members[0].dtype

    def forward(self, inputs, lengths=None):
        """inputs (T, B, I) -> (y (k, B, D, F, P), caches)."""
        outs = [m.forward(inputs, lengths) for m in self.members]
        return np.stack([y for y, _ in outs]), [c for _, c in outs]

    def backward(self, dy, cache):
        for m, d, c in zip(self.members, dy, cache, strict=False):
            m.backward(d, c)

    def _loss(self, y, batch: Batch):
        k = len(self.members)
        parts = [m._loss(yj, batch) for m, yj in zip(self.members, y, strict=False)]
        loss = sum(p[0] for p in parts) / k
        return loss, np.stack([p[1] for p in parts]) / k, parts[0][2]
