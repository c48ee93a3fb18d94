"""Scores of music frame models: frame-level accuracy and F1, and the two baselines.

Shape legend: T frames, P pitches (a slice of MIDI 0..127), V melody tokens.

- :func:`bay_scores`: accuracy TP / (TP + FP + FN) (Bay, Ehmann and Downie 2009,
  "Evaluation of multiple-F0 estimation and tracking systems"), precision, recall and
  F1 = 2 TP / (2 TP + FP + FN), pooled over every frame of every piece;
- :func:`frequency_nll`: the memoryless model's NLL per frame (notes or tokens with their
  training frequencies);
- :func:`repeat_scores`: the frame scores of repeating the previous frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.pianoroll import HOLD, REST
from .base import check_choice

MODES = ("poly", "melody")


def bay_scores(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> dict:
    """Frame-level accuracy TP / (TP + FP + FN) (Bay et al. 2009), precision, recall, F1,
    pooled over every frame of every piece; ``predicted`` and ``truth``: lists of (T_i, P) 0/1."""
    tp = fp = fn = 0
    for p, t in zip(predicted, truth, strict=False):
        p, t = np.asarray(p, bool), np.asarray(t, bool)
        if p.shape != t.shape:
            raise ValueError(f"predicted: expected the shape of the truth {t.shape}, got {p.shape}")
        tp += int((p & t).sum())
        fp += int((p & ~t).sum())
        fn += int((~p & t).sum())
    denom = tp + fp + fn
    return {
        "accuracy": tp / denom if denom else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if denom else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def frequency_nll(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    low: int,
    high: int,
    *,
    mode: str = "poly",
    alpha: float = 1.0,
) -> float:
    """The memoryless baseline's NLL per frame on ``test``, fitted on ``train``.

    poly: independent notes, each sounding with its add-``alpha`` training frequency
    p_n (the model with no past); melody: each token with its add-``alpha`` training
    frequency. Pitches outside ``low``..``high`` are not counted.
    """
    check_choice("mode", mode, MODES)
    if mode == "poly":
        frames = np.concatenate([np.asarray(t, bool) for t in train])[:, low : high + 1]
        p = (frames.sum(axis=0) + alpha) / (len(frames) + 2 * alpha)  # (P,)
        y = np.concatenate([np.asarray(t, bool) for t in test])[:, low : high + 1]
        return float(-(y * np.log(p) + (~y) * np.log1p(-p)).sum(axis=1).mean())
    counts = np.bincount(np.concatenate(train), minlength=REST + 1)[: REST + 1].astype(np.float64)
    keep = np.zeros(REST + 1, bool)
    keep[low : high + 1] = keep[HOLD] = keep[REST] = True
    p = (counts + alpha) * keep
    p /= p.sum()
    toks = np.concatenate(test)
    return float(-np.log(p[toks]).mean())


def repeat_scores(pieces: Sequence[np.ndarray], low: int, high: int) -> dict:
    """:func:`bay_scores` of predicting each frame as a copy of the one before (silence first)."""
    rolls = [np.asarray(t, bool)[:, low : high + 1] for t in pieces]
    pred = [np.concatenate([np.zeros_like(t[:1]), t[:-1]]) for t in rolls]
    return bay_scores(pred, rolls)
