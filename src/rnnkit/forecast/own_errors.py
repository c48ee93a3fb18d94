"""Split-conformal intervals for a fitted point Forecaster from its own recent errors.

Shape legend: N series, T_i length of series i, F features, h horizon, n calibration origins.

For each series i the fitted model (no refit) forecasts h steps from each of the last n
origins that leave a whole horizon inside the series, t = T_i - h - j + 1 for j = 1..n,
reading only x_i[:t] (and the covariates up to t, known-future ones up to the forecast
steps). The errors y - yhat at each step k calibrate the band around the forecast from the
series' end (:func:`rnnkit.forecast.conformal.conformal_intervals`)::

    x_i  ----------------------------|......h......|      forecast from T_i, with bands
    origins      t_n ... t_2 t_1     T_i - h       T_i    whose errors calibrate them

The bands are honest when those origins' targets were not trained on: the command line
holds out the end of each series (``--test-fraction``) for this. Errors on trained steps
are smaller than on new data and give bands that are too narrow.
"""

from __future__ import annotations

import numpy as np

from .backtest import online_conformal
from .conformal import check_adapt, min_residuals
from .scaling import history_steps

__all__ = ["own_error_intervals"]


def _rows(model, horizon: int) -> int:
    """Known-future rows predict reads after the history."""
    D = model.horizon if model.strategy == "direct" else 1
    return -(-horizon // D) * D


def own_error_intervals(
    model,
    series,
    horizon: int,
    levels=(80, 95),
    *,
    n_origins: int = 40,
    adapt: float | None = None,
    past_covariates=None,
    future_covariates=None,
    static_covariates=None,
    dates=None,
    ids=None,
) -> tuple[dict, list[int]]:
    """Point forecasts after each series and conformal bands from the model's own errors.

    Args:
        model: a fitted point :class:`rnnkit.forecast.Forecaster` (``loss="mse"``).
        series: a list of (T_i, F) arrays.
        horizon: steps to forecast.
        levels: interval levels in percent.
        n_origins: calibration origins per series (fewer when a series has no room).
        adapt: gamma of adaptive conformal inference (None: split conformal): the level of
            the final band follows the misses of the calibration origins' own bands, each
            calibrated on the errors observed before it (see
            :func:`rnnkit.forecast.backtest.backtest`).
        past_covariates, future_covariates, static_covariates, dates: as for ``predict``,
            per series (known-future ones with their rows for the forecast steps).
        ids: series names for errors.

    Returns:
        ``({"point": [(h, F)...], "lo_80": [...], "hi_80": [...], ...}, origins used per
        series)``.

    Raises:
        ValueError: a series with too few origins for a level (named, with the count).
    """
    check_adapt(adapt)
    xs = [np.asarray(x, dtype=np.float64).reshape(len(x), -1) for x in series]
    names = ids if ids is not None else [str(i) for i in range(len(xs))]
    need = max(min_residuals(lv) for lv in levels)
    first = history_steps(model.parts_, model.period_, model.window)  # shortest history
    rows = _rows(model, horizon)
    kw = {
        "past_covariates": past_covariates,
        "future_covariates": future_covariates,
        "static_covariates": static_covariates,
        "dates": dates,
    }
    point = model.predict(xs, horizon, **kw)
    truth: list[list[np.ndarray]] = [[] for _ in xs]  # per series, latest origin first: (h, F) each
    pred: list[list[np.ndarray]] = [[] for _ in xs]
    for j in range(1, n_origins + 1):
        keep = [i for i, x in enumerate(xs) if len(x) - horizon - j + 1 >= first]
        if not keep:
            break
        ts = [len(xs[i]) - horizon - j + 1 for i in keep]
        sub = {
            "past_covariates": None
            if past_covariates is None
            else [past_covariates[i][:t] for i, t in zip(keep, ts, strict=False)],
            "future_covariates": None
            if future_covariates is None
            else [future_covariates[i][: t + rows] for i, t in zip(keep, ts, strict=False)],
            "static_covariates": None if static_covariates is None else np.asarray(static_covariates)[keep],
            "dates": None if dates is None else [dates[i][:t] for i, t in zip(keep, ts, strict=False)],
        }
        preds = model.predict([xs[i][:t] for i, t in zip(keep, ts, strict=False)], horizon, **sub)
        for i, t, p in zip(keep, ts, preds, strict=False):
            pred[i].append(np.asarray(p, dtype=np.float64).reshape(horizon, -1))
            truth[i].append(xs[i][t : t + horizon])
    out = {"point": [np.asarray(p).reshape(horizon, -1) for p in point]}
    used = [len(y) for y in truth]
    for i, n in enumerate(used):
        if n < need:
            who = f"series {names[i]!r}" if len(xs) > 1 else "the series"
            raise ValueError(
                f"intervals: {who} leaves room for {n} calibration origin(s) "
                f"(shortest history {first}, horizon {horizon}, {len(xs[i])} "
                f"steps); {max(levels):g}% intervals need {need}; hint: a longer "
                "history, a shorter horizon or a lower level, or a model with loss "
                "'quantile' or 'gaussian'"
            )
        # the calibration origins oldest first, then the forecast from the series' end (its
        # truth unknown): its band is calibrated online on everything observed by then
        T = len(xs[i])
        origins = np.arange(T - horizon - n + 1, T - horizon + 1).tolist() + [T]
        p_all = np.stack(pred[i][::-1] + [out["point"][i]])  # (n + 1, h, F)
        y_all = np.stack(truth[i][::-1] + [np.full_like(out["point"][i], np.nan)])
        bands = online_conformal(y_all, p_all, np.array(origins), tuple(levels), "absolute", None, adapt)
        for lv, (lo, hi) in bands.items():
            out.setdefault(f"lo_{lv:g}", []).append(lo[-1])
            out.setdefault(f"hi_{lv:g}", []).append(hi[-1])
    return out, used
