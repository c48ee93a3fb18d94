"""The encoder-decoder network behind :class:`rnnkit.models.seq2seq.Seq2Seq`.

Shape legend
    S  source steps     T  target steps (with EOS)    B  batch        E  embedding size
    H  hidden units     L  layers    D  encoder directions (1 or 2)  V  vocabulary

The equations, the bridge and scheduled sampling are described in
:mod:`rnnkit.models.seq2seq`; this file holds the batch, the forward pass with its cache,
the hand-written backward beside it, and the one-step decoder used by greedy and beam
search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nn import Embedding, Linear
from ..nn.functional import softmax
from ..nn.losses import cross_entropy
from ..nn.module import Module
from .attention import Attention
from .base import make_recurrent


@dataclass
class Seq2SeqBatch:
    src: np.ndarray  # (S, B) source ids, PAD past each length, EOS last
    src_len: np.ndarray  # (B,)
    dec_in: np.ndarray  # (T, B) BOS y_1 .. y_n, PAD after
    dec_out: np.ndarray  # (T, B) y_1 .. y_n EOS, PAD after
    tgt_len: np.ndarray  # (B,) n + 1
    rate: float = 0.0  # scheduled-sampling probability for this batch
    seed: int = 0  # of the coins and draws of scheduled sampling


class Seq2SeqNet(Module):
    """Source embedding, encoder, bridge, target embedding, decoder, optional attention,
    output layer."""

    def __init__(
        self,
        src_vocab_size,
        tgt_vocab_size,
        *,
        cell="lstm",
        embedding_dim=32,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        attention=False,
        dropout=0.0,
        recurrent_dropout=0.0,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        E, H, L = embedding_dim, hidden_size, num_layers
        kw = dict(dropout=dropout, recurrent_dropout=recurrent_dropout, dtype=dtype, rng=rng)
        self.src_embed = self.add_module("src_embed", Embedding(src_vocab_size, E, padding_idx=0, dtype=dtype, rng=rng))
        self.encoder = self.add_module("encoder", make_recurrent(cell, E, H, L, bidirectional=bidirectional, **kw))
        D = self.encoder.num_directions
        self.has_cell_state = self.encoder.cell.has_cell_state  # state (h, c)
        self.bridge = self.add_module("bridge", Linear(D * H, H, dtype=dtype, rng=rng))
        self.bridge_c = (
            self.add_module("bridge_c", Linear(D * H, H, dtype=dtype, rng=rng)) if self.has_cell_state else None
        )
        self.tgt_embed = self.add_module("tgt_embed", Embedding(tgt_vocab_size, E, padding_idx=0, dtype=dtype, rng=rng))
        self.decoder = self.add_module("decoder", make_recurrent(cell, E, H, L, **kw))
        self.attn = self.add_module("attn", Attention(H, D * H, dtype=dtype, rng=rng)) if attention else None
        self.head = self.add_module("head", Linear(H, tgt_vocab_size, dtype=dtype, rng=rng))

    # -- encoder and bridge --------------------------------------------------------------
    def encode(self, src, src_len):
        """Source ids (S, B) -> (decoder's initial state, each (L, B, H); attention memory or
        None; cache)."""
        e, c_emb = self.src_embed.forward(src)  # (S, B, E)
        out, state, c_enc = self.encoder.forward(e, lengths=src_len)  # (S, B, D*H)
        parts, caches = [], []
        for bridge, s in self._bridges(state):
            pre, c_lin = bridge.forward(self._join_directions(s))  # (L, B, D*H) -> (L, B, H)
            parts.append(np.tanh(pre))
            caches.append(c_lin)
        state0 = (parts[0], parts[1]) if self.has_cell_state else parts[0]
        memory = None
        if self.attn is not None:
            memory = self.attn.memory(out, np.arange(src.shape[0])[:, None] < src_len[None, :])
        return state0, memory, (c_emb, c_enc, caches, parts)

    def encode_backward(self, dstate0, dout, cache):
        """Accumulate encoder-side gradients from dL/d(decoder's initial state) and
        dL/d(encoder outputs) (None without attention)."""
        c_emb, c_enc, caches, parts = cache
        douts = dstate0 if self.has_cell_state else (dstate0,)
        dn = []
        for (bridge, _), c_lin, s, d in zip(self._bridges(None), caches, parts, douts, strict=False):
            dcat = bridge.backward(d * (1.0 - s * s), c_lin)  # through tanh: (L, B, D*H)
            dn.append(self._split_directions(dcat))  # (L*D, B, H)
        de, _ = self.encoder.backward(dout, (dn[0], dn[1]) if self.has_cell_state else dn[0], c_enc)
        self.src_embed.backward(de, c_emb)

    def _bridges(self, state):
        if self.has_cell_state:
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
            out, c_attn = self.attn.forward(out, memory)  # (T, B, H)
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
        d, c_emb = self.tgt_embed.forward(dec_in)  # (T, B, E)
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
                p = softmax(logits[-1].astype(np.float64))  # (B, V)
                drawn = (p.cumsum(axis=1) <= rng.random(B)[:, None]).sum(axis=1)
                fed[t] = np.where(coin, np.minimum(drawn, p.shape[1] - 1), dec_in[t])
            d, c_emb = self.tgt_embed.forward(fed[t : t + 1])  # (1, B, E)
            out, state, c_dec = self.decoder.forward(d, state)
            z, c_out = self._output(out, memory)  # (1, B, V)
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
            t0 = t1 - c_emb[0].shape[0]  # the looked-up ids (steps, B)
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
            logits, steps, fed = self.decode_sampled(
                batch.dec_in, state0, memory, batch.rate, np.random.default_rng(batch.seed)
            )
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

    def batch_count(self, batch: Seq2SeqBatch) -> int:
        """Target tokens in ``batch``: its weight when ranks sum their gradients (see rnnkit.distributed)."""
        return int(batch.tgt_len.sum())

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
        x = self.tgt_embed.parameters()["weight"][tokens]  # (R, E)
        state = self.decoder.step(x, state)
        top = (state[0] if self.has_cell_state else state)[-1]  # (R, H) top layer's output
        logits, _ = self._output(top[None], memory)
        return logits[0], (state if memory is None else (state, memory))
