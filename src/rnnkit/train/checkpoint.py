"""Checkpoints: one self-describing, pickle-free, versioned file, written atomically.

Layout. A checkpoint is a zip archive that ``numpy.load`` also opens (an ``.npz``):

- ``meta.json``: the manifest, UTF-8 JSON::

      {"format": "rnnkit-checkpoint", "version": 1, "rnnkit_version": "0.1.0",
       "meta": {...caller's metadata...},
       "arrays": {"model.weight_ih_l0": {"shape": [512, 32], "dtype": "<f4",
                                         "crc32": 2914176421}, ...}}

- ``<name>.npy`` for every array: the ``.npy`` format written with
  ``allow_pickle=False``, so an object array can neither be written nor read.

``crc32`` is the CRC-32 of the array's bytes in C order (``zlib.crc32``); together with
shape and dtype it lets :func:`load_checkpoint` prove every array is the one written.

Atomicity. :func:`save_checkpoint` writes through :func:`rnnkit.utils.atomic.atomic_write`:
a hidden temporary file in the target's directory, flushed and fsynced, renamed over the
target with ``os.replace`` (atomic on POSIX and Windows), then the directory fsynced so
the rename itself is durable. A failure, or the process being killed at any moment,
leaves the previous file intact; only a kill can leave a stray
``.<name>.<pid>-<random>.tmp`` behind, and the next save or load of that path removes it (:func:`clean_stale_temps`).

Metadata round trips through JSON: dict keys must be strings, tuples come back as lists,
integers of any size are exact (a NumPy ``bit_generator.state`` survives unchanged, see
:func:`rng_state`), floats are exact, and NaN/inf are written as ``NaN``/``Infinity``,
which Python's ``json`` reads back.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from rnnkit._version import __version__
from rnnkit.distributed import world

from ..utils.atomic import atomic_write, clean_stale_temps
from ..utils.files import MODEL_FILE_OVERHEAD, FileRefusedError, open_regular
from ..utils.npzio import DEFAULT_MAX_BYTES, ArchiveError, check_archive, read_data, read_header

FORMAT = "rnnkit-checkpoint"
VERSION = 1  # the newest format version this rnnkit writes and reads
MANIFEST = "meta.json"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry dates: same content, same bytes

# What a damaged archive can raise while being opened or read.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    SyntaxError,
    UnicodeDecodeError,
    OverflowError,
    NotImplementedError,
)


class CheckpointError(ValueError):
    """A checkpoint cannot be written or read; the message names the file and the problem."""


# -- saving ------------------------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping | None = None
) -> Path:
    """Write ``arrays`` and ``meta`` to ``path`` atomically; return ``Path(path)``.

    Args:
        path: the file to write (any suffix; ``.npz`` is conventional). Its directory must
            exist. An existing file is replaced only once the new one is complete on disk.
        arrays: name -> array of any shape and any non-object dtype. Names are non-empty,
            contain no ``/``, ``\\`` or control characters and do not start with ``.``;
            dots are welcome (``optim.model.weight_ih_l0.exp_avg``).
        meta: JSON-serializable metadata (config, step, ``rng_state(gen)``, ...).

    Raises:
        TypeError: an array has an object dtype, or ``meta`` holds a non-JSON value.
        CheckpointError: a bad name or path; nothing was written.
    """
    path = Path(path)
    entries = _check_arrays(arrays)
    meta = {} if meta is None else meta
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta: expected a dict, got {type(meta).__name__}")
    _check_json(meta, "meta")
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "rnnkit_version": __version__,
        "meta": meta,
        "arrays": {
            name: {"shape": list(a.shape), "dtype": a.dtype.str, "crc32": _crc32(a)} for name, a in entries.items()
        },
    }
    manifest_bytes = json.dumps(manifest, indent=1).encode("utf-8")
    directory = path.parent
    if not directory.is_dir():
        raise CheckpointError(
            f"checkpoint {path}: directory {directory} does not exist; "
            "hint: create it first, e.g. Path(path).parent.mkdir(parents=True)"
        )
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path}: is a directory; expected a file path")
    if not world().is_root:  # under mpiexec rank 0 alone writes; the others hold the same state
        return path
    clean_stale_temps(path)
    with atomic_write(path, "wb", parents=False) as fh:
        _write_archive(fh, entries, manifest_bytes)
    return path


def _check_arrays(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays: expected a dict of name -> numpy array, got {type(arrays).__name__}")
    entries = {}
    for name, value in arrays.items():
        _check_name(name)
        if hasattr(value, "detach"):  # a torch tensor; read it without importing torch
            value = value.detach().cpu().numpy()
        a = np.asarray(value)
        if a.dtype.hasobject:
            raise TypeError(
                f"arrays[{name!r}]: expected a numeric, bool or string array, got dtype "
                f"{a.dtype}; hint: object arrays would need pickle, which checkpoints refuse"
            )
        entries[name] = a
    return entries


def _check_name(name: object) -> None:
    bad = (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name)
    )
    if bad:
        raise CheckpointError(
            f"arrays: invalid array name {name!r}; expected a non-empty string without "
            "'/', '\\' or control characters, not starting with '.'; "
            "hint: use dotted names such as 'model.weight_ih_l0'"
        )


def _check_json(value: object, where: str) -> None:
    """Refuse what JSON would silently change (non-str keys) or cannot write."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        return  # NaN/inf included: written as NaN/Infinity, read back by Python
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{where}: expected string keys, got key {key!r} ({type(key).__name__}); "
                    "hint: JSON would turn it into a string, so it would not round trip"
                )
            _check_json(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    hint = "convert NumPy scalars with .item(); arrays belong in `arrays`"
    raise TypeError(
        f"{where}: expected a JSON value (None, bool, int, float, str, list, dict), "
        f"got {type(value).__name__}; hint: {hint}"
    )


def _crc32(a: np.ndarray) -> int:
    # A flat byte view: no copy for contiguous arrays, and works for every non-object dtype.
    # (numpy's stubs declare the buffer protocol only for Python >= 3.12)
    return zlib.crc32(np.ascontiguousarray(a).reshape(-1).view(np.uint8))  # type: ignore[arg-type]


def _write_archive(fh: IO[bytes], entries: Mapping[str, np.ndarray], manifest_bytes: bytes) -> None:
    """Write the zip archive (the manifest, then one ``.npy`` per array) into ``fh``."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo(MANIFEST, _ZIP_DATE), manifest_bytes)
        for array_name, a in entries.items():
            info = zipfile.ZipInfo(array_name + ".npy", _ZIP_DATE)
            with zf.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, a, allow_pickle=False)


# -- loading -----------------------------------------------------------------------------
def load_checkpoint(
    path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint written by :func:`save_checkpoint`, verifying every array.

    Hostile files are refused before any array data is read: the zip's directory (no
    duplicate or path-like names, no compressed entries, at most ``max_bytes`` in all,
    nothing the manifest does not list) and then every ``.npy`` header (dtype, shape and
    byte size equal to the manifest's) are checked first (see :mod:`rnnkit.utils.npzio`).

    Args:
        max_bytes: the ceiling on the bytes the arrays may take (default 8 GiB).

    Returns:
        ``(arrays, meta)``: name -> array (shape, dtype and CRC-32 checked against the
        manifest), and the metadata dict as saved.

    Raises:
        CheckpointError: the file is missing, not a zip or truncated, a zip without an
            rnnkit manifest (for example a plain ``numpy.savez`` file), of another format or
            a newer version, an array is missing, unlisted or corrupted, or the file is
            refused as above; the path names a FIFO, device, socket or other non-regular
            file, or a file larger than ``max_bytes`` plus the manifest's allowance.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path}: file not found")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path}: is a directory; expected a checkpoint file")
    try:  # a FIFO, a device or a file far over the ceiling is refused before any read
        fh = open_regular(path, what="a checkpoint file", max_bytes=max_bytes + MODEL_FILE_OVERHEAD)
    except FileRefusedError as exc:
        raise CheckpointError(f"checkpoint {exc}") from None
    except OSError as exc:
        raise CheckpointError(f"checkpoint {path}: cannot open it: {exc.strerror or exc}") from None
    clean_stale_temps(path)
    try:
        with fh, zipfile.ZipFile(fh) as zf:
            entries = check_archive(zf, max_bytes=max_bytes, stored_only=True)
            manifest = _read_manifest(zf, path, entries)
            return _read_arrays(zf, path, manifest["arrays"], max_bytes), manifest["meta"]
    except CheckpointError:
        raise
    except ArchiveError as exc:
        raise CheckpointError(f"checkpoint {path}: refused: {exc}") from None
    except _READ_ERRORS as exc:
        raise CheckpointError(
            f"checkpoint {path}: not a readable zip archive (truncated or not a checkpoint): "
            f"{exc}; hint: a partly written file cannot come from save_checkpoint, "
            "which writes atomically"
        ) from exc


_MANIFEST_KEYS = {"format", "version", "rnnkit_version", "meta", "arrays"}
_SPEC_KEYS = {"shape", "dtype", "crc32"}
_MAX_MANIFEST = 256 * 2**20  # bytes of meta.json


def _read_manifest(zf: zipfile.ZipFile, path: Path, entries: dict) -> dict:
    names = list(entries)
    if MANIFEST not in names:
        kind = "a NumPy .npz" if names and all(n.endswith(".npy") for n in names) else "a zip"
        raise CheckpointError(
            f"checkpoint {path}: {kind} file without an rnnkit manifest ({MANIFEST}); "
            "hint: only files written by rnnkit.train.checkpoint.save_checkpoint can be loaded"
        )
    if entries[MANIFEST].file_size > _MAX_MANIFEST:
        raise CheckpointError(
            f"checkpoint {path}: {MANIFEST} is {entries[MANIFEST].file_size:,} bytes, "
            f"over the ceiling of {_MAX_MANIFEST:,}"
        )
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"checkpoint {path}: {MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise CheckpointError(
            f"checkpoint {path}: format is {found!r}, expected {FORMAT!r}; hint: this is not an rnnkit checkpoint"
        )
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"checkpoint {path}: invalid format version {version!r}")
    if version > VERSION:
        raise CheckpointError(
            f"checkpoint {path}: format version {version} was written by a newer rnnkit "
            f"({manifest.get('rnnkit_version', 'unknown')}); this rnnkit ({__version__}) reads "
            f"version {VERSION}; hint: upgrade rnnkit to load it"
        )
    check_keys(manifest, _MANIFEST_KEYS, f"checkpoint {path}: {MANIFEST}", "")
    if not isinstance(manifest.get("arrays"), dict) or not isinstance(manifest.get("meta"), dict):
        raise CheckpointError(f"checkpoint {path}: {MANIFEST} lacks an 'arrays' or 'meta' object")
    for name, spec in manifest["arrays"].items():
        _check_spec(path, name, spec)
    listed = {name + ".npy" for name in manifest["arrays"]}
    unlisted = sorted(n for n in names if n != MANIFEST and n not in listed)
    if unlisted:
        raise CheckpointError(f"checkpoint {path}: entries not in the manifest: {unlisted}")
    missing = sorted(n[:-4] for n in listed if n not in entries)
    if missing:
        raise CheckpointError(f"checkpoint {path}: array {missing[0]!r} is listed but missing")
    return manifest


def check_keys(d: Mapping, expected: Iterable[str], where: str, prefix: str) -> None:
    """Raise :class:`CheckpointError` naming the first missing or unexpected key of ``d``."""
    missing, extra = sorted(set(expected) - set(d)), sorted(set(d) - set(expected))
    if missing:
        raise CheckpointError(
            f"{where}: missing key {prefix + str(missing[0])!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; hint: the file was edited or damaged; save the model again"
        )
    if extra:
        raise CheckpointError(
            f"{where}: unexpected key {prefix + str(extra[0])!r}"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
            + "; hint: the file was edited, or written by another rnnkit"
        )


def _check_spec(path: Path, name: object, spec: Any) -> None:
    try:
        _check_name(name)
    except CheckpointError:
        raise CheckpointError(f"checkpoint {path}: {MANIFEST} lists an invalid array name {name!r}") from None
    where = f"checkpoint {path}: {MANIFEST} arrays[{name!r}]"
    if not isinstance(spec, dict):
        raise CheckpointError(f"{where}: expected an object, got {type(spec).__name__}")
    check_keys(spec, _SPEC_KEYS, where, "")
    shape, dtype, crc = spec["shape"], spec["dtype"], spec["crc32"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise CheckpointError(f"{where}: shape {shape!r} is not a list of ints >= 0")
    if not isinstance(dtype, str) or len(dtype) > 64:
        raise CheckpointError(f"{where}: dtype {dtype!r} is not a dtype string")
    if isinstance(crc, bool) or not isinstance(crc, int):
        raise CheckpointError(f"{where}: crc32 {crc!r} is not an int")


def _read_arrays(zf: zipfile.ZipFile, path: Path, listing: dict, max_bytes: int) -> dict[str, np.ndarray]:
    # Every header first, against the manifest: nothing is read or allocated for a lie.
    headers = {}
    for name, spec in listing.items():
        with zf.open(name + ".npy") as fh:
            shape, fortran, dtype, nbytes = read_header(fh, name, max_bytes=max_bytes)
            offset = fh.tell()
        problem = (
            f"shape {list(shape)} in its header, manifest says {spec['shape']}"
            if list(shape) != spec["shape"]
            else f"dtype {dtype.str} in its header, manifest says {spec['dtype']}"
            if dtype.str != spec["dtype"]
            else None
        )
        if problem:
            raise CheckpointError(f"checkpoint {path}: array {name!r} is corrupted: {problem}")
        size = zf.getinfo(name + ".npy").file_size
        if size != offset + nbytes:
            raise CheckpointError(
                f"checkpoint {path}: array {name!r} is corrupted: {size:,} bytes, its "
                f"header and manifest declare {offset + nbytes:,}"
            )
        headers[name] = (shape, fortran, dtype, nbytes, offset)
    arrays = {}
    for name, spec in listing.items():
        shape, fortran, dtype, nbytes, offset = headers[name]
        try:
            with zf.open(name + ".npy") as fh:
                fh.read(offset)
                a = read_data(fh, name, shape, fortran, dtype, nbytes)
        except ArchiveError as exc:
            raise CheckpointError(f"checkpoint {path}: {exc}") from None
        except _READ_ERRORS as exc:
            raise CheckpointError(f"checkpoint {path}: array {name!r} is corrupted ({exc})") from exc
        problem = _mismatch(a, spec)
        if problem:
            raise CheckpointError(f"checkpoint {path}: array {name!r} is corrupted: {problem}")
        arrays[name] = a
    return arrays


def _mismatch(a: np.ndarray, spec: Mapping) -> str | None:
    if _crc32(a) != spec.get("crc32"):
        return f"CRC-32 {_crc32(a)}, manifest says {spec.get('crc32')}"
    return None
