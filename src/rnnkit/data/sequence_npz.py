"""Variable-length sequences in one ``.npz`` without object arrays (so without pickle).

Layout (``numpy.savez`` keys):

- ``data``: (sum_i T_i, F) the sequences concatenated along time (a 1-D array means F = 1);
- ``lengths``: (N,) int, T_i for each sequence, in order, summing to ``len(data)``;
- ``labels`` (optional): (N,) one label per sequence, numbers or strings.

Sequence ``i`` is ``data[offsets[i] : offsets[i] + lengths[i]]`` with
``offsets = concatenate([[0], cumsum(lengths)[:-1]])``.

Without ``lengths``, the equal-length layout many tools write is read too: ``X`` (or
``x``, ``data``) of shape (N, T) or (N, T, F) and ``y`` (or ``labels``, ``target``) of
shape (N,); trailing steps that are all NaN (padding) end a shorter sequence.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Container, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..utils import files
from ..utils.atomic import atomic_write
from ..utils.npzio import ArchiveError, PickleRequired, check_archive, read_data, read_header
from ._validate import DataFormatError, PathLike, check_values


def write_sequences_npz(path: PathLike, sequences: Sequence[ArrayLike], labels: Sequence | None = None) -> None:
    """Write a list of (T_i, F) arrays (and optional labels) in the layout above."""
    arrays = [np.asarray(s, dtype=np.float64) for s in sequences]
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    if not arrays or any(a.ndim != 2 or a.shape[1] != arrays[0].shape[1] for a in arrays):
        raise ValueError("sequences: expected a non-empty list of (T_i, F) arrays with one F")
    out: dict[str, Any] = {
        "data": np.concatenate(arrays, axis=0),
        "lengths": np.array([len(a) for a in arrays], dtype=np.int64),
    }
    if labels is not None:
        out["labels"] = np.asarray(labels)
        if out["labels"].shape != (len(arrays),) or out["labels"].dtype.hasobject:
            raise ValueError(
                f"labels: expected {len(arrays)} numbers or strings, "
                f"got shape {out['labels'].shape}, dtype {out['labels'].dtype}"
            )
    with atomic_write(path, "wb", parents=False) as fh:  # a file object: numpy.savez would append ".npz" to a name
        np.savez(fh, **out)


def read_sequences_npz(path: PathLike) -> tuple[list[np.ndarray], list | None]:
    """Read the layout above.

    Returns:
        ``(sequences, labels)``: a list of (T_i, F) float64 arrays and a list of labels
        (Python numbers or strings), or None when there is no ``labels`` array.

    Raises:
        DataFormatError: not an ``.npz``, a missing key (the message lists the keys found),
            an object array, or lengths that do not add up.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    files.check_regular_file(path, what="an .npz data file", max_bytes=files.MAX_DATA_NPZ_BYTES)
    if not zipfile.is_zipfile(path):
        raise DataFormatError(path, "not an .npz (zip) file", hint="write one with rnnkit.data.write_sequences_npz")
    try:
        with _BoundedNpz(path) as npz:
            found = sorted(npz.files)
            data_key = _first(found, _DATA_KEYS)
            if data_key is None or ("lengths" not in found and data_key == "data" and npz["data"].ndim < 3):
                missing = "data" if data_key is None else "lengths"
                raise DataFormatError(
                    path,
                    f"no array {missing!r}; arrays found: {found}",
                    hint="the layout is data (sum T_i, F) + lengths (N,) [+ labels (N,)], or X (N, T[, F]) [+ y (N,)]",
                )
            label_key = _first(found, _LABEL_KEYS)
            labels = npz[label_key] if label_key is not None else None
            if "lengths" not in found:
                return _equal_length(path, npz[data_key], labels, data_key)
            data, lengths = npz[data_key], npz["lengths"]
    except DataFormatError:
        raise
    except ValueError as exc:  # numpy's message for object arrays mentions allow_pickle
        raise DataFormatError(
            path, f"cannot read without pickle ({exc})", hint="store numbers or strings, never object arrays"
        ) from exc
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:  # a damaged archive
        raise DataFormatError(path, f"not a readable .npz file ({exc})") from exc
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.number):
        raise DataFormatError(
            path, f"'data' must be a 1-D or 2-D numeric array, got shape {data.shape}, dtype {data.dtype}"
        )
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer) or np.any(lengths < 0):
        raise DataFormatError(
            path, f"'lengths' must be a 1-D array of integers >= 0, got shape {lengths.shape}, dtype {lengths.dtype}"
        )
    check_values(data, path, data_key)
    if int(lengths.sum()) != len(data):
        raise DataFormatError(path, f"'lengths' sum to {int(lengths.sum())} but 'data' has {len(data)} rows")
    if len(lengths) == 0:
        raise DataFormatError(path, "no sequences: 'lengths' is empty")
    if labels is not None and labels.shape != lengths.shape:
        raise DataFormatError(path, f"'labels' has shape {labels.shape}, expected {lengths.shape} (one per sequence)")
    bounds = np.cumsum(lengths)[:-1]
    sequences = [s.astype(np.float64) for s in np.split(data, bounds)]
    return sequences, (labels.tolist() if labels is not None else None)


