"""Opening the files users and models hand to rnnkit: regular files only, of bounded size.

A path can name something that is not a file: a FIFO (``mkfifo model.npz``) blocks the
first read forever, ``/dev/zero`` (or a symlink to it) never ends, a socket or a folder
cannot be read at all. :func:`open_regular` refuses them by name before a byte is read,
and refuses a file larger than its kind's ceiling (checked against ``stat``, then again
while reading, so a file that grows in between cannot slip past).

The descriptor is opened with ``O_NONBLOCK``: a FIFO swapped in between the check and the
open cannot block it either; ``fstat`` on the open descriptor then decides, and the flag is
cleared again for the regular file.

Every refusal is a :class:`FileRefusedError` (a ValueError) whose message starts with the
user's path and ends with a hint.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "FileRefusedError",
    "MAX_MODEL_BYTES",
    "MODEL_FILE_OVERHEAD",
    "MAX_DATA_NPZ_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_MIDI_BYTES",
    "MAX_CONFIG_BYTES",
    "check_regular_file",
    "open_regular",
    "read_regular_bytes",
]

#: what a model file may hold beyond its arrays: the manifest (at most 256 MiB) and zip headers
MODEL_FILE_OVERHEAD = 512 * 2**20
#: a model or checkpoint file: its arrays (8 GiB, the checkpoint reader's ceiling) and the rest
MAX_MODEL_BYTES = 8 * 2**30 + MODEL_FILE_OVERHEAD
#: a data archive (.npz of sequences or music)
MAX_DATA_NPZ_BYTES = 8 * 2**30
#: a text file: corpora, CSV, TSV, .ts, CoNLL-U, vocabularies
MAX_TEXT_BYTES = 2**30
#: a MIDI file (the largest real ones are a few megabytes)
MAX_MIDI_BYTES = 64 * 2**20
#: a configuration or preset file (TOML, JSON)
MAX_CONFIG_BYTES = 64 * 2**20


class FileRefusedError(ValueError):
    """A path that is not a regular file, or a file over its kind's size ceiling."""


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _check_stat(path: Path, st: os.stat_result, what: str, max_bytes: int) -> None:
    kind = _kind(st.st_mode)
    if kind is not None:
        real = os.path.realpath(path)
        target = "" if real == os.path.abspath(path) else f" (it resolves to {real})"
        raise FileRefusedError(
            f"{path}: is {kind}{target}, not a regular file; expected {what}; "
            "hint: pass the path of a regular file (copy the data into one first)"
        )
    if st.st_size > max_bytes:
        raise FileRefusedError(
            f"{path}: {_size_text(st.st_size)} is larger than the {_size_text(max_bytes)} "
            f"accepted for {what}; hint: pass a smaller file (split it), or check that it is the right file"
        )


def check_regular_file(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> Path:
    """``path`` as a Path once ``os.stat`` (symlinks followed) shows a regular file of at
    most ``max_bytes``; FileNotFoundError when it does not exist, else FileRefusedError."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found; expected {what}") from None
    _check_stat(path, st, what, max_bytes)
    return path


def open_regular(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> BinaryIO:
    """Open a regular file of at most ``max_bytes`` for binary reading (see the module doc).

    Args:
        path: the user's path (symlinks are followed).
        what: the kind of file expected, for messages ("a model file", "a MIDI file").
        max_bytes: the ceiling on its size.

    Raises:
        FileNotFoundError: no such file.
        FileRefusedError: a directory, FIFO, device or socket, or a file over the ceiling.
    """
    path = check_regular_file(path, what=what, max_bytes=max_bytes)
    nonblock: int = getattr(os, "O_NONBLOCK", 0)  # POSIX; Windows has no FIFOs to block on
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    try:
        _check_stat(path, os.fstat(fd), what, max_bytes)  # the file actually opened
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> bytes:
    """The whole contents of a regular file of at most ``max_bytes`` (see :func:`open_regular`);
    a file that grows past the ceiling while it is read is refused too."""
    with open_regular(path, what=what, max_bytes=max_bytes) as fh:
        # read(n) reserves n bytes up front: ask for the size the file has, not the ceiling
        # (under a limit on address space a 1 GiB buffer for a 1 MB file fails)
        parts = [fh.read(os.fstat(fh.fileno()).st_size + 1)]
        total = len(parts[0])
        while total <= max_bytes:  # the file grew while it was read: the rest, to the ceiling
            more = fh.read(min(max_bytes + 1 - total, 2**20))
            if not more:
                break
            parts.append(more)
            total += len(more)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
    if len(data) > max_bytes:
        raise FileRefusedError(
            f"{path}: grew past the {_size_text(max_bytes)} accepted for {what} while it was read; "
            "hint: pass a file that is not being written"
        )
    return data
