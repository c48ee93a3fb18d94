"""Many-to-many aligned: one tag per token (part-of-speech tagging, chunking, NER).

    e_t = E[w_t]      h_1..h_T = RNN(e_1..e_T)      p(tag_t | w) = softmax(W h_t + b)

trained with cross-entropy over the real tokens only (padding is masked out). A
bidirectional layer (the default) lets each tag see the whole sentence.

Unknown words. Words not in ``vocab_`` map to UNK, whose embedding is trained from the
words kept out of the vocabulary by ``min_freq`` and from ``word_dropout`` (each training
token becomes UNK with that probability), so unseen words at predict time get a learned
vector rather than an error. ``lowercase=True`` folds case before the lookup. Tags are the
closed set seen in ``fit`` (``classes_``).

Spelling features (``affix_length``, ``word_shape``; :mod:`rnnkit.models.word_features`).
Unknown words still have a spelling. With ``affix_length = L > 0`` each word also brings its
lowercased prefixes and suffixes of 1..L characters, and with ``word_shape=True`` its
capitalization/digit pattern ("Xx", "d.d"); their embeddings (size ``feature_dim``) are
summed and set beside the word embedding:

    x_t = [E[w_t] ; sum_f A[f_t]]      h_1..h_T = RNN(x_1..x_T)

Features come from the exact word form, so ``lowercase=True`` folds case for the word
lookup only and the shape keeps it. The feature vocabulary (``features_``) is learned in
``fit`` (features seen fewer than ``min_freq`` times, or never, are UNK) and saved with the
model. This is the "feature-rich BiLSTM" tagger: on UD English EWT it lifts UPOS accuracy
from about 90% to over 93% (``benchmarks/quality_part1.py``). Off by default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Self

import numpy as np

from ..nn.functional import softmax
from ..train.callbacks import Callback
from ._data import Batch, as_sequences, pad_features, step_mask
from ._inputs import XLike, YLike, coerce_Xy
from ._regularizers import net_regularizers
from ._sequence import RecurrentEstimator
from .base import check_choice, check_int_param, decode_labels, encode_labels
from .vocab import Vocab
from .word_features import FeatureTaggerNet, WordFeatures


def conllu_xy(path: str | os.PathLike[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Read a CoNLL-U file as ``(sentences of word forms, sentences of UPOS tags)``."""
    from ..data import read_conllu  # the data package loads only when a file is read

    sentences = read_conllu(path)
    return [[w for w, _ in s] for s in sentences], [[t for _, t in s] for s in sentences]


