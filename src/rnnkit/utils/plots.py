"""PNG plots of a run: loss curves, forecasts against truth, confusion matrices, samples.

matplotlib is optional (``pip install rnnkit[plot]``) and imported inside the functions,
never when rnnkit is imported. Figures are drawn with matplotlib's object API on an Agg
canvas, so pyplot's global state and the user's backend are left alone. When matplotlib is
missing, every function returns None without drawing; :func:`missing_note` is the one line
to show the user.

Each function writes one file atomically (:func:`rnnkit.utils.atomic.atomic_write`) and
returns its path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .atomic import atomic_write, write_text_atomic

PathLike = str | os.PathLike[str]


def available() -> bool:
    """True when matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def missing_note() -> str:
    return "note: plots skipped: matplotlib is not installed; hint: pip install 'rnnkit[plot]'"


def _figure(width: float = 7.0, height: float = 4.0) -> Any:  # a matplotlib Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: PathLike) -> Path:
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", bbox_inches="tight")
    return Path(path)


def loss_curves(
    epochs: list[dict], steps: dict | None, path: PathLike, *, title: str = "training", ylabel: str = "loss"
) -> Path | None:
    """Per-step training loss (faint), per-epoch training and validation loss.

    The x axis counts epochs: step losses spread over their epoch, an epoch's mean training
    loss sits in the middle of it and its validation loss at its end.

    Args:
        epochs: rows with "epoch" and any of "loss", "val_loss".
        steps: optional {"loss": [...]} per optimizer step.
    """
    if not available():
        return None
    fig = _figure()
    ax = fig.add_subplot()
    n_epochs = max(len(epochs), 1)
    step_loss = [v for v in (steps or {}).get("loss", []) if v is not None]
    if step_loss:
        x = (np.arange(len(step_loss)) + 0.5) * n_epochs / len(step_loss)
        ax.plot(x, step_loss, color="tab:blue", alpha=0.25, linewidth=0.8, label="train (per step)")
    for key, label, color, shift in (
        ("loss", "train (epoch mean)", "tab:blue", 0.5),
        ("val_loss", "validation", "tab:orange", 0.0),
    ):
        pts = [(r["epoch"] - shift, r[key]) for r in epochs if r.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts, strict=False), marker="o", color=color, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return _save(fig, path)


def loss_overlay(curves: dict[str, list[dict]], path: PathLike, *, title: str = "runs") -> Path | None:
    """Several runs' loss curves on one axis: per run, its training loss per epoch (solid)
    and its validation loss (dashed), in one colour.

    Args:
        curves: run label -> its epoch rows (with "epoch" and any of "loss", "val_loss").
    """
    if not available():
        return None
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(curves))]
    for (label, rows), color in zip(curves.items(), colors, strict=True):
        for key, style, suffix in (("loss", "-", "train"), ("val_loss", "--", "validation")):
            pts = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
            if pts:
                ax.plot(
                    *zip(*pts, strict=False), style, marker="o", markersize=3, color=color, label=f"{label} ({suffix})"
                )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return _save(fig, path)


