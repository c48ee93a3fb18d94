"""Where the forecasting benchmarks find the real series: ../shared/data/series (see its
README.md) beside the repository, or one level further up from a worktree.

Imported by forecast.py, forecast_cli.py and forecast_intervals.py (a script's own folder
is on sys.path when it runs)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = next(
    (
        p / "shared" / "data" / "series"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared" / "data" / "series").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "series",
)
