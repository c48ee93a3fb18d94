"""``rnnkit train forecast``: forecast a series from a window of its past.

The series is split in time order: training, then validation (``val_fraction``), then the
test part (``test_fraction``) at the end. Forecasts are scored on rolling origins over the
test part (each origin reads the ``window`` values before it) by NRMSE, the RMSE divided by
the standard deviation of the targets, beside the naive forecast (repeat the last value)
and, with ``period``, the seasonal-naive one (repeat the last season).
"""

from __future__ import annotations

import numpy as np

from .. import sources
from .._base import CliError
from ..config import ForecastConfig
from .base import Task, TaskData


class ForecastTask(Task):
    name = "forecast"
    config_class = ForecastConfig
    model_names = ("Forecaster",)
    model_module = "rnnkit.models.forecaster"
    command = "rnnkit forecast"

    def load(self, config) -> TaskData:
        """Split in time order: train | validation | test (see the module docstring)."""
        loaded = sources.load(self.name, config)
        series = np.asarray(loaded.train, dtype=np.float64)                 # (T, F)
        T = len(series)
        n_test = int(round(config.test_fraction * T))
        notes = list(loaded.notes)
        if config.val_data is not None:
            val_loaded = sources.load(self.name, config, path_key="val_data")
            val = np.asarray(val_loaded.train)
            notes += val_loaded.notes
            n_val = 0
        else:
            n_val = int(round(config.val_fraction * T))
            val = series[T - n_test - n_val:T - n_test] if n_val else None
        n_train = T - n_val - n_test
        if n_train < 2:
            raise CliError(f"--data: a series of {T} steps is too short to split; hint: lower "
                           "val_fraction and test_fraction, or use a longer series")
        test = series[T - n_test:] if n_test else None
        return TaskData(series[:n_train], val, test, loaded.source,
                        extra={"series": series, "test_start": T - n_test,
                               "val_start": n_train if n_val else None}, notes=notes)

    def fit(self, model, data: TaskData, config) -> None:
        W = config.window + (config.horizon if config.strategy == "direct" else 1)
        if len(data.train) < W:
            T = len(data.extra["series"]) if data.extra else len(data.train)
            raise CliError(f"--data {data.source}: a series of {T} steps leaves {len(data.train)} "
                           f"for training (after the validation and test parts), fewer than "
                           f"window + forecast steps = {W}; hint: lower --window (now "
                           f"{config.window}), --val-fraction or --test-fraction, or use a "
                           "longer series")
        val = data.val if data.val is not None and len(data.val) >= W else None
        model.fit(data.train, validation_data=val)

    def full_series(self, model, data: TaskData) -> tuple[np.ndarray, int]:
        """The series in time order and where the scored part starts."""
        if data.extra is None:          # `rnnkit evaluate --data`: score all of a new series
            return np.asarray(data.eval_part, dtype=np.float64), model.window
        series, extra = data.extra["series"], data.extra
        if data.test is not None:
            return series, extra["test_start"]
        if extra["val_start"] is not None:
            return series[:extra["test_start"]], extra["val_start"]
        return data.train, model.window   # nothing held out: score the training part

    def evaluate(self, model, data: TaskData, config) -> dict:
        full, start = self.full_series(model, data)
        split = data.eval_split if data.eval_part is not None else "training"
        try:
            report = model.evaluate(full, horizon=config.horizon, start=start, period=config.period)
        except ValueError as exc:
            raise CliError(f"cannot score the {split} part: {exc}; hint: lower window or horizon, "
                           "or hold out more (test_fraction)") from None
        baselines = {"naive": report["naive"]["nrmse"]}
        if "seasonal_naive" in report:
            baselines["seasonal naive"] = report["seasonal_naive"]["nrmse"]
        h = report["horizon"]
        return {"metric": f"NRMSE ({h}-step)" if h > 1 else "NRMSE (one step)",
                "model": report["model"]["nrmse"], "baselines": baselines, "split": split,
                "n": report["n_forecasts"], "unit": "forecasts", "better": "lower",
                "rmse": {k: v["rmse"] for k, v in report.items() if isinstance(v, dict)},
                "plot_origin": int(start)}

    def plots(self, model, data, config, directory, results) -> list:
        from ...models.forecaster import naive_forecast, seasonal_naive_forecast
        from ...utils import plots

        full, start = self.full_series(model, data)
        if start < model.window or start >= len(full):
            return []
        history = full[:start]
        steps = min(config.plot_steps, len(full) - start)
        if config.strategy == "direct":
            steps = min(steps, config.horizon)
        pred = {"model": model.predict(history, horizon=steps),
                "naive": naive_forecast(history, steps)}
        if config.period and len(history) >= config.period:
            pred["seasonal naive"] = seasonal_naive_forecast(history, steps, config.period)
        written = []
        for f in range(full.shape[1]):
            name = "forecast.png" if full.shape[1] == 1 else f"forecast_{f}.png"
            written.append(plots.forecast_plot(
                history[:, f], full[start:start + steps, f],
                {k: np.asarray(v).reshape(steps, -1)[:, f] for k, v in pred.items()},
                directory / name, title=f"{steps}-step forecast from the start of the "
                                        f"{results['split']} part"))
        return written


TASK = ForecastTask()
