"""A diagnostics report folder: plots, a short text summary and the same as JSON.

    report/
      summary.txt                the diagnosis in words: findings, causes, remedies, key numbers
      summary.json               the same, machine-readable
      record.json                every recorded number (for re-plotting)
      grad_flow_heatmap.png      log10 ||dL/dh_t||: time step x training step
      grad_flow_profile.png      ||dL/dh_{t0-k}|| vs steps back k, first and last recording
      spectral_radius.png        rho(W_hh) (gated cells: per gate block) over training
      gate_saturation.png        saturated fraction per gate over training
      loss.png                   the training loss
      grad_norm.png              the global gradient norm (before clipping) over training

Plots need matplotlib; without it the text and JSON are still written, with a note.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from ..utils.atomic import jsonable, write_json_atomic, write_text_atomic
from .figures import MISSING_NOTE, have_matplotlib, plot_flow_heatmap, plot_flow_profiles, plot_lines
from .health import decay_ratio

#: A :class:`rnnkit.diagnostics.monitor.DiagnosticsRecord` (not imported: monitor.py imports this module).
Record: TypeAlias = Any


def _first_last(values: Sequence[float]) -> dict:
    vals = [float(v) for v in values]
    return {"first": vals[0], "last": vals[-1]} if vals else {"first": None, "last": None}


def summarize(record: Record, title: str = "rnnkit diagnostics") -> dict:
    """The diagnosis of a :class:`DiagnosticsRecord` as plain data (see :func:`write_report`)."""
    grouped: dict = {}
    for f in record.findings:
        g = grouped.get((f.kind, f.where))
        if g is None:
            grouped[(f.kind, f.where)] = g = {
                "kind": f.kind,
                "where": f.where,
                "first_step": f.step,
                "count": 0,
                "cause": f.cause,
                "remedy": f.remedy,
            }
        g["count"] += 1
        g["last_step"], g["message"] = f.step, f.message
    diagnosis = list(grouped.values())
    kinds = sorted({d["kind"] for d in diagnosis})
    flow = {}
    for key in record.flow:
        first, last = record.flow.first(key), record.flow.latest(key)
        hz = record.horizon.get(key, [])
        flow[key] = {
            "T": int(last.size),
            "decay_ratio_first": decay_ratio(first, key),
            "decay_ratio_last": decay_ratio(last, key),
            "horizon_first": hz[0] if hz else None,
            "horizon_last": hz[-1] if hz else None,
        }
    weights = {
        name: {"spectral_radius": _first_last(w["spectral_radius"]), "max_singular": _first_last(w["max_singular"])}
        for name, w in record.weights.items()
    }
    saturation = {key: {gate: v[-1] for gate, v in gates.items()} for key, gates in record.saturation.items()}
    finite = [v for v in record.all_loss if math.isfinite(v)]
    return {
        "title": title,
        "verdict": "healthy: no warnings" if not kinds else "problems found: " + ", ".join(kinds),
        "diagnosis": diagnosis,
        "modes": dict(record.modes),
        "steps_seen": len(record.all_steps),
        "steps_recorded": len(record.steps),
        "loss": {
            "first": record.all_loss[0] if record.all_loss else None,
            "last": record.all_loss[-1] if record.all_loss else None,
            "min": min(finite) if finite else None,
        },
        "gradient_flow": flow,
        "weights": weights,
        "saturation_last": saturation,
    }


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isinf(v):
            return "beyond T" if v > 0 else "-inf"
        return f"{v:.3g}"
    return str(v)


def summary_text(summary: dict) -> str:
    lines = [
        summary["title"],
        "=" * len(summary["title"]),
        "",
        f"verdict: {summary['verdict']}",
        f"steps seen: {summary['steps_seen']}, recorded: {summary['steps_recorded']}; "
        f"loss first {_fmt(summary['loss']['first'])}, last {_fmt(summary['loss']['last'])}, "
        f"min {_fmt(summary['loss']['min'])}",
        "",
    ]
    for d in summary["diagnosis"]:
        steps = (
            f"steps {d['first_step']}..{d['last_step']}, {d['count']}x" if d["count"] > 1 else f"step {d['first_step']}"
        )
        lines += [
            f"* {d['kind']} at {d['where']} ({steps})",
            f"  {d['message']}",
            f"  likely cause: {d['cause']}",
            f"  remedy: {d['remedy']}",
            "",
        ]
    if summary["gradient_flow"]:
        lines.append("gradient flow (far-end / loss-end ratio of ||dL/dh_t||; memory horizon in steps):")
        for key, f in summary["gradient_flow"].items():
            lines.append(
                f"  {key:<24} T={f['T']:<5} ratio {_fmt(f['decay_ratio_first'])} -> {_fmt(f['decay_ratio_last'])}"
                f"   horizon {_fmt(f['horizon_first'])} -> {_fmt(f['horizon_last'])}"
            )
        lines.append("")
    if summary["weights"]:
        lines.append("recurrent weights (first -> last recording):")
        for name, w in summary["weights"].items():
            r, s = w["spectral_radius"], w["max_singular"]
            lines.append(
                f"  {name:<24} rho {_fmt(r['first'])} -> {_fmt(r['last'])}   "
                f"sigma_max {_fmt(s['first'])} -> {_fmt(s['last'])}"
            )
        lines.append("")
    if summary["saturation_last"]:
        lines.append("gate saturation at the last recording (fraction near a flat end):")
        for key, gates in summary["saturation_last"].items():
            lines.append(f"  {key:<24} " + "  ".join(f"{g} {v:.0%}" for g, v in gates.items()))
        lines.append("")
    return "\n".join(lines)


def _describe(value: object) -> str:
    import json

    return json.dumps(jsonable(value))


def write_report(
    folder: str | os.PathLike[str],
    record: Record,
    *,
    title: str = "rnnkit diagnostics",
    plots: bool = True,
    extra: dict | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write the report folder for ``record`` (a :class:`DiagnosticsRecord`); returns its path.

    ``extra`` entries are added to summary.json (and listed in summary.txt); ``notes`` are
    lines appended to both.
    """

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarize(record, title)
    written = []
    notes = list(notes)
    if plots and not have_matplotlib():
        notes.append(MISSING_NOTE)
    elif plots and record.steps:
        written = _write_plots(folder, record)
    summary["files"] = ["summary.txt", "summary.json", "record.json"] + written
    summary["notes"] = notes
    summary.update(extra or {})
    write_json_atomic(folder / "record.json", record.to_dict(), nonfinite="string")
    write_json_atomic(folder / "summary.json", summary, nonfinite="string")
    text = summary_text(summary)
    for key, value in (extra or {}).items():
        text += f"{key}: {_describe(value)}\n"
    text += "".join(f"note: {n}\n" for n in notes)
    write_text_atomic(folder / "summary.txt", text)
    return folder


