"""The small models the training, resume, fault and diagnostics tests share, speaking the
Trainer's protocol: a linear regression with its data (batches (X (N, I), y (N, 1)),
float64), and a recurrent regressor on the last step (batches (X (T, B, I), y (B, 1)))."""

import numpy as np

from rnnkit.nn import Linear
from rnnkit.nn.losses import mse
from rnnkit.nn.module import Module


class LinReg(Module):
    """y = x W^T + b with mean squared error."""

    def __init__(self, n_in=3, seed=0):
        super().__init__()
        self.lin = self.add_module("lin", Linear(n_in, 1, dtype="float64", rng=np.random.default_rng(seed)))

    def loss_and_grad(self, batch):
        X, y = batch
        pred, cache = self.lin.forward(X)
        loss, dpred = mse(pred, y)
        self.lin.backward(dpred, cache)
        return loss

    def evaluate_batch(self, batch):
        X, y = batch
        pred, _ = self.lin.forward(X)
        return mse(pred, y)[0] * y.size, y.size


class LastStepRegressor(Module):
    """A many-to-one regressor: recurrent layer -> Linear on the last step -> MSE."""

    def __init__(self, layer, rng):
        super().__init__()
        self.rnn = self.add_module("rnn", layer)
        self.head = self.add_module("head", Linear(layer.hidden_size, 1, dtype=layer.dtype, rng=rng))

    def predict(self, x):
        out, _, _ = self.rnn.forward(x)
        return self.head.forward(out[-1])[0]

    def loss_and_grad(self, batch):
        x, y = batch
        out, _, cache = self.rnn.forward(x)
        pred, hc = self.head.forward(out[-1])
        loss, dpred = mse(pred, y)
        dout = np.zeros_like(out)
        dout[-1] = self.head.backward(dpred, hc)
        self.rnn.backward(dout, None, cache)
        return loss

    def evaluate_batch(self, batch):
        x, y = batch
        return mse(self.predict(x), y)[0] * len(y), len(y)


def diagnosed_step(cell, seed=0):
    """One step of a LastStepRegressor on ``cell`` (I=2, H=5, float64; x (12, 4, 2)) watched
    by a DiagnosticsMonitor that records every step: (net, x, the monitor's record)."""
    from rnnkit.diagnostics import DiagnosticsMonitor
    from rnnkit.nn import Recurrent

    rng = np.random.default_rng(seed)
    net = LastStepRegressor(Recurrent(cell, 2, 5, dtype="float64", rng=rng), rng)
    x, y = rng.standard_normal((12, 4, 2)), rng.standard_normal((4, 1))
    mon = DiagnosticsMonitor(net, every=1, warn=False)
    net.zero_grad()
    mon.before_step(0)
    mon.after_backward(0, net.loss_and_grad((x, y)))
    mon.after_update(0)
    return net, x, mon.record


def linear_data(n=64, seed=1):
    """(X (n, 3), y (n, 1)): y = X [1.5, -2, 0.5]^T + 0.3, no noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([[1.5], [-2.0], [0.5]]) + 0.3


def batches_of(X, y, size=16):
    return [(X[i : i + size], y[i : i + size]) for i in range(0, len(X), size)]


def params(model):
    """A copy of every parameter, by name."""
    return {k: v.copy() for k, v in model.state_dict().items()}