def forecast_plot(
    history: ArrayLike,
    truth: ArrayLike | None,
    predictions: dict,
    path: PathLike,
    *,
    title: str = "forecast",
    bands: dict | None = None,
    dates: ArrayLike | None = None,
) -> Path | None:
    """The end of the history, then the truth and each prediction over the horizon.

    Args:
        history: (T_h,) values before the forecast origin (the last ones are shown).
        truth: (h,) actual values after the origin, or None when unknown.
        predictions: label -> (h,) forecasts ("model", "naive", ...).
        bands: label -> (lo (h,), hi (h,)) prediction intervals ("80%", "95%"), shaded.
        dates: (T_h + h,) datetime64 of the history's steps and the forecast's, for the x
            axis; time steps without them.
    """
    if not available():
        return None
    history = np.asarray(history, dtype=float).reshape(-1)
    fig = _figure(8.0, 4.0)
    ax = fig.add_subplot()
    horizon = max(len(np.asarray(p).reshape(-1)) for p in predictions.values()) if predictions else 0
    shown = history[-max(3 * horizon, 50) :]
    t0 = len(history) - len(shown)
    x = np.arange(len(history) + horizon)
    if dates is not None and len(np.asarray(dates)) >= len(x):
        x = np.asarray(dates)[: len(x)]
        fig.autofmt_xdate()
    ax.plot(x[t0 : len(history)], shown, color="black", linewidth=1, label="history")
    future = x[len(history) :]
    if truth is not None:
        truth = np.asarray(truth, dtype=float).reshape(-1)
        ax.plot(future[: len(truth)], truth, color="black", linestyle="--", label="truth")
    for i, (label, (lo, hi)) in enumerate(sorted((bands or {}).items(), reverse=True)):
        lo, hi = np.asarray(lo, dtype=float).reshape(-1), np.asarray(hi, dtype=float).reshape(-1)
        ax.fill_between(
            future[: len(lo)], lo, hi, color="tab:red", alpha=0.12 + 0.1 * i, linewidth=0, label=f"{label} interval"
        )
    styles = {"model": dict(color="tab:red", linewidth=2)}
    for label, pred in predictions.items():
        pred = np.asarray(pred, dtype=float).reshape(-1)
        ax.plot(future[: len(pred)], pred, label=label, **styles.get(label, dict(alpha=0.7)))
    if len(history):
        ax.axvline(x[len(history) - 1], color="grey", linewidth=0.8)  # the last value before the forecast
    ax.set_xlabel("date" if x.dtype.kind == "M" else "time step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def confusion_plot(
    matrix: ArrayLike, labels: Sequence[str], path: PathLike, *, title: str = "confusion matrix"
) -> Path | None:
    """A (K, K) count matrix, rows = true class, columns = predicted class."""
    if not available():
        return None
    matrix = np.asarray(matrix)
    k = len(labels)
    fig = _figure(1.2 + 0.6 * k + 1.5, 1.2 + 0.6 * k)
    ax = fig.add_subplot()
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), labels=[str(c) for c in labels], rotation=45, ha="right")
    ax.set_yticks(range(k), labels=[str(c) for c in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if k <= 20:
        top = matrix.max() if matrix.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if top and matrix[i, j] > top / 2 else "black",
                )
    return _save(fig, path)


def text_image(
    text: str, path: PathLike, *, title: str = "samples", max_lines: int = 40, width: int = 100
) -> Path | None:
    """Generated text drawn in a monospaced font (the .txt next to it is the exact text)."""
    if not available():
        return None
    lines = []
    for line in text.split("\n"):
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
        lines.append(line)
    lines = lines[:max_lines]
    fig = _figure(9.0, 0.6 + 0.19 * max(len(lines), 1))
    fig.text(0.01, 0.99, title, fontsize=10, fontweight="bold", va="top")
    fig.text(0.01, 0.99 - 0.35 / fig.get_figheight(), "\n".join(lines), family="monospace", fontsize=8, va="top")
    return _save(fig, path)


def write_samples(text: str, directory: PathLike, *, name: str = "samples", title: str = "samples") -> list[Path]:
    """``<name>.txt`` always; ``<name>.png`` too when matplotlib is present."""
    directory = Path(directory)
    out = [write_text_atomic(directory / f"{name}.txt", text)]
    png = text_image(text, directory / f"{name}.png", title=title)
    return out + ([png] if png is not None else [])


def series_plot(series: dict, path: PathLike, *, title: str = "", xlabel: str = "time step") -> Path | None:
    """Several (T,) or (T, F) series on one axis (e.g. generated real-valued sequences)."""
    if not available():
        return None
    fig = _figure()
    ax = fig.add_subplot()
    for label, values in series.items():
        ax.plot(np.asarray(values, dtype=float), label=str(label))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    return _save(fig, path)
