"""What the Forecaster accepts as series: arrays, lists of arrays, and pandas objects.

- a NumPy array (T,) or (T, F), or a list of numbers: one series;
- a list (or tuple) of such arrays: several series, of any lengths;
- a ``pandas.Series``: one series; a ``DatetimeIndex`` gives its dates;
- a ``pandas.DataFrame`` with a ``DatetimeIndex`` (or other index): one series whose
  columns are its features;
- a long ``pandas.DataFrame`` with columns ``unique_id``, ``ds``, ``y`` (NeuralForecast's
  layout): one series per id, dates from ``ds``.

Forecasts come back as the input came: arrays for arrays, and pandas for pandas (a Series
or DataFrame indexed by the future dates, or a long DataFrame ``unique_id, ds, y``).
pandas is imported only when a pandas object is passed or returned.

Dates come from a ``DatetimeIndex``, a ``PeriodIndex``, a datetime ``ds`` column or a text
one (read as the CSV reader reads dates: :mod:`rnnkit.data.date_reading`). Zone-aware
dates are read as pandas steps them: in UTC when they step by less than a day (hours keep
their length across daylight-saving changes), else in their zone's wall-clock time (a day
stays a calendar day); forecasts come back in the same zone.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np

from ..data.date_reading import read_dates
from ..data.series_dates import FREQUENCIES, future_dates, infer_frequency

#: A series input: (T,) or (T, F) values, a list of them, or a pandas Series/DataFrame.
SeriesLike: TypeAlias = Any
#: A forecast: an array, a list of arrays, or pandas for pandas input (pandas has no stubs here).
ForecastLike: TypeAlias = Any


def _is_pandas(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas"


def as_series_list(series, name="series"):
    """One series (T,) / (T, F) or a list of them -> (list of (T_i, F) float64, was_1d, single)."""
    if isinstance(series, np.ndarray) or (isinstance(series, (list, tuple)) and series and np.isscalar(series[0])):
        items, single = [series], True
    elif isinstance(series, (list, tuple)):
        items, single = list(series), False
    else:
        raise TypeError(
            f"{name}: expected an array (T,) or (T, F), a list of them, or a pandas "
            f"Series/DataFrame, got {type(series).__name__}"
        )
    if not items:
        raise ValueError(f"{name}: expected at least one series, got an empty list")
    out, ndims = [], set()
    for i, s in enumerate(items):
        where = name if single else f"{name}[{i}]"
        try:
            a = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where}: expected numbers, got {type(s).__name__}") from None
        if a.ndim not in (1, 2):
            raise ValueError(f"{where}: expected shape (T,) or (T, F), got {a.shape}")
        if a.size == 0:
            raise ValueError(f"{where}: expected at least one value, got an empty series")
        if not np.all(np.isfinite(a)):
            nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
            what = " and ".join(([f"{nan} NaN (missing)"] if nan else []) + ([f"{inf} inf"] if inf else []))
            raise ValueError(
                f"{where}: contains {what} value(s); hint: fill missing values and replace or drop infinite ones first"
            )
        ndims.add(a.ndim)
        out.append(a[:, None] if a.ndim == 1 else a)
    if len({a.shape[1] for a in out}) > 1:
        raise ValueError(
            f"{name}: expected every series to have the same number of features, "
            f"got {sorted({a.shape[1] for a in out})}"
        )
    return out, ndims == {1}, single


def _dates_list(dates, series):
    if dates is None:
        return None
    single = isinstance(series, np.ndarray) or (isinstance(series, (list, tuple)) and series and np.isscalar(series[0]))
    items = [dates] if single else list(dates)
    return [np.asarray(d, dtype="datetime64[s]") for d in items]


def _index_dates(index, meta=None, name="dates", *, strict=False, groups=None):
    """pandas dates (an index or a column: naive, zone-aware, periods or text) -> (T,)
    datetime64[s], or None for another index (text that is no dates: an error when
    ``strict``; ``groups``: the rows of each series, see :func:`.read_dates`); a zone goes
    to ``meta`` (see the module docstring)."""
    values = getattr(index, "array", index)
    dtype = getattr(values, "dtype", None)
    kind = type(index).__name__
    if kind == "PeriodIndex" or str(dtype).startswith("period"):
        return np.asarray(index.to_timestamp() if kind == "PeriodIndex" else index.dt.to_timestamp(), "datetime64[s]")
    tz = getattr(dtype, "tz", None)
    if tz is not None:
        import pandas as pd  # a zone-aware pandas object was passed: pandas is there

        at = pd.DatetimeIndex(index)
        utc = np.asarray(at.tz_convert("UTC").tz_localize(None), dtype="datetime64[s]")
        try:
            sub_daily = len(utc) > 1 and FREQUENCIES[infer_frequency(np.sort(utc))].family == "H"
        except ValueError:
            sub_daily = False
        if meta is not None:
            meta.update(tz=tz, tz_utc=sub_daily)
        return utc if sub_daily else np.asarray(at.tz_localize(None), dtype="datetime64[s]")
    if str(dtype).startswith("datetime64"):
        return np.asarray(index, dtype="datetime64[s]")
    if kind != "RangeIndex" and len(index) and isinstance(index[:1].tolist()[0], str):
        try:
            return read_dates([str(v) for v in index], name, groups=groups).dates
        except ValueError:
            if strict:
                raise
    return None


def from_pandas(series, dates, name):
    """``(items, ids, dates, meta)``: arrays for the model, the series ids (or None), dates
    per series (or None), and what :func:`to_pandas` needs to answer in kind."""
    if not _is_pandas(series):
        return series, None, _dates_list(dates, series), {}
    kind = type(series).__name__
    if kind == "Series":
        meta = {"pandas": "series", "name": series.name if series.name is not None else "y", "index": series.index}
        d = _index_dates(series.index, meta, f"{name}'s index")
        return series.to_numpy(dtype=np.float64), None, None if d is None else [d], meta
    if kind != "DataFrame":
        raise TypeError(f"{name}: expected a pandas Series or DataFrame, got {kind}")
    cols = list(series.columns)
    if {"unique_id", "ds", "y"} <= set(cols):
        meta: dict[str, Any] = {"pandas": "long"}
        keys = series["unique_id"].to_numpy()
        rows = [np.flatnonzero(keys == k) for k in dict.fromkeys(keys.tolist())]
        when = _index_dates(series["ds"], meta, f"{name}['ds']", strict=True, groups=rows)
        if when is None:
            raise TypeError(f"{name}: column 'ds': expected dates, got {series['ds'].dtype}")
        # dates as read (not as text) order the rows
        df = series.assign(ds=when).sort_values(["unique_id", "ds"], kind="stable")
        ids = list(dict.fromkeys(df["unique_id"].tolist()))
        groups = dict(tuple(df.groupby("unique_id", sort=False)))
        items = [groups[i]["y"].to_numpy(dtype=np.float64) for i in ids]
        meta["raw_ids"] = ids
        ds = [np.asarray(groups[i]["ds"].to_numpy(), dtype="datetime64[s]") for i in ids]
        for i, d in zip(ids, ds, strict=False):
            if len(d) > 1 and np.any(d[1:] == d[:-1]):
                raise ValueError(f"{name}: series {i!r} repeats time stamp {d[1:][d[1:] == d[:-1]][0]}")
        return (items if len(items) > 1 else items[0]), [str(i) for i in ids], ds, meta
    numeric = series.select_dtypes("number")
    if numeric.shape[1] != series.shape[1]:
        bad = [c for c in cols if c not in numeric.columns][0]
        raise TypeError(
            f"{name}: column {bad!r} is not numeric; expected numbers (or a long frame with unique_id, ds, y)"
        )
    meta = {"pandas": "frame", "columns": cols, "index": series.index}
    d = _index_dates(series.index, meta, f"{name}'s index")
    return series.to_numpy(dtype=np.float64), None, None if d is None else [d], meta


def to_pandas(meta, cols):
    """Forecasts ``{suffix: (N, h, F)}`` -> the pandas object matching the input."""
    import pandas as pd

    first = next(iter(cols.values()))
    N, h, F = first.shape
    dates, freq = meta.get("dates"), meta.get("freq")

    def index_for(i):
        if dates is not None and freq is not None:
            index = pd.DatetimeIndex(future_dates(dates[i], freq, h), name=_index_name(meta))
            if meta.get("tz") is None:
                return index
            if meta["tz_utc"]:
                return index.tz_localize("UTC").tz_convert(meta["tz"])
            return index.tz_localize(meta["tz"], ambiguous=np.ones(h, dtype=bool), nonexistent="shift_forward")
        start = len(meta["index"]) if "index" in meta else 0
        return pd.RangeIndex(start, start + h)

    if meta["pandas"] == "long":
        frames = []
        for i, key in enumerate(meta["raw_ids"]):
            data = {"unique_id": [key] * h, "ds": index_for(i)}
            data.update({f"y{suffix}": v[i, :, 0] for suffix, v in cols.items()})
            frames.append(pd.DataFrame(data))
        return pd.concat(frames, ignore_index=True)
    if meta["pandas"] == "series":
        name = meta["name"]
        if list(cols) == [""]:
            return pd.Series(first[0, :, 0], index=index_for(0), name=name)
        return pd.DataFrame({f"{name}{s}": v[0, :, 0] for s, v in cols.items()}, index=index_for(0))
    data = {f"{c}{s}": v[0, :, j] for s, v in cols.items() for j, c in enumerate(meta["columns"])}
    return pd.DataFrame(data, index=index_for(0))


def _index_name(meta):
    index = meta.get("index")
    return getattr(index, "name", None) if index is not None else None
