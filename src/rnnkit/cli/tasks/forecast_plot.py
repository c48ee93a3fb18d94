"""The forecast task's plot: forecasts from the start of the scored part of a few series,
beside the truth, the naive baselines and the model's own intervals when it has them."""

from __future__ import annotations

import numpy as np

MAX_SERIES = 3


def forecast_plots(task, model, data, config, directory, results, plots) -> list:
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ...forecast.baselines import naive_forecast, seasonal_naive_forecast

    split_name, starts = task.scored_part(data)
    s, cov = data.extra["set"], data.extra["cov"]
    written: list = []
    for i, (x, start) in enumerate(zip(s.values, starts, strict=False)):
        if len(written) >= MAX_SERIES:
            break
        start = start if start is not None else model.window
        if start < model.window + 1 or start >= len(x):
            continue
        steps = min(config.plot_steps, len(x) - start)
        history = x[:start]
        kw = _covariates_at(cov, i, start, steps, model)
        if kw is None:
            continue
        if s.dates is not None:
            kw["dates"] = s.dates[i][:start]
        bands = {}
        if model.loss != "mse":
            out = model.predict_intervals(history, steps, levels=(80, 95), **kw)
            pred = out["point"]
            bands = {f"{lv}%": (out[f"lo_{lv}"], out[f"hi_{lv}"]) for lv in (80, 95)}
        else:
            pred = model.predict(history, steps, **kw)
        pred = np.asarray(pred).reshape(steps, -1)
        preds = {"model": pred, "naive": naive_forecast(history, steps)}
        if model.period_ and len(history) >= model.period_:
            preds["seasonal naive"] = seasonal_naive_forecast(history, steps, model.period_)
        for f in range(x.shape[1]):
            tag = "" if len(s.values) == 1 else f"_{_safe(s.ids[i])}"
            tag += "" if x.shape[1] == 1 else f"_{f}"
            written.append(
                plots.forecast_plot(
                    history[:, f],
                    x[start : start + steps, f],
                    {k: np.asarray(v).reshape(steps, -1)[:, f] for k, v in preds.items()},
                    directory / f"forecast{tag}.png",
                    bands={
                        k: (np.reshape(lo, (steps, -1))[:, f], np.reshape(hi, (steps, -1))[:, f])
                        for k, (lo, hi) in bands.items()
                    },
                    title=f"{s.ids[i] + ': ' if len(s.values) > 1 else ''}{steps}-step forecast from "
                    f"the start of the {split_name} part",
                )
            )
    return written


def _covariates_at(cov, i, start, steps, model):
    kw = {}
    if cov is None:
        return kw
    if cov.past is not None:
        kw["past_covariates"] = cov.past[i][:start]
    if cov.future is not None:
        D = model._steps()
        need = start + (-(-steps // D) * D if model.strategy == "direct" else steps)
        if len(cov.future[i]) < need:
            return None
        kw["future_covariates"] = cov.future[i][:need]
    if cov.static is not None:
        kw["static_covariates"] = cov.static[i : i + 1]
    return kw


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))[:40]
