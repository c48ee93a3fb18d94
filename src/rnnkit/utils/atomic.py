"""Atomic file writes, and JSON that survives NaN and inf.

Every file rnnkit writes (run folders, reports, plots, exports, checkpoints, vocabularies)
goes through :func:`atomic_write` (or its whole-contents forms :func:`write_bytes_atomic`,
:func:`write_text_atomic`, :func:`write_json_atomic`, :func:`atomic_savefig`): a temporary
file in the same folder, flushed and fsynced, renamed over the target, then the folder
fsynced, so a reader never sees half a file and a crash leaves the old one.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # matplotlib is optional: imported only by the functions that draw
    from matplotlib.figure import Figure


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", *, parents: bool = True) -> Iterator[IO]:
    """``with atomic_write(path, "wb") as fh: ...``: the one atomic writer of rnnkit.

    The block writes into a fresh hidden file next to ``path``
    (``.<name>.<pid>-<random>.tmp``, see :func:`clean_stale_temps`); when it ends without
    an exception the file is flushed and fsynced, renamed over ``path`` with ``os.replace``
    (atomic on POSIX and Windows) and the folder is fsynced so the rename itself is
    durable. When the block raises, the temporary file is removed and ``path`` is left as
    it was. For streams (a zip archive, ``savefig``); whole contents go through
    :func:`write_bytes_atomic` / :func:`write_text_atomic`. An OSError while creating,
    or renaming over, the file names ``path`` (see :func:`target_error`): an existing
    folder, a path below a regular file, a folder that cannot hold files (``/proc``).

    Args:
        path: the file to write.
        mode: "wb" (bytes) or "w" (text, UTF-8, newlines as written).
        parents: create missing parent folders first (else a missing folder raises).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode: expected 'wb' or 'w', got {mode!r}")
    path = Path(path)
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():  # refused before anything is written, not at the rename
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        tmp, fd = _create_temp(path)
    except OSError as exc:
        raise target_error(exc, path) from exc
    try:
        text: dict[str, Any] = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise target_error(exc, path) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def target_error(exc: OSError, path: Path) -> OSError:
    """``exc`` retold about the user's ``path``, never rnnkit's temporary file: same errno
    (so the same OSError subclass), the reason in words and a hint."""
    reason = exc.strerror or str(exc)
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        reason = f"{blocker} is a file, not a folder; hint: pass a path inside a folder"
    elif path.is_dir():
        reason = "it is a folder; expected a file name; hint: name a file inside that folder"
    else:
        reason += "; hint: pass a path in a folder you can write to"
    try:  # the same class, so callers that catch PermissionError & co. still do
        if exc.errno is None:
            return type(exc)(f"{path}: cannot write it: {reason}")
        return type(exc)(exc.errno, f"cannot write it: {reason}", str(path))
    except TypeError:  # a subclass with another signature
        return OSError(exc.errno, f"cannot write it: {reason}", str(path))


def _create_temp(path: Path) -> tuple[Path, int]:
    """A new hidden temporary file beside ``path``: (its path, an open descriptor)."""
    # 0o666 & ~umask, the mode open(path, "w") would give (mkstemp's 0o600 would hide
    # plots and models from the user's group)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp"
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); returns ``Path(path)``."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def clean_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that killed saves of ``path`` left behind; return them.

    A temporary file is named ``.<name>.<pid>-<random>.tmp``: it is stale when no process
    with that id runs any more (a save in progress, in this or another process, is left
    alone). Names without a process id come from older rnnkit versions and are removed.
    """
    path = Path(path)
    removed = []
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            pid = tmp.name[len(path.name) + 2 : -4].split("-", 1)[0]
            if pid.isdigit() and _alive(int(pid)):
                continue
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap check: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def fsync_directory(directory: Path) -> None:
    """Make the rename durable. Windows cannot open a directory, and some file systems
    refuse to fsync one; the rename has already happened, so those are not errors."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (see :func:`atomic_write`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def jsonable(value: object) -> Any:  # the same data, in JSON types
    """Plain JSON data from NumPy scalars/arrays, tuples and dicts; NaN and inf become the
    strings "nan", "inf", "-inf" (strict JSON has no spelling for them)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return value


def from_json_float(value: str | float | None) -> float:
    """Inverse of :func:`jsonable` for one number (None reads as NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return float(value)  # "nan", "inf", "-inf"
    return float(value)


def write_json_atomic(path: str | os.PathLike[str], obj: object, *, nonfinite: str = "null") -> Path:
    """Write ``obj`` as JSON. NaN and inf become ``null`` (strict JSON, readable by any tool;
    ``nonfinite="null"``) or the strings "nan", "inf", "-inf" (``nonfinite="string"``, read
    back by :func:`from_json_float`)."""
    if nonfinite == "null":
        return write_text_atomic(path, json.dumps(json_null_nonfinite(obj), indent=1) + "\n")
    if nonfinite == "string":
        return write_text_atomic(path, json.dumps(jsonable(obj), indent=2) + "\n")
    raise ValueError(f"nonfinite: expected 'null' or 'string', got {nonfinite!r}")


def json_null_nonfinite(value: object) -> Any:  # the same data, in JSON types
    """NumPy scalars/arrays to Python; NaN and inf to None (strict JSON for other tools)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_null_nonfinite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_null_nonfinite(v) for v in value]
    return value


def atomic_savefig(fig: Figure, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically; the format comes from the suffix (png without
    one). ``kwargs`` go to ``savefig`` (default ``dpi=110, bbox_inches="tight"``)."""
    kwargs = {"dpi": 110, "bbox_inches": "tight", **kwargs}
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=Path(path).suffix.lstrip(".") or "png", **kwargs)
    return Path(path)
