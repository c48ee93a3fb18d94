"""A character-level language model trained by truncated BPTT over one text stream.

Shape legend
    k  steps in a chunk    B  parallel streams    E  embedding size
    H  hidden units        L  layers              V  characters (+ 4 specials)

The model reads one character per step and predicts the next:

    x_t = E[c_t]  (k, B, E);   o_t, state = rnn(x, state)  (k, B, H);
    p(c_{t+1} | c_<=t) = softmax(W o_t + b)  (k, B, V)

Training (char-rnn's scheme): the text is cut into B contiguous rows read in parallel,
and :class:`rnnkit.train.bptt.TBPTT` feeds chunks of ``k1`` characters, carrying the hidden
state from chunk to chunk and back-propagating through the last ``k2`` steps (``k2=None``
means ``k1``). Each epoch starts the rows at a random offset in [0, k1), so chunk
boundaries move from epoch to epoch.

Regularization (AWD-LSTM's, :mod:`rnnkit.train.regularizers`): ``embedding_dropout``
drops whole characters from the embedding, the locked dropouts act on the layers' input
and output, and while training the objective is the mean cross-entropy plus the AR and
TAR penalties of the top layer's outputs (``activation_reg``, ``temporal_activation_reg``;
:mod:`rnnkit.nn.activation_reg`), over the counted steps of each chunk: the training loss
reported is that objective, the validation loss the cross-entropy alone. ``tie_weights``
makes the output projection the embedding's transpose (needs ``embedding_dim ==
hidden_size``).

Evaluation reads the text as one stream from a zero state and reports the mean negative
log-likelihood of characters 2..n given everything before them, in nats per character
(divide by ln 2 for bits). Generation feeds one character at a time through the layers'
``step``, so each new character costs O(1) whatever the length so far.

Unseen characters: the vocabulary is the set of characters of the training text (plus
those of the ``alphabet`` hyper-parameter, e.g. ``string.printable``). A text
given to ``evaluate``, ``score``, ``predict`` or as ``prime`` that contains others is
refused with a ``ValueError`` listing them (a character model cannot score a character it
has no output for; normalize the text, e.g. with ``rnnkit.data.corpus.normalize_ascii``,
or fit on a text that has them).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Literal, Self

import numpy as np

from ..nn import Embedding, Linear, TiedLinear
from ..nn.activation_reg import ActivationReg
from ..nn.losses import cross_entropy
from ..nn.module import Module
from ..nn.recurrent import State
from ..train.bptt import TBPTT, Stream
from ..train.callbacks import Callback
from ..utils import memory
from ._regularizers import net_regularizers
from .base import BaseEstimator, check_int_param, make_recurrent
from .sampling import as_generator, check_temperature, check_top_k, greedy, sample
from .seq2seq import check_lr_schedule, cosine_plan
from .vocab import SPECIALS, Vocab


class CharLMNet(Module):
    """Embedding -> recurrent layers -> Linear, speaking the stream-model protocol of
    :mod:`rnnkit.train.bptt` (``init_state``, ``chunk_forward``, ``chunk_backward``)."""

    def __init__(
        self,
        vocab_size,
        *,
        cell="lstm",
        embedding_dim=32,
        hidden_size=128,
        num_layers=1,
        dropout=0.0,
        recurrent_dropout=0.0,
        embedding_dropout=0.0,
        activation_reg=0.0,
        temporal_activation_reg=0.0,
        tie_weights=False,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        check_tie(tie_weights, embedding_dim, hidden_size)
        emb = Embedding(vocab_size, embedding_dim, dropout=embedding_dropout, dtype=dtype, rng=rng)
        self.embed = self.add_module("embed", emb)
        self.rnn = self.add_module(
            "rnn",
            make_recurrent(
                cell,
                embedding_dim,
                hidden_size,
                num_layers,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                dtype=dtype,
                rng=rng,
            ),
        )
        head = (
            TiedLinear(emb, dtype=dtype, rng=rng)
            if tie_weights
            else Linear(hidden_size, vocab_size, dtype=dtype, rng=rng)
        )
        self.head = self.add_module("head", head)
        self.reg = ActivationReg(activation_reg, temporal_activation_reg)
        self.has_cell_state = self.rnn.cell.has_cell_state  # state (h, c)

    def init_state(self, batch_size: int) -> State:
        """Zeros: h (L, B, H), or (h, c) for the LSTM."""
        h = np.zeros((self.rnn.num_layers, batch_size, self.rnn.hidden_size), self.rnn.dtype)
        return (h, h.copy()) if self.has_cell_state else h

    def chunk_forward(self, inputs, targets, state, loss_mask=None):
        """ids (k, B) -> (summed objective over counted steps, count, new state, cache): the
        cross-entropy, plus, while training, count times the AR/TAR penalty of the chunk."""
        x, c_emb = self.embed.forward(inputs)  # (k, B, E)
        out, new_state, c_rnn = self.rnn.forward(x, state)  # (k, B, H)
        logits, c_head = self.head.forward(out)  # (k, B, V)
        loss, dlogits = cross_entropy(logits, targets, mask=loss_mask)
        count = int(targets.size if loss_mask is None else np.count_nonzero(loss_mask))
        penalty, c_reg = self.reg.forward(out, c_rnn, loss_mask) if self.training else (0.0, None)
        return (loss + penalty) * count, count, new_state, (c_emb, c_rnn, c_head, dlogits, count, c_reg)

    def chunk_backward(self, cache, dloss_scale, dstate):
        """Accumulate gradients of dloss_scale * loss_sum (+ dstate . new_state); return dL/dstate."""
        c_emb, c_rnn, c_head, dlogits, count, c_reg = cache
        dout = self.head.backward(dlogits * dlogits.dtype.type(dloss_scale * count), c_head)  # mean -> sum
        dout, doutput = self.reg.backward(dloss_scale * count, c_reg, dout)
        dx, dstate0 = self.rnn.backward(dout, dstate, c_rnn, doutput)
        self.embed.backward(dx, c_emb)
        return dstate0

    def step(self, ids, state):
        """One character per row: ids (R,) -> (logits (R, V), new state)."""
        state = self.rnn.step(self.embed.parameters()["weight"][ids], state)
        logits, _ = self.head.forward((state[0] if self.has_cell_state else state)[-1])
        return logits, state


def check_tie(tie_weights: bool, embedding_dim: int, hidden_size: int) -> None:
    """Tying reads the embedding (V, E) as the output projection of H features: E must be H."""
    if tie_weights and embedding_dim != hidden_size:
        raise ValueError(
            f"tie_weights: the output projection reads hidden_size = {hidden_size} features and the "
            f"embedding has embedding_dim = {embedding_dim}; tying them needs the two equal; "
            f"hint: set embedding_dim={hidden_size} (or hidden_size={embedding_dim}), or tie_weights=False"
        )


def _check_text(text: object, name: str, minimum: int) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name}: expected a str, got {type(text).__name__}")
    if len(text) < minimum:
        raise ValueError(f"{name}: expected a text of at least {minimum} characters, got {len(text)}")
    return text


class CharLM(BaseEstimator):
    """Character-level language model: ``fit(text)``, ``evaluate(text)`` in nats per
    character, ``generate(prime, length, temperature, top_k, seed)``.

    ``batch_size`` is the number of parallel streams B; ``k1``/``k2`` are the truncated-BPTT
    window (see :mod:`rnnkit.train.bptt`). ``alphabet`` (a str) adds characters to the vocabulary
    that the training text may lack, so texts containing them can be scored later.
    ``lr_schedule="cosine"`` decays the learning rate to lr / 20 over training.
    ``predict(prefixes)`` gives the most likely next character of each prefix;
    ``score(text)`` is minus :meth:`evaluate` (higher is better).
    """

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        embedding_dim: int = 32,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        k1: int = 64,
        k2: int | None = None,
        alphabet: str | None = None,
        lr_schedule: Literal["cosine"] | None = None,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.embedding_dim, self.dropout, self.recurrent_dropout = embedding_dim, dropout, recurrent_dropout
        self.k1, self.k2, self.alphabet = k1, k2, alphabet
        self.lr_schedule = lr_schedule

    def _planned_schedule(self, steps_per_epoch: int | None) -> dict:
        return cosine_plan(self, steps_per_epoch)

    def _validate_params(self) -> None:
        super()._validate_params()
        check_int_param("k1", self.k1)
        check_lr_schedule(self)
        k2 = check_int_param("k2", self.k2, allow_none=True)
        if k2 is not None and k2 < self.k1:
            raise ValueError(f"k2: expected None or an int >= k1 = {self.k1}, got {k2}; hint: see rnnkit.train.bptt")
        check_tie(self.get_params(deep=False)["tie_weights"], self.embedding_dim, self.hidden_size)
        if self.alphabet is not None and not isinstance(self.alphabet, str):
            raise TypeError(f"alphabet: expected None or a str of extra characters, got {type(self.alphabet).__name__}")

    # -- text <-> ids ---------------------------------------------------------------------
    def _encode(self, text: str, name: str) -> np.ndarray:
        vocab = self.vocab_
        unseen = sorted(c for c in set(text) if c not in vocab)
        if unseen:
            shown = ", ".join(repr(c) for c in unseen[:20]) + (" ..." if len(unseen) > 20 else "")
            raise ValueError(
                f"{name}: expected characters seen at fit time, got {len(unseen)} unseen: {shown}; "
                "hint: normalize the text (rnnkit.data.corpus.normalize_ascii) or fit on a "
                "text that contains them"
            )
        return vocab.encode(text)

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self, text: str, *, validation_data: str | None = None, callbacks: Sequence[Callback] | None = None
    ) -> Self:
        """Learn from one text (a str); ``validation_data``: a str for the per-epoch val loss."""
        self._validate_params()
        _check_text(text, "text", self.batch_size + 1)
        memory.check_fits("text", f"<{len(text)} characters>", len(text) * memory.TOKEN_BYTES, "its token ids")
        self.vocab_ = Vocab.build([text])
        if self.alphabet:  # characters the text lacks, appended in their order of appearance
            self.vocab_ = Vocab(self.vocab_.tokens[len(SPECIALS) :] + list(self.alphabet))
        ids = self.vocab_.encode(text)
        val = None
        if validation_data is not None:
            val_ids = self._encode(_check_text(validation_data, "validation_data", 2), "validation_data")
            val = list(Stream(val_ids, 1, self.k1))
        rng = self._make_rng()
        net = self._start_net(rng)
        tbptt = TBPTT(net, self.k1, self.k2)
        R = (len(ids) - 1) // self.batch_size

        def train_batches(epoch, rng_epoch):
            shift = int(rng_epoch.integers(min(self.k1, R))) if epoch > 0 else 0
            return tbptt.stream(ids[shift:], self.batch_size)

        self.history_ = self._train(
            tbptt, train_batches, val, rng, callbacks=callbacks, steps_per_epoch=-(-R // self.k1)
        )
        self.net_ = net.eval()
        return self

    # -- evaluate / score / predict -------------------------------------------------------
    def evaluate(self, text: str, *, chunk: int = 256) -> float:
        """Nats per character of ``text`` (characters 2..n, each given all before it)."""
        self._check_fitted()
        chunk = check_int_param("chunk", chunk)
        ids = self._encode(_check_text(text, "text", 2), "text")
        net = self.net_.eval()
        state, total = None, 0.0
        for a in range(0, len(ids) - 1, chunk):
            b = min(a + chunk, len(ids) - 1)
            s, _, state, _ = net.chunk_forward(ids[a:b, None], ids[a + 1 : b + 1, None], state)
            total += s
        return total / (len(ids) - 1)

    def score(self, text: str) -> float:
        """Minus :meth:`evaluate`: the mean log-likelihood per character (higher is better)."""
        return -self.evaluate(text)

    def _prime_state(self, prime: str) -> tuple[np.ndarray, State]:
        """Run ``prime`` through the layers; returns (logits (1, V) after it, state)."""
        net = self.net_.eval()
        ids = self._encode(prime, "prime")
        x, _ = net.embed.forward(ids[:, None])  # (P, 1, E)
        out, state, _ = net.rnn.forward(x)
        logits, _ = net.head.forward(out[-1])  # (1, V)
        return logits, state

    def predict(self, prefixes: str | list[str]) -> str | list[str]:
        """The most likely next character after each prefix (a str gives one character)."""
        self._check_fitted()
        single = isinstance(prefixes, str)
        items = [prefixes] if single else prefixes
        if not hasattr(items, "__len__") or len(items) == 0:
            raise ValueError("prefixes: expected a non-empty str or a non-empty list of str")
        out = []
        for i, p in enumerate(items):
            logits, _ = self._prime_state(_check_text(p, f"prefixes[{i}]", 1))
            logits = logits.astype(np.float64)
            logits[:, : len(SPECIALS)] = -np.inf
            out.append(self.vocab_.id_to_token(int(greedy(logits)[0])))
        return out[0] if single else out

    def generate(
        self,
        prime: str | None = None,
        length: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> str:
        """Sample ``length`` characters following ``prime`` (returned without the prime).

        ``prime=None`` starts from a newline (or, when the text had none, from its most
        frequent character). ``temperature`` > 0 and ``top_k`` as in
        :mod:`rnnkit.models.sampling`; the same ``seed`` gives the same text.
        """
        self._check_fitted()
        if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
            raise ValueError(f"length: expected an int >= 1 (characters to generate), got {length!r}")
        temperature = check_temperature(temperature)
        top_k = check_top_k(top_k, len(self.vocab_))
        rng = as_generator(seed)
        if prime is None:
            prime = "\n" if "\n" in self.vocab_ else self.vocab_.id_to_token(len(SPECIALS))
        logits, state = self._prime_state(_check_text(prime, "prime", 1))
        net, out = self.net_, []
        for _ in range(int(length)):
            logits = logits.astype(np.float64)
            logits[:, : len(SPECIALS)] = -np.inf  # PAD, UNK, BOS, EOS are never drawn
            c = sample(logits, temperature=temperature, top_k=top_k, rng=rng)
            out.append(self.vocab_.id_to_token(int(c[0])))
            logits, state = net.step(c, state)
        return "".join(out)

    # -- persistence hooks ----------------------------------------------------------------
    def _fit_state(self) -> dict:
        return {"vocab": self.vocab_.to_dict()}

    def _set_fit_state(self, state: dict) -> None:
        self.vocab_ = Vocab.from_dict(state["vocab"])

    def _build_net(self, rng: np.random.Generator) -> CharLMNet:
        return CharLMNet(
            len(self.vocab_),
            cell=self.cell,
            embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            dtype=self.dtype,
            rng=rng,
            **net_regularizers(self),
        )
