"""The forecast task's data: series from a CSV file or a shipped set, split in time order,
and the defaults that follow from the dates (season length, window, horizon, transform).

Each series is split alike at its own end: training | validation (``val_fraction``, and
at least the forecast steps of one window when the series has room) | test
(``test_fraction``). The validation windows read the training steps before them as
context, so a short validation part still scores whole windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.series_dates import FREQUENCY_NAMES, season_length
from ...data.series_table import SeriesSet, read_series_table
from .._base import CliError


# -- reading: the forecast task's reader of CSV files (its ``readers``) ----------------------------
def read_series(path: Path, config, notes: list):
    """A forecast CSV: one or many series with their dates, as a
    :class:`rnnkit.data.series_table.SeriesSet` (see its module); what was guessed or
    filled goes to ``notes``."""
    cov_cols = [
        c
        for key in ("past_covariates", "future_covariates", "static_covariates")
        for c in column_list(getattr(config, key, None))
    ]
    s = read_series_table(
        path,
        layout=config.layout,
        id_column=config.id_column,
        date_column=config.date_column,
        value_columns=config.value_column,
        extra_columns=cov_cols,
        fill=config.fill,
        encoding=config.encoding,
        date_format=getattr(config, "date_format", None),
    )
    if s.layout != "single":
        notes.append(
            f"{len(s.ids)} series ({s.layout} layout" + (f", ids in {s.id_column!r}" if s.id_column else "") + ")"
        )
    if s.date_column and config.date_column is None:
        notes.append(f"time stamps in column {s.date_column!r} (guessed; --date-column to change)")
    notes.extend(s.notes)  # how the dates were read (day/month order, time zones)
    if s.n_missing:  # inf was refused by the reader: it is not "missing"
        notes.append(f"{s.n_missing:,} missing value(s) filled by linear interpolation")
    if s.n_filled:
        notes.append(f"{s.n_filled:,} missing date(s) filled ({config.fill})")
    return s


def column_list(value) -> list[str]:
    """The column names of a comma-separated setting (``"a, b"``); none for an empty one."""
    return [p.strip() for p in value.split(",") if p.strip()] if value else []


@dataclass
class Covariates:
    """Per-series covariate arrays (None when absent), in the Forecaster's terms."""

    past: list | None
    future: list | None
    static: np.ndarray | None
    future_after: list | None = None  # known-future rows after each series' last value


