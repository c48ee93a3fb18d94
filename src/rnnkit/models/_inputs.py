"""What the estimators accept besides lists and NumPy arrays: array-likes and data frames.

One rule for every ``fit``/``predict``/``score`` (without importing pandas or polars):

- anything with ``to_numpy()`` or ``__array__`` (a pandas/polars Series or numeric frame,
  an xarray, a torch tensor...) is read as the NumPy array it gives;
- a list whose items are such objects (ragged sequences) has each item read the same way;
- a frame with **one column** is that column: a text column (str) gives one word list per
  row (split on whitespace), a column of token lists or arrays gives those sequences;
- a frame with several **numeric** columns is an (N, F) array (vectors, or N sequences of
  F steps for a sequence model);
- ``y`` may be a column name of the frame ``X``: ``fit(frame, "label")`` learns from the
  label column and the one other column (text, or token lists for the tagger).

Missing values (None, NaN) and missing columns are refused with a one-line error naming
the column and the row.
"""

from __future__ import annotations

import numbers
from typing import Any, TypeAlias

import numpy as np

#: What ``fit``/``predict``/``score`` take as inputs: see the module docstring.
XLike: TypeAlias = Any
#: What they take as targets: labels, values, tag lists, or a column name of the frame X.
YLike: TypeAlias = Any

ACCEPTED = (
    "a list of sequences, a NumPy array, anything with to_numpy() or __array__, "
    "or a pandas/polars frame (one text or token-list column, or numeric columns)"
)


def _is_frame(obj) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "to_numpy") and not isinstance(obj, np.ndarray)


def _is_series(obj) -> bool:
    return (
        not _is_frame(obj) and hasattr(obj, "to_numpy") and hasattr(obj, "to_list") and not isinstance(obj, np.ndarray)
    )


def _missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))


def _columns(frame) -> list[str]:
    return [str(c) for c in frame.columns]


def _column_values(series, where: str, *, split_text: bool):
    """A column (Series) -> list of sequences, or a numeric array."""
    values = series.to_list()
    bad = [i for i, v in enumerate(values) if _missing(v)]
    if bad:
        raise ValueError(
            f"{where}: {len(bad)} missing value(s) (None/NaN), first at row {bad[0]}; "
            "hint: drop or fill them first (frame.dropna())"
        )
    if values and all(isinstance(v, str) for v in values):
        return [v.split() for v in values] if split_text else values
    if values and all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64 if any(isinstance(v, float) for v in values) else None)
    return [_item(v) for v in values]


def _item(v):
    """One sequence of a list: array-likes become arrays, token lists stay lists."""
    if isinstance(v, (str, bytes, list, tuple, np.ndarray)):
        return v
    if hasattr(v, "to_numpy"):
        return np.asarray(v.to_numpy())
    if hasattr(v, "__array__"):
        return np.asarray(v)
    return v


def coerce_X(X, name: str = "X", *, split_text: bool = True):
    """``X`` as the estimators' own input kinds (see the module docstring)."""
    if type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name}: sparse input is not supported; hint: pass X.toarray(), a dense array")
    if isinstance(X, (np.ndarray, str, bytes)):
        return X  # the estimator's own checks speak for these
    if isinstance(X, (list, tuple)):
        return [_item(v) for v in X]
    if _is_frame(X):
        cols = _columns(X)
        if len(cols) == 0 or len(X) == 0:
            raise ValueError(f"{name}: expected a frame with at least one row and one column, got shape {X.shape}")
        if len(cols) == 1:
            values = _column_values(X[X.columns[0]], f"{name}[{cols[0]!r}]", split_text=split_text)
            return values[:, None] if isinstance(values, np.ndarray) else values  # numeric: (N, 1)
        arr = np.asarray(X.to_numpy())
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(
                f"{name}: expected a frame of numeric columns, or one text / token-list column, "
                f"got columns {cols}; hint: select one column, X[[{cols[0]!r}]], or pass "
                "fit(frame, 'label_column')"
            )
        arr = arr.astype(np.float64)
        nan_cols = [c for c, bad in zip(cols, np.isnan(arr).any(axis=0), strict=False) if bad]
        if nan_cols:
            rows = np.flatnonzero(np.isnan(arr).any(axis=1))
            raise ValueError(
                f"{name}: missing values (NaN) in column(s) {nan_cols}, first at row {rows[0]}; "
                "hint: drop or fill them first (frame.dropna())"
            )
        return arr
    if _is_series(X):
        return _column_values(X, name, split_text=split_text)
    if hasattr(X, "to_numpy"):
        return np.asarray(X.to_numpy())
    if hasattr(X, "__array__"):
        return np.asarray(X)
    raise TypeError(f"{name}: expected {ACCEPTED}, got {type(X).__name__}")


def coerce_y(y, name: str = "y"):
    """Targets: a Series/array-like as an array, or a list (tag lists, per-step targets)."""
    if y is None or isinstance(y, (np.ndarray, list, tuple)):
        return y
    if _is_frame(y):
        cols = _columns(y)
        if len(cols) == 1:
            return coerce_y(y[y.columns[0]], f"{name}[{cols[0]!r}]")
        arr = np.asarray(y.to_numpy())
        if np.issubdtype(arr.dtype, np.number) and np.isnan(arr.astype(np.float64)).any():
            raise ValueError(f"{name}: missing values (NaN) in the targets; hint: drop those rows")
        return arr
    if _is_series(y):
        values = _column_values(y, name, split_text=False)
        if isinstance(values, list) and values and isinstance(values[0], str):
            return np.asarray(values)
        return values
    if hasattr(y, "to_numpy"):
        return np.asarray(y.to_numpy())
    if hasattr(y, "__array__"):
        return np.asarray(y)
    return y


def coerce_Xy(X, y, *, split_text: bool = True, names: tuple[str, str] = ("X", "y")):
    """(X, y) with ``y`` optionally a column name of the frame ``X``."""
    nx, ny = names
    if isinstance(y, str) and _is_frame(X):
        cols = _columns(X)
        if y not in cols:
            raise ValueError(f"{ny}: expected a column of {nx}, got {y!r}; {nx} has columns {cols}")
        rest = [c for c in X.columns if str(c) != y]
        if not rest:
            raise ValueError(f"{nx}: expected a column of inputs beside the column {y!r}, got only {cols}")
        return (coerce_X(X[rest], nx, split_text=split_text), coerce_y(X[X.columns[cols.index(y)]], f"{ny} ({y!r})"))
    return coerce_X(X, nx, split_text=split_text), coerce_y(y, ny)