class _BoundedNpz:
    """``numpy.load`` of an ``.npz`` for untrusted files: the zip's directory and each
    ``.npy`` header are checked before any data is read (:mod:`rnnkit.utils.npzio`);
    a refusal is a DataFormatError."""

    def __init__(self, path: PathLike) -> None:
        self.path = path
        self.fh = files.open_regular(path, what="an .npz data file", max_bytes=files.MAX_DATA_NPZ_BYTES)
        try:
            self.zf = zipfile.ZipFile(self.fh)
        except BaseException:
            self.fh.close()
            raise
        try:
            self.entries = check_archive(self.zf)
        except ArchiveError as exc:
            self.close()
            raise DataFormatError(path, f"refused: {exc}") from None
        self.files = [n[:-4] for n in self.entries if n.endswith(".npy")]

    def __enter__(self) -> _BoundedNpz:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.zf.close()
        self.fh.close()

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            with self.zf.open(key + ".npy") as fh:
                shape, fortran, dtype, nbytes = read_header(fh, key)
                if self.entries[key + ".npy"].file_size != fh.tell() + nbytes:
                    raise ArchiveError(f"array {key!r}: its size disagrees with its header")
                return read_data(fh, key, shape, fortran, dtype, nbytes)
        except PickleRequired as exc:
            raise DataFormatError(
                self.path, f"cannot read without pickle ({exc})", hint="store numbers or strings, never object arrays"
            ) from None
        except ArchiveError as exc:
            raise DataFormatError(self.path, f"refused: {exc}") from None


_DATA_KEYS = ("data", "X", "x", "sequences", "inputs")
_LABEL_KEYS = ("labels", "y", "Y", "label", "target", "targets")


def _first(found: Container[str], keys: Iterable[str]) -> str | None:
    return next((k for k in keys if k in found), None)


def _equal_length(
    path: PathLike, X: np.ndarray, labels: np.ndarray | None, name: str
) -> tuple[list[np.ndarray], list | None]:
    """(N, T) or (N, T, F) arrays, with trailing all-NaN steps trimmed per sequence."""
    check_values(X, path, name)
    if X.ndim == 2:
        X = X[:, :, None]  # (N, T, 1)
    if X.ndim != 3 or not np.issubdtype(X.dtype, np.number) or len(X) == 0:
        raise DataFormatError(
            path, f"expected X of shape (N, T) or (N, T, F) numbers, got shape {X.shape}, dtype {X.dtype}"
        )
    if labels is not None and labels.shape != (len(X),):
        raise DataFormatError(path, f"the labels have shape {labels.shape}, expected ({len(X)},) (one per sequence)")
    sequences = []
    for x in X.astype(np.float64):
        known = np.flatnonzero(np.isfinite(x).any(axis=1))
        sequences.append(x[: known[-1] + 1] if len(known) else x)  # (T_i, F)
    return sequences, (labels.tolist() if labels is not None else None)
