"""Forecasting one or many series with one global model, from sliding windows.

Shape legend: T series length, F target features (1 for a univariate series), W window,
h horizon, N windows (or forecast origins).

Training pairs are cut from every series with a window of W steps::

    input   x[t - W : t]  (+ covariates)      (W, I)
    target  x[t]              "recursive"     one step; h steps by feeding forecasts back
            x[t : t + h]      "direct"        all h steps at once (blocks of h beyond)

The series go through target transforms, series scaling and window normalisation
(:mod:`.scaling`), all undone exactly on the forecasts; covariates are described
in :mod:`.covariates`, the training windows (and the validation part held out
of them) in :mod:`.windows`, the loops in :mod:`.loop`, the network and its
losses (squared error, pinball for quantiles, Gaussian likelihood) in :mod:`.net`.
Rolling-origin scoring beside the naive baselines lives in :mod:`.scoring`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import ArrayLike

from ..data.series_dates import future_dates, infer_frequency, season_length
from ..models._data import Batch, rank_batches
from ..models.base import BaseEstimator, check_choice, check_float_param, check_int_param
from ..train.callbacks import Callback
from .conformal import point_intervals
from .covariates import as_covariate_list, calendar_features, make_inputs, parse_calendar
from .inputs import ForecastLike, SeriesLike, as_series_list, from_pandas, to_pandas
from .loop import Prepared, forecast
from .net import LOSSES, ForecastEnsemble, ForecastNet
from .scaling import (
    SCALINGS,
    SeriesScaler,
    global_stats,
    history_steps,
    lost_steps,
    parse_transform,
    transform_forward,
    window_stats,
)
from .scoring import ScoringMixin
from .windows import cut_windows, hold_out

DEFAULT_QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)


class Forecaster(ScoringMixin, BaseEstimator):
    """Point and probabilistic forecasts of one or many (multivariate) series.

    Example::

        fc = Forecaster(window=24, horizon=12, strategy="direct", loss="quantile", seed=0)
        fc.fit(train_series)                               # an array, a list, or pandas
        fc.predict(history, horizon=12)                    # (12,) for a 1-D series
        fc.predict_intervals(history, 12, levels=(80, 95)) # {"point", "lo_80", "hi_80", ...}
    """

    _requires_y = False

    def __init__(
        self,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        window: int = 24,
        horizon: int = 1,
        strategy: Literal["recursive", "direct"] = "recursive",
        scaling: Literal["global", "series", "robust", "window", "instance", "none"] = "window",
        target_transform: str | Sequence[str] | None = None,
        period: int | None = None,
        loss: Literal["mse", "quantile", "gaussian"] = "mse",
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        calendar: str | Sequence[str] | None = None,
        num_samples: int = 200,
        ensemble: int = 1,
        validation_fraction: float = 0.0,
    ) -> None:
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.window, self.horizon, self.strategy, self.period = window, horizon, strategy, period
        self.scaling, self.target_transform = scaling, target_transform
        self.loss, self.quantiles, self.calendar, self.num_samples = loss, quantiles, calendar, num_samples
        self.ensemble = ensemble
        self.validation_fraction = validation_fraction

    def _validate_params(self):
        super()._validate_params()
        check_int_param("window", self.window)
        check_int_param("horizon", self.horizon)
        check_int_param("num_samples", self.num_samples)
        check_int_param("ensemble", self.ensemble)
        check_choice("strategy", self.strategy, ("recursive", "direct"))
        check_choice("scaling", self.scaling, SCALINGS)
        check_choice("loss", self.loss, LOSSES)
        check_float_param("validation_fraction", self.validation_fraction, high=1.0, high_open=True)
        check_int_param("period", self.period, allow_none=True)
        q = self.quantiles
        if not isinstance(q, (tuple, list)) or not q or not all(isinstance(v, float) and 0 < v < 1 for v in q):
            raise ValueError(f"quantiles: expected a tuple of floats in (0, 1), got {q!r}")
        if self.loss == "quantile" and not any(abs(v - 0.5) < 1e-12 for v in q):
            raise ValueError(f"quantiles: expected 0.5 among them (the point forecast), got {q!r}")

    def _steps(self):
        return self.horizon if self.strategy == "direct" else 1

    # -- preparing series -----------------------------------------------------------------
    def _prepare(self, items, past, future, static, dates, *, extra=0, name="series", ids=None):
        """Prepared series (see :mod:`.loop`); ``extra``: known-future rows needed
        after each series."""
        lengths = [len(s) for s in items]
        past = as_covariate_list(past, len(items), lengths, "past_covariates", at_least=True)
        note = (
            f": the direct strategy reads them for whole blocks of {self.horizon} steps"
            if extra and self.strategy == "direct"
            else ""
        )
        future = as_covariate_list(
            future, len(items), lengths, "future_covariates", at_least=True, extra=extra, note=note
        )
        static = self._static(static, len(items))
        for kind, got, want in (
            ("past_covariates", past, self.n_past_),
            ("future_covariates", future, self.n_future_user_),
            ("static_covariates", static, self.n_static_),
        ):
            width = 0 if got is None else (got.shape[1] if kind == "static_covariates" else got[0].shape[1])
            if width != want:
                raise ValueError(f"{kind}: expected {want} column(s) (as in fit), got {width}")
        if self.calendar_ and dates is None:
            raise ValueError(
                f"dates: the model reads calendar features {list(self.calendar_)}; "
                "expected the dates of each series (dates=..., or a DatetimeIndex)"
            )
        L = lost_steps(self.parts_, self.period_)
        out = []
        for i, s in enumerate(items):
            where = name if ids is None else f"{name} {ids[i]!r}"
            sc = SeriesScaler(self.parts_, self.scaling, self.period_, self.global_, where)
            z = sc.prepare(s)
            p = past[i][L : len(s)] if past is not None else np.empty((len(z), 0))  # never past the origin
            f = future[i][L:] if future is not None else np.empty((len(z) + extra, 0))
            f = (f[: len(z) + extra] - self.fmean_) / self.fscale_
            if self.calendar_:
                d = np.asarray(dates[i], dtype="datetime64[s]")
                if extra:
                    d = np.concatenate([d, future_dates(d, self.freq_, extra)])
                f = np.concatenate([f, calendar_features(d[L:], self.calendar_)], axis=1)
            st = (static[i] - self.smean_) / self.sscale_ if static is not None else np.empty(0)
            out.append(Prepared(z, (p - self.pmean_) / self.pscale_, f, st, sc))
        return out

    def _static(self, static, n):
        if static is None:
            return None
        a = np.asarray(static, dtype=np.float64)
        a = a.reshape(n, -1) if a.ndim < 2 else a
        if a.shape[0] != n or not np.all(np.isfinite(a)):
            raise ValueError(f"static_covariates: expected {n} finite row(s) (one per series), got shape {a.shape}")
        return a

    def _fit_covariate_stats(self, items, past, future, static, dates):
        lengths = [len(s) for s in items]
        stats = []
        for cov, kind in ((past, "past_covariates"), (future, "future_covariates")):
            lst = as_covariate_list(cov, len(items), lengths, kind, at_least=True)
            if lst is None:
                stats.append((0, np.zeros(0), np.ones(0)))
                continue
            mean, scale = global_stats([c[:n] for c, n in zip(lst, lengths, strict=False)])
            stats.append((lst[0].shape[1], mean, scale))
        (self.n_past_, self.pmean_, self.pscale_), (self.n_future_user_, self.fmean_, self.fscale_) = stats
        st = self._static(static, len(items))
        self.n_static_ = 0 if st is None else st.shape[1]
        self.smean_, self.sscale_ = (np.zeros(0), np.ones(0)) if st is None else global_stats([st])

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self,
        series: SeriesLike,
        y: object = None,
        *,
        past_covariates: SeriesLike = None,
        future_covariates: SeriesLike = None,
        static_covariates: ArrayLike | None = None,
        dates: SeriesLike = None,
        validation_data: SeriesLike = None,
        validation_covariates: dict[str, Any] | None = None,
        callbacks: Sequence[Callback] | None = None,
    ) -> Self:
        """Learn from one series (T,) / (T, F), a list of them, or pandas; returns self.

        Args:
            past_covariates: (T, P) per series (a list for several): known to the origin only.
            future_covariates: (T, K) per series: known for the forecast steps too.
            static_covariates: (n_series, S): one row per series.
            dates: (T,) datetime64 per series, for calendar features and future dates
                (a pandas DatetimeIndex gives them).
            validation_data: a held-out series (or list), scored with the training scalers.
            validation_covariates: its covariates and dates, a dict with the keys
                ``past_covariates``, ``future_covariates``, ``static_covariates``, ``dates``.
            callbacks: :class:`rnnkit.train.callbacks.Callback` instances for the Trainer.
        Without ``validation_data``, ``validation_fraction`` > 0 holds out the end of each
        series instead (:func:`.windows.hold_out`) for early stopping (``patience``).
        ``y`` is ignored (the targets are the series' own future; scikit-learn's signature).
        """
        self._validate_params()
        rng = self._make_rng()
        items, ids, dates, pmeta = from_pandas(series, dates, "series")
        items, self.univariate_, _ = as_series_list(items)
        self.n_features_in_ = items[0].shape[1]
        self.freq_ = _frequency(dates)

        self.period_ = self.period or (season_length(self.freq_) if self.freq_ else None)
        self.parts_ = parse_transform(self.target_transform, self.period_)
        self.calendar_ = parse_calendar(self.calendar, self.freq_)
        if self.calendar_ and dates is None:
            raise ValueError(
                f"calendar: {self.calendar!r} needs dates; pass dates=... or a pandas object with a DatetimeIndex"
            )

        ys = [
            transform_forward(s, self.parts_, self.period_, f"series {ids[i]!r}" if ids else "series")[1]
            for i, s in enumerate(items)
        ]
        self.global_ = global_stats(ys) if self.scaling == "global" else None
        self._fit_covariate_stats(items, past_covariates, future_covariates, static_covariates, dates)
        self.n_future_ = self.n_future_user_ + 2 * len(self.calendar_)
        prep = self._prepare(items, past_covariates, future_covariates, static_covariates, dates, ids=ids)
        data = self._windows(prep, "series", ids)
        val = vdata = None
        if validation_data is not None:
            vc = dict(validation_covariates or {})
            vitems, _, vdates, _ = from_pandas(validation_data, vc.get("dates"), "validation_data")
            vitems, _, _ = as_series_list(vitems, "validation_data")
            self._check_features(vitems, "validation_data")
            vprep = self._prepare(
                vitems,
                vc.get("past_covariates"),
                vc.get("future_covariates"),
                vc.get("static_covariates"),
                vdates,
                name="validation_data",
            )
            vdata = self._windows(vprep, "validation_data")
        elif self.validation_fraction:
            data, vdata = self._hold_out(data, prep)
        if vdata is not None:
            val = [
                self._batch(vdata, np.arange(i, min(i + 1024, len(vdata[-1])))) for i in range(0, len(vdata[-1]), 1024)
            ]

        def train_batches(epoch, gen):
            order = gen.permutation(len(data[-1]))  # under mpiexec each rank builds its part of a batch
            return rank_batches(
                lambda idx: self._batch(data, idx),
                (order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)),
                data[0],
                data[-1],
            )

        self.net_ = self._start_net(rng)
        self.history_ = self._train(self.net_, train_batches, val, rng, callbacks=callbacks)
        return self

    def _windows(self, prep, name, ids=None):
        return cut_windows(prep, self.window, self._steps(), lost_steps(self.parts_, self.period_), name, ids)

    def _hold_out(self, data, prep):
        return hold_out(data, prep, self.window, self._steps(), self.validation_fraction)

    def _batch(self, data, idx):
        Z, P, Fc, S, series, origins = data
        W, D = self.window, self._steps()
        rows = (origins[idx] - W)[:, None] + np.arange(W + D)  # (B, W + D)
        zz = Z[rows]
        a, b = window_stats(zz[:, :W], self.scaling)
        fd = Fc[rows[:, W:]] if self.n_future_ else np.zeros((len(idx), 0, 0))
        x = make_inputs((zz[:, :W] - a) / b, P[rows[:, :W]], Fc[rows[:, :W]], fd, S[series[idx]], self.n_future_ > 0)
        target = (zz[:, W:] - a) / b  # (B, D, F)
        lengths = np.full(len(idx), x.shape[0], np.int64)
        return Batch(np.ascontiguousarray(x, dtype=self.dtype), lengths, target.astype(self.dtype))

    def _input_size(self):
        return self.n_features_in_ + self.n_past_ + self.n_future_ + self.n_static_ + (1 if self.n_future_ else 0)

    def _build_net(self, rng):
        """A :class:`ForecastNet`, or a :class:`ForecastEnsemble` of ``ensemble`` of them."""
        members = [
            ForecastNet(
                input_size=self._input_size(),
                steps=self._steps(),
                features=self.n_features_in_,
                loss=self.loss,
                quantiles=tuple(self.quantiles),
                cell=self.cell,
                hidden_size=self.hidden_size,
                num_layers=self.num_layers,
                dropout=self.dropout,
                recurrent_dropout=self.recurrent_dropout,
                dtype=self.dtype,
                rng=rng,
            )
            for _ in range(self.ensemble)
        ]
        return members[0] if self.ensemble == 1 else ForecastEnsemble(members)

    def _check_features(self, items, name):
        if items[0].shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name}: expected {self.n_features_in_} features per step (as in fit), got {items[0].shape[1]}"
            )

    # -- forecasting ----------------------------------------------------------------------
    def _check_horizon(self, horizon):
        h = self.horizon if horizon is None else horizon
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"horizon: expected an int >= 1, got {horizon!r}")
        return int(h)

    def _run(self, history, horizon, past, future, static, dates, probs):
        """Forecasts in original units: (items, point (N, h, F), {prob: (N, h, F)}, meta)."""
        self._check_fitted()
        h = self._check_horizon(horizon)
        items, ids, dates, meta = from_pandas(history, dates, "history")
        items, _, single = as_series_list(items, "history")
        self._check_features(items, "history")
        L = lost_steps(self.parts_, self.period_)
        first = history_steps(self.parts_, self.period_, self.window)
        short = [(i, len(s)) for i, s in enumerate(items) if len(s) < first]
        if short:
            i, n = short[0]
            who = f"history {ids[i]!r}" if ids else "history"
            what = "window" + (" + transform steps" if L else "")
            if first > self.window + L:
                what = f"2 seasons for 'deseason' (window{' + transform steps' if L else ''}: {self.window + L})"
            raise ValueError(f"{who}: expected at least {what} = {first} values, got {n}")
        need = -(-h // self._steps()) * self._steps() if self.strategy == "direct" else h
        prep = self._prepare(
            items, past, future, static, dates, extra=need if self.n_future_ else 0, name="history", ids=ids
        )
        point, qs = forecast(self, prep, h, probs)
        point = np.stack([p.scaler.invert(v) for p, v in zip(prep, point, strict=False)])
        qs = {q: np.stack([p.scaler.invert(v) for p, v in zip(prep, arr, strict=False)]) for q, arr in qs.items()}
        meta.update(ids=ids, dates=dates, single=single, history=history, freq=self.freq_)
        return items, point, qs, meta

    def predict(
        self,
        history: SeriesLike,
        horizon: int | None = None,
        *,
        past_covariates: SeriesLike = None,
        future_covariates: SeriesLike = None,
        static_covariates: ArrayLike | None = None,
        dates: SeriesLike = None,
    ) -> ForecastLike:
        """Forecast the next ``horizon`` steps after ``history`` (its last ``window`` values).

        Returns (horizon,) for a 1-D history, (horizon, F) for a 2-D one, a list of those
        for a list of histories, or pandas (with the future dates) for pandas input.
        ``future_covariates`` need rows for the history and the horizon.
        """
        items, point, _, meta = self._run(
            history, horizon, past_covariates, future_covariates, static_covariates, dates, ()
        )
        if meta.get("pandas"):
            return to_pandas(meta, {"": point})
        return _shape_like(point, items, meta)

    def predict_intervals(
        self, history: SeriesLike, horizon: int | None = None, levels: Sequence[float] = (80, 95), **covariates: Any
    ) -> dict[str, ForecastLike] | ForecastLike:
        """Point forecasts and central intervals: ``{"point", "lo_80", "hi_80", ...}``.

        From the model's quantiles (``loss="quantile"``), its Gaussian likelihood
        (``loss="gaussian"``; sampled paths when recursive), or, for a point model,
        :meth:`residual_intervals`. Each value is shaped as :meth:`predict` returns. The
        method used is kept in ``interval_method_``: "quantile", "gaussian" or "cross-fit".
        """
        levels = _check_levels(levels)
        if unknown := sorted(set(covariates) - {"past_covariates", "future_covariates", "static_covariates", "dates"}):
            raise TypeError(
                f"predict_intervals: unexpected argument {unknown[0]!r}; expected past_covariates, "
                "future_covariates, static_covariates or dates (levels=(80, 95) for the levels)"
            )
        if self.loss == "mse":
            return self.residual_intervals(history, horizon, levels, **covariates)
        self.interval_method_ = str(self.loss)
        probs = sorted({p for lv in levels for p in _level_probs(lv)})
        items, point, qs, meta = self._run(
            history,
            horizon,
            covariates.get("past_covariates"),
            covariates.get("future_covariates"),
            covariates.get("static_covariates"),
            covariates.get("dates"),
            probs,
        )
        cols = {"point": point}
        for lv in levels:
            lo, hi = _level_probs(lv)
            cols[f"lo_{lv:g}"] = np.minimum(qs[lo], point)
            cols[f"hi_{lv:g}"] = np.maximum(qs[hi], point)
        if meta.get("pandas"):
            return to_pandas(meta, {"" if k == "point" else f"_{k}": v for k, v in cols.items()})
        return {k: _shape_like(v, items, meta) for k, v in cols.items()}

    def residual_intervals(
        self, history: SeriesLike, horizon: int | None, levels: Sequence[float], **covariates: Any
    ) -> dict[str, ForecastLike]:
        """Conformal intervals for a point model (``loss="mse"``) on an array or a list of them.

        The history may have been trained on, so the bands are calibrated on out-of-sample
        errors: ``FOLDS`` copies with this model's settings refitted on earlier parts of the
        history, each forecasting the steps after its part; the bands widen with the horizon
        as those errors do (:func:`rnnkit.forecast.conformal.point_intervals`; the method
        is kept in ``interval_method_``).
        """
        if hasattr(history, "to_numpy") or not isinstance(history, (np.ndarray, list, tuple)):
            raise ValueError(
                "intervals: a point model's conformal intervals are built for series given as arrays "
                f"(T,) or (T, F) or a list of them, got {type(history).__name__}; hint: fit with "
                "loss='quantile' or loss='gaussian', whose intervals come from the model itself"
            )
        items, _, single = as_series_list(history, "history")
        cal = point_intervals(self, items, self._check_horizon(horizon), levels, method="cross-fit", **covariates)
        self.interval_method_ = cal.method
        meta = {"history": history, "single": single}
        return {k: _shape_like(v, items, meta) for k, v in cal.bands(levels).items()}

    # -- persistence ----------------------------------------------------------------------
    def _fit_state(self):
        g = self.global_
        return {
            "n_features_in": self.n_features_in_,
            "univariate": self.univariate_,
            "global": None if g is None else [g[0].tolist(), g[1].tolist()],
            "freq": self.freq_,
            "period": self.period_,
            "calendar": list(self.calendar_),
            "past": [self.n_past_, self.pmean_.tolist(), self.pscale_.tolist()],
            "future": [self.n_future_user_, self.fmean_.tolist(), self.fscale_.tolist()],
            "static": [self.n_static_, self.smean_.tolist(), self.sscale_.tolist()],
        }

    def _set_fit_state(self, state):
        self.n_features_in_, self.univariate_ = state["n_features_in"], state["univariate"]
        g = state["global"]
        self.global_ = None if g is None else (np.asarray(g[0]), np.asarray(g[1]))
        self.freq_, self.period_ = state["freq"], state["period"]
        self.calendar_ = tuple(state["calendar"])
        self.parts_ = parse_transform(self.target_transform, self.period_)
        arr = lambda v: np.asarray(v, np.float64)  # noqa: E731
        self.n_past_, self.pmean_, self.pscale_ = state["past"][0], arr(state["past"][1]), arr(state["past"][2])
        self.n_future_user_, self.fmean_, self.fscale_ = (
            state["future"][0],
            arr(state["future"][1]),
            arr(state["future"][2]),
        )
        self.n_static_, self.smean_, self.sscale_ = (
            state["static"][0],
            arr(state["static"][1]),
            arr(state["static"][2]),
        )
        self.n_future_ = self.n_future_user_ + 2 * len(self.calendar_)


def _frequency(dates):
    if dates is None:
        return None

    longest = max(dates, key=len)
    return infer_frequency(longest, "dates")


def _check_levels(levels):
    levels = (levels,) if isinstance(levels, (int, float)) else tuple(levels)
    for lv in levels:
        if isinstance(lv, bool) or not isinstance(lv, (int, float)) or not 0 < lv < 100:
            raise ValueError(f"levels: expected interval levels in (0, 100) such as 80 or 95, got {lv!r}")
    return levels


def _level_probs(level):
    lo = round((1 - level / 100) / 2, 12)
    return lo, round(1 - lo, 12)


def _shape_like(arr, items, meta):
    """(N, h, F) -> what predict returns for the given history (see :meth:`Forecaster.predict`)."""
    history = meta["history"]
    single = meta["single"]
    hist = [history] if single else list(history)
    outs = [a[:, 0] if np.ndim(np.asarray(s)) == 1 else a for a, s in zip(arr, hist, strict=False)]
    return outs[0] if single else outs
