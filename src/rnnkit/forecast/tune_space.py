"""The search space of :func:`rnnkit.forecast.tune.tune`: what a trial may set, and how it is drawn.

A space maps a Forecaster parameter to a list of values (one of them is drawn) or to a
:class:`Range` (a number between two bounds, log-uniform with ``log=True``; whole numbers
when both bounds are ints)::

    {"window": [12, 24, 36], "hidden_size": [16, 32, 64], "cell": ["lstm", "gru"],
     "lr": Range(1e-3, 2e-2, log=True), "target_transform": ["none", "diff"],
     "scaling": ["series", "window"]}

:func:`default_space` centres one on the settings a forecast run would use (the window
from the season, lr 0.005, 32 hidden units) and keeps only windows the shortest history
has room for.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..nn.cells import CELLS
from .scaling import SCALINGS, parse_transform

__all__ = ["TUNABLE", "Range", "Space", "check_space", "default_space", "in_space", "sample"]

#: The Forecaster parameters a space may search (the keys of ``rnnkit train forecast`` too).
TUNABLE = ("window", "hidden_size", "num_layers", "cell", "lr", "target_transform", "scaling", "dropout", "batch_size")


@dataclasses.dataclass(frozen=True)
class Range:
    """Numbers between ``low`` and ``high`` (both included): uniform, or log-uniform with
    ``log=True``; whole numbers when both bounds are ints."""

    low: float
    high: float
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)


Space = dict[str, "Sequence[Any] | Range"]


def check_space(space: Mapping[str, Any], period: int | None) -> Space:
    """The space as a dict of lists and Ranges, each entry checked; errors name the key."""
    if not isinstance(space, Mapping) or not space:
        raise TypeError(f"space: expected a non-empty dict of parameter -> list or Range, got {space!r}")
    out: Space = {}
    for key, spec in space.items():
        if key not in TUNABLE:
            raise ValueError(f"space: expected keys from {', '.join(TUNABLE)}, got {key!r}")
        if isinstance(spec, Range):
            low, high = spec.low, spec.high
            if not (isinstance(low, (int, float)) and isinstance(high, (int, float))) or not low <= high:
                raise ValueError(f"space[{key!r}]: expected Range(low, high) with low <= high, got {spec!r}")
            if spec.log and low <= 0:
                raise ValueError(f"space[{key!r}]: a log Range needs low > 0, got {spec!r}")
            out[key] = spec
            continue
        if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or not spec:
            raise ValueError(f"space[{key!r}]: expected a non-empty list of values or a Range, got {spec!r}")
        values = list(spec)
        for v in values:
            _check_value(key, v, period)
        out[key] = values
    return out


def _check_value(key: str, value: Any, period: int | None) -> None:
    if key == "cell" and value not in CELLS:
        raise ValueError(f"space['cell']: expected cells from {', '.join(CELLS)}, got {value!r}")
    if key == "scaling" and value not in SCALINGS:
        raise ValueError(f"space['scaling']: expected values from {', '.join(SCALINGS)}, got {value!r}")
    if key == "target_transform":
        try:
            parse_transform(value, period)
        except ValueError as exc:
            raise ValueError(f"space['target_transform']: {str(exc).split(': ', 1)[-1]}") from None
    if key in ("window", "hidden_size", "num_layers", "batch_size") and (
        isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
    ):
        raise ValueError(f"space[{key!r}]: expected ints >= 1, got {value!r}")
    if key == "lr" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise ValueError(f"space['lr']: expected numbers > 0, got {value!r}")


def default_space(
    *, window: int, period: int | None, shortest: int, steps: int = 1, validation_fraction: float = 0.0
) -> Space:
    """A space around a forecast run's defaults.

    Args:
        window: the window a run would use (2 seasons, or 24 without a season).
        period: the season length (None: none); seasonal transforms only with one.
        shortest: the steps of the shortest history a trial is fitted on (its first fold).
        steps: the forecast steps of one training window (the horizon for "direct").
        validation_fraction: the share of each history held out for early stopping.
    """
    room = int(shortest * (1.0 - validation_fraction)) - steps - 1  # a first difference may take one
    windows = sorted({window // 4, window // 2, window, 2 * window} | ({period, 2 * period} if period else set()))
    fit = [w for w in windows if 2 <= w <= room]
    if not fit:
        raise ValueError(
            f"series: the first fold's history ({shortest} steps) has no room for a window of "
            f"at least 2 steps beside {steps} forecast step(s); hint: fewer or shorter folds "
            "(n_origins, step), a shorter horizon, or a longer series"
        )
    transforms = ["none", "diff"] + (["deseason", "deseason+diff", "seasonal_diff"] if period else [])
    return {
        "window": fit,
        "hidden_size": [16, 32, 64],
        "cell": list(CELLS),
        "lr": Range(1e-3, 2e-2, log=True),
        "target_transform": transforms,
        "scaling": ["series", "window", "robust", "instance"],
    }


def sample(space: Space, rng: np.random.Generator) -> dict[str, Any]:
    """One draw from every entry of ``space`` (a value of each list, a number of each Range)."""
    out: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, Range):
            out[key] = draw_range(spec, rng)
        else:
            out[key] = _plain(spec[int(rng.integers(len(spec)))])
    return out


def draw_range(spec: Range, rng: np.random.Generator) -> float | int:
    if spec.integer:
        if spec.log:
            k = round(math.exp(rng.uniform(math.log(spec.low), math.log(spec.high))))
            return int(min(max(k, spec.low), spec.high))
        return int(rng.integers(int(spec.low), int(spec.high) + 1))
    drawn = (
        math.exp(rng.uniform(math.log(spec.low), math.log(spec.high))) if spec.log else rng.uniform(spec.low, spec.high)
    )
    return min(max(float(f"{drawn:.3g}"), spec.low), spec.high)  # 3 digits: a setting a person would write


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones (for TOML and the Forecaster's checks)."""
    return value.item() if isinstance(value, np.generic) else value


def in_space(space: Space, values: Mapping[str, Any], name: str | None = None) -> dict[str, Any] | None:
    """``values`` of the searched keys when every one lies in the space, else None; with a
    ``name`` (an argument), a value outside the space or a key the space lacks is an error."""
    if name is not None:
        extra = [k for k in values if k not in space]
        if extra:
            raise ValueError(f"{name}: expected keys of the space ({', '.join(space)}), got {extra}")
    out = {}
    for key, spec in space.items():
        value = values.get(key)
        if isinstance(value, tuple):  # a parsed transform
            value = "+".join(value) if value else "none"
        if value is None and key == "target_transform":
            value = "none"
        if isinstance(spec, Range):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and spec.low <= value <= spec.high
        else:
            ok = value in spec
        if not ok:
            if name is None:
                return None
            want = f"a number in [{spec.low:g}, {spec.high:g}]" if isinstance(spec, Range) else f"one of {list(spec)}"
            raise ValueError(f"{name}[{key!r}]: expected {want} (the space's), got {value!r}")
        out[key] = value
    return out
