"""``Forecaster.evaluate`` and ``score``: the fitted model on rolling origins, beside the
naive baselines, through the one evaluation engine (:func:`rnnkit.forecast.backtest.backtest`
with ``fit=False``: the model is not refitted; the metrics are :mod:`rnnkit.forecast.metrics`').

Every origin t (from max(window + transform steps, period, start) to T - h, every
``stride`` steps) forecasts x[t : t + h] from x[:t] alone (its scalers too); with e the
errors over every origin, step and feature::

    RMSE  = sqrt(mean e^2)          MAE = mean |e|          sMAPE = mean 2|e| / (|x| + |x^|)
    NRMSE = sqrt(mean (e / s_i)^2), s_i the standard deviation of series i's evaluated
            targets (so series of any scale count alike)
    MASE  = mean |e| / q_t, q_t the in-sample seasonal-naive error of the history x[:t]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..models._sequence import r2_score
from ..models.base import check_int_param
from . import metrics as fm
from .backtest import backtest
from .backtest_result import BacktestResult
from .inputs import SeriesLike
from .scaling import history_steps


class ScoringMixin:
    """``evaluate`` and ``score`` for :class:`~rnnkit.forecast.Forecaster`, and what the
    evaluation engine asks of it."""

    #: ``predict`` takes a list of histories: the engine forecasts many origins in one call
    predicts_lists = True

    def future_steps(self, horizon: int) -> int:
        """Rows of known-future covariates a forecast of ``horizon`` steps reads after its
        origin: the horizon, or whole blocks of ``self.horizon`` steps when direct."""
        D = self._steps()  # type: ignore[attr-defined]
        return -(-horizon // D) * D

    def _backtest(
        self,
        series: SeriesLike,
        horizon: int | None,
        start: int | Sequence[int | None] | None,
        stride: int,
        period: int | None,
        covariates: dict[str, Any],
    ) -> BacktestResult:
        """The fitted model's forecasts on every origin, beside naive and seasonal naive."""
        self._check_fitted()  # type: ignore[attr-defined]
        h = self._check_horizon(horizon)  # type: ignore[attr-defined]
        stride = check_int_param("stride", stride)
        m = self.period_ if period is None else check_int_param("period", period)  # type: ignore[attr-defined]
        base = max(history_steps(self.parts_, self.period_, self.window), m or 1)  # type: ignore[attr-defined]
        first = lambda s: max(base, 0 if s is None else check_int_param("start", s, 0))  # noqa: E731
        initial = [first(s) for s in start] if isinstance(start, (list, tuple)) else first(start)
        try:
            return backtest(
                self,
                series,
                h,
                **covariates,
                initial=initial,
                step=stride,
                refit_every=0,
                fit=False,
                period=m,
                baselines=("naive", "seasonal_naive"),
                levels=(),
            )
        except ValueError as exc:  # the engine's first origin is this method's start
            text = str(exc)
            if text.startswith("initial:"):
                text = "start:" + text.removeprefix("initial:").replace("smaller initial", "smaller start")
                raise ValueError(f"{text} (the model reads {base} steps)") from None
            raise

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
        """RMSE, NRMSE, MAE, sMAPE and MASE of the model and the baselines on rolling
        forecast origins.

        ``period`` (default: the model's, given or inferred from dates) adds the
        seasonal-naive baseline and scales MASE. ``start`` may be a list (one first origin
        per series; a series too short for any origin is left out); covariates and dates
        cover each whole series (known-future ones may run longer).

        Returns:
            ``{"model": {"rmse", "nrmse", "mae", "smape", "mase", "rmse_by_step"},
            "naive": {...}, ["seasonal_naive": {...},] "n_forecasts": N, "horizon": h}``.
        """
        cov = dict(
            past_covariates=past_covariates,
            future_covariates=future_covariates,
            static_covariates=static_covariates,
            dates=dates,
        )
        result = self._backtest(series, horizon, start, stride, period, cov)
        scale = fm.spread_scale(result.truth, result.series)  # (N, F)
        report: dict[str, Any] = {}
        for name, m in result.metrics().items():
            pred = result.forecasts[name]
            if not np.all(np.isfinite(pred)):  # forecasts that overflowed: NaN scores, for the caller to refuse
                report[name] = dict(m, nrmse=math.nan, rmse_by_step=[math.nan] * result.horizon)
                continue
            report[name] = {
                "rmse": m["rmse"],
                "nrmse": fm.nrmse(result.truth, pred, scale),
                "mae": m["mae"],
                "smape": m["smape"],
                "mase": m["mase"],
                "rmse_by_step": fm.by_step("rmse", result.truth, pred).tolist(),
            }
        report["n_forecasts"], report["horizon"] = len(result.truth), result.horizon
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
        result = self._backtest(series, horizon, start, stride, None, {})
        N = len(result.truth)
        return r2_score(result.truth.reshape(N, -1), result.forecasts["model"].reshape(N, -1))
