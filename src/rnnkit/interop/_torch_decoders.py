"""Torch twins of the networks that generate step by step: Seq2Seq, SequenceGenerator, MusicModel.

Shape legend: S source steps, T target steps, B batch (or beams), E embedding, H hidden,
L layers, D encoder directions, V vocabulary, F features, I music inputs, K outputs.

Each module keeps the rnnkit network's child names (so the same ``state_dict`` keys) and
its time-major layout, and has a whole-sequence ``forward`` (teacher forced) beside the
one-step method that decoding and sampling call:

    Seq2Seq          encode(src (S, B) ids, src_len (B,)) -> state
                     step(tokens (B,), state) -> (logits (B, V), state)
                     forward(src, src_len, dec_in (T, B)) -> logits (T, B, V)
    SequenceGenerator condition(cond (B,) ids | (B, F)) -> state0 (standardized features)
                     step(inputs (B,) ids | (B, F), state) -> (outputs (B, V | F), state)
                     forward(cond, inputs (T, B) | (T, B, F)) -> outputs (T, B, V | F)
    MusicModel       forward(x (T, B, I), lengths=None, state=None) -> (logits (T, B, K), state)
                     step(x (B, I), state) -> (logits (B, K), state)

The state is PyTorch's: h (L, B, H), or (h, c) for an LSTM; Seq2Seq with attention adds
the memory: ``(rnn_state, (memory, keys, mask))``.
"""

from __future__ import annotations

from ..models.generator import GeneratorNet
from ..models.music_model import MusicNet
from ..models.seq2seq_net import Seq2SeqNet
from ._torch_layers import converter

_CLASSES: dict = {}


