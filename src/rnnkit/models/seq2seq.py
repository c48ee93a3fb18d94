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
from dataclasses import dataclass

import numpy as np

from ..functional import softmax
from ..losses import cross_entropy
from ..module import Module
from ..nn import Embedding, Linear
from .attention import Attention
from .base import BaseEstimator, check_choice, check_float_param, check_int_param, make_recurrent
from .decoding import beam_search, check_beam_size, check_length_penalty, check_max_len, greedy_decode
from .vocab import Vocab


# -- sequences of tokens ---------------------------------------------------------------------
def token_sequences(values, name: str):
    """A non-empty list of str (characters) or of token lists -> (list of lists, is_text)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name}: expected a list of strings or of token lists, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name}: expected at least one sequence, got an empty list")
    is_text = isinstance(values[0], str)
    out = []
    for i, seq in enumerate(values):
        if isinstance(seq, str) != is_text:
            raise TypeError(f"{name}[{i}]: expected {'a str' if is_text else 'a token list'} like "
                            f"{name}[0], got {type(seq).__name__}")
        if not is_text:
            if isinstance(seq, bytes) or not hasattr(seq, "__iter__"):
                raise TypeError(f"{name}[{i}]: expected a str or a list of tokens, got {type(seq).__name__}")
            seq = [t.item() if isinstance(t, np.generic) else t for t in seq]
            for t in seq:
                if isinstance(t, bool) or not isinstance(t, (str, numbers.Integral)):
                    raise TypeError(f"{name}[{i}]: expected tokens of type str or int, got {type(t).__name__} {t!r}")
        out.append(list(seq))
    return out, is_text


def pad_ids(seqs, pad: int = 0):
    """A list of int arrays -> (ids (T, B) int64 padded with ``pad``, lengths (B,))."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.full((int(lengths.max()), len(seqs)), pad, dtype=np.int64)
    for b, s in enumerate(seqs):
        ids[:len(s), b] = s
    return ids, lengths


def train_with_schedule(model, net, train_batches, val, rng, steps_per_epoch: int):
    """``BaseEstimator._train``, plus ``model.lr_schedule == "cosine"``: the learning rate
    follows a half cosine from ``lr`` to ``lr / 20`` over all steps of training
    (``rnnkit.schedules.CosineAnnealingLR``, stepped after every update)."""
    if model.lr_schedule is None:
        return model._train(net, train_batches, val, rng)
    from ..train import TrainConfig

    config = TrainConfig(epochs=model.epochs, optimizer=model.optimizer, lr=model.lr,
                         weight_decay=model.weight_decay, clip_norm=model.clip_norm, patience=model.patience,
                         seed=int(rng.integers(2**31)), progress=bool(model.verbose), log_every=0,
                         schedule="cosine", schedule_interval="step",
                         schedule_kwargs={"T_max": model.epochs * steps_per_epoch, "eta_min": model.lr / 20})
    history = model._run_trainer(net, config, train_batches, val)
    net.eval()
    return history


