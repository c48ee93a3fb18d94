"""Target transforms and scalers of the Forecaster, each inverted exactly on its output.

Shape legend: T steps, F features, N windows, W window, h forecast steps.

A series x (T, F) reaches the network in three stages, each undone in reverse order on
the forecasts:

1. **target transforms**, per series, in the order given (``"log+diff"``)::

       log            y_t = log x_t                    (x > 0)
       diff           y_t = x_t - x_{t-1}              (the series loses its first step)
       seasonal_diff  y_t = x_t - x_{t-m}              (loses m steps; m = period)
       deseason       y_t = x_t - s_{t mod m}          (s: seasonal indices of the history)

   ``deseason`` is classical additive decomposition: a centred moving average of m steps
   (2 x m for even m) takes the trend out, s_j is the mean of what is left at phase j over
   the latest 3 seasons (``SEASONS``; a season that drifts is followed, as STL's seasonal
   window does), centred to sum to 0. Unlike ``seasonal_diff`` it adds no noise: the forecast gets the
   average season back, not one noisy season of the history.

   Inverting needs the history at the transform's own stage: x^_{T+k} = x_T + sum of
   y^ (diff), x^_{T+k} = y^_{T+k} + x_{T+k-m} with earlier forecasts standing in for
   x past the origin (seasonal_diff), x^_{T+k} = y^_{T+k} + s_{(T+k) mod m} with s from
   the history (deseason), exp (log).

2. **series scaling**, z = (y - loc_i) / scale_i with statistics of series i:

       global     mean and standard deviation of all training values (one pair)
       series     the series' own mean and standard deviation
       robust     the series' median and interquartile range
       window     loc 0; scale the standard deviation of the series' first differences
       instance   loc 0, scale 1 (each window is normalised instead, below)
       none       loc 0, scale 1

   At prediction the statistics of ``series``/``robust``/``window`` are those of the
   history passed in (nothing after the forecast origin is read).

3. **window normalisation** (scaling ``window`` and ``instance`` only), per window n:
   u = (z - a_n) / b_n, with a_n the window's last value and b_n = 1 (``window``: the
   network sees and predicts changes from the last value), or a_n, b_n the window's mean
   and standard deviation (``instance``, as in RevIN).

Scales that come out as 0 (a constant series) are replaced by 1.
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("global", "series", "robust", "window", "instance", "none")
TRANSFORMS = ("log", "diff", "seasonal_diff", "deseason")
SEASONS = 3  # deseason averages the latest 3 seasons: a season that drifts is followed


def parse_transform(value, period) -> tuple[str, ...]:
    """``None``/``"none"``/``"log+diff"``/a tuple -> a tuple of transform names (checked)."""
    if value is None or value == "none" or value == ():
        return ()
    parts = tuple(p.strip() for p in value.split("+")) if isinstance(value, str) else tuple(value)
    for p in parts:
        if p not in TRANSFORMS:
            raise ValueError(
                f"target_transform: expected 'none' or names from {list(TRANSFORMS)} joined by '+', got {value!r}"
            )
    for p in ("seasonal_diff", "deseason"):
        if p in parts and not period:
            raise ValueError(f"target_transform: {p!r} needs period (the season length); got period=None")
    return parts


def _lost(parts, period) -> int:
    """How many leading steps the transforms consume."""
    return sum(1 if p == "diff" else (period if p == "seasonal_diff" else 0) for p in parts)


def seasonal_indices(x, period, name="series"):
    """Additive seasonal indices s (m, F) of x (T, F), T >= 2m, from the detrended values of
    the latest ``SEASONS`` seasons: phase j is step t with t mod m == j, counted from the
    first step of x."""
    T, m = len(x), period
    if 2 * m > T:
        raise ValueError(
            f"{name}: target_transform 'deseason' needs at least 2 seasons of "
            f"history ({2 * m} steps), got {T}; hint: a longer series, or "
            "'seasonal_diff' (one season)"
        )
    if m == 1:
        return np.zeros((1, x.shape[1]))
    # centred moving average: m steps for odd m, 2 x m (weights 1/2m at the ends) for even m
    w = np.ones(m) / m if m % 2 else np.r_[0.5, np.ones(m - 1), 0.5] / m
    half = len(w) // 2
    trend = np.stack([np.convolve(col, w, mode="valid") for col in x.T], axis=1)  # (T-2half, F)
    detr = x[half : T - half] - trend
    phase = np.arange(half, T - half) % m
    detr, phase = detr[-SEASONS * m :], phase[-SEASONS * m :]  # the latest SEASONS seasons
    s = np.zeros((m, x.shape[1]))
    np.add.at(s, phase, detr)
    s /= np.bincount(phase, minlength=m)[:, None]  # (m, F) means
    return s - s.mean(axis=0)


def transform_forward(x, parts, period, name="series"):
    """x (T, F) -> (stages, y): stages[k] is the input of transform k (kept for the inverse)."""
    stages, y = [], np.asarray(x, dtype=np.float64)
    for p in parts:
        stages.append(y)
        if p == "log":
            if np.any(y <= 0):
                raise ValueError(
                    f"{name}: target_transform 'log' needs values > 0, got a minimum of "
                    f"{y.min():g}; hint: use another transform or shift the series"
                )
            y = np.log(y)
        elif p == "diff":
            y = y[1:] - y[:-1]
        elif p == "deseason":
            s = seasonal_indices(y, period, name)
            y = y - s[np.arange(len(y)) % period]
        else:
            y = y[period:] - y[:-period]
    return stages, y


def transform_inverse(yhat, stages, parts, period):
    """Forecasts at the last stage (..., h, F) -> forecasts of the original series.

    ``stages`` are the histories returned by :func:`transform_forward` for the same series.
    Leading axes of ``yhat`` (quantiles, samples) are handled alike.
    """
    out = np.asarray(yhat, dtype=np.float64)
    for p, hist in zip(reversed(parts), reversed(stages), strict=False):
        if p == "log":
            out = np.exp(out)
        elif p == "diff":
            out = hist[-1] + np.cumsum(out, axis=-2)
        elif p == "deseason":
            s = seasonal_indices(hist, period)
            out = out + s[(len(hist) + np.arange(out.shape[-2])) % period]
        else:
            h = out.shape[-2]
            full = np.concatenate(
                [np.broadcast_to(hist[-period:], out.shape[:-2] + hist[-period:].shape), np.zeros_like(out)], axis=-2
            )  # (..., m + h, F)
            for k in range(h):
                full[..., period + k, :] = out[..., k, :] + full[..., k, :]
            out = full[..., period:, :]
    return out


def series_stats(y, scaling, global_stats=None):
    """(loc (F,), scale (F,)) of one transformed series y (T, F) for ``scaling``."""
    F = y.shape[1]
    if scaling == "global":
        return global_stats
    if scaling in ("instance", "none"):
        return np.zeros(F), np.ones(F)
    if scaling == "series":
        loc, scale = y.mean(axis=0), y.std(axis=0)
    elif scaling == "robust":
        q25, loc, q75 = np.percentile(y, [25, 50, 75], axis=0)
        scale = q75 - q25
    else:  # window
        loc = np.zeros(F)
        scale = np.diff(y, axis=0).std(axis=0) if len(y) > 2 else np.ones(F)
    return loc, np.where(scale > 1e-12 * (1 + np.abs(loc)), scale, 1.0)


def global_stats(ys):
    """Mean and standard deviation over every step of every series (for ``global``)."""
    allv = np.concatenate(ys)
    std = allv.std(axis=0)
    return allv.mean(axis=0), np.where(std > 0, std, 1.0)


def window_stats(win, scaling):
    """(a, b) of windows win (N, W, F) for window normalisation: each (N, 1, F)."""
    if scaling == "window":
        return win[:, -1:, :], np.ones_like(win[:, -1:, :])
    if scaling == "instance":
        a = win.mean(axis=1, keepdims=True)
        b = win.std(axis=1, keepdims=True)
        return a, np.where(b > 1e-8, b, 1.0)
    zero = np.zeros((win.shape[0], 1, win.shape[2]))
    return zero, np.ones_like(zero)


class SeriesScaler:
    """The three stages for one series: ``prepare`` its history, ``invert`` forecasts.

    Example::

        s = SeriesScaler(("log",), "series", period=12)
        z = s.prepare(x)                  # (T', F) scaled, transformed
        x_hat = s.invert(z_hat)           # z_hat (..., h, F) -> original units
    """

    def __init__(self, parts, scaling, period=None, global_stats=None, name="series"):
        self.parts, self.scaling, self.period = parts, scaling, period
        self.global_stats, self.name = global_stats, name

    def transform(self, x):
        """x (T, F) -> the transformed series y (T', F); remembers the stage histories."""
        self.stages, y = transform_forward(x, self.parts, self.period, self.name)
        return y

    def prepare(self, x, stats_from=None):
        """x (T, F) -> z (T', F). ``stats_from`` (T'', F): another transformed series whose
        statistics to use (default: y itself)."""
        y = self.transform(x)
        self.loc, self.scale = series_stats(y if stats_from is None else stats_from, self.scaling, self.global_stats)
        return (y - self.loc) / self.scale

    def invert(self, z):
        """Scaled forecasts (..., h, F) -> original units."""
        return transform_inverse(np.asarray(z) * self.scale + self.loc, self.stages, self.parts, self.period)

    def invert_scale(self, s):
        """A standard deviation in scaled units -> transformed units (before the transforms)."""
        return np.asarray(s) * self.scale


def lost_steps(parts, period) -> int:
    return _lost(parts, period)


def history_steps(parts, period, window: int) -> int:
    """The fewest values a history needs: the window plus the steps the transforms take,
    and 2 seasons at the stage of ``deseason`` (its indices come from the history)."""
    need = window + _lost(parts, period)
    if "deseason" in parts:
        need = max(need, _lost(parts[: parts.index("deseason")], period) + 2 * period)
    return need
