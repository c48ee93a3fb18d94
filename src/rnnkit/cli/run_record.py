"""What a run folder records besides its results: the environment it ran in (in ``run.json``)
and its model card (``MODEL_CARD.md``).

:func:`environment` is cheap: versions come from the installed packages' metadata
(:mod:`importlib.metadata`, so PyTorch and Numba are never imported for it), the git commit
from one ``git rev-parse`` with a short timeout, and only when rnnkit runs from a checkout.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from .. import _kernels
from .._version import __version__
from ..distributed import data_digest

__all__ = ["environment", "git_commit", "data_fingerprint", "model_card"]

_PACKAGES = {"numpy": "numpy", "numba": "numba", "torch": "torch"}  # key -> distribution
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def environment() -> dict:
    """The versions, the CPU, the thread counts, the kernels in use and rnnkit's git commit
    (None for what is absent)."""
    versions: dict = {"rnnkit": __version__, "python": platform.python_version()}
    for key, dist in _PACKAGES.items():
        versions[key] = _version(dist)
    return {
        "versions": versions,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "threads": {
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            **{name: os.environ.get(name) for name in _THREAD_VARIABLES},
        },
        "kernels": _kernels.describe(),
        "git_commit": git_commit(),
    }


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit(where: Path | None = None) -> str | None:
    """The commit of the git checkout holding rnnkit's source (or ``where``); None outside one,
    without git, or when git does not answer within two seconds."""
    start = Path(where) if where is not None else Path(__file__).resolve().parent
    if not any((p / ".git").exists() for p in (start, *start.parents)):
        return None  # an installed package: no git to ask
    try:
        done = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) >= 40 else None


def data_fingerprint(*parts: object) -> str:
    """A SHA-256 digest of a task's data parts (arrays, texts, lists and the fields of objects)."""
    return data_digest([_plain(p) for p in parts])


def _plain(x: object) -> object:
    if isinstance(x, (np.ndarray, str, int, float, bool)) or x is None:
        return x
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if hasattr(x, "__dict__"):
        return {k: _plain(v) for k, v in vars(x).items() if not k.startswith("_")}
    return repr(x)


def model_card(
    *,
    task,
    run_path: str,
    model,
    data,
    digest: str,
    config_rows: dict,
    summary: str,
    seconds: float,
) -> str:
    """The text of ``MODEL_CARD.md``: what was trained, on what, how, how well, and for what."""
    run_name = Path(run_path).name
    n = int(model.net_.num_parameters())
    lines = [
        f"# Model card: {task.name} run {run_name}",
        "",
        f"- **Task**: `{task.name}`: {task.about or task.help}",
        f"- **Model**: `{type(model).__name__}`, {n:,} parameters",
        f"- **Trained**: in {seconds:.1f} s with rnnkit {__version__} (Python {platform.python_version()}, "
        f"NumPy {np.__version__}); the environment is in `run.json`",
        "",
        "## Data",
        "",
        f"- {data.describe()}",
        f"- digest (SHA-256 of the training, validation and test parts): `{digest}`",
        *(f"- note: {note}" for note in data.notes or ()),
        "",
        "## Settings",
        "",
        "| key | value |",
        "|---|---|",
        *(f"| `{k}` | `{_cell(v)}` |" for k, v in config_rows.items()),
        "",
        "## Results",
        "",
        "Scores beside their baselines, on data held out from training, and the verdict:",
        "",
        "```text",
        summary.split("\n\n")[0].strip(),
        "```",
        "",
        "## Intended use",
        "",
        f"A {task.name} model for data like the above ({data.source}): "
        + (f"use it with `{task.command} {run_path}`" if task.command else "score it with `rnnkit evaluate`")
        + ". It was tested only on the held-out part named in the results; on data from elsewhere "
        "(another source, period, language or distribution) check it again with "
        f"`rnnkit evaluate {run_path} --data FILE` before relying on it. It is a research and "
        "teaching model: not for decisions about people, safety or money without a review of its errors.",
        "",
    ]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value).replace("|", "\\|")