def _pair(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError(f"validation_data: expected a pair (sources, targets), got {type(validation_data).__name__}")
    return validation_data


def sampling_rate(schedule: str, epoch: int, scheduled_sampling: float, decay, epochs: int) -> float:
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


def check_schedule(schedule, decay) -> None:
    check_choice("sampling_schedule", schedule, ["inverse_sigmoid", "exponential", "linear", "constant"])
    if decay is None or schedule == "constant":
        return
    if schedule == "inverse_sigmoid":
        check_float_param("sampling_decay", decay, low=1.0)
    elif schedule == "exponential":
        check_float_param("sampling_decay", decay, low=0.0, high=1.0, low_open=True, high_open=True)
    else:
        check_float_param("sampling_decay", decay, low_open=True)


# -- the network -------------------------------------------------------------------------------
@dataclass
class Seq2SeqBatch:
    src: np.ndarray        # (S, B) source ids, PAD past each length, EOS last
    src_len: np.ndarray    # (B,)
    dec_in: np.ndarray     # (T, B) BOS y_1 .. y_n, PAD after
    dec_out: np.ndarray    # (T, B) y_1 .. y_n EOS, PAD after
    tgt_len: np.ndarray    # (B,) n + 1
    rate: float = 0.0      # scheduled-sampling probability for this batch
    seed: int = 0          # of the coins and draws of scheduled sampling


class Seq2SeqNet(Module):
    """Source embedding, encoder, bridge, target embedding, decoder, optional attention,
    output layer."""

    def __init__(self, src_vocab_size, tgt_vocab_size, *, cell="lstm", embedding_dim=32, hidden_size=64,
                 num_layers=1, bidirectional=False, attention=False, dropout=0.0, recurrent_dropout=0.0,
                 dtype="float32", rng=None):
        super().__init__()
        E, H, L = embedding_dim, hidden_size, num_layers
        kw = dict(dropout=dropout, recurrent_dropout=recurrent_dropout, dtype=dtype, rng=rng)
        self.src_embed = self.add_module("src_embed", Embedding(src_vocab_size, E, padding_idx=0, dtype=dtype, rng=rng))
        self.encoder = self.add_module("encoder", make_recurrent(cell, E, H, L, bidirectional=bidirectional, **kw))
        D = self.encoder.num_directions
        self.lstm = self.encoder.mode == "LSTM"
        self.bridge = self.add_module("bridge", Linear(D * H, H, dtype=dtype, rng=rng))
        self.bridge_c = self.add_module("bridge_c", Linear(D * H, H, dtype=dtype, rng=rng)) if self.lstm else None
        self.tgt_embed = self.add_module("tgt_embed", Embedding(tgt_vocab_size, E, padding_idx=0, dtype=dtype, rng=rng))
        self.decoder = self.add_module("decoder", make_recurrent(cell, E, H, L, **kw))
        self.attn = self.add_module("attn", Attention(H, D * H, dtype=dtype, rng=rng)) if attention else None
        self.head = self.add_module("head", Linear(H, tgt_vocab_size, dtype=dtype, rng=rng))

    # -- encoder and bridge --------------------------------------------------------------
    def encode(self, src, src_len):
        """Source ids (S, B) -> (decoder's initial state, each (L, B, H); attention memory or
        None; cache)."""
        e, c_emb = self.src_embed.forward(src)                       # (S, B, E)
        out, state, c_enc = self.encoder.forward(e, lengths=src_len)  # (S, B, D*H)
        parts, caches = [], []
        for bridge, s in self._bridges(state):
            pre, c_lin = bridge.forward(self._join_directions(s))    # (L, B, D*H) -> (L, B, H)
            parts.append(np.tanh(pre))
            caches.append(c_lin)
        state0 = (parts[0], parts[1]) if self.lstm else parts[0]
        memory = None
        if self.attn is not None:
            memory = self.attn.memory(out, np.arange(src.shape[0])[:, None] < src_len[None, :])
        return state0, memory, (c_emb, c_enc, caches, parts)

    def encode_backward(self, dstate0, dout, cache):
        """Accumulate encoder-side gradients from dL/d(decoder's initial state) and
        dL/d(encoder outputs) (None without attention)."""
        c_emb, c_enc, caches, parts = cache
        douts = dstate0 if self.lstm else (dstate0,)
        dn = []
        for (bridge, _), c_lin, s, d in zip(self._bridges(None), caches, parts, douts):
            dcat = bridge.backward(d * (1.0 - s * s), c_lin)          # through tanh: (L, B, D*H)
            dn.append(self._split_directions(dcat))                  # (L*D, B, H)
        de, _ = self.encoder.backward(dout, (dn[0], dn[1]) if self.lstm else dn[0], c_enc)
        self.src_embed.backward(de, c_emb)

    def _bridges(self, state):
        if self.lstm:
            h, c = state if state is not None else (None, None)
            return [(self.bridge, h), (self.bridge_c, c)]
        return [(self.bridge, state)]

    def _join_directions(self, s):
        L, D = self.encoder.num_layers, self.encoder.num_directions
        _, B, H = s.shape
        return s.reshape(L, D, B, H).transpose(0, 2, 1, 3).reshape(L, B, D * H)

    def _split_directions(self, d):
        L, D = self.encoder.num_layers, self.encoder.num_directions
        _, B, DH = d.shape
        return np.ascontiguousarray(d.reshape(L, B, D, DH // D).transpose(0, 2, 1, 3).reshape(L * D, B, DH // D))

    # -- output layer, through attention when there is one ---------------------------------
    def _output(self, out, memory):
        """Decoder outputs (T, B, H) -> logits (T, B, V), cache."""
        c_attn = None
        if self.attn is not None:
            out, c_attn = self.attn.forward(out, memory)              # (T, B, H)
        logits, c_head = self.head.forward(out)
        return logits, (c_attn, c_head)

    def _output_backward(self, dlogits, cache, dmem):
        """-> dL/d(decoder outputs); adds dL/d(memory, keys) into the list ``dmem``."""
        c_attn, c_head = cache
        dout = self.head.backward(dlogits, c_head)
        if c_attn is not None:
            dout, dm, dk = self.attn.backward(dout, c_attn)
            dmem[0], dmem[1] = dmem[0] + dm, dmem[1] + dk
        return dout

    # -- decoder: teacher forcing ------------------------------------------------------------
    def decode(self, dec_in, tgt_len, state0, memory):
        """All T steps at once from the given inputs (T, B) -> logits (T, B, V), cache."""
        d, c_emb = self.tgt_embed.forward(dec_in)                       # (T, B, E)
        out, _, c_dec = self.decoder.forward(d, state0, lengths=tgt_len)  # (T, B, H)
        logits, c_out = self._output(out, memory)
        return logits, [(c_emb, c_dec, c_out)]

    # -- decoder: scheduled sampling, one step at a time ---------------------------------
    def decode_sampled(self, dec_in, state0, memory, rate, rng):
        """Like :meth:`decode`, but input t >= 1 is, with probability ``rate`` per row, a token
        drawn from the step t-1 output. Rows past their length run on; their loss is masked.
        Returns logits, the per-step caches, and the tokens fed (T, B)."""
        T, B = dec_in.shape
        state, steps, logits = state0, [], []
        fed = dec_in.copy()
        for t in range(T):
            if t > 0:
                coin = rng.random(B) < rate
                p = softmax(logits[-1].astype(np.float64))               # (B, V)
                drawn = (p.cumsum(axis=1) <= rng.random(B)[:, None]).sum(axis=1)
                fed[t] = np.where(coin, np.minimum(drawn, p.shape[1] - 1), dec_in[t])
            d, c_emb = self.tgt_embed.forward(fed[t:t + 1])             # (1, B, E)
            out, state, c_dec = self.decoder.forward(d, state)
            z, c_out = self._output(out, memory)                        # (1, B, V)
            logits.append(z[0])
            steps.append((c_emb, c_dec, c_out))
        return np.concatenate([z[None] for z in logits]), steps, fed

    def decode_backward(self, dlogits, steps, memory):
        """Back through the decoder runs of ``decode`` (one) or ``decode_sampled`` (one per
        step; the tokens fed are constants). Returns dL/d(initial state) and dL/d(encoder
        outputs) (None without attention)."""
        dmem = [0.0, 0.0]
        dstate, t1 = None, len(dlogits)
        for c_emb, c_dec, c_out in reversed(steps):
            t0 = t1 - c_emb.shape[0]
            dout = self._output_backward(dlogits[t0:t1], c_out, dmem)
            dd, dstate = self.decoder.backward(dout, dstate, c_dec)
            self.tgt_embed.backward(dd, c_emb)
            t1 = t0
        dm = None if self.attn is None else self.attn.memory_backward(dmem[0], dmem[1], memory)
        return dstate, dm

    # -- the training protocol -----------------------------------------------------------
    def _loss(self, batch: Seq2SeqBatch, sampled: bool):
        state0, memory, enc_cache = self.encode(batch.src, batch.src_len)
        fed = batch.dec_in
        if sampled:
            logits, steps, fed = self.decode_sampled(batch.dec_in, state0, memory, batch.rate,
                                                     np.random.default_rng(batch.seed))
        else:
            logits, steps = self.decode(batch.dec_in, batch.tgt_len, state0, memory)
        mask = np.arange(batch.dec_out.shape[0])[:, None] < batch.tgt_len[None, :]  # (T, B)
        loss, dlogits = cross_entropy(logits, batch.dec_out, mask=mask)
        return loss, int(mask.sum()), dlogits, (memory, enc_cache, steps, fed)

    def loss_and_grad(self, batch: Seq2SeqBatch, *, force_stepwise: bool = False) -> float:
        """Mean cross-entropy per target token; gradients accumulated into ``self.grads``."""
        sampled = force_stepwise or (self.training and batch.rate > 0)
        loss, _, dlogits, (memory, enc_cache, steps, _) = self._loss(batch, sampled)
        dstate0, dmem = self.decode_backward(dlogits, steps, memory)
        self.encode_backward(dstate0, dmem, enc_cache)
        return loss

    def evaluate_batch(self, batch: Seq2SeqBatch):
        """(summed cross-entropy, number of target tokens), teacher forced, no gradients."""
        loss, count, _, _ = self._loss(batch, False)
        return loss * count, count

    # -- inference -------------------------------------------------------------------------
    def start(self, src, src_len):
        """The decoding state for sources (S, R): the decoder state, plus the memory."""
        state0, memory, _ = self.encode(src, src_len)
        return state0 if memory is None else (state0, memory)

    def step(self, tokens, state):
        """One decoder step for decoding: tokens (R,) -> (logits (R, V), new state)."""
        memory = None
        if self.attn is not None:
            state, memory = state
        x = self.tgt_embed.parameters()["weight"][tokens]   # (R, E)
        state = self.decoder.step(x, state)
        top = (state[0] if self.lstm else state)[-1]        # (R, H) top layer's output
        logits, _ = self._output(top[None], memory)
        return logits[0], (state if memory is None else (state, memory))


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

    def __init__(self, cell="lstm", hidden_size=128, num_layers=1, bidirectional=False, attention=False,
                 embedding_dim=32, dropout=0.0, recurrent_dropout=0.0, reverse_source=False, scheduled_sampling=0.0,
                 sampling_schedule="inverse_sigmoid", sampling_decay=None, beam_size=1, length_penalty=1.0,
                 max_len=None, optimizer="adam", lr=1e-3, lr_schedule=None, weight_decay=0.0, epochs=10, batch_size=64,
                 clip_norm=5.0, patience=None, seed=None, dtype="float32", verbose=False):
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.bidirectional, self.attention, self.embedding_dim = bidirectional, attention, embedding_dim
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.reverse_source, self.scheduled_sampling = reverse_source, scheduled_sampling
        self.sampling_schedule, self.sampling_decay = sampling_schedule, sampling_decay
        self.beam_size, self.length_penalty, self.max_len = beam_size, length_penalty, max_len
        self.optimizer, self.lr, self.lr_schedule, self.weight_decay = optimizer, lr, lr_schedule, weight_decay
        self.epochs, self.batch_size, self.clip_norm, self.patience = epochs, batch_size, clip_norm, patience
        self.seed, self.dtype, self.verbose = seed, dtype, verbose

    def _validate_params(self) -> None:
        super()._validate_params()
        check_choice("lr_schedule", self.lr_schedule, (None, "cosine"))
        check_choice("reverse_source", self.reverse_source, (False, True))
        check_choice("attention", self.attention, (False, True))
        check_float_param("scheduled_sampling", self.scheduled_sampling, high=1.0)
        check_schedule(self.sampling_schedule, self.sampling_decay)
        check_beam_size(self.beam_size)
        check_length_penalty(self.length_penalty)
        check_int_param("max_len", self.max_len, allow_none=True)

    # -- data ---------------------------------------------------------------------------
    def _encode_sources(self, sources):
        seqs, is_text = token_sequences(sources, "sources")
        if is_text != self.source_is_text_:
            raise TypeError(f"sources: expected {'strings' if self.source_is_text_ else 'token lists'} "
                            f"as at fit time, got {'strings' if is_text else 'token lists'}")
        out = []
        for s in seqs:
            ids = self.src_vocab_.encode(s[::-1] if self.reverse_source else s, add_eos=True)
            out.append(ids)
        return out

    def _batches(self, src_ids, tgt_ids, rng_epoch=None, order=None, rate=0.0):
        bs = self.batch_size
        order = np.arange(len(src_ids)) if order is None else order
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            src, src_len = pad_ids([src_ids[i] for i in idx])
            dec_in, _ = pad_ids([tgt_ids[i][:-1] for i in idx])   # BOS y_1 .. y_n
            dec_out, tgt_len = pad_ids([tgt_ids[i][1:] for i in idx])   # y_1 .. y_n EOS
            seed = int(rng_epoch.integers(2**63)) if rng_epoch is not None and rate > 0 else 0
            yield Seq2SeqBatch(src, src_len, dec_in, dec_out, tgt_len, rate, seed)

    # -- fit / predict / score ------------------------------------------------------------
    def fit(self, sources, targets, *, validation_data=None):
        """Learn p(target | source) from paired lists; returns self."""
        self._validate_params()
        src, self.source_is_text_ = token_sequences(sources, "sources")
        tgt, self.target_is_text_ = token_sequences(targets, "targets")
        if len(src) != len(tgt):
            raise ValueError(f"targets: expected one target per source ({len(src)}), got {len(tgt)}")
        self.src_vocab_ = Vocab.build(src)
        self.tgt_vocab_ = Vocab.build(tgt)
        self.max_target_len_ = max(len(t) for t in tgt)
        rng = self._make_rng()
        net = self._build_net(rng)
        src_ids = self._encode_sources(sources)
        tgt_ids = [self.tgt_vocab_.encode(t, add_bos=True, add_eos=True) for t in tgt]
        val = None
        if validation_data is not None:
            vs, vt = _pair(validation_data)
            vt, _ = token_sequences(vt, "validation_data[1]")
            val = list(self._batches(self._encode_sources(vs),
                                     [self.tgt_vocab_.encode(t, add_bos=True, add_eos=True) for t in vt]))

        def train_batches(epoch, rng_epoch):
            rate = sampling_rate(self.sampling_schedule, epoch, self.scheduled_sampling,
                                 self.sampling_decay, self.epochs)
            return self._batches(src_ids, tgt_ids, rng_epoch, rng_epoch.permutation(len(src_ids)), rate)

        self.history_ = train_with_schedule(self, net, train_batches, val, rng,
                                            -(-len(src_ids) // self.batch_size))
        self.net_ = net
        return self

    def predict(self, sources, *, beam_size=None, max_len=None, length_penalty=None):
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
            src, src_len = pad_ids(src_ids[start:start + self.batch_size])
            state0 = net.start(src, src_len)
            n = src.shape[1]
            if K == 1:
                seqs, _ = greedy_decode(net.step, state0, n, bos=V.bos_id, eos=V.eos_id, max_len=max_len)
            else:
                seqs, _ = beam_search(net.step, state0, n, bos=V.bos_id, eos=V.eos_id, max_len=max_len,
                                      beam_size=K, length_penalty=alpha)
            for s in seqs:
                toks = V.decode(s)
                out.append("".join(map(str, toks)) if self.target_is_text_ else toks)
        return out

    def score(self, sources, targets) -> float:
        """Exact-match accuracy of :meth:`predict` against ``targets``."""
        pred = self.predict(sources)
        tgt, _ = token_sequences(targets, "targets")
        if len(tgt) != len(pred):
            raise ValueError(f"targets: expected one target per source ({len(pred)}), got {len(tgt)}")
        want = ["".join(t) if self.target_is_text_ else t for t in tgt]
        return float(np.mean([p == w for p, w in zip(pred, want)]))

    # -- persistence hooks --------------------------------------------------------------
    def _fit_state(self) -> dict:
        return {"src_vocab": self.src_vocab_.to_dict(), "tgt_vocab": self.tgt_vocab_.to_dict(),
                "source_is_text": self.source_is_text_, "target_is_text": self.target_is_text_,
                "max_target_len": self.max_target_len_}

    def _set_fit_state(self, state: dict) -> None:
        self.src_vocab_ = Vocab.from_dict(state["src_vocab"])
        self.tgt_vocab_ = Vocab.from_dict(state["tgt_vocab"])
        self.source_is_text_ = bool(state["source_is_text"])
        self.target_is_text_ = bool(state["target_is_text"])
        self.max_target_len_ = int(state["max_target_len"])

    def _build_net(self, rng) -> Seq2SeqNet:
        return Seq2SeqNet(len(self.src_vocab_), len(self.tgt_vocab_), cell=self.cell,
                          embedding_dim=self.embedding_dim, hidden_size=self.hidden_size,
                          num_layers=self.num_layers, bidirectional=self.bidirectional,
                          attention=self.attention, dropout=self.dropout,
                          recurrent_dropout=self.recurrent_dropout, dtype=self.dtype, rng=rng)
