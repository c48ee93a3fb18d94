"""Choosing among the trials of a search without the winner's curse: re-score, then compare.

Shape legend: N forecast points (every observed target of every origin of every fold, all
series), B blocks of origins.

A search picks the lowest of many noisy scores, so the winner's own score is biased low
(it was picked partly for its luck), and the settings it found often do worse than the
base settings after the search's stretch of data. :func:`confirm` removes that bias in
two steps:

1. **Re-score on fresh seeds.** The ``k`` best complete trials by search score, and the
   trial of the base settings, are scored again on the same folds with seeds the search
   did not use (``seed + 1``, ``seed + 2``, ...). The score chosen by is their pooled MASE
   over those seeds only (each point's scaled error averaged over the seeds), so no
   candidate's own search luck enters it.
2. **Keep the base unless the difference is larger than the noise.** With ``e_c`` and
   ``e_0`` the re-scored scaled errors of the best candidate and of the base (the same N
   points), the paired difference is ``d = mean(e_c - e_0)``; its standard error is that
   of the means of ``d`` over blocks of ``ceil(horizon / step)`` consecutive origins
   (batch means: the forecasts of neighbouring origins share targets, so single points are
   not independent)::

       se = std(block means of e_c - e_0, ddof=1) / sqrt(B)
       choose the candidate when d < -margin * se, else the base settings

   as the one-standard-error rule of cross-validation (Hastie, Tibshirani and Friedman,
   *The Elements of Statistical Learning*, 7.10) keeps the simpler model unless the other
   is better by more than one standard error (``margin=1``).

Without a base trial (the base settings lie outside the space, or failed on a fresh seed)
the lowest re-scored candidate is chosen.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["Confirmation", "confirm", "paired_difference"]


@dataclasses.dataclass
class Confirmation:
    """The re-scoring of the best trials and the choice it made.

    Attributes:
        seeds: the fresh seeds each candidate was re-scored with.
        scores: trial number -> pooled MASE over the fresh seeds (NaN: a fit failed).
        best: the candidate with the lowest re-scored MASE.
        chosen: the trial chosen (``best``, or the base trial when ``best`` is not better
            than it by more than ``margin`` standard errors).
        base: the base settings' trial (None: outside the space).
        difference: re-scored MASE of ``best`` minus the base's (NaN without a base or when
            ``best`` is the base).
        se: the standard error of ``difference`` (batch means over blocks of origins).
        margin: standard errors ``best`` had to win by.
    """

    seeds: list[int]
    scores: dict[int, float]
    best: int
    chosen: int
    base: int | None
    difference: float
    se: float
    margin: float

    def summary(self) -> str:
        """One line: what was re-scored and why the chosen trial was chosen."""
        n = len(self.scores)
        head = f"re-scored {n} trial(s) on {len(self.seeds)} fresh seed(s): "
        if self.base is None:
            return head + f"trial {self.best} lowest ({self.scores[self.best]:.4g}); the base settings were not tried"
        if self.best == self.base:
            return head + f"the base settings (trial {self.base}, {self.scores[self.base]:.4g}) lowest; kept"
        d, se = self.difference, self.se
        against = f"trial {self.best} {self.scores[self.best]:.4g} against the base's {self.scores[self.base]:.4g}"
        z = f"difference {d:+.4g}, standard error {se:.2g}"
        if self.chosen == self.best:
            return head + f"{against} ({z}): better by more than {self.margin:g} standard error(s); chosen"
        return head + f"{against} ({z}): not better by more than {self.margin:g} standard error(s); base kept"


def paired_difference(a: np.ndarray, b: np.ndarray, blocks: np.ndarray) -> tuple[float, float]:
    """mean(a - b) over the N points and its standard error by batch means over ``blocks``
    (inf with fewer than two blocks)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)  # (N,)
    _, where = np.unique(blocks, return_inverse=True)
    means = np.bincount(where, weights=d) / np.bincount(where)  # (B,)
    se = float(np.std(means, ddof=1) / math.sqrt(len(means))) if len(means) > 1 else math.inf
    return float(d.mean()), se


def confirm(
    ranked: Sequence[int],
    base: int | None,
    params: Callable[[int], dict[str, Any]],
    score: Callable[[dict[str, Any], int], Any],
    *,
    k: int,
    seeds: Sequence[int],
    margin: float,
) -> Confirmation | None:
    """Re-score the ``k`` first of ``ranked`` (complete trial numbers, best search score
    first) and ``base`` on ``seeds``, and choose (see the module's docstring).

    Args:
        ranked: complete trials, lowest search MASE first.
        base: the base settings' trial number, when it completed (else None).
        params: trial number -> its settings.
        score: ``score(settings, seed)`` -> (scaled errors (N,), blocks (N,)) over every fold,
            the same N points for every setting; None when the fit failed.
        k: candidates besides the base (0: no re-scoring, None returned).
        seeds: the fresh seeds.
        margin: standard errors a candidate must beat the base by.

    Returns:
        the :class:`Confirmation`, or None when there is nothing to compare (k == 0, no seed,
        or a single candidate).
    """
    candidates = list(ranked[:k])
    if base is not None and base not in candidates:
        candidates.append(base)
    if k == 0 or not seeds or len(candidates) < 2:
        return None
    errors: dict[int, np.ndarray] = {}
    blocks = np.zeros(0)
    for c in candidates:
        runs = [score(params(c), s) for s in seeds]
        if any(r is None for r in runs):
            continue
        errors[c] = np.mean([r[0] for r in runs], axis=0)  # (N,) averaged over the seeds
        blocks = runs[0][1]
    scores = {c: float(errors[c].mean()) if c in errors else math.nan for c in candidates}
    if not errors:
        return None
    best = min(errors, key=lambda c: scores[c])
    chosen, difference, se = best, math.nan, math.nan
    if base is not None and base in errors and best != base:
        difference, se = paired_difference(errors[best], errors[base], blocks)
        chosen = best if difference < -margin * se else base
    return Confirmation(list(seeds), scores, best, chosen, base, difference, se, margin)
