"""Bounded reading of ``.npz`` archives: refuse hostile files before reading their data.

A zip archive can lie: two entries with one name, entry names that are paths, a few
megabytes that inflate to gigabytes, an ``.npy`` header declaring a shape of 10^12
elements. :func:`check_archive` looks at the zip's central directory only and
:func:`read_header` at one ``.npy`` header (a few hundred bytes), so such a file is refused
in milliseconds, whatever its size, before a byte of array data is read or allocated;
:func:`read_data` then reads exactly the bytes the header promised.

Every refusal is an :class:`ArchiveError` (a ValueError) whose message says what is wrong,
without the file name: callers prefix it.
"""

from __future__ import annotations

import math
import zipfile
from typing import IO

import numpy as np

__all__ = [
    "ArchiveError",
    "PickleRequired",
    "DEFAULT_MAX_BYTES",
    "MAX_RATIO",
    "check_archive",
    "read_header",
    "read_data",
]

#: the default ceiling on the bytes one archive may hold once inflated (8 GiB)
DEFAULT_MAX_BYTES = 8 * 2**30
#: the largest inflation ratio accepted for a compressed entry (deflate's limit is ~1032)
MAX_RATIO = 200


class ArchiveError(ValueError):
    """A zip or ``.npy`` entry that cannot be read safely; the message says why."""


class PickleRequired(ArchiveError):
    """An ``.npy`` entry of object dtype: reading it would need pickle."""


def check_archive(
    zf: zipfile.ZipFile, *, max_bytes: int = DEFAULT_MAX_BYTES, stored_only: bool = False
) -> dict[str, zipfile.ZipInfo]:
    """The entries of ``zf`` by name, after refusing duplicate names, names that are paths,
    encrypted entries, compressed entries (all of them with ``stored_only``, else those inflating more than
    :data:`MAX_RATIO` times) and more than ``max_bytes`` in all once inflated."""
    infos = zf.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ArchiveError(f"duplicate entry names {dup[:5]}")
    total = 0
    for info in infos:
        name = info.filename
        if (
            not name
            or name.startswith((".", "/"))
            or "/" in name
            or "\\" in name
            or ".." in name
            or ":" in name
            or any(ord(c) < 32 or ord(c) == 127 for c in name)
        ):
            raise ArchiveError(f"entry name {name!r} is a path or not a plain file name")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"entry {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            if stored_only:
                raise ArchiveError(
                    f"entry {name!r} is compressed (method {info.compress_type}); "
                    "rnnkit writes stored (uncompressed) entries only"
                )
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) + 4096:
                raise ArchiveError(
                    f"entry {name!r} would inflate {info.compress_size:,} bytes to "
                    f"{info.file_size:,} (more than {MAX_RATIO}x): refused as a "
                    "compression bomb"
                )
        elif info.compress_size != info.file_size:
            raise ArchiveError(
                f"entry {name!r}: stored, but its sizes differ ({info.compress_size:,} "
                f"on disk, {info.file_size:,} declared)"
            )
        total += info.file_size
        if total > max_bytes:
            raise ArchiveError(
                f"holds more than the ceiling of {max_bytes:,} bytes once read; "
                "hint: pass a larger max_bytes if the file is trusted"
            )
    return {info.filename: info for info in infos}


def read_header(fh: IO[bytes], name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[tuple, bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, nbytes)`` from the ``.npy`` header at the start of
    ``fh``, refusing object dtypes and arrays over ``max_bytes``."""
    try:
        major, minor = np.lib.format.read_magic(fh)
        if (major, minor) == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif (major, minor) in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unknown .npy format version {major}.{minor}")
    except (ValueError, SyntaxError, TypeError, OverflowError, EOFError) as exc:
        raise ArchiveError(f"array {name!r}: bad .npy header ({' '.join(str(exc).split())})") from None
    if dtype.hasobject:
        raise PickleRequired(
            f"array {name!r}: object dtype {dtype}; reading it would need pickle, which rnnkit refuses"
        )
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise ArchiveError(f"array {name!r}: bad shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise ArchiveError(
            f"array {name!r}: shape {shape} of {dtype} needs {nbytes:,} bytes, over the ceiling of {max_bytes:,}"
        )
    return tuple(shape), bool(fortran), dtype, nbytes


def read_data(fh: IO[bytes], name: str, shape: tuple, fortran: bool, dtype: np.dtype, nbytes: int) -> np.ndarray:
    """The array after its header: exactly ``nbytes`` bytes, into a fresh writable array."""
    buf = bytearray(nbytes)
    view, got = memoryview(buf), 0
    while got < nbytes:
        # ZipFile.open is typed IO[bytes], which declares no readinto; its ZipExtFile has it
        n = fh.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            raise ArchiveError(f"array {name!r}: truncated ({got:,} of {nbytes:,} bytes)")
        got += n
    if fh.read(1):
        raise ArchiveError(f"array {name!r}: more bytes than its header declares")
    a = np.frombuffer(buf, dtype=dtype) if nbytes else np.zeros(0, dtype=dtype)
    return a.reshape(shape, order="F" if fortran else "C")
