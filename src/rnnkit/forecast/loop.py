"""Preparing series for the Forecaster's network, and the forecasting loops.

Shape legend: N series (or forecast origins), T steps, W window, D steps per network
pass (1 recursive, the fitted horizon direct), h forecast steps, F targets, P past and K
known-future covariates, S static values, Q quantiles, M samples.

A *prepared* series holds, after the target transforms and the series scaling
(:mod:`.scaling`): z (T', F), past (T', P), future (T' + extra, K), static (S,)
and the :class:`SeriesScaler` that inverts its forecasts.

The loops work in z units. Each pass normalises its window (u = (z - a) / b), runs the
network, and maps the outputs back, z^ = u^ b + a, before the next pass reads them:

    recursive   D = 1: each pass forecasts one step, appended to the window
    direct      D = horizon: one pass per block of D steps (blocks after the first read
                the forecasts of the ones before)

Past covariates past the origin are held at their last known value.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .covariates import make_inputs
from .net import SIGMA_MIN, softplus
from .scaling import window_stats


@dataclass
class Prepared:
    z: np.ndarray  # (T', F)
    past: np.ndarray  # (T', P)
    future: np.ndarray  # (T' + extra, K)
    static: np.ndarray  # (S,)
    scaler: object


def _stack_windows(items, W, h_cov):
    """Windows at the end of each prepared series: zw (N, W, F), pw (N, W, P),
    fw (N, W + h_cov, K), st (N, S)."""
    zw = np.stack([p.z[-W:] for p in items])
    pw = np.stack([p.past[len(p.z) - W : len(p.z)] for p in items])
    fw = np.stack([p.future[len(p.z) - W : len(p.z) + h_cov] for p in items])
    st = np.stack([p.static for p in items])
    return zw, pw, fw, st


def _point(y, loss, quantiles):
    """Network outputs (N, D, F, P) in u units -> the point forecast (N, D, F)."""
    if loss in ("mse", "gaussian"):
        return y[..., 0]
    return _sorted_quantiles(y, quantiles)[..., _quantile_index(sorted(quantiles), 0.5)]


def _sorted_quantiles(y, quantiles):
    """Quantile outputs rearranged to increase with the quantile level (they may cross)."""
    return np.sort(y[..., np.argsort(quantiles)], axis=-1)


def _probs_from_outputs(y, a, b, loss, quantiles, probs):
    """Outputs (N, D, F, P) -> {prob: (N, D, F) in z units} for the quantile probabilities."""
    out = {}
    for p in probs:
        if loss == "quantile":
            u = _sorted_quantiles(y, quantiles)[..., _quantile_index(sorted(quantiles), p)]
        else:
            sigma = softplus(y[..., 1]) + SIGMA_MIN
            u = y[..., 0] + sigma * NormalDist().inv_cdf(p)
        out[p] = u * b + a
    return out


def _quantile_index(quantiles, p):
    for i, q in enumerate(quantiles):
        if abs(q - p) < 1e-9:
            return i
    raise ValueError(f"intervals: the model has no {p:g} quantile (quantiles={list(quantiles)})")


def run_network(net, x, dtype, chunk=4096):
    """x (T, N, I) -> outputs (N, D, F, P) float64, in chunks of N."""
    outs = []
    for i in range(0, x.shape[1], chunk):
        y, _ = net.forward(np.ascontiguousarray(x[:, i : i + chunk], dtype=dtype))
        y = y.astype(np.float64)
        outs.append(y.mean(axis=0) if y.ndim == 5 else y)  # an ensemble: the mean
    return np.concatenate(outs)


def forecast(model, items, h, probs=()):
    """Forecasts of h steps after each prepared series, in z units.

    Returns:
        ``(point (N, h, F), {prob: (N, h, F)})``; the second is empty without ``probs``.
    """
    W, D = model.window, model._steps()
    K = model.n_future_
    blocks = -(-h // D)
    h_cov = blocks * D if (K and model.strategy == "direct") else h
    zw, pw, fw, st = _stack_windows(items, W, h_cov if K else 0)
    N, _, F = zw.shape
    zbuf = np.concatenate([zw, np.zeros((N, blocks * D, F))], axis=1)
    pbuf = np.concatenate([pw, np.repeat(pw[:, -1:], blocks * D, axis=1)], axis=1)
    fbuf = fw if K else np.zeros((N, W + blocks * D, 0))
    qbuf = {p: np.zeros((N, blocks * D, F)) for p in probs}
    sample = bool(probs) and model.loss == "gaussian" and model.strategy == "recursive"
    for k in range(0, h, D):
        y, a, b = _pass(model, zbuf, pbuf, fbuf, st, k, W, D, K)
        zbuf[:, W + k : W + k + D] = _point(y, model.loss, model.quantiles) * b + a
        if probs and not sample:
            for p, v in _probs_from_outputs(y, a, b, model.loss, model.quantiles, probs).items():
                qbuf[p][:, k : k + D] = v
    if sample:
        qbuf = _sampled_quantiles(model, zw, pw, fbuf, st, h, probs)
    point = zbuf[:, W : W + h]
    return point, {p: v[:, :h] for p, v in qbuf.items()}


def _pass(model, zbuf, pbuf, fbuf, st, k, W, D, K):
    """One network pass on the window ending before step k; outputs and its (a, b)."""
    win = zbuf[:, k : k + W]
    a, b = window_stats(win, model.scaling)
    fd = fbuf[:, W + k : W + k + D] if K else np.zeros((len(win), 0, 0))
    x = make_inputs((win - a) / b, pbuf[:, k : k + W], fbuf[:, k : k + W], fd, st, K > 0)
    y = run_network(model.net_, x, model.dtype)  # (N, D, F, P)
    return y, a[:, :1], b[:, :1]


def _sampled_quantiles(model, zw, pw, fbuf, st, h, probs):
    """Gaussian head, recursive: M sample paths per series (each step's draw is fed
    back, as in DeepAR); the empirical quantiles of the paths."""
    M = model.num_samples
    rng = np.random.default_rng(0 if model.seed is None or not isinstance(model.seed, int) else model.seed)
    rep = lambda a: np.repeat(a, M, axis=0)  # noqa: E731
    N, W, F = zw.shape
    K = model.n_future_
    zbuf = np.concatenate([rep(zw), np.zeros((N * M, h, F))], axis=1)
    pbuf = np.concatenate([rep(pw), np.repeat(rep(pw)[:, -1:], h, axis=1)], axis=1)
    fb, sb = rep(fbuf), rep(st)
    for k in range(h):
        y, a, b = _pass(model, zbuf, pbuf, fb, sb, k, W, 1, K)
        sigma = softplus(y[..., 1]) + SIGMA_MIN
        draw = y[..., 0] + sigma * rng.standard_normal(sigma.shape)
        zbuf[:, W + k : W + k + 1] = draw * b + a
    paths = zbuf[:, W:].reshape(N, M, h, F)
    return {p: np.quantile(paths, p, axis=1) for p in probs}
