"""What the recurrent estimators over variable-length sequences share.

:class:`RecurrentEstimator` turns ``X`` (see :mod:`rnnkit.models._data`) into encoded
sequences (float arrays, or token ids through ``vocab_``), cuts them into padded
:class:`~rnnkit.models._data.Batch` es, builds a :class:`~rnnkit.models.network.SequenceNet`
and trains it. A subclass says what its targets are:

    _net_options(self) -> dict            pooling, loss, output_size, word_dropout
    _encode_targets(self, y, n, fit)      y -> list of per-sequence targets (fit sets classes_ ...)
    _stack_targets(self, items, T)        per-sequence targets -> the batch's targets array
    _target_state / _set_target_state     their part of the saved fitted state
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._data import FEATURES, TOKENS, Batch, as_sequences, batch_indices, pad_inputs, rank_batches, step_mask
from ._inputs import coerce_X, coerce_Xy
from ._regularizers import net_regularizers
from .base import BaseEstimator, check_choice, check_float_param, check_int_param
from .network import SequenceNet
from .vocab import Vocab


class RecurrentEstimator(BaseEstimator):
    """Shared fit/predict machinery; not used directly."""

    # What a subclass provides (see the module docstring), declared for the type checker.
    dtype: str
    batch_size: int
    vocab_: Vocab | None
    _net_options: Callable[[], dict]
    _stack_targets: Callable[[list, int], np.ndarray]
    _target_state: Callable[[], dict]
    _set_target_state: Callable[[dict], None]

    # -- inputs ---------------------------------------------------------------------------
    def _validate_params(self):
        super()._validate_params()
        p = self.get_params(deep=False)
        if "pooling" in p:
            check_choice("pooling", p["pooling"], self._poolings)
        if "min_freq" in p:
            check_int_param("min_freq", p["min_freq"])
        if "lowercase" in p:
            check_choice("lowercase", p["lowercase"], (False, True))
        if "word_dropout" in p:
            check_float_param("word_dropout", p["word_dropout"], high=1.0, high_open=True)

    _poolings: tuple[str, ...] = ("last", "mean", "max")

    def _tokens(self, seq):
        if getattr(self, "lowercase", False):
            return [t.lower() if isinstance(t, str) else t for t in seq]
        return seq

    def _encode_inputs(self, X, *, fit: bool, name: str = "X") -> list[np.ndarray]:
        kind, seqs = as_sequences(X, name)
        if fit:
            self.input_kind_ = kind
            if kind == TOKENS:
                self.vocab_ = Vocab.build([self._tokens(s) for s in seqs], min_freq=getattr(self, "min_freq", 1))
                self.n_features_in_ = None
            else:
                self.vocab_ = None
                self.n_features_in_ = int(seqs[0].shape[1])
        elif kind != self.input_kind_:
            raise TypeError(f"{name}: expected {self.input_kind_} like the data seen in fit, got {kind}")
        if kind == FEATURES:
            F = seqs[0].shape[1]
            if self.n_features_in_ != F:
                raise ValueError(f"{name}: expected {self.n_features_in_} features per step (as in fit), got {F}")
            return seqs
        # Unseen tokens map to UNK (its embedding is learned from min_freq/word_dropout).
        assert self.vocab_ is not None  # built in fit for token inputs
        return [self.vocab_.encode(self._tokens(s)) for s in seqs]

    def _batch(self, inputs, idx, targets=None) -> Batch:
        x, lengths = pad_inputs(self.input_kind_, [inputs[i] for i in idx], self.dtype)
        T = x.shape[0]
        y = None if targets is None else self._stack_targets([targets[i] for i in idx], T)
        return Batch(x, lengths, y, step_mask(lengths, T))

    # -- fit ------------------------------------------------------------------------------
    def _fit_sequences(self, X, y, validation_data=None, callbacks=None):
        self._validate_params()
        X, y = coerce_Xy(X, y)
        rng = self._make_rng()
        inputs = self._encode_inputs(X, fit=True)
        targets = self._encode_targets(y, inputs, fit=True)
        val = None
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise TypeError(
                    f"validation_data: expected a pair (X_val, y_val), got {type(validation_data).__name__}"
                )
            vX, vY = coerce_Xy(*validation_data, names=("validation_data[0]", "validation_data[1]"))
            vx = self._encode_inputs(vX, fit=False, name="validation_data[0]")
            vy = self._encode_targets(vY, vx, fit=False, name="validation_data[1]")
            val = [self._batch(vx, idx, vy) for idx in batch_indices(len(vx), 4 * self.batch_size)]
        lengths = np.array([len(s) for s in inputs])

        def train_batches(epoch, gen):
            return rank_batches(
                lambda idx: self._batch(inputs, idx, targets),
                batch_indices(len(inputs), self.batch_size, gen, lengths),
                inputs,
                targets,
            )

        self.net_ = self._start_net(rng)
        self.history_ = self._train(self.net_, train_batches, val, rng, callbacks=callbacks)
        return self

    def _build_net(self, rng) -> SequenceNet:
        p = self.get_params(deep=False)
        return SequenceNet(
            kind=self.input_kind_,
            input_size=len(self.vocab_) if self.vocab_ is not None else self.n_features_in_,
            cell=p["cell"],
            hidden_size=p["hidden_size"],
            num_layers=p["num_layers"],
            bidirectional=p["bidirectional"],
            dropout=p["dropout"],
            recurrent_dropout=p["recurrent_dropout"],
            embedding_dim=p["embedding_dim"],
            unk_id=Vocab.unk_id,
            dtype=p["dtype"],
            rng=rng,
            **self._net_options(),
            **net_regularizers(self),
        )

    # -- predict --------------------------------------------------------------------------
    def _outputs(self, X) -> list[np.ndarray]:
        """The head's output per sequence: (K,) rows, or (T_i, K) when pooling is none."""
        self._check_fitted()
        inputs = self._encode_inputs(coerce_X(X), fit=False)
        self.net_.eval()
        order = np.argsort([len(s) for s in inputs], kind="stable")  # little padding
        results: list = [None] * len(inputs)
        for idx in batch_indices(len(inputs), max(4 * self.batch_size, 128)):
            rows = order[idx]
            batch = self._batch(inputs, rows)
            y, _ = self.net_.forward(batch.inputs, batch.lengths)  # (B, K) or (T, B, K)
            for j, r in enumerate(rows):
                results[r] = y[j] if y.ndim == 2 else y[: batch.lengths[j], j]
        return results

    # -- persistence ----------------------------------------------------------------------
    def _fit_state(self) -> dict:
        return {
            "input_kind": self.input_kind_,
            "n_features_in": self.n_features_in_,
            "vocab": None if self.vocab_ is None else self.vocab_.to_dict(),
            "targets": self._target_state(),
        }

    def _set_fit_state(self, state: dict) -> None:
        self.input_kind_ = state["input_kind"]
        self.n_features_in_ = state["n_features_in"]
        self.vocab_ = None if state["vocab"] is None else Vocab.from_dict(state["vocab"])
        self._set_target_state(state["targets"])


def check_label_array(y, n: int, name: str = "y") -> np.ndarray:
    """``y`` as a 1-D label array with one entry per sequence."""
    try:
        arr = np.asarray(y)
    except ValueError:
        raise ValueError(f"{name}: expected one label per sequence, got a ragged structure") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of {n} labels, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} labels (one per sequence in X), got {arr.shape[0]}")
    return arr


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, averaged over output columns (sklearn's default)."""
    yt = y_true.reshape(len(y_true), -1).astype(np.float64)
    yp = y_pred.reshape(len(y_pred), -1).astype(np.float64)
    ss_res = ((yt - yp) ** 2).sum(axis=0)
    ss_tot = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())
