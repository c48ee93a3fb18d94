"""Forecasting time series from sliding windows, with the baselines it must beat.

Shape legend: T series length, F features (1 for a univariate series), W window, h horizon,
N windows (or forecast origins).

Training pairs are cut from every series with a window of W steps::

    input   x[t - W : t]                      (W, F), standardised
    target  x[t]              "recursive"     one step; h steps by feeding forecasts back
            x[t : t + h]      "direct"        all h steps at once from one head (h * F outputs)

The network is an RNN/LSTM/GRU over the window, its last hidden state, and a Linear head.
Scaling (mean and standard deviation per feature) is fitted on the training series only and
applied to validation and prediction inputs. With ``normalize="window"`` every window and
its targets are further taken relative to the window's last value, x - x[t - 1]: the
network predicts changes, so a trend or level shift that leaves the training range does
not push its inputs out of the range it was trained on.

Baselines: ``naive`` repeats the last value, x^[t + k] = x[t - 1]; ``seasonal_naive``
repeats the last season, x^[t + k] = x[t + k - m * (floor(k / m) + 1)] for period m.
:meth:`Forecaster.evaluate` scores the model and the baselines on rolling origins with

    RMSE = sqrt(mean over origins, steps, features of (x^ - x)^2)
    NRMSE = RMSE / std(x over the evaluated targets)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._data import FEATURES, Batch, rank_batches
from ._sequence import r2_score
from .base import BaseEstimator, check_choice, check_int_param
from .network import SequenceNet


def _as_series_list(series, name="series"):
    """One series (T,) / (T, F) or a list of them -> (list of (T_i, F) float64, was_1d)."""
    if isinstance(series, np.ndarray) or (isinstance(series, (list, tuple)) and series
                                          and np.isscalar(series[0])):
        items, single = [series], True
    elif isinstance(series, (list, tuple)):
        items, single = list(series), False
    else:
        raise TypeError(f"{name}: expected an array (T,) or (T, F), or a list of them, got {type(series).__name__}")
    if not items:
        raise ValueError(f"{name}: expected at least one series, got an empty list")
    out, ndims = [], set()
    for i, s in enumerate(items):
        where = name if single else f"{name}[{i}]"
        try:
            a = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where}: expected numbers, got {type(s).__name__}") from None
        if a.ndim not in (1, 2):
            raise ValueError(f"{where}: expected shape (T,) or (T, F), got {a.shape}")
        if a.size == 0:
            raise ValueError(f"{where}: expected at least one value, got an empty series")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where}: contains NaN or inf; hint: fill or drop missing values first")
        ndims.add(a.ndim)
        out.append(a[:, None] if a.ndim == 1 else a)
    if len({a.shape[1] for a in out}) > 1:
        raise ValueError(f"{name}: expected every series to have the same number of features, "
                         f"got {sorted({a.shape[1] for a in out})}")
    return out, ndims == {1}, single


def naive_forecast(history, horizon: int) -> np.ndarray:
    """Repeat the last value: (T,) or (T, F) -> (horizon,) or (horizon, F)."""
    h = check_int_param("horizon", horizon)
    a = np.asarray(history, dtype=np.float64)
    if a.ndim not in (1, 2) or len(a) == 0:
        raise ValueError(f"history: expected a non-empty (T,) or (T, F) array, got shape {a.shape}")
    return np.repeat(a[-1:], h, axis=0)


def seasonal_naive_forecast(history, horizon: int, period: int) -> np.ndarray:
    """Repeat the last full season of ``period`` steps (needs T >= period)."""
    h, m = check_int_param("horizon", horizon), check_int_param("period", period)
    a = np.asarray(history, dtype=np.float64)
    if a.ndim not in (1, 2) or len(a) < m:
        raise ValueError(f"history: expected at least period={m} values, got shape {a.shape}")
    k = np.arange(h)
    return a[len(a) + k - m * (k // m + 1)]


class Forecaster(BaseEstimator):
    """One-step and multi-step forecasts of one or several (multivariate) series.

    Example::

        fc = Forecaster(window=24, horizon=12, strategy="direct", epochs=20, seed=0)
        fc.fit(train_series)
        fc.predict(history, horizon=12)                  # (12,) for a 1-D series
        fc.evaluate(full_series, start=len(train_series), period=24)
    """

    _requires_y = False

    def __init__(self, cell="lstm", hidden_size=32, num_layers=1, dropout=0.0, recurrent_dropout=0.0,
                 window=24, horizon=1, strategy="recursive", normalize="series", period=None,
                 optimizer="adam", lr=0.005,
                 weight_decay=0.0, epochs=20, batch_size=64, clip_norm=5.0, patience=None, seed=None,
                 dtype="float32", verbose=False):
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.window, self.horizon, self.strategy, self.period = window, horizon, strategy, period
        self.normalize = normalize
        self.optimizer, self.lr, self.weight_decay, self.epochs = optimizer, lr, weight_decay, epochs
        self.batch_size, self.clip_norm, self.patience = batch_size, clip_norm, patience
        self.seed, self.dtype, self.verbose = seed, dtype, verbose

    def _validate_params(self):
        super()._validate_params()
        check_int_param("window", self.window)
        check_int_param("horizon", self.horizon)
        check_choice("strategy", self.strategy, ("recursive", "direct"))
        check_choice("normalize", self.normalize, ("series", "window"))
        check_int_param("period", self.period, allow_none=True)

    # -- fit ------------------------------------------------------------------------------
    def _pairs(self, series_list, name):
        """Windows (N, W, F) and targets (N, K) in scaled units from every series."""
        W = self.window
        steps = self.horizon if self.strategy == "direct" else 1
        xs, ys = [], []
        for s in series_list:
            z = (s - self.mean_) / self.scale_
            n = len(z) - W - steps + 1
            if n <= 0:
                continue
            win = sliding_window_view(z, (W + steps, z.shape[1]))[:n, 0]      # (n, W + steps, F)
            win = win - self._anchor(win[:, :W])
            xs.append(win[:, :W])
            ys.append(win[:, W:].reshape(n, -1))                              # (n, steps * F)
        if not xs:
            raise ValueError(f"{name}: expected a series of at least window + {steps} = {W + steps} "
                             f"values, got lengths {[len(s) for s in series_list]}; "
                             "hint: lower window (or horizon for strategy='direct')")
        return np.concatenate(xs), np.concatenate(ys)

    def fit(self, series, y=None, *, validation_data=None):
        """Learn from one series (T,) / (T, F) or a list of them; returns self.

        ``y`` is ignored (the targets are the series' own future; scikit-learn's signature).
        ``validation_data`` is a held-out series (or list) scored with the training scaler.
        """
        self._validate_params()
        rng = self._make_rng()
        items, self.univariate_, _ = _as_series_list(series)
        allv = np.concatenate(items)
        self.n_features_in_ = allv.shape[1]
        self.mean_ = allv.mean(axis=0)
        std = allv.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        X, Y = self._pairs(items, "series")
        val = None
        if validation_data is not None:
            vitems, _, _ = _as_series_list(validation_data, "validation_data")
            self._check_features(vitems, "validation_data")
            vx, vy = self._pairs(vitems, "validation_data")
            val = [self._batch(vx[i:i + 1024], vy[i:i + 1024]) for i in range(0, len(vx), 1024)]

        def train_batches(epoch, gen):
            order = gen.permutation(len(X))
            return rank_batches(lambda idx: self._batch(X[idx], Y[idx]),
                                (order[i:i + self.batch_size] for i in range(0, len(X), self.batch_size)), X, Y)

        self.net_ = self._build_net(rng)
        self.history_ = self._train(self.net_, train_batches, val, rng)
        return self

    def _batch(self, x, y=None):
        xb = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.dtype)        # (W, B, F)
        lengths = np.full(x.shape[0], x.shape[1], np.int64)
        return Batch(xb, lengths, None if y is None else y.astype(self.dtype))

    def _build_net(self, rng):
        F = self.n_features_in_
        out = F * (self.horizon if self.strategy == "direct" else 1)
        return SequenceNet(kind=FEATURES, input_size=F, output_size=out, cell=self.cell,
                           hidden_size=self.hidden_size, num_layers=self.num_layers, dropout=self.dropout,
                           recurrent_dropout=self.recurrent_dropout, pooling="last", loss="mse",
                           dtype=self.dtype, rng=rng)

    def _check_features(self, items, name):
        if items[0].shape[1] != self.n_features_in_:
            raise ValueError(f"{name}: expected {self.n_features_in_} features per step (as in fit), "
                             f"got {items[0].shape[1]}")

    # -- forecasting ----------------------------------------------------------------------
    def _check_horizon(self, horizon):
        h = self.horizon if horizon is None else horizon
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"horizon: expected an int >= 1, got {horizon!r}")
        if self.strategy == "direct" and h > self.horizon:
            raise ValueError(f"horizon: the direct strategy forecasts at most {self.horizon} steps (the "
                             f"horizon it was fitted with), got {h}; hint: refit with horizon={h} or "
                             "use strategy='recursive'")
        return int(h)

    def _forecast_scaled(self, windows, h):
        """windows (N, W, F) scaled -> (N, h, F) scaled forecasts."""
        self.net_.eval()
        N, _, F = windows.shape
        out = np.empty((N, h, F))
        for i in range(0, N, 1024):
            win = windows[i:i + 1024].astype(np.float64)
            if self.strategy == "direct":
                anchor = self._anchor(win)                                        # (n, 1, F)
                y, _ = self.net_.forward(*self._inputs(win - anchor))
                out[i:i + 1024] = y.reshape(len(win), -1, F)[:, :h] + anchor
                continue
            for k in range(h):
                anchor = self._anchor(win)
                y, _ = self.net_.forward(*self._inputs(win - anchor))              # (n, F)
                y = y.astype(np.float64) + anchor[:, 0]
                out[i:i + 1024, k] = y
                win = np.concatenate([win[:, 1:], y[:, None, :]], axis=1)
        return out

    def _anchor(self, win):
        """What a window is taken relative to: 0, or its last value with normalize="window"."""
        return win[:, -1:, :] if self.normalize == "window" else np.zeros_like(win[:, -1:, :])

    def _inputs(self, win):
        b = self._batch(win)
        return b.inputs, b.lengths

    def predict(self, history, horizon=None):
        """Forecast the next ``horizon`` steps after ``history`` (its last ``window`` values).

        Returns (horizon,) for a 1-D history, (horizon, F) for a 2-D one, or a list of those
        for a list of histories.
        """
        self._check_fitted()
        h = self._check_horizon(horizon)
        items, _, single = _as_series_list(history, "history")
        self._check_features(items, "history")
        short = [len(s) for s in items if len(s) < self.window]
        if short:
            raise ValueError(f"history: expected at least window={self.window} values, got a series of "
                             f"length {short[0]}")
        windows = np.stack([(s[-self.window:] - self.mean_) / self.scale_ for s in items])
        pred = self._forecast_scaled(windows, h) * self.scale_ + self.mean_          # (N, h, F)
        outs = [p[:, 0] if np.ndim(np.asarray(s)) == 1 else p for p, s in
                zip(pred, [history] if single else history)]
        return outs[0] if single else outs

    def _rolling(self, series, horizon, start, stride, period):
        """Model and baseline forecasts on every origin; returns (truth, {name: forecasts})."""
        self._check_fitted()
        h = self._check_horizon(horizon)
        stride = check_int_param("stride", stride)
        m = self.period if period is None else check_int_param("period", period)
        items, _, _ = _as_series_list(series)
        self._check_features(items, "series")
        first = max(self.window, m or 1, 0 if start is None else check_int_param("start", start, 0))
        truth, fc = [], {"model": [], "naive": []} | ({"seasonal_naive": []} if m else {})
        for s in items:
            origins = np.arange(first, len(s) - h + 1, stride)
            if len(origins) == 0:
                continue
            win = np.stack([(s[t - self.window:t] - self.mean_) / self.scale_ for t in origins])
            fc["model"].append(self._forecast_scaled(win, h) * self.scale_ + self.mean_)
            truth.append(np.stack([s[t:t + h] for t in origins]))                     # (N, h, F)
            fc["naive"].append(np.stack([naive_forecast(s[:t], h) for t in origins]))
            if m:
                fc["seasonal_naive"].append(np.stack([seasonal_naive_forecast(s[:t], h, m) for t in origins]))
        if not truth:
            raise ValueError(f"series: expected room for at least one forecast origin t with "
                             f"{first} <= t <= T - {h}, got lengths {[len(s) for s in items]}")
        return np.concatenate(truth), {k: np.concatenate(v) for k, v in fc.items()}

    def evaluate(self, series, *, horizon=None, start=None, stride=1, period=None) -> dict:
        """RMSE and NRMSE of the model and the baselines on rolling forecast origins.

        Every origin t (from max(window, period, start) to T - horizon, every ``stride``
        steps) forecasts x[t : t + horizon] from x[:t]. ``period`` (default: the one given to
        the constructor) adds the seasonal-naive baseline.

        Returns:
            ``{"model": {"rmse", "nrmse", "rmse_by_step"}, "naive": {...},
            ["seasonal_naive": {...},] "n_forecasts": N, "horizon": h}``.
        """
        truth, fc = self._rolling(series, horizon, start, stride, period)
        scale = float(truth.std()) or 1.0
        report = {}
        for name, pred in fc.items():
            err = (pred - truth) ** 2                                                # (N, h, F)
            rmse = float(np.sqrt(err.mean()))
            report[name] = {"rmse": rmse, "nrmse": rmse / scale,
                            "rmse_by_step": np.sqrt(err.mean(axis=(0, 2))).tolist()}
        report["n_forecasts"], report["horizon"] = len(truth), truth.shape[1]
        return report

    def score(self, series, y=None, *, horizon=None, start=None, stride=1) -> float:
        """R^2 of the rolling ``horizon``-step forecasts over ``series`` (higher is better)."""
        truth, fc = self._rolling(series, horizon, start, stride, None)
        return r2_score(truth.reshape(len(truth), -1), fc["model"].reshape(len(truth), -1))

    # -- persistence ----------------------------------------------------------------------
    def _fit_state(self):
        return {"n_features_in": self.n_features_in_, "univariate": self.univariate_,
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    def _set_fit_state(self, state):
        self.n_features_in_ = state["n_features_in"]
        self.univariate_ = state["univariate"]
        self.mean_ = np.asarray(state["mean"], np.float64)
        self.scale_ = np.asarray(state["scale"], np.float64)
