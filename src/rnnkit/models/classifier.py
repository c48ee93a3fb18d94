"""Many-to-one models: a label or a value for a whole sequence.

    h_1..h_T = RNN(x_1..x_T)      z = pool(h)      y = W z + b

:class:`SequenceClassifier`: p(class | x) = softmax(y), trained with cross-entropy; labels
are any values (strings, ints...), ``classes_`` are the sorted distinct labels of ``y`` and
``predict`` returns them. :class:`SequenceRegressor`: y is the (standardised) target,
trained with squared error; ``pooling="none"`` gives one output per step instead (aligned
many-to-many regression, e.g. a running sum). Pooling is described in
:mod:`rnnkit.models.network`. Inputs: float sequences or token sequences, see
:mod:`rnnkit.models._data`. Tokens outside ``vocab_`` (unseen, or rarer than ``min_freq``)
map to UNK; ``word_dropout`` turns each training token into UNK with that probability, a
regulariser that also trains UNK's embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np

from ..nn.functional import softmax
from ..train.callbacks import Callback
from ._inputs import XLike, YLike, coerce_Xy
from ._sequence import RecurrentEstimator, check_label_array, r2_score
from .base import decode_labels, encode_labels


class SequenceClassifier(RecurrentEstimator):
    """Classify whole sequences with an RNN/LSTM/GRU.

    Example::

        clf = SequenceClassifier(cell="gru", hidden_size=32, epochs=5, seed=0)
        clf.fit([["a", "good", "film"], ["dull"]], ["pos", "neg"])
        clf.predict([["good"]])          # array(['pos'], ...)
    """

    _estimator_type = "classifier"

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        embedding_dim: int = 32,
        pooling: Literal["last", "mean", "max"] = "last",
        min_freq: int = 1,
        lowercase: bool = False,
        word_dropout: float = 0.0,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.bidirectional, self.dropout, self.recurrent_dropout = bidirectional, dropout, recurrent_dropout
        self.embedding_dim, self.pooling, self.min_freq, self.lowercase = embedding_dim, pooling, min_freq, lowercase
        self.word_dropout = word_dropout

    def fit(
        self, X: XLike, y: YLike, *, validation_data: tuple | None = None, callbacks: Sequence[Callback] | None = None
    ) -> Self:
        """Learn from sequences ``X`` and one label per sequence ``y``; returns self."""
        return self._fit_sequences(X, y, validation_data, callbacks)

    def _net_options(self):
        return {
            "pooling": self.pooling,
            "loss": "ce",
            "output_size": len(self.classes_),
            "word_dropout": self.word_dropout,
        }

    def _encode_targets(self, y, inputs, *, fit, name="y"):
        arr = check_label_array(y, len(inputs), name)
        if fit:
            try:
                self.classes_ = np.unique(arr)
            except TypeError:
                raise TypeError(f"{name}: expected labels of one comparable type, got a mix") from None
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{name}: expected at least 2 distinct classes, got {len(self.classes_)} ({self.classes_.tolist()})"
                )
        idx = np.searchsorted(self.classes_, arr)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unknown = self.classes_[idx] != arr
        if np.any(unknown):
            raise ValueError(
                f"{name}: expected labels among classes_ {self.classes_.tolist()}, got "
                f"{sorted(set(arr[unknown].tolist()), key=str)[:10]}"
            )
        return idx.astype(np.int64)

    def _stack_targets(self, items, T):
        return np.asarray(items, dtype=np.int64)  # (B,)

    def _target_state(self):
        return {"classes": encode_labels(self.classes_)}

    def _set_target_state(self, state):
        self.classes_ = decode_labels(state["classes"])

    def decision_function(self, X: XLike) -> np.ndarray:
        """Logits (N, C)."""
        return np.stack(self._outputs(X)).astype(np.float64)

    def predict_proba(self, X: XLike) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``classes_``."""
        return softmax(self.decision_function(X), axis=-1)

    def predict(self, X: XLike) -> np.ndarray:
        """The most probable label of each sequence, (N,)."""
        self._check_fitted()
        return self.classes_[np.argmax(self.decision_function(X), axis=-1)]

    def score(self, X: XLike, y: YLike) -> float:
        """Accuracy: the fraction of sequences whose predicted label equals ``y``."""
        X, y = coerce_Xy(X, y)
        pred = self.predict(X)
        y = check_label_array(y, len(pred))
        return float(np.mean(pred == y))


