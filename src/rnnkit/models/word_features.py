"""Spelling features of words: prefixes, suffixes and word shape ("feature-rich BiLSTM").

Shape legend: T time, B batch, F features per word, E word embedding, D feature embedding
(``feature_dim``), H hidden, K tags, V word vocabulary, A feature vocabulary.

A word seen too rarely in training is UNK to the word embedding, but its spelling still
says a lot about its part of speech: ``-ly`` adverbs, ``-ed`` verbs, ``Xx`` proper nouns,
``d.d`` numbers. Each word gets F string features, computed on its form alone:

    prefixes  "p1:" + w[:1], ..., "pL:" + w[:L]     (lowercased; L = affix_length)
    suffixes  "s1:" + w[-1:], ..., "sL:" + w[-L:]   (a word shorter than k gives itself)
    shape     "shape:" + character classes, runs collapsed: "Apple" -> "Xx",
              "1,000" -> "d,d", "e-mail" -> "x-x", "USA" -> "X"

so F = 2 L (+ 1 with the shape). The features have their own vocabulary (a
:class:`~rnnkit.models.vocab.Vocab`: PAD = 0, UNK = 1); a feature never seen in training,
or seen fewer than ``min_freq`` times, is UNK. The network's input at step t is the word
embedding beside the *sum* of the word's feature embeddings (a bag of features, as in
fastText):

    x_t = [ E[w_t] ; sum_f A[f_{t,f}] ]        (E + D,)

Summing keeps the input size at E + D whatever F is; the recurrent layer's input
projection then gives each feature its own additive contribution to every gate. Word
dropout replaces the word id by UNK but keeps its features, which is how the network
learns to tag unknown words from their spelling.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..nn import Embedding, Linear
from ..nn.activation_reg import ActivationReg
from ..nn.losses import cross_entropy
from ..nn.module import Module
from ._data import Batch, step_mask
from .base import make_recurrent
from .network import BatchProtocol
from .vocab import Vocab


def word_shape(word: str) -> str:
    """Character classes with runs collapsed: upper X, lower x, digit d, others kept."""
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def spelling_features(word: str, affix_length: int, shape: bool) -> list[str]:
    """The F feature strings of ``word`` (see the module docstring), in a fixed order."""
    low = word.lower()
    feats = [f"p{k}:{low[:k]}" for k in range(1, affix_length + 1)]
    feats += [f"s{k}:{low[-k:]}" for k in range(1, affix_length + 1)]
    if shape:
        feats.append("shape:" + word_shape(word))
    return feats


def _check_word(word, where: str) -> None:
    if not isinstance(word, str):
        raise TypeError(
            f"{where}: expected str words for spelling features, got {type(word).__name__} "
            f"{word!r}; hint: affix_length=0 and word_shape=False tag integer token ids"
        )


class WordFeatures:
    """Word -> F feature ids, through a feature vocabulary built on the training words."""

    def __init__(self, affix_length: int, shape: bool, vocab: Vocab) -> None:
        self.affix_length, self.shape, self.vocab = int(affix_length), bool(shape), vocab
        self._cache: dict[str, np.ndarray] = {}

    @property
    def n_features(self) -> int:
        """F: features per word."""
        return 2 * self.affix_length + int(self.shape)

    @classmethod
    def build(cls, sentences, *, affix_length: int, shape: bool, min_freq: int = 1) -> WordFeatures:
        """Count the features of every training token; keep those seen ``min_freq`` times."""
        words = Counter(w for s in sentences for w in s)
        counts: Counter = Counter()
        for w, c in words.items():
            _check_word(w, "sentences")
            for f in spelling_features(w, affix_length, shape):
                counts[f] += c
        kept = [f for f, c in counts.most_common() if c >= min_freq]
        return cls(affix_length, shape, Vocab(kept))

    def encode(self, words, name: str = "X") -> np.ndarray:
        """A sentence of str words -> (T_i, F) int64 feature ids (unseen features: UNK)."""
        rows = []
        for i, w in enumerate(words):
            ids = self._cache.get(w)
            if ids is None:
                _check_word(w, f"{name}[{i}]")
                ids = self.vocab.encode(spelling_features(w, self.affix_length, self.shape))
                self._cache[w] = ids
            rows.append(ids)
        return np.stack(rows) if rows else np.zeros((0, self.n_features), np.int64)

    def to_dict(self) -> dict:
        return {"affix_length": self.affix_length, "shape": self.shape, "vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> WordFeatures:
        return cls(data["affix_length"], data["shape"], Vocab.from_dict(data["vocab"]))


class FeatureTaggerNet(BatchProtocol, Module):
    """Word embedding + summed feature embeddings -> recurrent stack -> Linear head, per step.

    Inputs are one int array (T, B, 1 + F): the word id in column 0 (PAD = 0), then the
    word's F feature ids (PAD = 0 on padded steps). Loss: softmax cross-entropy over the
    valid steps, as :class:`~rnnkit.models.network.SequenceNet` with ``pooling="none"``.
    """

    def __init__(
        self,
        *,
        vocab_size,
        feature_vocab_size,
        n_features,
        output_size,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        recurrent_dropout=0.0,
        embedding_dim=64,
        feature_dim=32,
        word_dropout=0.0,
        unk_id=1,
        embedding_dropout=0.0,
        activation_reg=0.0,
        temporal_activation_reg=0.0,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        self.word_dropout, self.unk_id, self.rng = float(word_dropout), int(unk_id), rng
        self.n_features = int(n_features)
        emb = Embedding(vocab_size, embedding_dim, padding_idx=0, dropout=embedding_dropout, dtype=dtype, rng=rng)
        self.embedding = self.add_module("embedding", emb)
        self.reg = ActivationReg(activation_reg, temporal_activation_reg)
        self.features = self.add_module(
            "features", Embedding(feature_vocab_size, feature_dim, padding_idx=0, dtype=dtype, rng=rng)
        )
        # N(0, 1/F) rows make the sum of F features unit-variance, like one word vector.
        self.features.parameters()["weight"] *= 1.0 / np.sqrt(max(self.n_features, 1))
        self.rnn = self.add_module(
            "rnn",
            make_recurrent(
                cell,
                embedding_dim + feature_dim,
                hidden_size,
                num_layers,
                bidirectional=bidirectional,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                dtype=dtype,
                rng=rng,
            ),
        )
        D = 2 if bidirectional else 1
        self.head = self.add_module("head", Linear(D * hidden_size, output_size, dtype=dtype, rng=rng))
        self.dtype = self.rnn.dtype

    def forward(self, inputs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, tuple]:
        """inputs (T, B, 1 + F) ids, lengths (B,) -> (logits (T, B, K), cache)."""
        ids, feats = inputs[..., 0], inputs[..., 1:]  # (T, B), (T, B, F)
        if feats.shape[-1] != self.n_features:
            raise ValueError(
                f"inputs: expected {1 + self.n_features} ids per step (word + features), got shape {inputs.shape}"
            )
        if self.training and self.word_dropout > 0:
            drop = (self.rng.random(ids.shape) < self.word_dropout) & (ids != 0)
            ids = np.where(drop, self.unk_id, ids)  # the features stay
        e, emb_cache = self.embedding.forward(ids)  # (T, B, E)
        f, feat_cache = self.features.forward(feats)  # (T, B, F, D)
        x = np.concatenate([e, f.sum(axis=2)], axis=-1)  # (T, B, E + D)
        T = x.shape[0]
        lens = None if np.all(lengths == T) else lengths
        out, _, rnn_cache = self.rnn.forward(x, None, lens)  # (T, B, Dir*H)
        reg = self.reg.forward(out, rnn_cache, step_mask(lengths, T)) if self.training else (0.0, None)
        y, head_cache = self.head.forward(out)  # (T, B, K)
        return y, (emb_cache, feat_cache, rnn_cache, head_cache, reg)

    def _penalty(self, cache):
        return cache[-1][0]

    def backward(self, dy, cache):
        """Accumulate the gradients of every parameter given dL/dlogits (T, B, K) (and dL/dpenalty = 1)."""
        emb_cache, feat_cache, rnn_cache, head_cache, (_, c_reg) = cache
        dout = self.head.backward(dy, head_cache)  # (T, B, Dir*H)
        dout, doutput = self.reg.backward(1.0, c_reg, dout)
        dx, _ = self.rnn.backward(dout, None, rnn_cache, doutput)  # (T, B, E + D)
        E = self.embedding.embedding_dim
        self.embedding.backward(dx[..., :E], emb_cache)
        dsum = dx[..., None, E:]  # (T, B, 1, D): d sum / d each term = 1
        self.features.backward(np.broadcast_to(dsum, feat_cache[0].shape + dsum.shape[-1:]), feat_cache)

    def _loss(self, y, batch: Batch):
        assert batch.mask is not None and batch.targets is not None  # tagging batches carry both
        loss, dy = cross_entropy(y, batch.targets, mask=batch.mask)
        return loss, dy, int(batch.mask.sum())
