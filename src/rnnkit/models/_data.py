"""Variable-length inputs for the estimators: recognise, pad, batch.

Shape legend: N sequences, T time steps (padded), B batch rows, F features, K outputs.

What a model accepts as ``X`` (one rule for all of them):

- a list (or tuple) of sequences, each
    - a float array (T_i, F), or (T_i,) for one feature: **features**;
    - a list of ``str`` tokens, or of ``int`` token ids, or a 1-D integer array: **tokens**,
      which go through a :class:`~rnnkit.models.vocab.Vocab` and an embedding.
    A plain ``str`` is refused (characters or words? split it yourself).
- a 3-D float array (N, T, F): N sequences of equal length;
- a 2-D array (N, T): float -> N one-feature sequences; integer -> N token-id sequences.

Every sequence has at least one step and all feature sequences the same F. Batches are
time-major and right-padded: features (T, B, F) with zeros, token ids (T, B) with PAD = 0,
plus ``lengths`` (B,).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..distributed import EMPTY_SHARD, world

FEATURES, TOKENS = "features", "tokens"


@dataclass
class Batch:
    """One minibatch, time-major. ``targets``/``mask`` depend on the model."""

    inputs: np.ndarray  # (T, B, F) float or (T, B) int64 ids
    lengths: np.ndarray  # (B,) int64, each in [1, T]
    targets: np.ndarray | None = None
    mask: np.ndarray | None = None  # (T, B) bool: step t of row b is inside its sequence


def _is_token(t) -> bool:
    return isinstance(t, str) or (isinstance(t, numbers.Integral) and not isinstance(t, (bool, np.bool_)))


def as_sequences(X, name: str = "X") -> tuple[str, list]:
    """Classify and normalise ``X`` (see the module docstring).

    Returns:
        ``(FEATURES, [float64 arrays (T_i, F)])`` or ``(TOKENS, [lists of tokens])``.
    """
    if isinstance(X, np.ndarray):
        if X.ndim == 3 and np.issubdtype(X.dtype, np.number):
            seqs = list(X.astype(np.float64, copy=False))
        elif X.ndim == 2 and np.issubdtype(X.dtype, np.integer):
            seqs = [row.tolist() for row in X]
        elif X.ndim == 2 and np.issubdtype(X.dtype, np.number):
            seqs = [row[:, None] for row in X.astype(np.float64, copy=False)]
        elif X.ndim == 1 and X.dtype == object:
            seqs = list(X)
        else:
            raise ValueError(
                f"{name}: expected a list of sequences, an (N, T) or an (N, T, F) array, "
                f"got an array of shape {X.shape} and dtype {X.dtype}"
            )
    elif isinstance(X, (list, tuple)):
        seqs = list(X)
    else:
        raise TypeError(f"{name}: expected a list of sequences (arrays (T, F) or token lists), got {type(X).__name__}")
    if not seqs:
        raise ValueError(f"{name}: expected at least one sequence, got an empty {type(X).__name__}")
    kinds, out = set(), []
    for i, s in enumerate(seqs):
        kind, seq = _one_sequence(s, f"{name}[{i}]")
        kinds.add(kind)
        out.append(seq)
    if len(kinds) > 1:
        raise TypeError(f"{name}: expected all sequences to be feature arrays or all token lists, got both")
    kind = kinds.pop()
    if kind == FEATURES:
        widths = {s.shape[1] for s in out}
        if len(widths) > 1:
            raise ValueError(
                f"{name}: expected every sequence to have the same number of features, got {sorted(widths)}"
            )
    return kind, out


def _one_sequence(s, where: str):
    if isinstance(s, (str, bytes)):
        raise TypeError(
            f"{where}: expected a sequence of tokens or an array (T, F), got a "
            f"{type(s).__name__}; hint: split text into tokens first, e.g. text.split() "
            "for words or list(text) for characters"
        )
    if isinstance(s, np.ndarray) and np.issubdtype(s.dtype, np.integer) and s.ndim == 1:
        s = s.tolist()
    if isinstance(s, (list, tuple)) and s and all(_is_token(t) for t in s):
        kinds = {isinstance(t, str) for t in s}
        if len(kinds) > 1:
            raise TypeError(f"{where}: expected tokens that are all str or all int, got a mix")
        return TOKENS, [t.item() if isinstance(t, np.generic) else t for t in s]
    try:
        a = np.asarray(s, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: expected a float array (T, F) or a list of str/int tokens, "
            f"got {type(s).__name__} that is neither"
        ) from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{where}: expected a sequence of shape (T, F) or (T,), got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one time step, got an empty sequence")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{where}: contains NaN or inf")
    return FEATURES, a


def pad_features(seqs, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Float sequences (T_i, F) -> zero-padded (T, B, F) of ``dtype`` and lengths (B,)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    x = np.zeros((int(lengths.max()), len(seqs), seqs[0].shape[1]), dtype)
    for b, s in enumerate(seqs):
        x[: len(s), b] = s
    return x, lengths


def pad_ids(seqs, pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Id arrays (T_i,) -> (T, B) int64 padded with ``pad_id``, and lengths (B,)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.full((int(lengths.max()), len(seqs)), pad_id, np.int64)
    for b, s in enumerate(seqs):
        ids[: len(s), b] = s
    return ids, lengths


def pad_inputs(kind: str, seqs, dtype) -> tuple[np.ndarray, np.ndarray]:
    return pad_features(seqs, dtype) if kind == FEATURES else pad_ids(seqs)


def step_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """(T, B) bool: True where step t of row b is inside the sequence."""
    return np.arange(T)[:, None] < lengths[None, :]


def rank_batches(make, index_batches, *data):
    """``make(idx)`` for each global batch's index array ``idx``, or rather for this rank's
    contiguous part of it under mpiexec (:data:`~rnnkit.distributed.EMPTY_SHARD` where the
    part is empty: a last batch with fewer rows than ranks). ``data``, when given, is checked
    to be the same on every rank first. One process: ``make(idx)`` for each, unchanged."""
    w = world()
    if not w.active:
        yield from (make(idx) for idx in index_batches)
        return
    if data:
        w.check_same("X, y", *data)
    index_batches = list(index_batches)
    check_rows_per_rank(max((len(i) for i in index_batches), default=0), w.size)
    for idx in index_batches:
        part = w.shard(idx)
        yield make(part) if len(part) else EMPTY_SHARD


def check_rows_per_rank(rows: int, ranks: int) -> None:
    """Refuse batches too small for every rank to get a row (ranks would idle on every step)."""
    if rows < ranks:
        raise ValueError(
            f"batch_size: batches of {rows} rows cannot be split across {ranks} MPI ranks; hint: "
            f"a batch_size of at least {ranks}, or mpiexec -n {max(rows, 1)} or fewer"
        )


def batch_indices(n: int, batch_size: int, rng=None, lengths=None) -> list[np.ndarray]:
    """Index arrays of at most ``batch_size`` rows; shuffled when ``rng`` is given.

    With ``lengths`` (and an ``rng``), rows are bucketed: shuffled, then sorted by length
    within windows of 50 batches, so each batch pads little; the batch order is shuffled.
    """
    order = np.arange(n) if rng is None else rng.permutation(n)
    if rng is not None and lengths is not None:
        window = 50 * batch_size
        lengths = np.asarray(lengths)
        order = np.concatenate(
            [
                chunk[np.argsort(lengths[chunk], kind="stable")]
                for chunk in np.array_split(order, max(1, -(-n // window)))
            ]
        )
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if rng is not None and lengths is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