def _write_plots(folder, record):

    out = []
    h_keys = [k for k in record.flow if k.rpartition(".")[2].startswith("h_")]
    if h_keys:
        plot_flow_heatmap(record.flow, folder / "grad_flow_heatmap.png", keys=h_keys)
        out.append("grad_flow_heatmap.png")
        key = h_keys[0]
        profiles = {
            f"step {record.flow.steps(key)[0]}": record.flow.first(key),
            f"step {record.flow.steps(key)[-1]}": record.flow.latest(key),
        }
        plot_flow_profiles(
            profiles, folder / "grad_flow_profile.png", title=f"gradient flow back in time: {key}", key=key
        )
        out.append("grad_flow_profile.png")
    steps = np.asarray(record.steps)
    series = {}
    for name, w in record.weights.items():
        if len(w["blocks"]) > 1:
            for gate, vals in w["blocks"].items():
                series[f"{name} [{gate}]"] = (steps, vals)
        else:
            series[name] = (steps, w["spectral_radius"])
    if series:
        plot_lines(
            series,
            folder / "spectral_radius.png",
            title="spectral radius of W_hh over training",
            ylabel="rho(W_hh)",
            hline=1.0,
            hline_label="rho = 1",
        )
        out.append("spectral_radius.png")
    sat = {
        f"{key} {gate}": (steps[-len(v) :], v) for key, gates in record.saturation.items() for gate, v in gates.items()
    }
    if sat:
        plot_lines(
            sat,
            folder / "gate_saturation.png",
            title="gate saturation over training",
            ylabel="fraction of activations near a flat end",
        )
        out.append("gate_saturation.png")
    if record.all_steps:
        plot_lines(
            {"training loss": (record.all_steps, record.all_loss)},
            folder / "loss.png",
            title="training loss",
            ylabel="loss",
        )
        out.append("loss.png")
    steps, norms = (record.norm_steps, record.all_grad_norm) if record.norm_steps else (record.steps, record.grad_norm)
    if steps:
        plot_lines(
            {"global gradient norm, before clipping": (steps, norms)},
            folder / "grad_norm.png",
            title="gradient norm over training",
            ylabel="||dL/dtheta||",
            logy=True,
        )
        out.append("grad_norm.png")
    return out