class SequenceRegressor(RecurrentEstimator):
    """Predict real values from sequences: one vector per sequence, or per step.

    ``y`` is (N,) or (N, K) (pooled), or with ``pooling="none"`` a list of (T_i,) or
    (T_i, K) arrays aligned with ``X``. Targets are standardised per column with the mean
    and standard deviation of the training ``y``; ``predict`` undoes it.
    """

    _poolings = ("last", "mean", "max", "none")
    _estimator_type = "regressor"

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        embedding_dim: int = 32,
        pooling: Literal["last", "mean", "max", "none"] = "last",
        min_freq: int = 1,
        lowercase: bool = False,
        word_dropout: float = 0.0,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.bidirectional, self.dropout, self.recurrent_dropout = bidirectional, dropout, recurrent_dropout
        self.embedding_dim, self.pooling, self.min_freq, self.lowercase = embedding_dim, pooling, min_freq, lowercase
        self.word_dropout = word_dropout

    def fit(
        self, X: XLike, y: YLike, *, validation_data: tuple | None = None, callbacks: Sequence[Callback] | None = None
    ) -> Self:
        """Learn from sequences ``X`` and targets ``y``; returns self."""
        return self._fit_sequences(X, y, validation_data, callbacks)

    def _net_options(self):
        return {
            "pooling": self.pooling,
            "loss": "mse",
            "output_size": len(self.y_mean_),
            "word_dropout": self.word_dropout,
        }

    def _encode_targets(self, y, inputs, *, fit, name="y"):
        n = len(inputs)
        if self.pooling == "none":
            if not isinstance(y, (list, tuple, np.ndarray)) or len(y) != n:
                raise ValueError(
                    f"{name}: expected {n} target sequences (one per sequence in X) for "
                    f"pooling='none', got {type(y).__name__} of length {len(y) if hasattr(y, '__len__') else '?'}"
                )
            items = []
            for i, (yi, xi) in enumerate(zip(y, inputs, strict=False)):
                a = np.asarray(yi, dtype=np.float64)
                a = a[:, None] if a.ndim == 1 else a
                if a.ndim != 2 or a.shape[0] != len(xi):
                    raise ValueError(
                        f"{name}[{i}]: expected shape ({len(xi)},) or ({len(xi)}, K) to align "
                        f"with X[{i}], got {np.shape(yi)}"
                    )
                items.append(a)
            flat = np.concatenate(items)
        else:
            try:
                flat = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{name}: expected numbers, got {type(y).__name__}") from None
            if flat.ndim not in (1, 2) or flat.shape[0] != n:
                raise ValueError(f"{name}: expected shape ({n},) or ({n}, K), got {flat.shape}")
            items = None
        if not np.all(np.isfinite(flat)):
            raise ValueError(f"{name}: contains NaN or inf")
        K = 1 if flat.ndim == 1 else flat.shape[1]
        if fit:
            self.y_ndim_ = 1 if (flat.ndim == 1 or (items is not None and np.ndim(y[0]) == 1)) else 2
            flat2 = flat.reshape(len(flat), K)
            self.y_mean_ = flat2.mean(axis=0)
            std = flat2.std(axis=0)
            self.y_scale_ = np.where(std > 0, std, 1.0)
        elif len(self.y_mean_) != K:
            raise ValueError(f"{name}: expected {len(self.y_mean_)} target columns (as in fit), got {K}")
        if items is None:
            return list((flat.reshape(n, K) - self.y_mean_) / self.y_scale_)
        return [(a - self.y_mean_) / self.y_scale_ for a in items]

    def _stack_targets(self, items, T):
        if self.pooling != "none":
            return np.asarray(items, dtype=self.dtype)  # (B, K)
        out = np.zeros((T, len(items), items[0].shape[1]), self.dtype)  # (T, B, K)
        for b, a in enumerate(items):
            out[: len(a), b] = a
        return out

    def _target_state(self):
        return {"mean": self.y_mean_.tolist(), "scale": self.y_scale_.tolist(), "ndim": self.y_ndim_}

    def _set_target_state(self, state):
        self.y_mean_ = np.asarray(state["mean"], np.float64)
        self.y_scale_ = np.asarray(state["scale"], np.float64)
        self.y_ndim_ = state["ndim"]

    def predict(self, X: XLike) -> np.ndarray | list[np.ndarray]:
        """(N,) or (N, K); with ``pooling="none"`` a list of (T_i,) or (T_i, K) arrays."""
        self._check_fitted()
        outs = [o.astype(np.float64) * self.y_scale_ + self.y_mean_ for o in self._outputs(X)]
        if self.y_ndim_ == 1:
            outs = [o[..., 0] for o in outs]
        return outs if self.pooling == "none" else np.stack(outs)

    def score(self, X: XLike, y: YLike) -> float:
        """R^2 (averaged over target columns; over every step when ``pooling="none"``)."""
        X, y = coerce_Xy(X, y)
        pred = self.predict(X)
        if self.pooling == "none":
            if not isinstance(y, (list, tuple)) or len(y) != len(pred):
                raise ValueError(f"y: expected {len(pred)} target sequences, got {type(y).__name__}")
            for i, (p, t) in enumerate(zip(pred, y, strict=False)):
                if np.shape(t)[:1] != p.shape[:1]:
                    raise ValueError(f"y[{i}]: expected {p.shape[0]} steps, got shape {np.shape(t)}")
            pred, y = np.concatenate(pred), np.concatenate([np.asarray(t, np.float64) for t in y])
        y, pred = np.asarray(y, np.float64), np.asarray(pred)
        if y.shape != pred.shape:
            raise ValueError(f"y: expected shape {pred.shape}, got {y.shape}")
        return r2_score(y, pred)
