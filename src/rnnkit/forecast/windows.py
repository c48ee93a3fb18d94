"""The Forecaster's training windows, and the validation part held out of them.

Shape legend: n total steps of all series (after the target transforms), F features,
P past / K known-future covariate columns, S static columns, N windows, W window,
D forecast steps per window.

The prepared series (:class:`.loop.Prepared`) are concatenated into row arrays
and a window is named by its series and origin t (the row of its first target)::

    Z (n, F)  P (n, P)  Fc (n, K)  S (n_series, S)  series (N,)  origins (N,)
    inputs  rows t - W .. t - 1      targets  rows t .. t + D - 1
"""

from __future__ import annotations

import numpy as np


def cut_windows(prep, W: int, D: int, lost: int, name: str, ids=None):
    """All windows of every series: ``(Z, P, Fc, S, series, origins)``. ``lost``: the steps
    the transforms took (for the error naming a series too short)."""
    short = [(i, len(p.z)) for i, p in enumerate(prep) if len(p.z) < W + D]
    if short:
        i, n = short[0]
        who = f"series {ids[i]!r}" if ids else (f"{name}[{i}]" if len(prep) > 1 else name)
        raise ValueError(
            f"{who}: has {n + lost} steps, fewer than window + forecast steps"
            f"{' + transform steps' if lost else ''} = {W + D + lost}; hint: lower window "
            "(or horizon with strategy='direct'), or drop the short series"
        )
    offsets = np.cumsum([0] + [len(p.z) for p in prep])
    origins = np.concatenate([np.arange(W, len(p.z) - D + 1) + offsets[i] for i, p in enumerate(prep)])
    series = np.concatenate([np.full(len(p.z) - D - W + 1, i) for i, p in enumerate(prep)])
    Z = np.concatenate([p.z for p in prep])
    P = np.concatenate([p.past for p in prep])
    Fc = np.concatenate([p.future[: len(p.z)] for p in prep])
    S = np.stack([p.static for p in prep])
    return Z, P, Fc, S, series, origins


def hold_out(data, prep, W: int, D: int, fraction: float):
    """Split the windows of :func:`cut_windows` in time. The last n_i = max(round(f T_i), D)
    steps of series i (T_i its length, f = ``fraction``) are validation targets: training
    windows' targets end before them, validation windows' targets lie inside them (their
    inputs read the steps before as context); windows across the cut are left out. A series
    with fewer than W + D steps before its cut stays all training.

    Returns ``(train, validation)``, each like ``data``; validation None when empty.
    """
    Z, P, Fc, S, series, origins = data
    lengths = np.array([len(p.z) for p in prep])
    n_val = np.maximum(np.round(fraction * lengths).astype(int), D)
    n_val = np.where(lengths - n_val >= W + D, n_val, 0)
    start = np.cumsum(np.r_[0, lengths[:-1]])  # first row of each series
    t, cut = origins - start[series], (lengths - n_val)[series]  # origin, first val step
    is_val, is_train = t >= cut, t + D <= cut
    if not is_val.any():
        return data, None
    return ((Z, P, Fc, S, series[is_train], origins[is_train]), (Z, P, Fc, S, series[is_val], origins[is_val]))
