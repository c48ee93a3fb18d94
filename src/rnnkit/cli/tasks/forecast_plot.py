"""The forecast task's plot: forecasts from the start of the scored part of a few series,
beside the truth, the naive baselines and the model's own intervals when it has them.
A series left without a plot, or a plot cut short, is named in a note with the reason."""

from __future__ import annotations

import sys

import numpy as np

MAX_SERIES = 3


def forecast_plots(task, model, data, config, directory, results, plots) -> list:
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ...forecast.baselines import naive_forecast, seasonal_naive_forecast

    split_name, starts = task.scored_part(data)
    s, cov = data.extra["set"], data.extra["cov"]
    written: list = []
    for i, (x, start) in enumerate(zip(s.values, starts, strict=False)):
        who = f"series {s.ids[i]!r}" if len(s.values) > 1 else "the series"
        if len(written) >= MAX_SERIES:
            _note(f"forecast plots drawn for the first {MAX_SERIES} series only; not drawn: {len(s.values) - i} more")
            break
        start = start if start is not None else model.window
        if start < model.window + 1 or start >= len(x):
            _note(
                f"no forecast plot for {who}: its {split_name} part "
                + ("is empty" if start >= len(x) else f"starts before a whole window of {model.window} steps")
            )
            continue
        steps = min(config.plot_steps, len(x) - start)
        history = x[:start]
        kw, room = _covariates_at(cov, i, start, steps, model)
        if room < steps:
            why = f"the known-future covariates of {who} end {len(x) - start - room} step(s) before its last value"
            if model.strategy == "direct":
                why += f" (the model reads them in whole blocks of {model.horizon} steps)"
            if room < 1:
                _note(f"no forecast plot for {who}: {why}")
                continue
            _note(f"the forecast plot of {who} shows {room} of {steps} step(s): {why}")
            steps = room
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
                    dates=None if s.dates is None else s.dates[i][: start + steps],
                    title=f"{s.ids[i] + ': ' if len(s.values) > 1 else ''}{steps}-step forecast from "
                    f"the start of the {split_name} part",
                )
            )
    return written


def _covariates_at(cov, i, start, steps, model):
    """(predict's covariates for a forecast of up to ``steps`` from ``start``, the steps
    the known-future rows allow: whole blocks of the horizon for the direct strategy)."""
    kw: dict = {}
    if cov is None:
        return kw, steps
    if cov.past is not None:
        kw["past_covariates"] = cov.past[i][:start]
    if cov.future is not None:
        D = model._steps()
        rows = len(cov.future[i]) - start
        steps = min(steps, rows // D * D if model.strategy == "direct" else rows)
        kw["future_covariates"] = cov.future[i][: start + (-(-steps // D) * D if steps > 0 else 0)]
    if cov.static is not None:
        kw["static_covariates"] = cov.static[i : i + 1]
    return kw, steps


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr, flush=True)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))[:40]
