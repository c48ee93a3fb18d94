"""Encoder-decoder (sequence-to-sequence): outputs of another length than the inputs.

Shape legend
    S  source steps     T  target steps (with EOS)    B  batch        E  embedding size
    H  hidden units     L  layers    D  encoder directions (1 or 2)  V  vocabulary

The network (Sutskever et al. 2014, with a bridge as in Bahdanau et al. 2015):

    e_s            = E_src[x_s]                          (S, B, E)   x ends with EOS
    _, (h_n, c_n)  = encoder(e, lengths=|x|)              (L*D, B, H)
    s_l            = tanh(W_b [h_n(l, fwd); h_n(l, rev)] + b_b)   per layer l: (L, B, H)
    (LSTM: c0_l    = tanh(W_c [c_n(l, fwd); c_n(l, rev)] + b_c), else c0 = 0)
    o_t, _         = decoder(E_tgt[y_{t-1}], state0=s)    y_0 = BOS, (T, B, H)
    p(y_t | y_<t, x) = softmax(W_o o_t + b_o)              (T, B, V)

The loss is the mean cross-entropy of y_1..y_n, EOS over the batch's target tokens.
Encoder and decoder have separate weights (and separate source and target vocabularies).
With ``attention=True`` the decoder outputs o_t also attend over the encoder outputs
(Luong et al. 2015; :mod:`rnnkit.models.attention`) before the output layer, so the
source need not squeeze through the bridge alone.

Scheduled sampling (Bengio et al. 2015): with probability ``rate`` a decoder input
y_{t-1} (t >= 2) is replaced by a token drawn from the model's own p(. | y_<t-1, x) at the
previous step. The drawn token is a constant: gradients flow exactly as with teacher
forcing, into the embedding row of the token fed. The rate follows a decaying schedule of
the teacher-forcing probability eps(e) over epochs e = 0, 1, ...:

    rate(e) = scheduled_sampling * (1 - eps(e))
    "inverse_sigmoid": eps = k / (k + exp(e / k))      k = sampling_decay >= 1 (default 5)
    "exponential":     eps = k ** e                      0 < k < 1 (default 0.9)
    "linear":          eps = max(0, 1 - k * e)           k > 0 (default 1 / epochs)
    "constant":        eps = 0

Decoding after training is greedy or beam search (:mod:`rnnkit.models.decoding`), one
``decoder.step`` per output token.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np

from ..distributed import EMPTY_SHARD, world
from ..train.callbacks import Callback
from ._data import check_rows_per_rank, pad_ids
from ._inputs import XLike, YLike, coerce_X, coerce_Xy
from .base import BaseEstimator, check_choice, check_float_param, check_int_param
from .decoding import beam_search, check_beam_size, check_length_penalty, check_max_len, greedy_decode
from .seq2seq_net import Seq2SeqBatch, Seq2SeqNet
from .vocab import Vocab

__all__ = ["Seq2Seq", "Seq2SeqBatch", "Seq2SeqNet", "pad_ids", "sampling_rate", "token_sequences"]


# -- sequences of tokens ---------------------------------------------------------------------
def token_sequences(values: Any, name: str) -> tuple[list[list], bool]:
    """A non-empty list of str (characters) or of token lists -> (list of lists, is_text)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name}: expected a list of strings or of token lists, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name}: expected at least one sequence, got an empty list")
    is_text = isinstance(values[0], str)
    out = []
    for i, seq in enumerate(values):
        if isinstance(seq, str) != is_text:
            raise TypeError(
                f"{name}[{i}]: expected {'a str' if is_text else 'a token list'} like "
                f"{name}[0], got {type(seq).__name__}"
            )
        if not is_text:
            if isinstance(seq, bytes) or not hasattr(seq, "__iter__"):
                raise TypeError(f"{name}[{i}]: expected a str or a list of tokens, got {type(seq).__name__}")
            seq = [t.item() if isinstance(t, np.generic) else t for t in seq]
            for t in seq:
                if isinstance(t, bool) or not isinstance(t, (str, numbers.Integral)):
                    raise TypeError(f"{name}[{i}]: expected tokens of type str or int, got {type(t).__name__} {t!r}")
        out.append(list(seq))
    return out, is_text


