"""``rnnkit train forecast``: one global model over the series of a file, or a shipped set.

Each series is split in time order: training, then validation (``val_fraction``), then the
test part (``test_fraction``) at its end (see :mod:`.forecast_data`). Forecasts of
``horizon`` steps are scored on every origin of the test parts (each origin reads only the
steps before it) by RMSE and NRMSE (the RMSE over the standard deviation of the targets),
beside the naive forecast (repeat the last value) and the seasonal-naive one (repeat the
last season); the summary says plainly whether the model beats them. The scoring is
``Forecaster.evaluate``, the one evaluation engine (:mod:`rnnkit.forecast.backtest`), which
also gives each one's MAE and MASE.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from ...utils import plots
from .. import sources
from .._base import CliError
from ..sources import DataSet
from ..task_configs import ForecastConfig
from .forecast_data import (
    Covariates,
    as_series_set,
    covariates,
    held_out_share,
    infer_settings,
    read_series,
    split,
)
from .forecast_plot import forecast_plots
from .task import Task, TaskData, result_line


class SeriesData(TaskData):
    def describe(self) -> str:
        parts = [
            (name, p)
            for name, p in (("train", self.train), ("validation", self.val), ("test", self.test))
            if p is not None
        ]
        n = len(self.train)
        counts = {
            "train": sum(len(x) for x in self.train),
            "validation": sum(self.extra["n_val"]),
            "test": sum(len(x) for x in self.test or ()),
        }
        if self.extra["val_data"] is not None and not any(self.extra["n_val"]):
            counts["validation"] = sum(len(x) for x in self.val)
        sizes = ", ".join(f"{name} {counts[name]:,} steps" for name, _ in parts)
        return f"{self.source}: {n} series" + (f" ({sizes})" if sizes else "")


class ForecastTask(Task):
    name = "forecast"
    config_class = ForecastConfig
    model_names = ("Forecaster",)
    model_module = "rnnkit.forecast.forecaster"
    command = "rnnkit forecast"
    help = "forecast one or many time series (default: Mackey-Glass)"
    about = "forecast the next steps of a time series"
    examples = (
        "rnnkit train forecast --data sales.csv     # one series, or long/wide many",
        "rnnkit train forecast --data stores.csv --id-column store --value-column units",
        "rnnkit train forecast --data sales.csv --preset probabilistic   # intervals",
        "rnnkit forecast runs/forecast-<stamp> --horizon 48 --intervals 80,95",
    )
    datasets = {
        "mackey-glass": DataSet("mackey-glass", "series"),
        "seasonal": DataSet("seasonal", "series"),
    }
    formats = ("csv",)
    readers = {"csv": read_series}

    def load(self, config) -> TaskData:
        # rnnkit.models loads on use: start-up time (cli/__init__.py)
        from ...forecast.scaling import history_steps, lost_steps, parse_transform

        loaded = sources.load(self, config)
        notes = list(loaded.notes)
        s = as_series_set(loaded.train, loaded.source)
        settings = infer_settings(s, config, notes)
        try:
            parts = parse_transform(settings["target_transform"], settings["period"])
        except ValueError as exc:
            raise CliError(f"--target-transform: {str(exc).split(': ', 1)[1]}") from None
        cov = covariates(s, config)
        steps = settings["horizon"] if config.strategy == "direct" else 1
        lost = lost_steps(parts, settings["period"])
        n_train, n_val, starts = split(s, config, settings["window"], steps, lost)
        # the steps before the validation part its windows read (deseason: 2 seasons at least)
        context = history_steps(parts, settings["period"], settings["window"])
        val = None
        if config.val_data is not None:
            vs = as_series_set(sources.load(self, config, path_key="val_data").train, "val")
            val = {"series": vs.values, "cov": covariates(vs, config), "dates": vs.dates}
        elif any(n_val):
            keep = [i for i, n in enumerate(n_val) if n]
            lo = [max(0, n_train[i] - context) for i in keep]
            hi = [n_train[i] + n_val[i] for i in keep]
            val = {
                "series": [s.values[i][a:b] for i, a, b in zip(keep, lo, hi, strict=False)],
                "cov": _slice_cov(cov, keep, lo, hi),
                "dates": None if s.dates is None else [s.dates[i][a:b] for i, a, b in zip(keep, lo, hi, strict=False)],
            }
        train = [x[:n] for x, n in zip(s.values, n_train, strict=False)]
        test = [x[t:] for x, t in zip(s.values, starts, strict=False) if t < len(x)] or None
        extra = {
            "set": s,
            "cov": cov,
            "settings": settings,
            "n_train": n_train,
            "n_val": n_val,
            "test_start": starts,
            "val_data": val,
        }
        return SeriesData(train, val["series"] if val else None, test, loaded.source, extra=extra, notes=notes)

    def build_model(self, config, data: TaskData):
        model = super().build_model(config, data)
        return model.set_params(**data.extra["settings"])

    def model_for_arrays(self, config, values, notes: list | None = None):
        """The model training builds for ``config`` on plain arrays (no dates, no split): the
        settings left to the data (period, window, horizon, target transform) resolved from
        ``values``, a list of (T, F) arrays, as training resolves them (``infer_settings``).
        The validation part training holds out (``val_fraction``) becomes the Forecaster's
        own ``validation_fraction``: it holds out the end of each series it is fitted on."""
        settings = infer_settings(SimpleNamespace(freq=None, values=values), config, [] if notes is None else notes)
        data = TaskData(values, None, None, source="arrays")  # the base class reads no data from it
        return super().build_model(config, data).set_params(**settings, validation_fraction=held_out_share(config))

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        ex = data.extra
        s, cov, n = ex["set"], ex["cov"], ex["n_train"]
        val, vcov = None, None
        if ex["val_data"] is not None:
            v = ex["val_data"]
            val = v["series"]
            vcov = {
                "past_covariates": v["cov"].past,
                "future_covariates": v["cov"].future,
                "static_covariates": v["cov"].static,
                "dates": v["dates"],
            }
        model.fit(
            data.train,
            past_covariates=_cut(cov.past, n),
            future_covariates=_cut(cov.future, n),
            static_covariates=cov.static,
            dates=_cut(s.dates, n),
            validation_data=val,
            validation_covariates=vcov,
            callbacks=callbacks,
        )

    def scored_part(self, data: TaskData):
        """(split name, first origin per series) of the part the results are reported on."""
        ex = data.extra
        if data.test is not None:
            return "test", ex["test_start"]
        if any(ex["n_val"]):
            return "validation", ex["n_train"]
        return "training", [None] * len(ex["n_train"])

    def evaluate(self, model, data: TaskData, config) -> dict:
        if data.extra is None:  # `rnnkit evaluate --data`: score all of a new series
            s, split_name = as_series_set(data.eval_part, "data"), data.eval_split
            cov = covariates(s, config)
            starts = [None] * len(s.values)
        else:
            s, cov = data.extra["set"], data.extra["cov"]
            split_name, starts = self.scored_part(data)
            if split_name == "validation":
                starts = [t if v else None for t, v in zip(starts, data.extra["n_val"], strict=False)]
        h = model.horizon if config.horizon is None else config.horizon
        ends = [None] * len(s.values)
        if split_name == "validation":  # the test part stays unseen
            ends = [a + b for a, b in zip(data.extra["n_train"], data.extra["n_val"], strict=False)]
        series = [x[:e] for x, e in zip(s.values, ends, strict=False)]
        try:
            report = model.evaluate(
                series,
                horizon=h,
                start=starts,
                period=model.period_,
                past_covariates=None if cov is None else cov.past,
                future_covariates=None if cov is None else cov.future,
                static_covariates=None if cov is None else cov.static,
                dates=None if s.dates is None else [d[:e] for d, e in zip(s.dates, ends, strict=False)],
            )
        except ValueError as exc:
            raise CliError(
                f"cannot score the {split_name} part: {exc}; hint: lower window or horizon, "
                "or hold out more (test_fraction)"
            ) from None
        baselines = {"naive": report["naive"]["nrmse"]}
        if "seasonal_naive" in report:
            baselines["seasonal naive"] = report["seasonal_naive"]["nrmse"]
        return {
            "metric": f"NRMSE ({h}-step)" if h > 1 else "NRMSE (one step)",
            "model": report["model"]["nrmse"],
            "baselines": baselines,
            "split": split_name,
            "n": report["n_forecasts"],
            "unit": "forecasts",
            "better": "lower",
            "rmse": {k: v["rmse"] for k, v in report.items() if isinstance(v, dict)},
            "mae": {k: v["mae"] for k, v in report.items() if isinstance(v, dict)},
            "mase": {k: v["mase"] for k, v in report.items() if isinstance(v, dict)},
            "period": model.period_,
            "window": model.window,
            "horizon": h,
        }

    def summary(self, results: dict) -> str:
        return result_line(results) + "\n" + verdict(results)

    def plots(self, model, data, config, directory, results) -> list:
        return forecast_plots(self, model, data, config, directory, results, plots)


def verdict(results: dict) -> str:
    """One plain line: does the model beat each baseline? A score that is not finite
    (the model's, or a baseline's) is compared with nothing."""
    model = results["model"]
    split = results["split"]
    where = f"on {split.rstrip(':')}" if split.endswith(":") else f"on the {split} part"
    if not math.isfinite(model):
        return f"the model's score {where} is {model}: it beats no baseline"
    scored = {name: v for name, v in results.get("baselines", {}).items() if math.isfinite(v)}
    lost = [(name, v) for name, v in scored.items() if v <= model]
    if not lost:
        names = " and ".join(scored) or "no baseline"
        return f"the model beats {names} {where}"
    worst = ", ".join(f"{name} ({v:.4f} vs the model's {model:.4f})" for name, v in lost)
    return (
        f"the model does NOT beat {worst} {where}; hint: try "
        "--scaling window, another --target-transform, more --epochs or --ensemble, or another --window"
    )


def _cut(arrs, n):
    return None if arrs is None else [a[:k] for a, k in zip(arrs, n, strict=False)]


def _slice_cov(cov, keep, lo, hi):
    pick = lambda arrs: None if arrs is None else [arrs[i][a:b] for i, a, b in zip(keep, lo, hi, strict=False)]  # noqa: E731
    fut = None if cov.future is None else [cov.future[i][a:b] for i, a, b in zip(keep, lo, hi, strict=False)]
    return Covariates(pick(cov.past), fut, None if cov.static is None else cov.static[keep])


TASK = ForecastTask()