def _classes(torch):
    if _CLASSES:
        return _CLASSES
    nn = torch.nn

    class TorchAttention(nn.Module):
        """Luong's "general" attention with rnnkit's children ``key`` and ``combine``."""

        def __init__(self, key, combine):
            super().__init__()
            self.key, self.combine = key, combine

        def memory(self, m, mask):
            """m (S, B, D*H), mask (S, B) bool -> (m, keys (S, B, H), mask)."""
            return m, self.key(m), mask

        def forward(self, o, memory):
            """o (T, B, H) -> z (T, B, H)."""
            m, keys, mask = memory
            e = o.transpose(0, 1) @ keys.permute(1, 2, 0)  # (B, T, S)
            e = e.masked_fill(~mask.T[:, None, :], -torch.inf)
            a = torch.softmax(e, dim=2)
            c = a @ m.transpose(0, 1)  # (B, T, D*H)
            return torch.tanh(self.combine(torch.cat([c.transpose(0, 1), o], dim=2)))

    class TorchSeq2Seq(nn.Module):
        """Encoder, tanh bridge, decoder, optional attention, output layer."""

        def __init__(self, src_embed, encoder, bridge, bridge_c, tgt_embed, decoder, attn, head):
            super().__init__()
            self.src_embed, self.encoder, self.bridge = src_embed, encoder, bridge
            if bridge_c is not None:
                self.bridge_c = bridge_c
            self.tgt_embed, self.decoder = tgt_embed, decoder
            if attn is not None:
                self.attn = attn
            self.head = head

        def _join(self, s):
            """(L*D, B, H) -> (L, B, D*H): the directions of each layer side by side."""
            L, D = self.encoder.num_layers, 2 if self.encoder.bidirectional else 1
            return s.reshape(L, D, s.shape[1], s.shape[2]).permute(0, 2, 1, 3).reshape(L, s.shape[1], -1)

        def encode(self, src, src_len):
            S = src.shape[0]
            lengths = torch.as_tensor(src_len, dtype=torch.int64).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(self.src_embed(src), lengths, enforce_sorted=False)
            out, state = self.encoder(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=S)  # (S, B, D*H)
            if isinstance(state, tuple):
                state = (torch.tanh(self.bridge(self._join(state[0]))), torch.tanh(self.bridge_c(self._join(state[1]))))
            else:
                state = torch.tanh(self.bridge(self._join(state)))
            if not hasattr(self, "attn"):
                return state
            mask = torch.arange(S)[:, None] < lengths[None, :]  # (S, B)
            return state, self.attn.memory(out, mask)

        def _output(self, o, memory):
            return self.head(self.attn(o, memory) if memory is not None else o)

        def step(self, tokens, state):
            rnn_state, memory = state if hasattr(self, "attn") else (state, None)
            o, rnn_state = self.decoder(self.tgt_embed(tokens)[None], rnn_state)  # (1, B, H)
            logits = self._output(o, memory)[0]
            return logits, (rnn_state if memory is None else (rnn_state, memory))

        def forward(self, src, src_len, dec_in):
            state = self.encode(src, src_len)
            rnn_state, memory = state if hasattr(self, "attn") else (state, None)
            o, _ = self.decoder(self.tgt_embed(dec_in), rnn_state)  # (T, B, H)
            return self._output(o, memory)

    class TorchGenerator(nn.Module):
        """Condition -> tanh initial state -> RNN -> Linear, each output fed back."""

        def __init__(self, cond_embed, init_h, rnn, init_c, embed, head):
            super().__init__()
            for name, child in (
                ("cond_embed", cond_embed),
                ("init_h", init_h),
                ("rnn", rnn),
                ("init_c", init_c),
                ("embed", embed),
                ("head", head),
            ):
                if child is not None:
                    self.add_module(name, child)

        def condition(self, cond):
            u = self.cond_embed(cond) if hasattr(self, "cond_embed") else cond
            L, H = self.rnn.num_layers, self.rnn.hidden_size
            h = torch.tanh(self.init_h(u)).reshape(-1, L, H).transpose(0, 1).contiguous()  # (L, B, H)
            if not self.rnn.mode.endswith("LSTM"):  # torch.nn.LSTM or the LN twin (LN_LSTM)
                return h
            if hasattr(self, "init_c"):
                return h, torch.tanh(self.init_c(u)).reshape(-1, L, H).transpose(0, 1).contiguous()
            return h, torch.zeros_like(h)

        def _inputs(self, x):
            return self.embed(x) if hasattr(self, "embed") else x

        def step(self, inputs, state):
            o, state = self.rnn(self._inputs(inputs)[None], state)
            return self.head(o[0]), state

        def forward(self, cond, inputs):
            o, _ = self.rnn(self._inputs(inputs), self.condition(cond))
            return self.head(o)

    class TorchMusicNet(nn.Module):
        """RNN -> Linear over frames: logits of each next frame (sigmoid per note, or softmax)."""

        def __init__(self, rnn, head):
            super().__init__()
            self.rnn, self.head = rnn, head

        def forward(self, x, lengths=None, state=None):
            if lengths is None:
                o, state = self.rnn(x, state)
            else:
                lens = torch.as_tensor(lengths, dtype=torch.int64).cpu()
                packed = nn.utils.rnn.pack_padded_sequence(x, lens, enforce_sorted=False)
                o, state = self.rnn(packed, state)
                o, _ = nn.utils.rnn.pad_packed_sequence(o, total_length=x.shape[0])
            return self.head(o), state

        def step(self, x, state=None):
            logits, state = self.forward(x[None], state=state)
            return logits[0], state

    _CLASSES.update(Attention=TorchAttention, Seq2Seq=TorchSeq2Seq, Generator=TorchGenerator, Music=TorchMusicNet)
    return _CLASSES


def to_torch_module(net, torch):
    """The torch twin of a Seq2SeqNet, GeneratorNet or MusicNet (parameters copied)."""
    to_torch = converter(torch)
    classes = _classes(torch)

    def conv(child):
        return None if child is None else to_torch(child)

    if isinstance(net, Seq2SeqNet):
        attn = None
        if net.attn is not None:
            attn = classes["Attention"](to_torch(net.attn.key), to_torch(net.attn.combine))
        return classes["Seq2Seq"](
            to_torch(net.src_embed),
            to_torch(net.encoder),
            to_torch(net.bridge),
            conv(net.bridge_c),
            to_torch(net.tgt_embed),
            to_torch(net.decoder),
            attn,
            to_torch(net.head),
        )
    if isinstance(net, GeneratorNet):
        return classes["Generator"](
            conv(net.cond_embed),
            to_torch(net.init_h),
            to_torch(net.rnn),
            conv(net.init_c),
            conv(getattr(net, "embed", None)),
            to_torch(net.head),
        )
    assert isinstance(net, MusicNet), type(net)
    return classes["Music"](to_torch(net.rnn), to_torch(net.head))
