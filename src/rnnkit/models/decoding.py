"""Autoregressive decoding: greedy and beam search over any one-step model.

Shape legend: N sequences decoded together, K beams per sequence, V vocabulary,
L layers, H hidden units.

The model is seen through one function,

    logits, state = step(tokens, state)     # tokens (R,) int64 -> logits (R, V)

where ``state`` is an array, or a tuple of arrays, whose axis 1 indexes the R rows (the
recurrent layers' (L, R, H) layout). Decoding starts from ``state`` with the BOS token
and stops a row at EOS or after ``max_len`` tokens. Returned sequences hold neither BOS
nor EOS; a sequence cut by ``max_len`` simply has ``max_len`` tokens.

Scores are log-likelihoods, log p(y_1..y_n, EOS | context) = sum_t log p(y_t | y_<t, ...),
with the EOS term included when the sequence ended with it.

Beam search keeps, per sequence, the K partial hypotheses of highest log-likelihood.
At each step every live hypothesis is extended by every token; of the (K*V) candidates,
those ending in EOS among the K best become finished hypotheses, and the K best that do
not end in EOS stay live. A sequence is done once it holds K finished hypotheses (or at
``max_len``, when its live hypotheses join the finished ones). The answer is the finished
hypothesis of highest *normalized* score

    score / n ** length_penalty,     n = number of tokens including EOS,

so ``length_penalty=0`` ranks by raw log-likelihood and 1 by log-likelihood per token
(raw log-likelihood favours short outputs, since every token costs some probability).
With ``beam_size=1`` this is exactly greedy decoding (ties go to the lowest token id).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np

from ..nn.functional import log_softmax

#: A decoder state: an array (L, R, H), a tuple of them (LSTM's (h, c)), or None.
State: TypeAlias = Any
#: ``step(tokens (R,), state) -> (logits (R, V), state)``: one decoder step for R rows.
Step: TypeAlias = Callable[[np.ndarray, State], tuple[np.ndarray, State]]


def take_rows(state: State, idx: np.ndarray) -> State:
    """Rows ``idx`` of a state: an array (L, R, H) or a tuple of them."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(take_rows(s, idx) for s in state)
    return state[:, idx]


def check_max_len(max_len: int) -> int:
    if isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral) or max_len < 1:
        raise ValueError(f"max_len: expected an int >= 1, got {max_len!r}")
    return int(max_len)


def check_beam_size(beam_size: int) -> int:
    if isinstance(beam_size, bool) or not isinstance(beam_size, numbers.Integral) or beam_size < 1:
        raise ValueError(f"beam_size: expected an int >= 1 (1 is greedy decoding), got {beam_size!r}")
    return int(beam_size)


def check_length_penalty(length_penalty: float) -> float:
    if (
        isinstance(length_penalty, bool)
        or not isinstance(length_penalty, numbers.Real)
        or not (0.0 <= float(length_penalty) < np.inf)
    ):
        raise ValueError(f"length_penalty: expected a float >= 0 (0: raw log-likelihood), got {length_penalty!r}")
    return float(length_penalty)


def greedy_decode(
    step: Step, state: State, n: int, *, bos: int, eos: int, max_len: int
) -> tuple[list[list[int]], np.ndarray]:
    """Arg-max decoding of n sequences at once.

    Returns:
        (sequences, scores): a list of n int lists, and their log-likelihoods (n,) float64.
    """
    max_len = check_max_len(max_len)
    tokens = np.full(n, bos, dtype=np.int64)
    out = np.zeros((n, max_len), dtype=np.int64)
    length = np.full(n, max_len)
    scores = np.zeros(n)
    live = np.ones(n, dtype=bool)
    for t in range(max_len):
        logits, state = step(tokens, state)
        logp = log_softmax(np.asarray(logits, dtype=np.float64))  # (n, V)
        tokens = np.argmax(logp, axis=1).astype(np.int64)
        scores += np.where(live, logp[np.arange(n), tokens], 0.0)
        out[:, t] = tokens
        ended = live & (tokens == eos)
        length[ended] = t
        live &= ~ended
        if not live.any():
            break
    return [out[i, : length[i]].tolist() for i in range(n)], scores


