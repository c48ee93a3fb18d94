"""Figures for diagnostics and experiments; matplotlib is imported inside each function.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot), so nothing here
touches the user's backend or global figure state, and files are written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..utils.atomic import atomic_savefig
from .flow import GradFlow, steps_back

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # an optional dependency: only for the annotations

MISSING_NOTE = "plots skipped: matplotlib is not installed (pip install 'rnnkit[plot]')"


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (7.0, 4.0)) -> tuple[Figure, np.ndarray]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _log10(M: np.ndarray) -> np.ndarray:
    M = np.asarray(M, dtype=np.float64)
    out = np.full(M.shape, np.nan)
    ok = np.isfinite(M) & (M > 0)
    out[ok] = np.log10(M[ok])
    return out


def plot_flow_heatmap(
    flow: GradFlow, path: str | os.PathLike[str], keys: Sequence[str] | None = None, title: str = ""
) -> str:
    """log10 ||dL/dh_t|| over time step t (x) and training step (y), one panel per series.

    Black cells are exactly 0 (the gradient died: saturated units); magenta cells are NaN
    or inf; white cells lie past the end of a shorter sequence.
    """
    from matplotlib import colormaps

    keys = [k for k in (keys or flow.keys())]
    if not keys:
        raise ValueError("flow: expected at least one recorded series, got none; hint: was the monitor ever due?")
    cmap = colormaps["viridis"].with_extremes(under="black", bad="magenta")
    fig, axes = _figure(len(keys), 1, size=(7.5, 3.2))
    for ax, key in zip(axes[:, 0], keys, strict=False):
        steps, M = flow.matrix(key)
        S, T = M.shape
        pad = np.arange(T)[None, :] >= flow.lengths(key)[:, None]  # (S, T)
        L = _log10(M)
        finite = L[np.isfinite(L)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        L = np.where((M == 0) & ~pad, lo - 1.0, L)  # below vmin: "under"
        im = ax.imshow(
            np.where(pad, np.nan, L),
            aspect="auto",
            origin="lower",
            cmap=cmap,
            vmin=lo,
            vmax=hi,
            interpolation="nearest",
            extent=(-0.5, T - 0.5, -0.5, S - 0.5),
        )
        if pad.any():
            ax.imshow(
                np.where(pad, 1.0, np.nan),
                aspect="auto",
                origin="lower",
                cmap=colormaps["Greys"],
                vmin=0.0,
                vmax=10.0,
                interpolation="nearest",
                extent=(-0.5, T - 0.5, -0.5, S - 0.5),
            )
        fig.colorbar(im, ax=ax, label="log10 ||dL/dh_t||", extend="min")
        n_ticks = min(S, 6)
        idx = np.unique(np.linspace(0, S - 1, n_ticks).round().astype(int))
        ax.set_yticks(idx)
        ax.set_yticklabels([str(steps[i]) for i in idx])
        ax.set_xlabel(
            "time step t" + ("  (reverse direction: the loss end is t = 0)" if key.endswith("_reverse") else "")
        )
        ax.set_ylabel("training step")
        ax.set_title(f"{title + ': ' if title else ''}{key}   (black: exactly 0, magenta: NaN/inf)")
    return str(atomic_savefig(fig, path))


def plot_flow_profiles(profiles: dict, path: str | os.PathLike[str], title: str = "", key: str = "") -> str:
    """||dL/dh_{t0-k}|| against steps back k (log scale), one line per label.

    ``profiles``: label -> (T,) norms in time order (as recorded), or (norms, style) with
    ``style`` a dict of ``Axes.plot`` keywords; ``key`` tells the direction (a ``*_reverse``
    key has its loss end at t = 0).
    """
    fig, axes = _figure()
    ax = axes[0, 0]
    for label, spec in profiles.items():
        norms, style = spec if isinstance(spec, tuple) else (spec, {})
        seq = steps_back(norms, key)
        y = np.where(np.isfinite(seq) & (seq > 0), seq, np.nan)
        ax.plot(np.arange(seq.size), y, label=str(label), **{"marker": ".", "markersize": 3, **style})
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the loss, k")
    ax.set_ylabel("||dL/dh_{t0-k}||")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return str(atomic_savefig(fig, path))


def plot_lines(
    series: dict,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    xlabel: str = "training step",
    ylabel: str = "",
    logy: bool = False,
    hline: float | None = None,
    hline_label: str = "",
) -> str:
    """One line per label; ``series``: label -> (x, y) or (x, y, style) with ``style`` a
    dict of ``Axes.plot`` keywords (color, linestyle, ...). NaN/inf points are left out."""
    fig, axes = _figure()
    ax = axes[0, 0]
    for label, spec in series.items():
        x, y = spec[0], np.asarray(spec[1], dtype=np.float64)
        style = {"marker": "." if len(y) < 30 else None, **(spec[2] if len(spec) > 2 else {})}
        with np.errstate(invalid="ignore"):
            y = np.where(np.isfinite(y) & ((y > 0) if logy else True), y, np.nan)
        ax.plot(np.asarray(x), y, label=str(label), **style)
    if hline is not None:
        ax.axhline(hline, color="gray", linestyle="--", linewidth=1, label=hline_label or None)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    return str(atomic_savefig(fig, path))


def plot_bars(
    values: dict, path: str | os.PathLike[str], *, title: str = "", ylabel: str = "", groups: list | None = None
) -> str:
    """Grouped bars: ``values`` label -> list of heights (one per group)."""
    fig, axes = _figure()
    ax = axes[0, 0]
    labels = list(values)
    n = len(next(iter(values.values()))) if values else 0
    width = 0.8 / max(len(labels), 1)
    x = np.arange(n)
    for i, label in enumerate(labels):
        ax.bar(x + i * width - 0.4 + width / 2, values[label], width, label=str(label))
    if groups is not None:
        ax.set_xticks(x)
        ax.set_xticklabels([str(g) for g in groups])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return str(atomic_savefig(fig, path))
