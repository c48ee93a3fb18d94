"""Forecasting series with a recurrent network, and judging the forecasts.

    Forecaster          one global model for one or many series (windows, covariates,
                        transforms, scaling, point/quantile/Gaussian losses, intervals)
    baselines           the forecasts a model must beat: naive, seasonal naive, drift, AR
    backtest            the one evaluation engine: rolling origins, refits, metrics, intervals
    metrics             MAE, RMSE, sMAPE, MASE, coverage, by horizon step
    conformal           conformal intervals from past forecast errors
    tune                settings searched by rolling-origin backtest (Optuna or random search)

The modules behind the Forecaster: ``inputs`` (arrays and pandas in and out), ``scaling``
(target transforms and scalers), ``covariates``, ``windows`` (training windows), ``loop``
(the forecasting loops), ``net`` (the network and its losses).
"""

from .backtest import BacktestResult, backtest
from .baselines import (
    ARForecaster,
    DriftForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    make_baseline,
    naive_forecast,
    seasonal_naive_forecast,
)
from .forecaster import Forecaster
from .tune import TuneResult, tune

__all__ = [
    "Forecaster",
    "backtest",
    "BacktestResult",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "DriftForecaster",
    "ARForecaster",
    "make_baseline",
    "naive_forecast",
    "seasonal_naive_forecast",
    "tune",
    "TuneResult",
]
