"""Rolling-origin scoring of the Forecaster beside the naive baselines.

Every origin t (from max(window + transform steps, period, start) to T - h, every
``stride`` steps) forecasts x[t : t + h] from x[:t] alone (its scalers too)::

    RMSE  = sqrt(mean over origins, steps, features of (x^ - x)^2)
    NRMSE = sqrt(mean of ((x^ - x) / s_i)^2), s_i the standard deviation of series i's
            evaluated targets (so series of any scale count alike)
    MAE   = mean |x^ - x|

(The full set of metrics, intervals and refits is :mod:`rnnkit.forecast.backtest`'s.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..models._sequence import r2_score
from ..models.base import check_int_param
from .inputs import SeriesLike, as_series_list, from_pandas
from .naive import naive_forecast, seasonal_naive_forecast
from .scaling import history_steps


class ScoringMixin:
    """``evaluate`` and ``score`` for :class:`~rnnkit.forecast.Forecaster`."""

    def _rolling(
        self,
        series,
        horizon,
        start,
        stride,
        period,
        past_covariates=None,
        future_covariates=None,
        static_covariates=None,
        dates=None,
    ):
        """Model and baseline forecasts on every origin; returns (truth, {name: forecasts}).

        ``start``: the first origin, one for all series or a list with one per series.
        """
        self._check_fitted()
        h = self._check_horizon(horizon)
        stride = check_int_param("stride", stride)
        m = self.period_ if period is None else check_int_param("period", period)
        raw, _, dates, _ = from_pandas(series, dates, "series")
        items, _, _ = as_series_list(raw)
        self._check_features(items, "series")
        starts = list(start) if isinstance(start, (list, tuple)) else [start] * len(items)
        if len(starts) != len(items):
            raise ValueError(f"start: expected one origin per series ({len(items)}), got {len(starts)}")
        base = max(history_steps(self.parts_, self.period_, self.window), m or 1)
        D = self._steps()
        need = -(-h // D) * D if self.strategy == "direct" else h
        cov = {
            "past": _per_series(past_covariates, len(items)),
            "future": _per_series(future_covariates, len(items)),
            "static": None if static_covariates is None else np.asarray(static_covariates, float),
        }
        hist, truth, pc, fc_cov, st, hd, which = [], [], [], [], [], [], []
        fc = {"naive": []} | ({"seasonal_naive": []} if m else {})
        for i, s in enumerate(items):
            first = max(base, 0 if starts[i] is None else check_int_param("start", starts[i], 0))
            last = len(s) - h
            if cov["future"] is not None:
                last = min(last, len(cov["future"][i]) - need)
            for t in range(first, last + 1, stride):
                hist.append(s[:t])
                truth.append(s[t : t + h])
                which.append(i)
                fc["naive"].append(naive_forecast(s[:t], h))
                if m:
                    fc["seasonal_naive"].append(seasonal_naive_forecast(s[:t], h, m))
                if cov["past"] is not None:
                    pc.append(cov["past"][i][:t])
                if cov["future"] is not None:
                    fc_cov.append(cov["future"][i][: t + need])
                if cov["static"] is not None:
                    st.append(cov["static"][i])
                if dates is not None:
                    hd.append(dates[i][:t])
        if not truth:
            raise ValueError(
                f"series: expected room for at least one forecast origin t with "
                f"{base} <= t <= T - {h}, got lengths {[len(s) for s in items]}"
            )
        point = []
        for i in range(0, len(hist), 2048):  # bounded memory on long series
            sl = slice(i, i + 2048)
            _, p, _, _ = self._run(
                hist[sl],
                h,
                pc[sl] if pc else None,
                fc_cov[sl] if fc_cov else None,
                np.array(st[sl]) if st else None,
                hd[sl] if hd else None,
                (),
            )
            point.append(p)
        fc = {"model": np.concatenate(point)} | {k: np.stack(v) for k, v in fc.items()}
        self._which = np.array(which)
        return np.stack(truth), fc

    def evaluate(
        self,
        series: SeriesLike,
        *,
        horizon: int | None = None,
        start: int | Sequence[int | None] | None = None,
        stride: int = 1,
        period: int | None = None,
        past_covariates: SeriesLike = None,
        future_covariates: SeriesLike = None,
        static_covariates: ArrayLike | None = None,
        dates: SeriesLike = None,
    ) -> dict[str, Any]:
        """RMSE, NRMSE and MAE of the model and the baselines on rolling forecast origins.

        ``period`` (default: the model's, given or inferred from dates) adds the
        seasonal-naive baseline. ``start`` may be a list (one first origin per series);
        covariates and dates cover each whole series (known-future ones may run longer).

        Returns:
            ``{"model": {"rmse", "nrmse", "mae", "rmse_by_step"}, "naive": {...},
            ["seasonal_naive": {...},] "n_forecasts": N, "horizon": h}``.
        """
        truth, fc = self._rolling(
            series, horizon, start, stride, period, past_covariates, future_covariates, static_covariates, dates
        )
        which = self._which
        scale = np.ones((len(truth), 1, truth.shape[2]))  # (N, 1, F)
        for i in np.unique(which):
            sd = truth[which == i].std(axis=(0, 1))
            scale[which == i, 0] = np.where(sd > 0, sd, 1.0)
        report: dict[str, Any] = {}
        for name, pred in fc.items():
            err = (pred - truth) ** 2  # (N, h, F)
            rmse = float(np.sqrt(err.mean()))
            report[name] = {
                "rmse": rmse,
                "nrmse": float(np.sqrt((err / scale**2).mean())),
                "mae": float(np.abs(pred - truth).mean()),
                "rmse_by_step": np.sqrt(err.mean(axis=(0, 2))).tolist(),
            }
        report["n_forecasts"], report["horizon"] = len(truth), truth.shape[1]
        return report

    def score(
        self,
        series: SeriesLike,
        y: object = None,
        *,
        horizon: int | None = None,
        start: int | Sequence[int | None] | None = None,
        stride: int = 1,
    ) -> float:
        """R^2 of the rolling ``horizon``-step forecasts over ``series`` (higher is better)."""
        truth, fc = self._rolling(series, horizon, start, stride, None)
        return r2_score(truth.reshape(len(truth), -1), fc["model"].reshape(len(truth), -1))


def _per_series(cov, n):
    if cov is None:
        return None
    items = [cov] if n == 1 and not isinstance(cov, (list, tuple)) else list(cov)
    return [np.asarray(c, dtype=np.float64).reshape(len(c), -1) for c in items]