class SequenceTagger(RecurrentEstimator):
    """Tag every token of a sequence.

    Example::

        tagger = SequenceTagger(hidden_size=64, word_dropout=0.05, epochs=5, seed=0)
        tagger.fit([["the", "dog", "runs"]], [["DET", "NOUN", "VERB"]])
        tagger.predict([["the", "cat"]])     # [['DET', 'NOUN']]
        tagger.fit_conllu("train.conllu")

        # unknown words tagged from their spelling: affixes of 1-3 letters and word shape
        SequenceTagger(affix_length=3, word_shape=True, lowercase=True, min_freq=2, word_dropout=0.1)
    """

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        embedding_dim: int = 64,
        min_freq: int = 1,
        lowercase: bool = False,
        word_dropout: float = 0.0,
        affix_length: int = 0,
        word_shape: bool = False,
        feature_dim: int = 32,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.bidirectional, self.dropout, self.recurrent_dropout = bidirectional, dropout, recurrent_dropout
        self.embedding_dim, self.min_freq, self.lowercase = embedding_dim, min_freq, lowercase
        self.word_dropout = word_dropout
        self.affix_length, self.word_shape, self.feature_dim = affix_length, word_shape, feature_dim

    def fit(
        self, X: XLike, y: YLike, *, validation_data: tuple | None = None, callbacks: Sequence[Callback] | None = None
    ) -> Self:
        """Learn from token sequences ``X`` and aligned tag sequences ``y``; returns self."""
        return self._fit_sequences(X, y, validation_data, callbacks)

    def fit_conllu(
        self,
        path: str | os.PathLike[str],
        *,
        validation_path: str | os.PathLike[str] | None = None,
        callbacks: Sequence[Callback] | None = None,
    ) -> Self:
        """``fit`` on the (form, UPOS) pairs of a CoNLL-U file."""
        val = None if validation_path is None else conllu_xy(validation_path)
        return self.fit(*conllu_xy(path), validation_data=val, callbacks=callbacks)

    # -- spelling features --------------------------------------------------------------
    def _uses_features(self) -> bool:
        return self.affix_length > 0 or bool(self.word_shape)

    def _validate_params(self):
        super()._validate_params()
        check_int_param("affix_length", self.affix_length, 0)
        check_choice("word_shape", self.word_shape, (False, True))
        check_int_param("feature_dim", self.feature_dim)

    def _encode_inputs(self, X, *, fit, name="X"):
        seqs = super()._encode_inputs(X, fit=fit, name=name)
        if self.input_kind_ != "tokens":
            raise TypeError(
                f"{name}: expected token sequences (lists of words), got float arrays; "
                "hint: SequenceRegressor(pooling='none') handles per-step features"
            )
        if fit:
            self.features_ = None
            if not self._uses_features():
                return seqs
        elif getattr(self, "features_", None) is None:  # fitted without features
            return seqs
        _, words = as_sequences(X, name)  # the exact forms, case kept
        if fit:
            self.features_ = WordFeatures.build(
                words, affix_length=self.affix_length, shape=bool(self.word_shape), min_freq=self.min_freq
            )
        # One int row per token: the word id, then its F feature ids.
        return [
            np.concatenate([ids[:, None], self.features_.encode(w, f"{name}[{i}]")], axis=1)
            for i, (ids, w) in enumerate(zip(seqs, words, strict=False))
        ]  # (T_i, 1 + F)

    def _batch(self, inputs: list[np.ndarray], idx: np.ndarray, targets: list | None = None) -> Batch:
        if getattr(self, "features_", None) is None:
            return super()._batch(inputs, idx, targets)
        x, lengths = pad_features([inputs[i] for i in idx], np.int64)  # (T, B, 1 + F); PAD = 0
        T = x.shape[0]
        y = None if targets is None else self._stack_targets([targets[i] for i in idx], T)
        return Batch(x, lengths, y, step_mask(lengths, T))

    def _build_net(self, rng):
        if getattr(self, "features_", None) is None:
            return super()._build_net(rng)
        p = self.get_params(deep=False)
        return FeatureTaggerNet(
            vocab_size=len(self.vocab_),
            feature_vocab_size=len(self.features_.vocab),
            n_features=self.features_.n_features,
            output_size=len(self.classes_),
            cell=p["cell"],
            hidden_size=p["hidden_size"],
            num_layers=p["num_layers"],
            bidirectional=p["bidirectional"],
            dropout=p["dropout"],
            recurrent_dropout=p["recurrent_dropout"],
            embedding_dim=p["embedding_dim"],
            feature_dim=p["feature_dim"],
            word_dropout=p["word_dropout"],
            unk_id=Vocab.unk_id,
            dtype=p["dtype"],
            rng=rng,
            **net_regularizers(self),
        )

    def _fit_state(self) -> dict:
        state = super()._fit_state()
        state["features"] = None if self.features_ is None else self.features_.to_dict()
        return state

    def _set_fit_state(self, state: dict) -> None:
        super()._set_fit_state(state)
        spec = state.get("features")  # absent in models saved before features
        self.features_ = None if spec is None else WordFeatures.from_dict(spec)

    def _net_options(self):
        return {"pooling": "none", "loss": "ce", "output_size": len(self.classes_), "word_dropout": self.word_dropout}

    def _encode_targets(self, y, inputs, *, fit, name="y"):
        n = len(inputs)
        if not isinstance(y, (list, tuple)) or len(y) != n:
            raise ValueError(
                f"{name}: expected {n} tag sequences (one per sentence in X), got "
                f"{type(y).__name__} of length {len(y) if hasattr(y, '__len__') else '?'}"
            )
        for i, (tags, x) in enumerate(zip(y, inputs, strict=False)):
            if isinstance(tags, str) or not hasattr(tags, "__len__") or len(tags) != len(x):
                raise ValueError(f"{name}[{i}]: expected {len(x)} tags, one per token of X[{i}], got {tags!r}"[:200])
        if fit:
            tags = sorted({t for seq in y for t in seq}, key=lambda t: (type(t).__name__, t))
            self.classes_ = np.asarray(tags)
        index = {t.item() if isinstance(t, np.generic) else t: i for i, t in enumerate(self.classes_)}
        out = []
        for i, seq in enumerate(y):
            try:
                out.append(np.array([index[t] for t in seq], dtype=np.int64))
            except KeyError as exc:
                raise ValueError(
                    f"{name}[{i}]: expected tags among classes_ {self.classes_.tolist()}, got {exc.args[0]!r}"
                ) from None
        return out

    def _stack_targets(self, items, T):
        out = np.full((T, len(items)), -100, np.int64)  # (T, B); padding ignored
        for b, a in enumerate(items):
            out[: len(a), b] = a
        return out

    def _target_state(self):
        return {"classes": encode_labels(self.classes_)}

    def _set_target_state(self, state):
        self.classes_ = decode_labels(state["classes"])

    def predict_proba(self, X: XLike) -> list[np.ndarray]:
        """Per sentence, tag probabilities (T_i, C), columns in the order of ``classes_``."""

        return [softmax(o.astype(np.float64), axis=-1) for o in self._outputs(X)]

    def predict(self, X: XLike) -> list[list]:
        """The most probable tag of every token: a list of tag lists aligned with ``X``."""
        self._check_fitted()
        return [self.classes_[np.argmax(o, axis=-1)].tolist() for o in self._outputs(X)]

    def score(self, X: XLike, y: YLike) -> float:
        """Token accuracy over every token of every sentence."""
        X, y = coerce_Xy(X, y)
        pred = self.predict(X)
        if not isinstance(y, (list, tuple)) or len(y) != len(pred):
            raise ValueError(f"y: expected {len(pred)} tag sequences, got {type(y).__name__}")
        right = total = 0
        for i, (p, t) in enumerate(zip(pred, y, strict=False)):
            if len(t) != len(p):
                raise ValueError(f"y[{i}]: expected {len(p)} tags, got {len(t)}")
            right += sum(a == b for a, b in zip(p, t, strict=False))
            total += len(p)
        return right / total