def as_series_set(value, name: str):
    """A shipped set's array (T, F) -> a one-series SeriesSet without dates."""
    if hasattr(value, "values") and hasattr(value, "ids"):
        return value
    a = np.asarray(value, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    names = ["value"] if a.shape[1] == 1 else [f"value_{f}" for f in range(a.shape[1])]
    return SeriesSet(
        ids=[name], values=[a], value_names=names, extra=[np.empty((len(a), 0))], extra_after=[np.empty((0, 0))]
    )


def covariates(s, config) -> Covariates:
    """Split the covariate columns read beside the values into past, future and static."""
    past_n, fut_n, st_n = (
        column_list(getattr(config, k, None)) for k in ("past_covariates", "future_covariates", "static_covariates")
    )
    if not (past_n or fut_n or st_n):
        return Covariates(None, None, None)
    cols = {n: i for i, n in enumerate(s.extra_names)}
    pick = lambda arrs, names: [a[:, [cols[n] for n in names]] for a in arrs]  # noqa: E731
    static = None
    if st_n:
        rows = []
        for key, e in zip(s.ids, s.extra, strict=False):
            block = e[:, [cols[n] for n in st_n]]
            if np.any(block != block[:1]):
                raise CliError(
                    f"--static-covariates: series {key!r} changes its value of {st_n}; expected one value per series"
                )
            rows.append(block[0])
        static = np.array(rows)
    after = pick(s.extra_after, fut_n) if fut_n else None
    return Covariates(
        pick(s.extra, past_n) if past_n else None,
        [np.concatenate([a, b]) for a, b in zip(pick(s.extra, fut_n), after, strict=False)]
        if after is not None
        else None,
        static,
        after,
    )


def wanders(values) -> bool:
    """True when the series trend or wander like a random walk: the median over series and
    columns of var(x_t - x_{t-1}) / var(x_t) is below 1/2 (white noise gives 2, an AR(1)
    with coefficient phi gives 2 (1 - phi), a random walk or a trend nearly 0)."""
    ratios = []
    for v in values or ():
        v = np.asarray(v, dtype=np.float64).reshape(len(v), -1)
        for col in v.T:
            col = col[np.isfinite(col)]
            if len(col) > 3 and np.var(col) > 0:
                ratios.append(np.var(np.diff(col)) / np.var(col))
    return bool(ratios) and float(np.median(ratios)) < 0.5


def held_out_share(config) -> float:
    """The share of each series training holds out for validation: ``val_fraction``, or 0
    when a separate ``val_data`` file validates instead."""
    return 0.0 if getattr(config, "val_data", None) else getattr(config, "val_fraction", 0.0)


def auto_transform(train, period) -> str:
    """The target transform ``--target-transform auto`` picks from the training parts:
    ``deseason`` when there is a period and every series has 2 seasons, then ``diff`` on
    top when what is left wanders (:func:`wanders`)."""
    # rnnkit.models loads on use: start-up time (cli/__init__.py)
    from ...forecast.backtest import fill_history
    from ...forecast.scaling import transform_forward

    if period and train and all(len(v) >= 2 * period for v in train):
        left = []
        for v in train:
            v = np.asarray(v, dtype=np.float64).reshape(len(v), -1)
            if np.isfinite(v).all(axis=1).sum() < 2 * period:
                return "seasonal_diff"
            left.append(transform_forward(fill_history(v), ("deseason",), period)[1])
        return "deseason+diff" if wanders(left) else "deseason"
    if period:
        return "seasonal_diff"
    return "diff" if wanders(train) else "none"


#: the longest window and horizon chosen from a season (15-minute data: 96; minutes: 192, not 1,440)
MAX_DEFAULT_STEPS = 192


def infer_settings(s, config, notes: list) -> dict:
    """period, window, horizon and target transform: given, or what the data suggests."""
    period = config.period
    if period is None and s.freq is not None:
        period = season_length(s.freq)
        if period:
            notes.append(f"season length {period} ({FREQUENCY_NAMES[s.freq]} dates; --period to change)")
    window = config.window
    if window is None:
        window = (2 * period if period <= 24 else period) if period else 24
        if window > MAX_DEFAULT_STEPS:  # a day of minutes: too long a window to train by default
            window = MAX_DEFAULT_STEPS
            notes.append(f"window {window}, shorter than a season of {period} steps (--window to change)")
    horizon = config.horizon
    if horizon is None:
        horizon = min(period or 1, MAX_DEFAULT_STEPS)
        if period and period > horizon:
            notes.append(f"horizon {horizon}, shorter than a season of {period} steps (--horizon to change)")
    transform = config.target_transform
    if transform == "auto":
        # decided on the training part only (before the validation and test parts)
        keep = 1.0 - getattr(config, "test_fraction", 0.0) - held_out_share(config)
        train = [v[: max(4, int(len(v) * keep))] for v in getattr(s, "values", None) or ()]
        transform = auto_transform(train, period)
        why = {
            "deseason": "the average season taken out",
            "seasonal_diff": "differences a season apart (a series is shorter than 2 seasons)",
            "diff": "first differences: the series wander, their changes vary far less than their level",
            "deseason+diff": "the average season taken out, then first differences: what is left wanders",
        }
        if transform in why:
            notes.append(f"target transform {transform} ({why[transform]}; --target-transform to change)")
    return {"period": period, "window": window, "horizon": horizon, "target_transform": transform}


def split(s, config, window: int, steps: int, lost: int):
    """Per-series time split. Returns ``(train, val, test_start)``: training arrays,
    validation arrays (with context) or None, and where each test part starts."""
    train, val, starts = [], [], []
    for key, x in zip(s.ids, s.values, strict=False):
        T = len(x)
        n_test = int(round(config.test_fraction * T))
        n_val = int(round(config.val_fraction * T))
        need = window + steps + lost
        if config.val_fraction > 0 and n_val < steps and T - n_test - steps >= need:
            n_val = steps  # at least one whole validation window: early stopping needs it
        n_train = T - n_test - n_val
        if n_train < need:
            who = f"series {key!r}" if len(s.ids) > 1 else "the series"
            raise CliError(
                f"--data {config.data}: {who} has {T} steps, leaving {n_train} for "
                f"training after the validation and test parts, fewer than window + "
                f"forecast steps{' + transform steps' if lost else ''} = {need}; "
                f"hint: lower --window (now {window}) or --horizon, --val-fraction or "
                "--test-fraction, or drop the short series"
            )
        train.append(n_train)
        val.append(n_val if n_val >= steps else 0)
        starts.append(T - n_test)
    return train, val, starts
