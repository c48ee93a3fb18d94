"""One-to-many: a sequence generated from one conditioning input.

Shape legend
    B  batch      T  steps (with EOS for tokens)   C  classes    F  features
    E  embedding size     H  hidden units    L  layers     V  vocabulary

The condition is a class label (looked up in an embedding, u = E_cond[label], (B, E)) or
a feature vector (u = x, standardized with the training mean and deviation, (B, F)). It
sets the recurrent layers' initial state, one affine map and tanh for all layers:

    h0 = tanh(W_h u + b_h)  reshaped (L, B, H)          LSTM: c0 = tanh(W_c u + b_c)
                                                         (or 0 with condition_cell=False)

and the sequence is emitted one step at a time, each output fed back as the next input:

    tokens:  x_0 = BOS, x_t = y_t;  p(y_{t+1} | y_<=t, u) = softmax(W_o o_t + b_o), ends with EOS
    vectors: x_0 = 0,   x_t = y_t;  y_{t+1} = W_o o_t + b_o (standardized units)

Training uses teacher forcing (the true y_t is fed) and the mean cross-entropy per token,
or the mean squared error per element for vectors. Generation feeds the model's own
outputs back, one ``step`` of the recurrent layers per output.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from ..distributed import EMPTY_SHARD, world
from ..nn import Embedding, Linear
from ..nn.losses import cross_entropy, mse
from ..nn.module import Module
from ..train.callbacks import Callback
from ._data import check_rows_per_rank, pad_ids
from ._inputs import XLike, YLike
from .base import BaseEstimator, check_choice, check_int_param, decode_labels, encode_labels, make_recurrent
from .decoding import check_max_len
from .sampling import as_generator, check_temperature, check_top_k, greedy, sample
from .seq2seq import _pair, token_sequences
from .vocab import Vocab


@dataclass
class GeneratorBatch:
    cond: np.ndarray  # (B,) class ids or (B, F) standardized features
    inputs: np.ndarray  # (T, B) ids: BOS y_1 .. y_n, or (T, B, F): 0 y_1 .. y_{n-1}
    targets: np.ndarray  # (T, B) ids: y_1 .. y_n EOS, or (T, B, F): y_1 .. y_n
    lengths: np.ndarray  # (B,)


class GeneratorNet(Module):
    """Condition -> initial state -> recurrent layers -> output layer."""

    def __init__(
        self,
        *,
        n_classes=None,
        n_cond_features=None,
        vocab_size=None,
        n_out_features=None,
        cell="lstm",
        embedding_dim=32,
        hidden_size=64,
        num_layers=1,
        condition_cell=True,
        dropout=0.0,
        recurrent_dropout=0.0,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        E, H, L = embedding_dim, hidden_size, num_layers
        self.tokens = vocab_size is not None
        if n_classes is not None:
            self.cond_embed = self.add_module("cond_embed", Embedding(n_classes, E, dtype=dtype, rng=rng))
            u_dim = E
        else:
            self.cond_embed, u_dim = None, n_cond_features
        self.init_h = self.add_module("init_h", Linear(u_dim, L * H, dtype=dtype, rng=rng))
        in_dim = E if self.tokens else n_out_features
        self.rnn = self.add_module(
            "rnn",
            make_recurrent(
                cell,
                in_dim,
                H,
                L,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                dtype=dtype,
                rng=rng,
            ),
        )
        self.has_cell_state = self.rnn.cell.has_cell_state  # state (h, c)
        self.init_c = None
        if self.has_cell_state and condition_cell:
            self.init_c = self.add_module("init_c", Linear(u_dim, L * H, dtype=dtype, rng=rng))
        if self.tokens:
            self.embed = self.add_module("embed", Embedding(vocab_size, E, padding_idx=0, dtype=dtype, rng=rng))
        self.head = self.add_module(
            "head", Linear(H, vocab_size if self.tokens else n_out_features, dtype=dtype, rng=rng)
        )

    # -- the condition sets the initial state ------------------------------------------------
    def condition(self, cond):
        """cond (B,) ids or (B, F) -> initial state, each (L, B, H), and a cache."""
        u, c_emb = self.cond_embed.forward(cond) if self.cond_embed is not None else (cond, None)
        L, H = self.rnn.num_layers, self.rnn.hidden_size
        parts, caches = [], []
        for lin in (self.init_h, self.init_c):
            if lin is None:
                continue
            pre, c_lin = lin.forward(u)  # (B, L*H)
            s = np.tanh(pre).reshape(-1, L, H).transpose(1, 0, 2)  # (L, B, H)
            parts.append(np.ascontiguousarray(s))
            caches.append(c_lin)
        if self.has_cell_state:
            c0 = parts[1] if self.init_c is not None else np.zeros_like(parts[0])
            return (parts[0], c0), (c_emb, caches, parts)
        return parts[0], (c_emb, caches, parts)

    def condition_backward(self, dstate0, cache):
        c_emb, caches, parts = cache
        douts = dstate0 if self.has_cell_state else (dstate0,)
        du = 0.0
        for lin, c_lin, s, d in zip((self.init_h, self.init_c), caches, parts, douts, strict=False):
            dpre = (d * (1.0 - s * s)).transpose(1, 0, 2).reshape(s.shape[1], -1)  # (B, L*H)
            du = du + lin.backward(dpre, c_lin)
        if self.cond_embed is not None:
            self.cond_embed.backward(du, c_emb)

    # -- the training protocol ------------------------------------------------------------
    def _forward(self, batch: GeneratorBatch) -> tuple[float, int, np.ndarray, tuple]:
        state0, c_cond = self.condition(batch.cond)
        if self.tokens:
            x, c_in = self.embed.forward(batch.inputs)  # (T, B, E)
        else:
            x, c_in = batch.inputs, None
        out, _, c_rnn = self.rnn.forward(x, state0, lengths=batch.lengths)
        y, c_head = self.head.forward(out)  # (T, B, V or F)
        mask = np.arange(y.shape[0])[:, None] < batch.lengths[None, :]  # (T, B)
        if self.tokens:
            loss, dy = cross_entropy(y, batch.targets, mask=mask)
            count = int(mask.sum())
        else:
            loss, dy = mse(y, batch.targets, mask=mask)
            count = int(mask.sum()) * y.shape[-1]
        return loss, count, dy, (c_cond, c_in, c_rnn, c_head)

    def loss_and_grad(self, batch: GeneratorBatch) -> float:
        """Mean loss of the batch (teacher forced); gradients accumulated into ``self.grads``."""
        loss, _, dy, (c_cond, c_in, c_rnn, c_head) = self._forward(batch)
        dout = self.head.backward(dy, c_head)
        dx, dstate0 = self.rnn.backward(dout, None, c_rnn)
        if self.tokens:
            self.embed.backward(dx, c_in)
        self.condition_backward(dstate0, c_cond)
        return loss

    def batch_count(self, batch: GeneratorBatch) -> int:
        """Steps in ``batch``: its weight when ranks sum their gradients (see rnnkit.distributed)."""
        return int(batch.lengths.sum())

    def evaluate_batch(self, batch: GeneratorBatch) -> tuple[float, int]:
        loss, count, _, _ = self._forward(batch)
        return loss * count, count

    def step(self, inputs, state):
        """One step: inputs (R,) ids or (R, F) -> (outputs (R, V or F), new state)."""
        x = self.embed.parameters()["weight"][inputs] if self.tokens else inputs
        state = self.rnn.step(x, state)
        y, _ = self.head.forward((state[0] if self.has_cell_state else state)[-1])
        return y, state


def _check_length(length: int | None, *, allow_none: bool = True) -> int | None:
    if length is None and allow_none:
        return None
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
        raise ValueError(f"length: expected an int >= 1{' or None (until EOS)' if allow_none else ''}, got {length!r}")
    return int(length)


class SequenceGenerator(BaseEstimator):
    """Generate a sequence from a condition: ``fit(conditions, sequences)``, ``generate``.

    conditions: class labels (a list or 1-D array: ints or strings) or feature vectors
    (a 2-D float array (N, F)). sequences: strings (characters), token lists, or float
    arrays (T_i, F_out) for real-valued outputs. ``predict`` decodes greedily (tokens) or
    deterministically (vectors); ``generate`` samples with ``temperature`` and ``top_k``.
    ``score`` is the mean teacher-forced log-likelihood per token (tokens) or the negative
    mean squared error in standardized units (vectors): higher is better.
    """

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        embedding_dim: int = 32,
        condition_cell: bool = True,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        max_len: int | None = None,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.embedding_dim, self.condition_cell = embedding_dim, condition_cell
        self.dropout, self.recurrent_dropout, self.max_len = dropout, recurrent_dropout, max_len

    def _validate_params(self):
        super()._validate_params()
        check_choice("condition_cell", self.condition_cell, (False, True))
        check_int_param("max_len", self.max_len, allow_none=True)

    # -- data -------------------------------------------------------------------------------
    def _conditions(self, conditions, fitting=False):
        """Labels (N,) -> class ids, or features (N, F) -> standardized floats."""
        if isinstance(conditions, (str, bytes)) or not hasattr(conditions, "__len__"):
            raise TypeError(
                f"conditions: expected a list of labels or a 2-D array of features, got {type(conditions).__name__}"
            )
        arr = np.asarray(conditions)
        if arr.ndim == 0 or arr.shape[0] == 0:
            raise ValueError(f"conditions: expected at least one condition, got shape {arr.shape}")
        if fitting:
            if arr.ndim == 2 and np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
                self.classes_ = None
                arr = arr.astype(np.float64)
                self.cond_mean_ = arr.mean(axis=0)
                self.cond_scale_ = np.where(arr.std(axis=0) > 0, arr.std(axis=0), 1.0)
            elif arr.ndim == 1:
                self.classes_ = np.unique(arr)
            else:
                raise ValueError(
                    f"conditions: expected labels (N,) or numeric features (N, F), "
                    f"got shape {arr.shape} and dtype {arr.dtype}"
                )
        if self.classes_ is not None:
            if arr.ndim != 1:
                raise ValueError(f"conditions: expected class labels (N,), got shape {arr.shape}")
            idx = np.searchsorted(self.classes_, arr)
            idx = np.minimum(idx, len(self.classes_) - 1)
            unseen = arr[self.classes_[idx] != arr]
            if unseen.size:
                raise ValueError(
                    f"conditions: expected labels seen at fit {self.classes_.tolist()[:20]}, "
                    f"got unseen {sorted(set(unseen.tolist()))[:20]}"
                )
            return idx.astype(np.int64)
        F = self.cond_mean_.shape[0]
        if arr.ndim != 2 or arr.shape[1] != F or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(
                f"conditions: expected numeric features of shape (N, {F}) as at fit time, got shape {arr.shape}"
            )
        return ((arr - self.cond_mean_) / self.cond_scale_).astype(self.dtype)

    def _sequences(self, sequences, fitting=False):
        """Token sequences -> ids with BOS/EOS, or float arrays (T, F) -> standardized."""
        if (
            not isinstance(sequences, (str, bytes))
            and hasattr(sequences, "__len__")
            and len(sequences)
            and isinstance(sequences[0], np.ndarray)
            and np.issubdtype(sequences[0].dtype, np.floating)
        ):
            if not fitting and self.vocab_ is not None:
                raise TypeError("sequences: expected strings or token lists as at fit time, got float arrays")
            seqs = []
            for i, s in enumerate(sequences):
                s = np.asarray(s, dtype=np.float64)
                s = s[:, None] if s.ndim == 1 else s
                if s.ndim != 2 or s.shape[0] == 0 or not np.all(np.isfinite(s)):
                    raise ValueError(f"sequences[{i}]: expected a finite (T, F) array with T >= 1, got shape {s.shape}")
                seqs.append(s)
            if fitting:
                self.vocab_, self.is_text_ = None, False
                allv = np.concatenate([seqs[0][:0]] + [s for s in seqs if s.shape[1] == seqs[0].shape[1]])
                self.out_mean_ = allv.mean(axis=0)
                self.out_scale_ = np.where(allv.std(axis=0) > 0, allv.std(axis=0), 1.0)
            F = self.out_mean_.shape[0]
            bad = [i for i, s in enumerate(seqs) if s.shape[1] != F]
            if bad:
                raise ValueError(
                    f"sequences[{bad[0]}]: expected {F} features per step (as sequences[0] at fit "
                    f"time), got shape {seqs[bad[0]].shape}"
                )
            return [((s - self.out_mean_) / self.out_scale_).astype(self.dtype) for s in seqs]
        seqs, is_text = token_sequences(sequences, "sequences")
        if fitting:
            self.vocab_, self.is_text_ = Vocab.build(seqs), is_text
        elif self.vocab_ is None:
            raise TypeError("sequences: expected float arrays (T, F) as at fit time, got tokens")
        return [self.vocab_.encode(s, add_bos=True, add_eos=True) for s in seqs]

    def _batches(self, cond, seqs, order=None, shard=False):
        """Batches in ``order``; with ``shard``, this rank's part of each (see rnnkit.distributed)."""
        order = np.arange(len(seqs)) if order is None else order
        w = world()
        if shard and w.active:
            w.check_same("conditions, sequences", cond, seqs)
            check_rows_per_rank(min(self.batch_size, len(order)), w.size)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            if shard and w.active:
                idx = w.shard(idx)
                if not len(idx):
                    yield EMPTY_SHARD
                    continue
            if self.vocab_ is not None:
                inputs, _ = pad_ids([seqs[i][:-1] for i in idx])
                targets, lengths = pad_ids([seqs[i][1:] for i in idx])
            else:
                lengths = np.array([len(seqs[i]) for i in idx])
                F = seqs[idx[0]].shape[1]
                targets = np.zeros((lengths.max(), len(idx), F), self.dtype)
                for b, i in enumerate(idx):
                    targets[: lengths[b], b] = seqs[i]
                inputs = np.concatenate([np.zeros_like(targets[:1]), targets[:-1]])
            yield GeneratorBatch(cond[idx], inputs, targets, lengths)

    # -- fit / predict / generate / score --------------------------------------------------
    def fit(
        self,
        conditions: XLike,
        sequences: YLike,
        *,
        validation_data: tuple | None = None,
        callbacks: Sequence[Callback] | None = None,
    ) -> Self:
        """Learn p(sequence | condition); ``validation_data``: (conditions, sequences). Returns self."""
        self._validate_params()
        cond = self._conditions(conditions, fitting=True)
        seqs = self._sequences(sequences, fitting=True)
        if len(seqs) != len(cond):
            raise ValueError(f"sequences: expected one sequence per condition ({len(cond)}), got {len(seqs)}")
        lens = {len(s) for s in seqs}
        self.max_length_ = max(lens) - (1 if self.vocab_ is not None else 0)
        self.fixed_length_ = lens.pop() if (len(lens) == 1 and self.vocab_ is None) else None
        rng = self._make_rng()
        net = self._start_net(rng)
        val = None
        if validation_data is not None:
            vc, vs = _pair(validation_data)
            val = list(self._batches(self._conditions(vc), self._sequences(vs)))
        self.history_ = self._train(
            net,
            lambda epoch, r: self._batches(cond, seqs, r.permutation(len(seqs)), shard=True),
            val,
            rng,
            callbacks=callbacks,
        )
        self.net_ = net
        return self

    def _single(self, condition):
        arr = np.asarray(condition)
        single = arr.ndim == (0 if self.classes_ is not None else 1)
        return (arr[None] if single else arr), single

    def generate(
        self,
        condition: Any,
        length: int | None = None,
        *,
        max_len: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> list | np.ndarray:
        """Sample a sequence for ``condition`` (one label or feature vector, or a list of them).

        Tokens: ``length`` tokens exactly (EOS never drawn), or until EOS when ``length`` is
        None (at most ``max_len``). Vectors: ``length`` steps (required unless every
        training sequence had one length); ``temperature``/``top_k`` do not apply and the
        output is deterministic. Returns one sequence, or a list for a list of conditions.
        """
        temperature = check_temperature(temperature)
        return self._decode(condition, length, max_len, temperature, top_k, seed)

    def predict(self, conditions: XLike, length: int | None = None, *, max_len: int | None = None) -> list:
        """The most likely token at each step (greedy), or the vectors; a list per condition."""
        return self._decode(conditions, length, max_len, None, None, None, force_list=True)

    def _decode(self, condition, length, max_len, temperature, top_k, seed, force_list=False):
        self._check_fitted()
        length = _check_length(length)
        cond_in, single = self._single(condition)
        cond = self._conditions(cond_in)
        net = self.net_.eval()
        state, _ = net.condition(cond)
        n = len(cond)
        if self.vocab_ is None:
            steps = length if length is not None else self.fixed_length_
            if steps is None:
                raise ValueError(
                    "length: expected an int >= 1 for real-valued outputs (training "
                    "sequences had several lengths), got None"
                )
            x = np.zeros((n, self.out_mean_.shape[0]), self.dtype)
            out = np.zeros((steps, n, x.shape[1]))
            for t in range(steps):
                x, state = net.step(x, state)
                out[t] = x
            seqs = [out[:, b] * self.out_scale_ + self.out_mean_ for b in range(n)]
        else:
            V = self.vocab_
            top_k = check_top_k(top_k, len(V))
            rng = as_generator(seed) if temperature is not None else None
            default = self.max_len if self.max_len is not None else 2 * self.max_length_ + 2
            steps = length if length is not None else check_max_len(default if max_len is None else max_len)
            banned = [V.pad_id, V.unk_id, V.bos_id] + ([V.eos_id] if length is not None else [])
            tokens = np.full(n, V.bos_id, np.int64)
            ids = np.zeros((n, steps), np.int64)
            live = np.ones(n, bool)
            for t in range(steps):
                logits, state = net.step(tokens, state)
                logits = logits.astype(np.float64)
                logits[:, banned] = -np.inf
                tokens = (
                    greedy(logits)
                    if temperature is None
                    else sample(logits, temperature=temperature, top_k=top_k, rng=rng)
                )
                ids[:, t] = np.where(live, tokens, V.eos_id)
                live &= tokens != V.eos_id
                if not live.any():
                    break
            seqs = [V.decode(row) for row in ids]
            if self.is_text_:
                seqs = ["".join(map(str, s)) for s in seqs]
        return seqs[0] if single and not force_list else seqs

    def score(self, conditions: XLike, sequences: YLike) -> float:
        """Mean log-likelihood per token (tokens) or -MSE per standardized element (vectors)."""
        self._check_fitted()
        cond, seqs = self._conditions(conditions), self._sequences(sequences)
        if len(seqs) != len(cond):
            raise ValueError(f"sequences: expected one sequence per condition ({len(cond)}), got {len(seqs)}")
        net = self.net_.eval()
        total, count = 0.0, 0
        for batch in self._batches(cond, seqs):
            s, c = net.evaluate_batch(batch)
            total, count = total + s, count + c
        return -total / count

    # -- persistence hooks ----------------------------------------------------------------
    def _fit_state(self) -> dict:
        st = {
            "max_length": self.max_length_,
            "fixed_length": self.fixed_length_,
            "classes": None if self.classes_ is None else encode_labels(self.classes_),
        }
        if self.classes_ is None:
            st["cond_mean"], st["cond_scale"] = self.cond_mean_.tolist(), self.cond_scale_.tolist()
        if self.vocab_ is not None:
            st["vocab"], st["is_text"] = self.vocab_.to_dict(), self.is_text_
        else:
            st["out_mean"], st["out_scale"] = self.out_mean_.tolist(), self.out_scale_.tolist()
        return st

    def _set_fit_state(self, st: dict) -> None:
        self.max_length_, self.fixed_length_ = st["max_length"], st["fixed_length"]
        self.classes_ = None if st["classes"] is None else decode_labels(st["classes"])
        if self.classes_ is None:
            self.cond_mean_, self.cond_scale_ = np.array(st["cond_mean"]), np.array(st["cond_scale"])
        self.vocab_ = Vocab.from_dict(st["vocab"]) if "vocab" in st else None
        self.is_text_ = bool(st.get("is_text", False))
        if self.vocab_ is None:
            self.out_mean_, self.out_scale_ = np.array(st["out_mean"]), np.array(st["out_scale"])

    def _build_net(self, rng: np.random.Generator) -> GeneratorNet:
        return GeneratorNet(
            n_classes=None if self.classes_ is None else len(self.classes_),
            n_cond_features=None if self.classes_ is not None else self.cond_mean_.shape[0],
            vocab_size=None if self.vocab_ is None else len(self.vocab_),
            n_out_features=None if self.vocab_ is not None else self.out_mean_.shape[0],
            cell=self.cell,
            embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            condition_cell=self.condition_cell,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            dtype=self.dtype,
            rng=rng,
        )
