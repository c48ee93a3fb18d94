"""A token <-> id vocabulary with the special tokens PAD, UNK, BOS and EOS.

Ids 0..3 are always the specials, in that order (``PAD = 0`` so zero-padded id arrays are
padding), then the tokens in order of decreasing frequency (ties: first seen first).
Tokens are ``str`` or ``int`` (words, characters, or ids from another tokenizer), so a
vocabulary is plain JSON: :meth:`Vocab.to_dict` / :meth:`Vocab.from_dict`, or
:meth:`Vocab.save` / :meth:`Vocab.load` for a file written atomically.

Unknown tokens map to UNK when encoding (``unknown="unk"``, the default) or raise a
``ValueError`` listing them (``unknown="error"``). A data token that equals one of the
special strings (a literal ``"<unk>"`` in a text) is that special token.
"""

from __future__ import annotations

import json
import numbers
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..utils import files
from ..utils.atomic import atomic_write

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


def _check_token(token: object, where: str) -> str | numbers.Integral:
    if isinstance(token, np.generic):
        token = token.item()
    if isinstance(token, bool) or not isinstance(token, (str, numbers.Integral)):
        raise TypeError(f"{where}: expected a token (str or int), got {type(token).__name__} {token!r}")
    return token


class Vocab:
    """Token <-> id mapping. ``Vocab(tokens)`` keeps the order given; ``Vocab.build`` counts."""

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, tokens: Iterable = ()) -> None:
        self._itos: list = list(SPECIALS)
        self._stoi: dict = {s: i for i, s in enumerate(SPECIALS)}
        for i, tok in enumerate(tokens):
            tok = _check_token(tok, f"tokens[{i}]")
            if tok not in self._stoi:
                self._stoi[tok] = len(self._itos)
                self._itos.append(tok)

    @classmethod
    def build(cls, sequences: Iterable[Iterable], *, min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """Count the tokens of ``sequences`` (token lists, or strings for characters).

        Keeps tokens seen at least ``min_freq`` times, the most frequent first, at most
        ``max_size`` of them (specials not counted); the rest become UNK when encoded.
        """
        if isinstance(min_freq, bool) or not isinstance(min_freq, numbers.Integral) or min_freq < 1:
            raise ValueError(f"min_freq: expected an int >= 1, got {min_freq!r}")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, numbers.Integral) or max_size < 0
        ):
            raise ValueError(f"max_size: expected None or an int >= 0, got {max_size!r}")
        counts: Counter = Counter()
        for i, seq in enumerate(sequences):
            if isinstance(seq, (str, bytes)) and not isinstance(seq, str):
                raise TypeError(f"sequences[{i}]: expected a str or a list of tokens, got bytes")
            counts.update(_check_token(t, f"sequences[{i}]") for t in seq)
        # Counter.most_common keeps first-seen order among equal counts.
        kept = [t for t, c in counts.most_common() if c >= min_freq]
        return cls(kept if max_size is None else kept[:max_size])

    # -- lookup -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens incl. {len(SPECIALS)} specials)"

    @property
    def tokens(self) -> list:
        """Every token by id, specials first."""
        return list(self._itos)

    def token_to_id(self, token: str | int) -> int:
        """The id of ``token``, or UNK's for an unseen one."""
        return self._stoi.get(token, self.unk_id)

    def id_to_token(self, index: int) -> Any:  # a token: str or int, as the vocabulary holds
        if not 0 <= index < len(self._itos):
            raise ValueError(f"index: expected an id in [0, {len(self._itos)}), got {index}")
        return self._itos[index]

    def encode(
        self, tokens: Iterable, *, add_bos: bool = False, add_eos: bool = False, unknown: str = "unk"
    ) -> np.ndarray:
        """Tokens (a list, or a str for characters) -> int64 ids, optionally with BOS/EOS."""
        if unknown not in ("unk", "error"):
            raise ValueError(f"unknown: expected 'unk' or 'error', got {unknown!r}")
        toks = list(tokens)
        try:
            ids = [self._stoi.get(t, -1) for t in toks]
        except TypeError:  # an unhashable item, such as a nested list
            raise TypeError(
                "tokens: expected a sequence of str or int tokens, got an item of type "
                f"{next(type(t).__name__ for t in toks if not isinstance(t, (str, int)))}"
            ) from None
        if unknown == "error" and -1 in ids:
            unseen = sorted({repr(t) for t, i in zip(toks, ids, strict=False) if i < 0})
            raise ValueError(
                f"tokens: expected tokens of the vocabulary, got {len(unseen)} unseen: "
                f"{', '.join(unseen[:20])}; hint: unknown='unk' maps them to {UNK}"
            )
        ids = [self.unk_id if i < 0 else i for i in ids]
        if add_bos:
            ids.insert(0, self.bos_id)
        if add_eos:
            ids.append(self.eos_id)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int], *, strip_specials: bool = True, stop_at_eos: bool = True) -> list:
        """Ids -> tokens; drops PAD/BOS/EOS (not UNK) and stops at the first EOS by default."""
        out = []
        n = len(self._itos)
        for k, i in enumerate(np.asarray(list(ids), dtype=np.int64).tolist()):
            if not 0 <= i < n:
                raise ValueError(f"ids[{k}]: expected an id in [0, {n}), got {i}")
            if i == self.eos_id and stop_at_eos:
                break
            if strip_specials and i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            out.append(self._itos[i])
        return out

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: ``{"specials": [...], "tokens": [...]}`` (tokens without specials)."""
        return {"specials": list(SPECIALS), "tokens": self._itos[len(SPECIALS) :]}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        if not isinstance(data, dict) or "tokens" not in data:
            raise ValueError(f"data: expected a dict with a 'tokens' list, got {type(data).__name__}")
        if list(data.get("specials", SPECIALS)) != list(SPECIALS):
            raise ValueError(f"data['specials']: expected {list(SPECIALS)}, got {data.get('specials')}")
        tokens = list(data["tokens"])
        vocab = cls(tokens)
        if len(vocab) != len(SPECIALS) + len(tokens):
            raise ValueError("data['tokens']: expected unique tokens, distinct from the specials")
        return vocab

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary as JSON, atomically (:func:`rnnkit.utils.atomic.atomic_write`)."""
        path = Path(path)
        with atomic_write(path, "w", parents=False) as fh:
            fh.write(json.dumps(self.to_dict(), ensure_ascii=False))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        with files.open_regular(path, what="a vocabulary file", max_bytes=files.MAX_TEXT_BYTES) as fh:
            return cls.from_dict(json.loads(fh.read().decode("utf-8")))