def cosine_plan(model: Any, steps_per_epoch: int | None) -> dict:  # model: a CharLM or a Seq2Seq
    """The TrainConfig fields of ``model.lr_schedule == "cosine"``: the learning rate follows a
    half cosine from ``lr`` to ``lr / 20`` over all steps of training
    (``rnnkit.optim.schedules.CosineAnnealingLR``, stepped after every update); {} without it."""
    if model.lr_schedule is None:
        return {}
    return {
        "schedule": "cosine",
        "schedule_interval": "step",
        "schedule_kwargs": {"T_max": model.epochs * steps_per_epoch, "eta_min": model.lr / 20},
    }


def check_lr_schedule(model: Any) -> None:  # model: a CharLM or a Seq2Seq
    check_choice("lr_schedule", model.lr_schedule, (None, "cosine"))
    if model.lr_schedule is not None and model.schedule is not None:
        raise ValueError(
            f"lr_schedule: {model.lr_schedule!r} plans the schedule itself, got schedule={model.schedule!r} "
            "too; hint: set one of them"
        )


def _pair(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError(f"validation_data: expected a pair (sources, targets), got {type(validation_data).__name__}")
    return validation_data


def sampling_rate(schedule: str, epoch: int, scheduled_sampling: float, decay: float | None, epochs: int) -> float:
    """The probability of feeding the model's own token at ``epoch``; see the module doc."""
    if scheduled_sampling == 0.0 or schedule == "constant":
        return scheduled_sampling
    if schedule == "inverse_sigmoid":
        k = 5.0 if decay is None else decay
        eps = k / (k + np.exp(min(epoch / k, 700.0)))
    elif schedule == "exponential":
        eps = (0.9 if decay is None else decay) ** epoch
    else:  # linear
        eps = max(0.0, 1.0 - (1.0 / epochs if decay is None else decay) * epoch)
    return float(scheduled_sampling * (1.0 - eps))


def check_schedule(schedule: str, decay: float | None) -> None:
    check_choice("sampling_schedule", schedule, ["inverse_sigmoid", "exponential", "linear", "constant"])
    if decay is None or schedule == "constant":
        return
    if schedule == "inverse_sigmoid":
        check_float_param("sampling_decay", decay, low=1.0)
    elif schedule == "exponential":
        check_float_param("sampling_decay", decay, low=0.0, high=1.0, low_open=True, high_open=True)
    else:
        check_float_param("sampling_decay", decay, low_open=True)


# -- the estimator -----------------------------------------------------------------------------
class Seq2Seq(BaseEstimator):
    """Sequence-to-sequence estimator: ``fit(sources, targets)``, ``predict(sources)``.

    Sources and targets are lists of strings (character vocabularies) or of token lists
    (token vocabularies); ``predict`` returns the targets' kind. Source tokens unseen at
    fit time become UNK. ``score`` is the exact-match accuracy of ``predict``.

    ``reverse_source`` feeds each source backwards (Sutskever et al. 2014);
    ``scheduled_sampling``, ``sampling_schedule`` and ``sampling_decay`` set the rate of
    feeding the decoder its own tokens while training (see the module doc); ``beam_size``,
    ``length_penalty`` and ``max_len`` (default: twice the longest training target + 2)
    are the decoding defaults of ``predict``; ``lr_schedule="cosine"`` decays the learning
    rate to lr / 20 over training.
    """

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        attention: bool = False,
        embedding_dim: int = 32,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reverse_source: bool = False,
        scheduled_sampling: float = 0.0,
        sampling_schedule: Literal["inverse_sigmoid", "exponential", "linear", "constant"] = "inverse_sigmoid",
        sampling_decay: float | None = None,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        max_len: int | None = None,
        lr_schedule: Literal["cosine"] | None = None,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.bidirectional, self.attention, self.embedding_dim = bidirectional, attention, embedding_dim
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.reverse_source, self.scheduled_sampling = reverse_source, scheduled_sampling
        self.sampling_schedule, self.sampling_decay = sampling_schedule, sampling_decay
        self.beam_size, self.length_penalty, self.max_len = beam_size, length_penalty, max_len
        self.lr_schedule = lr_schedule

    def _planned_schedule(self, steps_per_epoch: int | None) -> dict:
        return cosine_plan(self, steps_per_epoch)

    def _validate_params(self) -> None:
        super()._validate_params()
        check_lr_schedule(self)
        check_choice("reverse_source", self.reverse_source, (False, True))
        check_choice("attention", self.attention, (False, True))
        check_float_param("scheduled_sampling", self.scheduled_sampling, high=1.0)
        check_schedule(self.sampling_schedule, self.sampling_decay)
        check_beam_size(self.beam_size)
        check_length_penalty(self.length_penalty)
        check_int_param("max_len", self.max_len, allow_none=True)

    # -- data ---------------------------------------------------------------------------
    def _encode_sources(self, sources):
        sources = coerce_X(sources, "sources", split_text=False)
        seqs, is_text = token_sequences(sources, "sources")
        if is_text != self.source_is_text_:
            raise TypeError(
                f"sources: expected {'strings' if self.source_is_text_ else 'token lists'} "
                f"as at fit time, got {'strings' if is_text else 'token lists'}"
            )
        out = []
        for s in seqs:
            ids = self.src_vocab_.encode(s[::-1] if self.reverse_source else s, add_eos=True)
            out.append(ids)
        return out

    def _batches(self, src_ids, tgt_ids, rng_epoch=None, order=None, rate=0.0, shard=False):
        """Batches in ``order``; with ``shard``, this rank's part of each (see rnnkit.distributed)."""
        bs, w = self.batch_size, world()
        order = np.arange(len(src_ids)) if order is None else order
        if shard and w.active:
            w.check_same("sources, targets", src_ids, tgt_ids)
            check_rows_per_rank(min(bs, len(order)), w.size)
        for start in range(0, len(order), bs):
            idx = order[start : start + bs]
            seed = int(rng_epoch.integers(2**63)) if rng_epoch is not None and rate > 0 else 0
            if shard and w.active:
                idx = w.shard(idx)
                if not len(idx):
                    yield EMPTY_SHARD
                    continue
            src, src_len = pad_ids([src_ids[i] for i in idx])
            dec_in, _ = pad_ids([tgt_ids[i][:-1] for i in idx])  # BOS y_1 .. y_n
            dec_out, tgt_len = pad_ids([tgt_ids[i][1:] for i in idx])  # y_1 .. y_n EOS
            yield Seq2SeqBatch(src, src_len, dec_in, dec_out, tgt_len, rate, seed)

    # -- fit / predict / score ------------------------------------------------------------
    def _memory_sizes(self) -> dict:
        return {
            "length": self.max_target_len_ + 2,  # with BOS and EOS
            "vocab_size": len(self.src_vocab_) + len(self.tgt_vocab_),
            "output_size": len(self.tgt_vocab_),
        }

    def fit(
        self,
        sources: XLike,
        targets: YLike,
        *,
        validation_data: tuple | None = None,
        callbacks: Sequence[Callback] | None = None,
    ) -> Self:
        """Learn p(target | source) from paired lists; returns self."""
        self._validate_params()
        sources, targets = coerce_Xy(sources, targets, split_text=False, names=("sources", "targets"))
        src, self.source_is_text_ = token_sequences(sources, "sources")
        tgt, self.target_is_text_ = token_sequences(targets, "targets")
        if len(src) != len(tgt):
            raise ValueError(f"targets: expected one target per source ({len(src)}), got {len(tgt)}")
        self.src_vocab_ = Vocab.build(src)
        self.tgt_vocab_ = Vocab.build(tgt)
        self.max_target_len_ = max(len(t) for t in tgt)
        rng = self._make_rng()
        net = self._start_net(rng)
        src_ids = self._encode_sources(sources)
        tgt_ids = [self.tgt_vocab_.encode(t, add_bos=True, add_eos=True) for t in tgt]
        val = None
        if validation_data is not None:
            vs, vt = coerce_Xy(
                *_pair(validation_data), split_text=False, names=("validation_data[0]", "validation_data[1]")
            )
            vt, _ = token_sequences(vt, "validation_data[1]")
            val = list(
                self._batches(
                    self._encode_sources(vs), [self.tgt_vocab_.encode(t, add_bos=True, add_eos=True) for t in vt]
                )
            )

        def train_batches(epoch, rng_epoch):
            rate = sampling_rate(
                self.sampling_schedule, epoch, self.scheduled_sampling, self.sampling_decay, self.epochs
            )
            return self._batches(src_ids, tgt_ids, rng_epoch, rng_epoch.permutation(len(src_ids)), rate, shard=True)

        steps = -(-len(src_ids) // self.batch_size)
        self.history_ = self._train(net, train_batches, val, rng, callbacks=callbacks, steps_per_epoch=steps)
        self.net_ = net
        return self

    def predict(
        self,
        sources: XLike,
        *,
        beam_size: int | None = None,
        max_len: int | None = None,
        length_penalty: float | None = None,
    ) -> list:
        """Decode each source: greedy (``beam_size=1``) or beam search. Returns strings when
        the targets were strings, else token lists."""
        self._check_fitted()
        K = check_beam_size(self.beam_size if beam_size is None else beam_size)
        alpha = check_length_penalty(self.length_penalty if length_penalty is None else length_penalty)
        default_len = self.max_len if self.max_len is not None else 2 * self.max_target_len_ + 2
        max_len = check_max_len(default_len if max_len is None else max_len)
        src_ids = self._encode_sources(sources)
        net = self.net_
        net.eval()
        out = []
        V = self.tgt_vocab_
        for start in range(0, len(src_ids), self.batch_size):
            src, src_len = pad_ids(src_ids[start : start + self.batch_size])
            state0 = net.start(src, src_len)
            n = src.shape[1]
            if K == 1:
                seqs, _ = greedy_decode(net.step, state0, n, bos=V.bos_id, eos=V.eos_id, max_len=max_len)
            else:
                seqs, _ = beam_search(
                    net.step, state0, n, bos=V.bos_id, eos=V.eos_id, max_len=max_len, beam_size=K, length_penalty=alpha
                )
            for s in seqs:
                toks = V.decode(s)
                out.append("".join(map(str, toks)) if self.target_is_text_ else toks)
        return out

    def score(self, sources: XLike, targets: YLike) -> float:
        """Exact-match accuracy of :meth:`predict` against ``targets``."""
        sources, targets = coerce_Xy(sources, targets, split_text=False, names=("sources", "targets"))
        pred = self.predict(sources)
        tgt, _ = token_sequences(targets, "targets")
        if len(tgt) != len(pred):
            raise ValueError(f"targets: expected one target per source ({len(pred)}), got {len(tgt)}")
        want = ["".join(t) if self.target_is_text_ else t for t in tgt]
        return float(np.mean([p == w for p, w in zip(pred, want, strict=False)]))

    # -- persistence hooks --------------------------------------------------------------
    def _fit_state(self) -> dict:
        return {
            "src_vocab": self.src_vocab_.to_dict(),
            "tgt_vocab": self.tgt_vocab_.to_dict(),
            "source_is_text": self.source_is_text_,
            "target_is_text": self.target_is_text_,
            "max_target_len": self.max_target_len_,
        }

    def _set_fit_state(self, state: dict) -> None:
        self.src_vocab_ = Vocab.from_dict(state["src_vocab"])
        self.tgt_vocab_ = Vocab.from_dict(state["tgt_vocab"])
        self.source_is_text_ = bool(state["source_is_text"])
        self.target_is_text_ = bool(state["target_is_text"])
        self.max_target_len_ = int(state["max_target_len"])

    def _build_net(self, rng: np.random.Generator) -> Seq2SeqNet:
        return Seq2SeqNet(
            len(self.src_vocab_),
            len(self.tgt_vocab_),
            cell=self.cell,
            embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            attention=self.attention,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            dtype=self.dtype,
            rng=rng,
        )
