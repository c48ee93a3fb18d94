"""The fault battery at full strength, and the README's reliability table. ``python benchmarks/fault_battery.py``.

Runs ``tests/test_faults_*.py`` with ``--scale`` times the suite's hypothesis examples and
``--kills`` SIGKILLs, tallies every case by category and outcome (see tests/fault_util.py),
then measures how fast the loaders refuse large hostile files:

* a stored checkpoint of ``--size-gb`` GB whose last array's header disagrees with the
  manifest (every header is checked before any data is read);
* a compression bomb: a few MB that would inflate to ``--bomb-gb`` GB;
* a header declaring 10^12 elements over a few bytes.

It prints a Markdown table: cases tried per category, how each ended, whether all were
handled (success, a one-line error, or a clean stop with a loadable state; never a
traceback, a hang or "internal error"), then the refusal times.

    python benchmarks/fault_battery.py [--scale 20] [--kills 20] [--size-gb 4] [--bomb-gb 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def run_battery(scale: float, kills: int, tally_path: Path) -> int:
    env = dict(
        os.environ,
        RNNKIT_FAULT_EXAMPLES=str(scale),
        RNNKIT_FAULT_KILLS=str(kills),
        RNNKIT_FAULT_TALLY=str(tally_path),
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
    )
    tests = sorted(str(p) for p in (ROOT / "tests").glob("test_faults_*.py"))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.call(cmd, env=env, cwd=ROOT)


def _npy_header(shape, descr="<f8") -> bytes:
    import io

    fh = io.BytesIO()
    np.lib.format.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return fh.getvalue()


def _manifest(arrays: dict) -> bytes:
    from rnnkit._version import __version__

    return json.dumps(
        {"format": "rnnkit-checkpoint", "version": 1, "rnnkit_version": __version__, "meta": {}, "arrays": arrays}
    ).encode()


def _write_zeros(fh, n: int) -> None:
    """An .npy member of n float64 zeros, its header then the zeros 8 MiB at a time."""
    chunk = bytes(8 * 2**20)
    fh.write(_npy_header((n,)))
    left = 8 * n
    while left:
        part = chunk[: min(left, len(chunk))]
        fh.write(part)
        left -= len(part)


def large_lying_checkpoint(path: Path, size_gb: float) -> None:
    """A stored checkpoint of ``size_gb`` GB in 4 arrays of zeros, streamed to disk; the
    last array's manifest entry declares one element more than its header."""
    n = int(size_gb * 1e9 / 8 / 4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        specs = {}
        for i in range(4):
            specs[f"a{i}"] = {"shape": [n + (i == 3)], "dtype": "<f8", "crc32": 0}
        zf.writestr("meta.json", _manifest(specs))
        for i in range(4):
            with zf.open(zipfile.ZipInfo(f"a{i}.npy", (1980, 1, 1, 0, 0, 0)), "w", force_zip64=True) as fh:
                _write_zeros(fh, n)


def bomb(path: Path, inflated_gb: float) -> None:
    n = int(inflated_gb * 1e9 / 8)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr("meta.json", _manifest({"w": {"shape": [n], "dtype": "<f8", "crc32": 0}}))
        info = zipfile.ZipInfo("w.npy", (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            _write_zeros(fh, n)


def declared(path: Path) -> None:
    shape = (10**12,)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("meta.json", _manifest({"w": {"shape": list(shape), "dtype": "<f8", "crc32": 0}}))
        zf.writestr("w.npy", _npy_header(shape) + bytes(64))


def refusal_time(path: Path, repeats: int = 5) -> tuple[float, str]:
    from rnnkit.train.checkpoint import CheckpointError, load_checkpoint

    best, message = float("inf"), ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            load_checkpoint(path)
        except CheckpointError as exc:
            message = str(exc).split(": ", 1)[1][:90]
        else:
            raise SystemExit(f"{path}: loaded; expected a refusal")
        best = min(best, time.perf_counter() - t0)
    return best, message


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=20.0, help="times the suite's hypothesis examples")
    ap.add_argument("--kills", type=int, default=20, help="SIGKILLs in the kill-and-resume test")
    ap.add_argument("--size-gb", type=float, default=4.0, help="the large lying checkpoint's size")
    ap.add_argument("--bomb-gb", type=float, default=3.0, help="what the compression bomb inflates to")
    ap.add_argument("--skip-battery", action="store_true", help="only the refusal timings")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    rows = []
    if not args.skip_battery:
        with tempfile.TemporaryDirectory() as d:
            tally = Path(d) / "tally.json"
            t0 = time.perf_counter()
            rc = run_battery(args.scale, args.kills, tally)
            seconds = time.perf_counter() - t0
            counts = json.loads(tally.read_text()) if tally.exists() else {}
        print(f"\nbattery: exit code {rc}, {seconds:.0f} s, scale {args.scale:g}, {args.kills} kills\n")
        print("| category | cases | outcomes | all handled |")
        print("|---|---:|---|---|")
        total = 0
        for category in sorted(counts):
            outcomes = counts[category]
            n = sum(outcomes.values())
            total += n
            shown = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
            rows.append((category, n))
            print(f"| {category} | {n:,} | {shown} | {'yes' if rc == 0 else 'NO'} |")
        print(f"| **all** | **{total:,}** | | {'yes' if rc == 0 else 'NO'} |")
        if rc != 0:
            return rc
    with tempfile.TemporaryDirectory(dir=os.environ.get("RNNKIT_BIG_TMP")) as d:
        d = Path(d)
        print("\n| hostile file | size on disk | refused in | because |")
        print("|---|---:|---:|---|")
        for name, make, arg in (
            ("checkpoint, last header disagrees with the manifest", large_lying_checkpoint, args.size_gb),
            (f"compression bomb (inflates to {args.bomb_gb:g} GB)", bomb, args.bomb_gb),
            ("header declaring 10^12 float64", declared, None),
        ):
            path = d / "hostile.npz"
            make(path, arg) if arg is not None else make(path)
            size = path.stat().st_size
            seconds, why = refusal_time(path)
            print(f"| {name} | {size / 1e9:.3g} GB | {seconds * 1e3:.1f} ms | {why} |")
            path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
