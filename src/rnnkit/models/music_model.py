"""Music generation, one frame at a time: polyphonic piano rolls or monophonic melodies.

Shape legend
    N  pieces      T  frames       B  batch        H  hidden units     L  layers
    P  pitches the model covers (MIDI ``low_`` .. ``high_``)
    V  melody tokens: P pitches, HOLD, REST (= P + 2)

A piece is a sequence of frames (see :mod:`rnnkit.data.pianoroll` for how notes become
frames): a piano roll (T, 128) of 0/1 in ``mode="poly"``, or melody tokens (T,) (MIDI
pitch at an onset, 128 HOLD, 129 REST) in ``mode="melody"``. The network reads frame t
and predicts frame t + 1; a start symbol (an extra input unit) stands before frame 0, so
every frame of a piece is predicted:

    x_0 = start,  x_t = frame_{t-1};   o_t = rnn(x_<=t)  (T, B, H)
    poly:    p(frame_t | frames_<t) = prod_n s(z_tn)^y_tn (1 - s(z_tn))^(1 - y_tn),  z_t = W o_t + b  (P)
    melody:  p(token_t | tokens_<t) = softmax(W o_t + b)  (V)

The loss is the negative log-likelihood per frame, in nats: for poly, the binary
cross-entropy summed over the P notes (:func:`rnnkit.nn.losses.binary_cross_entropy_with_logits`),
averaged over frames; for melody, the softmax cross-entropy. ``evaluate`` reports it on
held-out pieces (the sum over all their frames divided by the number of frames).

Transposition: with ``transpose=k`` each training piece is moved, anew in every epoch, by
a whole number of semitones drawn uniformly from those in [-k, k] that keep it inside
the model's range (0 is always one of them); the range itself comes from the training
pieces, or from ``low``/``high``.

Generation feeds each sampled frame back in, one ``step`` of the layers per frame:
independent Bernoulli draws with p = s(z / temperature) per note (poly), or a softmax draw
at the temperature (melody; HOLD is never drawn after a REST or at the start). A primer
(frames of a real piece, or of a MIDI file) is read first; the same ``seed`` gives the
same piece.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np

from ..data.pianoroll import HOLD, N_PITCHES, REST
from ..nn import Linear
from ..nn.functional import sigmoid
from ..nn.losses import binary_cross_entropy_with_logits, cross_entropy
from ..nn.module import Module
from ..nn.recurrent import State
from ..train.callbacks import Callback
from .base import BaseEstimator, check_choice, check_int_param, make_recurrent
from .music_scores import MODES, bay_scores, frequency_nll, repeat_scores  # noqa: F401  (public here too)
from .sampling import as_generator, check_temperature, sample


@dataclass
class MusicBatch:
    inputs: np.ndarray  # (T, B, I): the start unit, then frames 0 .. T-2
    targets: np.ndarray  # (T, B, P) 0/1 (poly) or (T, B) token ids (melody)
    lengths: np.ndarray  # (B,) frames per piece


class MusicNet(Module):
    """Recurrent layers -> Linear: the frame model of the module docstring."""

    def __init__(
        self,
        n_in,
        n_out,
        *,
        poly=True,
        cell="lstm",
        hidden_size=128,
        num_layers=1,
        dropout=0.0,
        recurrent_dropout=0.0,
        dtype="float32",
        rng=None,
    ):
        super().__init__()
        self.poly = bool(poly)
        self.rnn = self.add_module(
            "rnn",
            make_recurrent(
                cell,
                n_in,
                hidden_size,
                num_layers,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                dtype=dtype,
                rng=rng,
            ),
        )
        self.head = self.add_module("head", Linear(hidden_size, n_out, dtype=dtype, rng=rng))
        self.has_cell_state = self.rnn.cell.has_cell_state  # state (h, c)

    def _forward(self, batch: MusicBatch) -> tuple[float, int, np.ndarray, np.ndarray, State, tuple]:
        out, state, c_rnn = self.rnn.forward(batch.inputs, None, lengths=batch.lengths)  # (T, B, H)
        logits, c_head = self.head.forward(out)  # (T, B, P or V)
        mask = np.arange(logits.shape[0])[:, None] < batch.lengths[None, :]  # (T, B)
        if self.poly:
            loss, dlogits = binary_cross_entropy_with_logits(logits, batch.targets, mask=mask)
        else:
            loss, dlogits = cross_entropy(logits, batch.targets, mask=mask)
        return loss, int(mask.sum()), dlogits, logits, state, (c_rnn, c_head)

    def loss_and_grad(self, batch: MusicBatch) -> float:
        """Mean NLL per frame of the batch; gradients accumulated into ``self.grads``."""
        loss, _, dlogits, _, _, (c_rnn, c_head) = self._forward(batch)
        dout = self.head.backward(dlogits, c_head)
        self.rnn.backward(dout, None, c_rnn)
        return loss

    def evaluate_batch(self, batch: MusicBatch) -> tuple[float, int]:
        loss, count, *_ = self._forward(batch)
        return loss * count, count

    def step(self, x, state):
        """One frame per row: x (R, I) -> (logits (R, P or V), new state)."""
        state = self.rnn.step(x, state)
        logits, _ = self.head.forward((state[0] if self.has_cell_state else state)[-1])
        return logits, state


def _check_length(value, name="length"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected an int >= 1 (frames to generate), got {value!r}")
    return int(value)


class MusicModel(BaseEstimator):
    """A frame model of music: ``fit(pieces)``, ``evaluate`` (nats per frame), ``generate``.

    ``pieces``: piano rolls (T_i, 128) of 0/1 (``mode="poly"``) or melody token arrays
    (T_i,) (``mode="melody"``), e.g. from :func:`rnnkit.data.pianoroll.piano_roll` and
    :func:`rnnkit.data.pianoroll.melody`. ``low``/``high`` fix the MIDI range the model covers
    (default: the training pieces' range); ``transpose`` is the augmentation of the module
    docstring; ``frames_per_quarter`` records the frame rate (1 quarter notes, 4
    sixteenths) for turning frames into notes. ``predict_proba`` gives each frame's
    prediction from the frames before it; ``score`` is minus :meth:`evaluate`.
    """

    def __init__(
        self,
        mode: Literal["poly", "melody"] = "poly",
        cell: str = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        low: int | None = None,
        high: int | None = None,
        transpose: int = 0,
        frames_per_quarter: Literal[1, 2, 4] = 1,
    ) -> None:
        self.mode, self.cell, self.hidden_size, self.num_layers = mode, cell, hidden_size, num_layers
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.low, self.high, self.transpose, self.frames_per_quarter = low, high, transpose, frames_per_quarter

    def _validate_params(self) -> None:
        super()._validate_params()
        check_choice("mode", self.mode, MODES)
        check_int_param("low", self.low, 0, allow_none=True)
        check_int_param("high", self.high, 0, allow_none=True)
        for name in ("low", "high"):
            v = getattr(self, name)
            if v is not None and v >= N_PITCHES:
                raise ValueError(f"{name}: expected a MIDI pitch in [0, 127] or None, got {v}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"high: expected a pitch >= low = {self.low}, got {self.high}")
        check_int_param("transpose", self.transpose, 0)
        check_choice("frames_per_quarter", self.frames_per_quarter, (1, 2, 4))

    # -- pieces <-> the model's units ---------------------------------------------------------
    @property
    def n_pitches_(self) -> int:
        return self.high_ - self.low_ + 1

    def _check_pieces(self, pieces: Any, name: str) -> list:
        """Validate the pieces' layout for the mode; int tokens or bool rolls (T_i, 128)."""
        if isinstance(pieces, np.ndarray) or not hasattr(pieces, "__len__") or len(pieces) == 0:
            raise TypeError(f"{name}: expected a non-empty list of pieces, got {type(pieces).__name__}")
        out = []
        for i, p in enumerate(pieces):
            a = np.asarray(p)
            if self.mode == "poly":
                if a.ndim != 2 or a.shape[1] != N_PITCHES or a.shape[0] < 1:
                    raise ValueError(
                        f"{name}[{i}]: expected a piano roll (T, {N_PITCHES}) with T >= 1, got shape {a.shape}"
                    )
                if a.size and not np.all((a == 0) | (a == 1)):
                    raise ValueError(f"{name}[{i}]: expected a piano roll of 0/1 values")
                out.append(a.astype(bool))
            else:
                if a.ndim != 1 or a.shape[0] < 1 or not (np.issubdtype(a.dtype, np.integer)):
                    raise ValueError(
                        f"{name}[{i}]: expected melody tokens (T,) of ints with T >= 1, "
                        f"got shape {a.shape}, dtype {a.dtype}"
                    )
                if a.min() < 0 or a.max() > REST:
                    raise ValueError(
                        f"{name}[{i}]: expected tokens in [0, {REST}] (pitch, {HOLD} hold, "
                        f"{REST} rest), got [{a.min()}, {a.max()}]"
                    )
                out.append(a.astype(np.int64))
        return out

    def _pitches(self, piece: np.ndarray) -> np.ndarray:
        """The MIDI pitches used by a piece (sorted, distinct)."""
        if self.mode == "poly":
            return np.flatnonzero(piece.any(axis=0))
        return np.unique(piece[piece < N_PITCHES])

    def _check_range(self, pieces: list[np.ndarray], name: str) -> None:
        for i, p in enumerate(pieces):
            used = self._pitches(p)
            out = used[(used < self.low_) | (used > self.high_)]
            if out.size:
                raise ValueError(
                    f"{name}[{i}]: expected pitches in the model's range {self.low_}..{self.high_}, "
                    f"got {out.size} pitch(es) outside it ({', '.join(map(str, out[:8].tolist()))}); "
                    "hint: drop them with rnnkit.data.music.clip_notes(notes, model.low_, model.high_)"
                )

    def _encode(self, piece: np.ndarray, shift: int = 0) -> np.ndarray:
        """poly: (T, P) float 0/1; melody: (T,) ids (pitch - low, P for HOLD, P + 1 for REST)."""
        if self.mode == "poly":
            src = np.arange(self.low_, self.high_ + 1) - shift  # (P,) the pitch read for each unit
            ok = (src >= 0) & (src < N_PITCHES)
            out = np.zeros((len(piece), self.n_pitches_), self.dtype)
            out[:, ok] = piece[:, src[ok]]
            return out
        P = self.n_pitches_
        return np.where(piece == HOLD, P, np.where(piece == REST, P + 1, piece + shift - self.low_))

    def _decode(self, units: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`_encode` for generated frames (no shift)."""
        if self.mode == "poly":
            roll = np.zeros((len(units), N_PITCHES), bool)
            roll[:, self.low_ : self.high_ + 1] = units
            return roll
        P = self.n_pitches_
        units = np.asarray(units)
        return np.where(units == P, HOLD, np.where(units == P + 1, REST, units + self.low_)).astype(np.int64)

    def _n_units(self) -> tuple[int, int]:
        """(inputs I, outputs): poly P + 1 and P; melody V + 1 and V."""
        n_out = self.n_pitches_ + (0 if self.mode == "poly" else 2)
        return n_out + 1, n_out

    def _inputs(self, encoded: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encoded pieces -> batch arrays: inputs (T, B, I), targets, lengths (B,)."""
        I, n_out = self._n_units()
        lengths = np.array([len(e) for e in encoded], np.int64)
        T, B = int(lengths.max()), len(encoded)
        x = np.zeros((T, B, I), self.dtype)
        x[0, :, I - 1] = 1.0  # the start unit
        if self.mode == "poly":
            y = np.zeros((T, B, n_out), self.dtype)
            for b, e in enumerate(encoded):
                y[: len(e), b] = e
                x[1 : len(e), b, :n_out] = e[:-1]
        else:
            y = np.zeros((T, B), np.int64)
            for b, e in enumerate(encoded):
                y[: len(e), b] = e
                x[np.arange(1, len(e)), b, e[:-1]] = 1.0  # one-hot of the previous token
        return x, y, lengths

    def _batch(self, encoded: list[np.ndarray]) -> MusicBatch:
        return MusicBatch(*self._inputs(encoded))

    def _shifts(self, pieces: list[np.ndarray]) -> list:
        """The transpositions in [-transpose, transpose] that keep each piece in range."""
        out = []
        for p in pieces:
            used = self._pitches(p)
            lo, hi = (int(used.min()), int(used.max())) if used.size else (self.low_, self.high_)
            k = self.transpose
            out.append(np.arange(max(-k, self.low_ - lo), min(k, self.high_ - hi) + 1))
        return out

    # -- fit -------------------------------------------------------------------------------------
    def fit(
        self,
        pieces: Sequence[np.ndarray],
        *,
        validation_data: Sequence[np.ndarray] | None = None,
        callbacks: Sequence[Callback] | None = None,
    ) -> Self:
        """Learn from a list of pieces; ``validation_data``: pieces for the per-epoch val loss."""
        self._validate_params()
        pieces = self._check_pieces(pieces, "pieces")
        used = np.unique(np.concatenate([self._pitches(p) for p in pieces]))
        if used.size == 0 and (self.low is None or self.high is None):
            raise ValueError(
                "pieces: expected at least one note to learn a pitch range from, got "
                "only silence; hint: pass low and high"
            )
        self.low_ = int(used.min()) if self.low is None else int(self.low)
        self.high_ = int(used.max()) if self.high is None else int(self.high)
        if self.low_ > self.high_:
            raise ValueError(f"low: the range {self.low_}..{self.high_} is empty")
        self._check_range(pieces, "pieces")
        val = None
        if validation_data is not None:
            vp = self._check_pieces(validation_data, "validation_data")
            self._check_range(vp, "validation_data")
            val = list(self._batches([self._encode(p) for p in vp]))
        shifts = self._shifts(pieces)
        rng = self._make_rng()
        net = self._start_net(rng)

        def train_batches(epoch, rng_epoch):
            order = rng_epoch.permutation(len(pieces))
            drawn = [int(s[rng_epoch.integers(len(s))]) for s in shifts]
            return self._batches([self._encode(pieces[i], drawn[i]) for i in order])

        self.history_ = self._train(net, train_batches, val, rng, callbacks=callbacks)
        self.net_ = net.eval()
        return self

    def _batches(self, encoded):
        for start in range(0, len(encoded), self.batch_size):
            yield self._batch(encoded[start : start + self.batch_size])

    # -- evaluate / score / predict ---------------------------------------------------------------
    def _prepared(self, pieces, name="pieces"):
        self._check_fitted()
        pieces = self._check_pieces(pieces, name)
        self._check_range(pieces, name)
        return pieces

    def evaluate(self, pieces: Sequence[np.ndarray]) -> float:
        """Negative log-likelihood in nats per frame: summed over every frame, / frames."""
        pieces = self._prepared(pieces)
        net = self.net_.eval()
        total, count = 0.0, 0
        for batch in self._batches([self._encode(p) for p in pieces]):
            s, c = net.evaluate_batch(batch)
            total, count = total + s, count + c
        return total / count

    def score(self, pieces: Sequence[np.ndarray]) -> float:
        """Minus :meth:`evaluate`: the mean log-likelihood per frame (higher is better)."""
        return -self.evaluate(pieces)

    def predict_proba(self, pieces: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each frame's distribution given the frames before it: poly (T_i, 128) note
        probabilities (0 outside the range); melody (T_i, V) over pitch ids, HOLD, REST."""
        pieces = self._prepared(pieces)
        net = self.net_.eval()
        out = []
        for start in range(0, len(pieces), self.batch_size):
            chunk = pieces[start : start + self.batch_size]
            batch = self._batch([self._encode(p) for p in chunk])
            _, _, _, logits, _, _ = net._forward(batch)  # (T, B, P or V)
            z = logits.astype(np.float64)
            for b, p in enumerate(chunk):
                zb = z[: len(p), b]
                if self.mode == "poly":
                    probs = np.zeros((len(p), N_PITCHES))
                    probs[:, self.low_ : self.high_ + 1] = sigmoid(zb)
                else:
                    e = np.exp(zb - zb.max(axis=1, keepdims=True))
                    probs = e / e.sum(axis=1, keepdims=True)
                out.append(probs)
        return out

    def predict(self, pieces: Sequence[np.ndarray], *, threshold: float = 0.5) -> list[np.ndarray]:
        """Each frame predicted from the frames before it: poly (T_i, 128) bool (probability
        > ``threshold``), melody (T_i,) tokens (the most likely)."""
        probs = self.predict_proba(pieces)
        if self.mode == "poly":
            return [p > threshold for p in probs]
        return [self._decode(np.argmax(p, axis=1)) for p in probs]

    def frame_scores(self, pieces: Sequence[np.ndarray], *, threshold: float = 0.5) -> dict:
        """Frame-level scores of :meth:`predict` against the pieces, pooled over all frames.

        poly: accuracy TP / (TP + FP + FN) (Bay, Ehmann and Downie 2009), precision, recall
        and F1 = 2 TP / (2 TP + FP + FN), with the counts; melody: the share of frames whose
        most likely token is the true one.
        """
        pieces = self._prepared(pieces)
        pred = self.predict(pieces, threshold=threshold)
        if self.mode == "melody":
            hits = sum(int((p == t).sum()) for p, t in zip(pred, pieces, strict=False))
            return {"accuracy": hits / sum(len(t) for t in pieces)}
        return bay_scores(pred, pieces)

    # -- generate ----------------------------------------------------------------------------------
    def generate(
        self,
        length: int = 64,
        primer: np.ndarray | None = None,
        *,
        temperature: float = 1.0,
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Sample ``length`` frames after ``primer`` (returned without the primer).

        Args:
            primer: None (start from the start symbol), or a piece in the model's layout
                (a (T, 128) roll, or tokens) whose pitches lie in the model's range.
            temperature: > 0; lower is more conservative.
            seed: an int, a Generator or None; the same seed gives the same piece.
        Returns:
            poly (length, 128) bool; melody (length,) tokens.
        """
        self._check_fitted()
        length = _check_length(length)
        temperature = check_temperature(temperature)
        rng = as_generator(seed)
        net = self.net_.eval()
        I, n_out = self._n_units()
        x = np.zeros((1, I), self.dtype)
        x[0, I - 1] = 1.0
        state, prev = None, None
        if primer is not None:
            piece = self._check_pieces([primer], "primer")[0]
            self._check_range([piece], "primer")
            encoded = self._encode(piece)
            inputs, _, _ = self._inputs([encoded])  # (T, 1, I)
            out, state, _ = net.rnn.forward(inputs)
            # The primer's last frame is the next input.
            x = np.zeros((1, I), self.dtype)
            if self.mode == "poly":
                x[0, :n_out] = encoded[-1]
            else:
                x[0, encoded[-1]] = 1.0
                prev = int(encoded[-1])
        frames = []
        P = self.n_pitches_
        for _ in range(length):
            logits, state = net.step(x, state)
            z = logits.astype(np.float64) / temperature  # (1, P or V)
            x = np.zeros((1, I), self.dtype)
            if self.mode == "poly":
                frame: np.ndarray | int = rng.random(P) < sigmoid(z[0])
                x[0, :P] = frame
            else:
                if prev is None or prev == P + 1:  # no HOLD after a REST
                    z[0, P] = -np.inf
                frame = int(sample(z, rng=rng)[0])
                x[0, frame] = 1.0
                prev = frame
            frames.append(frame)
        return self._decode(np.array(frames))

    # -- persistence hooks -------------------------------------------------------------------------
    def _fit_state(self) -> dict:
        return {"low": self.low_, "high": self.high_}

    def _set_fit_state(self, state: dict) -> None:
        self.low_, self.high_ = int(state["low"]), int(state["high"])

    def _build_net(self, rng: np.random.Generator) -> MusicNet:
        I, n_out = self._n_units()
        return MusicNet(
            I,
            n_out,
            poly=self.mode == "poly",
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            dtype=self.dtype,
            rng=rng,
        )
