"""``rnnkit.forecaster``: what a consumer of a Forecaster's ONNX graph does around it.

Shape legend: N series, T steps, W window, D steps per network pass (1 recursive, the
fitted horizon direct), F targets, P outputs per target, I input columns per step.

The graph is the network alone: model-ready inputs (T, B, I) -> raw outputs (B, D, F, P)
(an ensemble: the mean over its members of each output). Everything around it depends on
the history passed in or on the loop, so it is described here as JSON, with the fitted
numbers and the exact rules (the same as :mod:`rnnkit.forecast.scaling`,
:mod:`rnnkit.forecast.covariates` and :mod:`rnnkit.forecast.loop`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..forecast.covariates import _CYCLE
from ..forecast.net import SIGMA_MIN
from ..forecast.scaling import lost_steps

if TYPE_CHECKING:
    from ..forecast.forecaster import Forecaster

_SCALING_RULES = {
    "global": "loc, scale = the fitted 'global' statistics (every training value of every series)",
    "series": "loc = mean, scale = standard deviation (ddof 0) of the transformed history, per feature",
    "robust": "loc = median, scale = 75th - 25th percentile (linear interpolation) of the transformed "
    "history, per feature",
    "window": "loc = 0, scale = standard deviation (ddof 0) of the first differences of the transformed "
    "history (scale 1 when it has 2 steps or fewer)",
    "instance": "loc = 0, scale = 1",
    "none": "loc = 0, scale = 1",
}
_WINDOW_RULES = {
    "window": "a = the window's last value z[-1], b = 1",
    "instance": "a = the window's mean, b = its standard deviation (ddof 0; b = 1 where b <= 1e-8)",
}
_TRANSFORM_RULES = {
    "log": {"forward": "y = log(x), x > 0", "inverse": "x^ = exp(y^)"},
    "diff": {
        "forward": "y_t = x_t - x_{t-1} (the first step is lost)",
        "inverse": "x^_{T+k} = x_T + cumulative sum of y^ over the forecast steps",
    },
    "seasonal_diff": {
        "forward": "y_t = x_t - x_{t-period} (period steps lost)",
        "inverse": "x^_{T+k} = y^_{T+k} + x_{T+k-period}, earlier forecasts standing in past the origin",
    },
    "deseason": {
        "forward": "y_t = x_t - s[t mod period], t counted from the history's first step; "
        "s = seasonal_indices(history) (classical additive decomposition: x minus "
        "its centred moving average of period steps (2 x period, end weights 1/2, "
        "for even period), the latest 3 x period of those values averaged per "
        "phase, centred to sum 0)",
        "inverse": "x^_{T+k} = y^_{T+k} + s[(T + k) mod period], T the history's length",
    },
}


def _floats(a: Iterable[float]) -> list[float]:
    return [float(v) for v in a]


def forecaster_spec(model: Forecaster) -> dict:
    """The JSON-ready description of a fitted Forecaster (see the module docstring)."""
    F, W = model.n_features_in_, model.window
    D = model.horizon if model.strategy == "direct" else 1
    P, Ku, C, S = model.n_past_, model.n_future_user_, 2 * len(model.calendar_), model.n_static_
    K = model.n_future_
    cols, start = {}, 0
    for name, width in (
        ("target", F),
        ("past", P),
        ("future", Ku),
        ("calendar", C),
        ("static", S),
        ("decoder_flag", 1 if K else 0),
    ):
        cols[name] = [start, start + width]
        start += width
    g = model.global_
    quantiles = _floats(model.quantiles) if model.loss == "quantile" else None
    per_target = {"mse": 1, "gaussian": 2}.get(model.loss, len(model.quantiles))
    return {
        "window": W,
        "horizon": model.horizon,
        "strategy": model.strategy,
        "steps": D,
        "features": F,
        "univariate": bool(model.univariate_),
        "outputs_per_target": per_target,
        "input_size": start,
        "input_steps": W + D if K else W,
        "input_layout": "time-major (T, B, I)",
        "input_columns": cols,
        "input_rows": {
            "window_step": "[u (target), past, future, calendar, static, 0 if K > 0]",
            "decoder_step": "[0 (target), 0 (past), future, calendar, static, 1]; D of them "
            "after the W window steps, only when K = future + calendar > 0",
        },
        "target_transform": {
            "parts": list(model.parts_),
            "period": model.period_,
            "lost_steps": lost_steps(model.parts_, model.period_),
            "rules": {p: _TRANSFORM_RULES[p] for p in model.parts_},
            "order": "forward in the order of parts; inverse in reverse order, each with the history at its own stage",
        },
        "scaling": {
            "name": model.scaling,
            "series_rule": _SCALING_RULES[model.scaling],
            "statistics_from": "fitted"
            if model.scaling == "global"
            else "the history passed in (after the transforms), per series",
            "global": None if g is None else {"loc": _floats(g[0]), "scale": _floats(g[1])},
            "zero_scale": "series, robust, window: a scale <= 1e-12 * (1 + |loc|) is replaced "
            "by 1; the global pair is used as given",
            "z": "z = (y - loc) / scale",
            "window_normalisation": _WINDOW_RULES.get(model.scaling, "a = 0, b = 1"),
            "u": "u = (z_window - a) / b, per window and feature",
            "inverse": "z^ = output * b + a; y^ = z^ * scale + loc; then the transforms' inverses",
        },
        "loss": model.loss,
        "quantiles": quantiles,
        "sigma_min": SIGMA_MIN,
        "point": {
            "mse": "outputs[..., 0]",
            "gaussian": "outputs[..., 0] (mu); sigma = softplus(outputs[..., 1]) + sigma_min",
            "quantile": "sort the P values of outputs[...] ascending (they may cross); the point "
            "is the value at the position of 0.5 in the sorted quantiles, and the "
            "q-quantile the value at the position of q",
        }[model.loss],
        "loop": {
            "recursive": "one step per pass: append z^ to the window, slide by one, repeat",
            "direct": "D steps per pass; for more than D steps, blocks after the first read the "
            "forecasts of the ones before",
        }[model.strategy]
        + "; past covariates past the origin are held at their last known value",
        "covariates": {
            "past": {"columns": P, "mean": _floats(model.pmean_), "scale": _floats(model.pscale_)},
            "future": {"columns": Ku, "mean": _floats(model.fmean_), "scale": _floats(model.fscale_)},
            "static": {"columns": S, "mean": _floats(model.smean_), "scale": _floats(model.sscale_)},
            "standardise": "(value - mean) / scale per column",
            "calendar": {
                "names": list(model.calendar_),
                "frequency": model.freq_,
                "cycles": {n: _CYCLE[n] for n in model.calendar_},
                "columns": "sin(2 pi v / cycle), cos(2 pi v / cycle) per name; v: month 0-11, "
                "quarter 0-3, dayofweek 0-6 (Monday 0), hour 0-23, dayofyear 0-365",
            },
            "alignment": "covariate rows are those of the series' steps after the lost_steps of the transforms",
        },
    }
