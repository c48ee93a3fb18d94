"""A linear regression speaking the Trainer's protocol: the smallest model the training,
resume and fault tests share. Batches are (X (N, I), y (N, 1)), float64."""

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
