"""The record of a search by :func:`rnnkit.forecast.tune.tune`: its trials, the best of them,
a table, the best settings as a TOML config for ``rnnkit train forecast --config``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..utils.atomic import write_text_atomic
from ..utils.toml_text import toml_value
from .forecaster import Forecaster
from .tune_confirm import Confirmation

__all__ = ["Trial", "TuneResult"]


@dataclasses.dataclass
class Trial:
    """One configuration tried.

    Attributes:
        number: counted from 0 in the order tried.
        params: the searched settings.
        fold_mase: MASE of each fold scored (fewer than the folds when pruned or failed).
        running: the pooled MASE after each fold scored (what pruning compares).
        mase: the pooled MASE over the folds scored (NaN when failed).
        state: "complete", "pruned" or "failed".
        seconds: wall time of the trial.
        message: why it failed.
    """

    number: int
    params: dict[str, Any]
    fold_mase: list[float]
    running: list[float]
    mase: float
    state: str
    seconds: float
    message: str = ""


@dataclasses.dataclass
class TuneResult:
    """The trials of :func:`tune` and the one chosen: the choice of the re-scoring on fresh
    seeds (``confirmation``), or without one the lowest pooled MASE of a complete trial."""

    trials: list[Trial]
    base_params: dict[str, Any]
    horizon: int
    folds: int
    backend: str
    base_trial: int | None = None  # the trial of the base settings (None: they were outside the space)
    confirmation: Confirmation | None = None  # the re-scoring on fresh seeds and its choice

    @property
    def best_trial(self) -> Trial:
        """The trial chosen (the search's lowest score when nothing was re-scored)."""
        done = [t for t in self.trials if t.state == "complete"]
        if not done:
            failed = [t for t in self.trials if t.state == "failed"]
            why = f"; trial {failed[0].number}: {failed[0].message}" if failed else ""
            raise ValueError(f"tune: no trial completed ({len(self.trials)} tried){why}")
        if self.confirmation is not None:
            return self.trials[self.confirmation.chosen]
        return min(done, key=lambda t: t.mase)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_score(self) -> float:
        """The chosen trial's search score (pooled MASE of the search's seed)."""
        return self.best_trial.mase

    def forecaster(self, **overrides: Any) -> Forecaster:
        """A fresh Forecaster with the base settings, the best ones and ``overrides``."""
        return Forecaster(**{**self.base_params, **self.best_params, **overrides})

    def rows(self) -> list[dict[str, Any]]:
        """One dict per trial: number, state, mase, fold_1..fold_K, with a re-scoring
        ``confirmed`` (the MASE on the fresh seeds, NaN for trials not re-scored), seconds
        and the settings."""
        out = []
        for t in self.trials:
            row: dict[str, Any] = {"trial": t.number, "state": t.state, "mase": t.mase}
            row.update(
                {f"fold_{j + 1}": t.fold_mase[j] if j < len(t.fold_mase) else math.nan for j in range(self.folds)}
            )
            if self.confirmation is not None:
                row["confirmed"] = self.confirmation.scores.get(t.number, math.nan)
            row["seconds"] = t.seconds
            row.update(t.params)
            out.append(row)
        return out

    def table(self) -> str:
        """The trials as plain text, the chosen one marked with ``*``."""
        rows = self.rows()
        if not rows:
            return "no trials"
        best = self.best_trial.number if any(t.state == "complete" for t in self.trials) else None
        keys = list(rows[0])
        cells = [[_show(r.get(k)) for k in keys] for r in rows]
        widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
        lines = ["  " + "  ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True))]
        for r, c in zip(rows, cells, strict=True):
            mark = "* " if r["trial"] == best else "  "
            lines.append(mark + "  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))
        return "\n".join(lines)

    def to_toml(self, path: str | Path, extra: Mapping[str, Any] | None = None, header: str = "") -> Path:
        """Write the best settings as a flat TOML file that ``rnnkit train forecast --config``
        reads: ``task``, the keys of ``extra`` (the data settings), the horizon and the best
        settings; written atomically. Returns the path."""
        lines = [f"# {line}" if line else "#" for line in header.splitlines()]
        values = {"task": "forecast", **dict(extra or {}), "horizon": self.horizon, **self.best_params}
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        return write_text_atomic(path, "\n".join(lines) + "\n")


def _show(v: Any) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else (f"{v:.3g}" if abs(v) < 1e-2 else f"{v:.4g}")
    return str(v)
