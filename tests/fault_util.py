"""What the fault battery (tests/test_faults_*.py) shares: the hypothesis settings, the
outcome checks, zip surgery, and the tally of cases tried per category.

Every case ends in exactly one class of outcome, asserted by the test: success, a one-line
error (``error: ...`` and exit code 1 in the CLI; a ValueError/TypeError/OSError subclass the
CLI turns into one line in the library), or a clean stop with a loadable last state (exit
code 3). Never a traceback, a hang or an "internal error".

``RNNKIT_FAULT_EXAMPLES`` scales the number of examples per property (the suite's default
keeps the battery near a minute; ``benchmarks/fault_battery.py`` runs many more), and
``RNNKIT_FAULT_TALLY=file.json`` writes the number of cases tried per category at exit.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import json
import os
import warnings
import zipfile

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from rnnkit.cli import main

SCALE = float(os.environ.get("RNNKIT_FAULT_EXAMPLES", "1"))
TALLY: collections.Counter = collections.Counter()


def fuzz(n: int):
    """hypothesis settings for ``n`` examples (times the scale), reproducible in CI."""
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


def damage(data, raw: bytes, max_flips: int) -> bytes:
    """``raw`` truncated at a drawn point, or with 1 to ``max_flips`` drawn bits flipped
    (``data``: hypothesis' ``st.data()``)."""
    buf = bytearray(raw)
    if data.draw(st.booleans(), label="truncate"):
        return bytes(buf[: data.draw(st.integers(0, len(buf) - 1), label="cut")])
    for pos, bit in data.draw(
        st.lists(st.tuples(st.integers(0, len(buf) - 1), st.integers(0, 7)), min_size=1, max_size=max_flips),
        label="flips",
    ):
        buf[pos] ^= 1 << bit
    return bytes(buf)


def tally(category: str, outcome: str) -> None:
    TALLY[(category, outcome)] += 1


def _write_tally() -> None:
    path = os.environ.get("RNNKIT_FAULT_TALLY")
    if path and TALLY:
        old = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = json.load(fh)
        for (category, outcome), n in TALLY.items():
            old.setdefault(category, {}).setdefault(outcome, 0)
            old[category][outcome] += n
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(old, fh, indent=1)


atexit.register(_write_tally)


# -- the CLI -------------------------------------------------------------------------------
def cli(*argv) -> tuple[int, str, str]:
    """``rnnkit ARGV`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def one_line_error(rc: int, err: str, code: int = 1) -> str:
    """Assert a one-line CLI error with exit code ``code``; return the line."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == code, (rc, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "internal error" not in err and "Traceback" not in err, err
    return lines[0]


def user_error(exc: BaseException) -> bool:
    """True for what the CLI prints as one line (and never as an internal error)."""
    return isinstance(exc, (ValueError, TypeError, OSError)) and not isinstance(exc, (KeyError, IndexError))


# -- zip surgery -----------------------------------------------------------------------------
def read_entries(path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def write_entries(path, entries, compress: dict | None = None) -> None:
    """A zip of ``(name, bytes)`` entries, duplicates allowed; ``compress``: name -> method."""
    compress = compress or {}
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        for name, data in entries:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = compress.get(name, zipfile.ZIP_STORED)
            zf.writestr(info, data)


def edit_manifest(path, edit) -> None:
    entries = read_entries(path)
    out = []
    for name, data in entries:
        if name == "meta.json":
            manifest = json.loads(data)
            edit(manifest)
            data = json.dumps(manifest).encode()
        out.append((name, data))
    write_entries(path, out)


def npy_header(shape, descr="<f4", fortran=False, version=(1, 0)) -> bytes:
    """The bytes of an ``.npy`` header alone, declaring any shape."""
    import numpy as np

    fh = io.BytesIO()
    d = {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(fh, d)
    else:
        np.lib.format.write_array_header_2_0(fh, d)
    return fh.getvalue()
