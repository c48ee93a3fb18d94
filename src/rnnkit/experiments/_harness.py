"""What every experiment shares: configs with a smoke size, a training run with diagnostics,
the per-step gradient profile of one batch, and the result folder (table + plots + JSON).

A result folder::

    <out>/<experiment>/
      table.md  table.csv        one row per run: the numbers the experiment is about
      results.json               config, rows, and every curve behind the plots
      *.png                      the plots (matplotlib; skipped with a note without it)
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..diagnostics import DiagnosticsMonitor, DiagnosticsRecord, read_grad_flow, set_recording
from ..diagnostics.figures import MISSING_NOTE, have_matplotlib
from ..train import TrainConfig, Trainer, TrainingError
from ..train.callbacks import History
from ..utils.atomic import write_json_atomic, write_text_atomic


@dataclass
class ExperimentResult:
    """An experiment's outcome: the table rows, the files written, notes for the reader."""

    name: str
    folder: Path
    columns: list
    rows: list
    plots: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        return markdown_table(self.columns, self.rows)


# -- configs --------------------------------------------------------------------------------
def apply_overrides(config, overrides: dict):
    """A copy of the dataclass ``config`` with ``overrides`` (name -> value or string) applied.

    Strings are parsed by the field's current type: ``"0.5,1,2"`` for a tuple of floats,
    ``"true"`` for a bool. Unknown names are refused with the list of valid ones.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    changes = {}
    for name, value in overrides.items():
        if name not in fields:
            raise ValueError(f"{name}: not a setting of this experiment; valid settings: {sorted(fields)}")
        changes[name] = _parse_like(name, value, getattr(config, name))
    return dataclasses.replace(config, **changes)


def _parse_like(name, value, current):
    if not isinstance(value, str):
        return value
    try:
        if isinstance(current, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return value.lower() in ("true", "1", "yes")
        if isinstance(current, tuple):
            items = [v.strip() for v in value.split(",") if v.strip()]
            kind = type(current[0]) if current else str
            return tuple(_parse_like(name, v, kind()) if kind is not bool else v for v in items)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if current is None:
            return None if value.lower() == "none" else float(value)
    except ValueError:
        raise ValueError(f"{name}: expected a value like {current!r}, got {value!r}") from None
    return value


# -- training with diagnostics -----------------------------------------------------------------
@dataclass
class Run:
    history: History
    record: DiagnosticsRecord
    diverged_at: int | None
    seconds: float


def train_with_diagnostics(
    net, train_batches, val_batches, *, optimizer="sgd", lr=0.01, epochs=1, clip_norm=None, every=10, seed=0
) -> Run:
    """Train ``net`` with :class:`rnnkit.train.Trainer`, a :class:`DiagnosticsMonitor` attached.

    A non-finite loss or gradient ends the run (the parameters stay at the last good step)
    and is reported as ``diverged_at`` (the step number) instead of raised.
    """

    mon = DiagnosticsMonitor(net, every=every, warn=False)
    cb = mon.callback()
    cfg = TrainConfig(
        epochs=epochs, optimizer=optimizer, lr=lr, clip_norm=clip_norm, seed=seed, progress=False, on_nonfinite="stop"
    )
    trainer = Trainer(net, cfg, callbacks=[cb])
    t0 = time.perf_counter()
    diverged = None
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            trainer.fit(train_batches, val=val_batches)
    except TrainingError:
        diverged = trainer.step + 1
        cb.on_train_end(None)
    return Run(trainer.history, mon.record, diverged, time.perf_counter() - t0)


def val_curve(history) -> list:
    return [e.get("val_loss") for e in history.epochs]


def probe_flow(net, batch) -> np.ndarray:
    """||dL/dh_t|| (T,) of the first recurrent series for one batch, leaving no gradient behind."""
    set_recording(net, True)
    net.zero_grad()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            net.loss_and_grad(batch)
        flows = read_grad_flow(net)
    finally:
        set_recording(net, False)
        net.zero_grad()
    key = next(k for k in flows if k.rpartition(".")[2].startswith("h_"))
    return flows[key]


# -- output ----------------------------------------------------------------------------------------
def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.3g}"
    return str(v)


def markdown_table(columns, rows) -> str:
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def write_result(result: ExperimentResult, config, curves: dict) -> ExperimentResult:
    """Write table.md, table.csv and results.json into ``result.folder``."""
    folder = result.folder
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(result.columns)
    for r in result.rows:
        w.writerow([fmt(r.get(c)) for c in result.columns])
    write_text_atomic(folder / "table.csv", buf.getvalue())
    notes = "".join(f"\n{n}\n" for n in result.notes)
    write_text_atomic(folder / "table.md", f"# {result.name}\n\n{result.table()}{notes}")
    write_json_atomic(
        folder / "results.json",
        {
            "experiment": result.name,
            "config": dataclasses.asdict(config),
            "columns": result.columns,
            "rows": result.rows,
            "plots": result.plots,
            "notes": result.notes,
            "seconds": result.seconds,
            "curves": curves,
        },
        nonfinite="string",
    )
    return result


def plots_enabled(result: ExperimentResult, wanted: bool) -> bool:
    """Whether to draw; adds the 'no matplotlib' note when plots were wanted but cannot be."""
    if not wanted:
        return False
    if not have_matplotlib():
        result.notes.append(MISSING_NOTE)
        return False
    return True


def prepare_folder(out, name: str) -> Path:
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
