"""One-to-one: a multilayer perceptron, the non-recurrent baseline.

Shape legend: N samples, F features, W window, K outputs, H_k hidden units of layer k.

    a_0 = x       a_k = act(W_k a_{k-1} + b_k)       y = W_out a_L + b_out

Inputs are one vector per sample, (N, F); or sequences (see :mod:`rnnkit.models._data`),
of which the last ``window`` steps are flattened into one (W * F) vector (shorter sequences
are zero-padded at the front; ``window=None`` uses the longest training sequence). So the
MLP sees a fixed window and nothing older: the comparison that shows what recurrence adds.

``task="classification"`` trains softmax cross-entropy and predicts labels;
``"regression"`` trains squared error on standardised targets. ``"auto"`` picks
regression for float ``y`` and classification otherwise (str, int, bool labels).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Literal, Self

import numpy as np

from ..nn import Linear
from ..nn.functional import ACTIVATIONS, softmax
from ..nn.losses import cross_entropy, mse
from ..nn.module import Module
from ..train.callbacks import Callback
from ._data import FEATURES, as_sequences, batch_indices, rank_batches
from ._inputs import XLike, YLike, coerce_X, coerce_Xy
from ._sequence import check_label_array, r2_score
from .base import BaseEstimator, check_choice, check_int_param, data_conversion_warning, decode_labels, encode_labels


def _as_table(X, name):
    """Lists of equal-length lists of numbers are a table (N, F), as scikit-learn reads them;
    object arrays of numbers are converted (anything else in them is a TypeError)."""
    if (
        isinstance(X, (list, tuple))
        and X
        and all(isinstance(r, (list, tuple)) for r in X)
        and len({len(r) for r in X}) == 1
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for r in X for v in r)
    ):
        return np.asarray(X, dtype=np.float64)
    if isinstance(X, np.ndarray):
        if np.iscomplexobj(X):
            raise ValueError(f"{name}: Complex data not supported; expected real numbers")
        if X.dtype == object and X.ndim == 2:
            try:
                return X.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{name}: {exc}") from None
        if X.ndim == 1 and np.issubdtype(X.dtype, np.number):
            raise ValueError(
                f"{name}: expected a 2-D array (N, F), got a 1-D array of shape {X.shape}; "
                "Reshape your data either using X.reshape(-1, 1) if your data has a single "
                "feature or X.reshape(1, -1) if it contains a single sample."
            )
    return X


class MLPNet(Module):
    """Linear -> act -> ... -> Linear, with cross-entropy or squared-error loss."""

    def __init__(
        self, in_features, hidden_sizes, out_features, activation="tanh", loss="ce", *, dtype="float32", rng=None
    ):
        super().__init__()
        self.act, self.dact = ACTIVATIONS[activation]
        self.loss = loss
        sizes = [in_features, *hidden_sizes]
        self.layers = [
            self.add_module(f"fc{k}", Linear(sizes[k], sizes[k + 1], dtype=dtype, rng=rng))
            for k in range(len(hidden_sizes))
        ]
        self.out = self.add_module("out", Linear(sizes[-1], out_features, dtype=dtype, rng=rng))

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """x (N, F) -> (y (N, K), cache)."""
        caches, acts = [], []
        for layer in self.layers:
            z, c = layer.forward(x)  # (N, H_k)
            x = self.act(z, out=z)
            caches.append(c)
            acts.append(x)
        y, c = self.out.forward(x)  # (N, K)
        return y, (caches, acts, c)

    def backward(self, dy, cache):
        caches, acts, c = cache
        da = self.out.backward(dy, c)
        for layer, lc, a in zip(reversed(self.layers), reversed(caches), reversed(acts), strict=False):
            da = layer.backward(da * self.dact(a), lc)

    def _loss(self, y, targets):
        return cross_entropy(y, targets) if self.loss == "ce" else mse(y, targets)

    def loss_and_grad(self, batch: tuple[np.ndarray, np.ndarray]) -> float:
        x, targets = batch
        y, cache = self.forward(x)
        loss, dy = self._loss(y, targets)
        self.backward(dy, cache)
        return loss

    def batch_count(self, batch: tuple[np.ndarray, np.ndarray]) -> int:
        """Rows in ``batch``: its weight when ranks sum their gradients (see rnnkit.distributed)."""
        return len(batch[0])

    def evaluate_batch(self, batch):
        x, targets = batch
        y, _ = self.forward(x)
        return self._loss(y, targets)[0] * len(x), len(x)


class FeedForward(BaseEstimator):
    """An MLP classifier or regressor on vectors or on a fixed window of each sequence."""

    @property
    def _estimator_type(self):
        return {"classification": "classifier", "regression": "regressor"}.get(self.task)

    def __init__(
        self,
        hidden_sizes: Sequence[int] = (64,),
        activation: Literal["tanh", "relu"] = "tanh",
        task: Literal["auto", "classification", "regression"] = "auto",
        window: int | None = None,
    ) -> None:
        self.hidden_sizes, self.activation, self.task, self.window = hidden_sizes, activation, task, window

    def _validate_params(self):
        super()._validate_params()
        sizes = self.hidden_sizes
        if not isinstance(sizes, (tuple, list)):
            raise TypeError(f"hidden_sizes: expected a tuple of ints such as (64,) or (), got {sizes!r}")
        for i, h in enumerate(sizes):
            check_int_param(f"hidden_sizes[{i}]", h)
        check_choice("activation", self.activation, list(ACTIVATIONS))
        check_choice("task", self.task, ("auto", "classification", "regression"))
        check_int_param("window", self.window, allow_none=True)

    # -- inputs ---------------------------------------------------------------------------
    def _vectors(self, X: XLike, *, fit: bool, name: str = "X") -> np.ndarray:
        X = _as_table(X, name)
        if isinstance(X, np.ndarray) and X.ndim == 2 and np.issubdtype(X.dtype, np.number):
            if X.shape[1] == 0:
                raise ValueError(f"{name}: got 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
            if fit:
                self.input_mode_, self.window_ = "vectors", None
                self.n_features_in_ = X.shape[1]
            elif self.input_mode_ != "vectors":
                raise ValueError(
                    f"{name}: expected sequences like the data seen in fit, got a 2-D array "
                    f"{X.shape}; hint: a 3-D array (N, T, F) or a list of (T, F) arrays"
                )
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"{name}: X has {X.shape[1]} features, but FeedForward is expecting "
                    f"{self.n_features_in_} features as input (as in fit)"
                )
            if not np.all(np.isfinite(X)):
                raise ValueError(f"{name}: contains NaN or inf")
            if X.shape[0] == 0:
                raise ValueError(f"{name}: expected at least one sample, got an empty array")
            return X.astype(np.float64)
        kind, seqs = as_sequences(X, name)
        if kind != FEATURES:
            raise TypeError(
                f"{name}: FeedForward takes numeric inputs, got token sequences; hint: use "
                "SequenceClassifier, which embeds tokens"
            )
        F = seqs[0].shape[1]
        if fit:
            self.input_mode_, self.n_features_in_ = "sequences", F
            self.window_ = self.window or max(len(s) for s in seqs)
        elif self.input_mode_ != "sequences":
            raise ValueError(
                f"{name}: expected a 2-D array (N, {self.n_features_in_}) like the data seen in fit, got sequences"
            )
        if self.n_features_in_ != F:
            raise ValueError(f"{name}: expected {self.n_features_in_} features per step (as in fit), got {F}")
        assert self.window_ is not None  # set in fit with the sequences input mode
        out = np.zeros((len(seqs), self.window_, F))
        for i, s in enumerate(seqs):
            tail = s[-self.window_ :]
            out[i, self.window_ - len(tail) :] = tail  # left-pad: the latest step is last
        return out.reshape(len(seqs), -1)  # (N, W * F)

    def _targets(self, y, n, *, fit, name="y"):
        if y is None:
            raise ValueError(f"{name}: FeedForward requires y to be passed, but the target y is None")
        if np.iscomplexobj(y):
            raise ValueError(f"{name}: Complex data not supported; expected real numbers or labels")
        if fit:
            arr = np.asarray(y)
            task = self.task
            if task == "auto":
                task = "regression" if np.issubdtype(arr.dtype, np.floating) else "classification"
            self.task_ = task
        if self.task_ == "classification":
            arr = np.asarray(y)
            if arr.ndim == 2 and arr.shape[1] == 1:  # scikit-learn's column vector
                warnings.warn(
                    "A column-vector y was passed when a 1d array was expected; it is read as "
                    "one label per row (y.ravel())",
                    data_conversion_warning(),
                    stacklevel=3,
                )
                y = arr.ravel()
            arr = check_label_array(y, n, name)
            if np.issubdtype(arr.dtype, np.floating) and np.any(arr != np.round(arr)):
                raise ValueError(
                    f"{name}: Unknown label type: continuous values for a classifier; hint: "
                    "task='regression' (or 'auto', which picks it for float targets)"
                )
            if fit:
                self.classes_ = np.unique(arr)
                if len(self.classes_) < 2:
                    raise ValueError(
                        f"{name}: expected at least 2 distinct classes, got {len(self.classes_)} "
                        f"class {self.classes_.tolist()}"
                    )
            idx = np.clip(np.searchsorted(self.classes_, arr), 0, len(self.classes_) - 1)
            if np.any(self.classes_[idx] != arr):
                raise ValueError(f"{name}: expected labels among classes_ {self.classes_.tolist()}")
            return idx.astype(np.int64)
        arr = np.asarray(y, dtype=np.float64)
        if arr.ndim not in (1, 2) or arr.shape[0] != n or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: expected finite targets of shape ({n},) or ({n}, K), got {arr.shape}")
        a2 = arr.reshape(n, -1)
        if fit:
            self.y_ndim_, self.y_mean_ = arr.ndim, a2.mean(axis=0)
            std = a2.std(axis=0)
            self.y_scale_ = np.where(std > 0, std, 1.0)
        elif a2.shape[1] != len(self.y_mean_):
            raise ValueError(f"{name}: expected {len(self.y_mean_)} target columns, got {a2.shape[1]}")
        return ((a2 - self.y_mean_) / self.y_scale_).astype(self.dtype)

    # -- fit / predict --------------------------------------------------------------------
    def fit(
        self, X: XLike, y: YLike, *, validation_data: tuple | None = None, callbacks: Sequence[Callback] | None = None
    ) -> Self:
        """Learn from inputs ``X`` and targets ``y``; returns self."""
        self._validate_params()
        X, y = coerce_Xy(X, y)
        rng = self._make_rng()
        x = self._vectors(X, fit=True).astype(self.dtype)
        t = self._targets(y, len(x), fit=True)
        val = None
        if validation_data is not None:
            validation_data = coerce_Xy(*validation_data, names=("validation_data[0]", "validation_data[1]"))
            vx = self._vectors(validation_data[0], fit=False, name="validation_data[0]").astype(self.dtype)
            val = [(vx, self._targets(validation_data[1], len(vx), fit=False, name="validation_data[1]"))]
        self.net_ = self._start_net(rng)

        def train_batches(epoch, gen):
            return rank_batches(lambda i: (x[i], t[i]), batch_indices(len(x), self.batch_size, gen), x, t)

        self.history_ = self._train(self.net_, train_batches, val, rng, callbacks=callbacks)
        return self

    def _build_net(self, rng):
        K = len(self.classes_) if self.task_ == "classification" else len(self.y_mean_)
        width = self.n_features_in_ * (self.window_ or 1)
        return MLPNet(
            width,
            tuple(self.hidden_sizes),
            K,
            self.activation,
            "ce" if self.task_ == "classification" else "mse",
            dtype=self.dtype,
            rng=rng,
        )

    def _raw(self, X):
        self._check_fitted()
        self.net_.eval()
        y, _ = self.net_.forward(self._vectors(coerce_X(X), fit=False).astype(self.dtype))
        return y.astype(np.float64)

    @property
    def predict_proba(self) -> Callable[[XLike], np.ndarray]:
        """Class probabilities (N, C): ``predict_proba(X)``. Only a classifier has it (an
        attribute error otherwise, so ``hasattr(model, "predict_proba")`` tells)."""
        task = getattr(self, "task_", None) if getattr(self, "net_", None) is not None else self.task
        if task == "regression":
            raise AttributeError(
                "predict_proba: a FeedForward fitted for regression has no class probabilities; hint: use predict"
            )
        return self._predict_proba

    def _predict_proba(self, X: XLike) -> np.ndarray:
        self._check_fitted()
        return softmax(self._raw(X), axis=-1)

    def predict(self, X: XLike) -> np.ndarray:
        """Labels (N,) for classification; values (N,) or (N, K) for regression."""
        self._check_fitted()
        y = self._raw(X)
        if self.task_ == "classification":
            return self.classes_[np.argmax(y, axis=-1)]
        y = y * self.y_scale_ + self.y_mean_
        return y[:, 0] if self.y_ndim_ == 1 else y

    def score(self, X: XLike, y: YLike) -> float:
        """Accuracy (classification) or R^2 (regression)."""
        X, y = coerce_Xy(X, y)
        pred = self.predict(X)
        if self.task_ == "classification":
            return float(np.mean(pred == check_label_array(y, len(pred))))
        y = np.asarray(y, np.float64)
        if y.shape != pred.shape:
            raise ValueError(f"y: expected shape {pred.shape}, got {y.shape}")
        return r2_score(y, pred)

    # -- persistence ----------------------------------------------------------------------
    def _fit_state(self):
        state = {
            "input_mode": self.input_mode_,
            "window": self.window_,
            "n_features_in": self.n_features_in_,
            "task": self.task_,
        }
        if self.task_ == "classification":
            state["classes"] = encode_labels(self.classes_)
        else:
            state.update(mean=self.y_mean_.tolist(), scale=self.y_scale_.tolist(), ndim=self.y_ndim_)
        return state

    def _set_fit_state(self, state):
        self.input_mode_, self.window_ = state["input_mode"], state["window"]
        self.n_features_in_, self.task_ = state["n_features_in"], state["task"]
        if self.task_ == "classification":
            self.classes_ = decode_labels(state["classes"])
        else:
            self.y_mean_ = np.asarray(state["mean"], np.float64)
            self.y_scale_ = np.asarray(state["scale"], np.float64)
            self.y_ndim_ = state["ndim"]