def beam_search(
    step: Step,
    state: State,
    n: int,
    *,
    bos: int,
    eos: int,
    max_len: int,
    beam_size: int = 4,
    length_penalty: float = 1.0,
) -> tuple[list[list[int]], np.ndarray]:
    """Beam search for n sequences at once (n*K rows through ``step``); see the module doc.

    Returns:
        (sequences, scores): the best hypothesis per sequence (int lists) and its raw
        log-likelihood (n,) float64.
    """
    max_len = check_max_len(max_len)
    K = check_beam_size(beam_size)
    alpha = check_length_penalty(length_penalty)
    rows = np.repeat(np.arange(n), K)  # (n*K,) each beam starts as a copy
    state = take_rows(state, rows)
    tokens = np.full(n * K, bos, dtype=np.int64)
    scores = np.full((n, K), -np.inf)
    scores[:, 0] = 0.0  # only beam 0 is live at first
    history = np.zeros((n, K, 0), dtype=np.int64)  # (n, K, t) tokens so far
    finished: list[list[tuple[float, float, list[int]]]] = [[] for _ in range(n)]
    done = np.zeros(n, dtype=bool)
    for _t in range(max_len):
        logits, state = step(tokens, state)
        logp = log_softmax(np.asarray(logits, dtype=np.float64))  # (n*K, V)
        V = logp.shape[1]
        cand = (scores.reshape(-1, 1) + logp).reshape(n, K * V)  # (n, K*V)
        order = np.argsort(-cand, axis=1, kind="stable")[:, : 2 * K]
        new_beam = np.zeros((n, K), dtype=np.int64)
        new_tok = np.full((n, K), eos, dtype=np.int64)
        new_score = np.full((n, K), -np.inf)
        for i in range(n):
            if done[i]:
                continue
            filled = 0
            for rank, j in enumerate(order[i]):
                s = cand[i, j]
                if s == -np.inf:
                    break
                beam, tok = divmod(int(j), V)
                if tok == eos:
                    if rank < K:  # only an EOS among the K best ends a hypothesis
                        seq = history[i, beam].tolist()
                        finished[i].append((s / (len(seq) + 1) ** alpha, s, seq))
                    continue
                new_beam[i, filled], new_tok[i, filled], new_score[i, filled] = beam, tok, s
                filled += 1
                if filled == K:
                    break
            if len(finished[i]) >= K or filled == 0:
                done[i] = True
        if done.all():
            break
        history = np.concatenate(
            [np.take_along_axis(history, new_beam[:, :, None], axis=1), new_tok[:, :, None]], axis=2
        )
        scores = np.where(done[:, None], -np.inf, new_score)
        state = take_rows(state, (np.arange(n)[:, None] * K + new_beam).reshape(-1))
        tokens = new_tok.reshape(-1)
    else:  # max_len reached: live hypotheses compete with the finished ones, without EOS
        for i in range(n):
            if done[i]:
                continue
            for k in range(K):
                if scores[i, k] > -np.inf:
                    seq = history[i, k].tolist()
                    finished[i].append((scores[i, k] / max(len(seq), 1) ** alpha, scores[i, k], seq))
    seqs: list[list[int]] = []
    raw = np.zeros(n)
    for i in range(n):
        if not finished[i]:  # unreachable with V >= 1; kept so a bad step cannot crash max()
            seqs.append([])
            raw[i] = -np.inf
            continue
        best = max(finished[i], key=lambda f: f[0])  # first of equals: the earlier hypothesis
        seqs.append(best[2])
        raw[i] = best[1]
    return seqs, raw
