"""The piano-roll picture: a generated piece (its primer shaded) beside a real one.

Needs matplotlib (``pip install 'rnnkit[plots]'``); without it :func:`piano_roll_plot`
returns None and draws nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..utils import plots
from .pianoroll import melody_to_notes, piano_roll


def piano_roll_plot(
    generated,
    real,
    path,
    *,
    mode: str = "poly",
    primer_frames: int = 0,
    low=None,
    high=None,
    real_name: str = "a real piece",
    title: str = "generated",
) -> Path | None:
    """The generated piano roll (primer shaded) beside a real one, pitch over frames.

    Args:
        generated, real: frames (T, 128) bool (``mode="poly"``) or melody tokens (T,);
            ``real`` may be None.
        primer_frames: the first frames of ``generated`` that were given, not generated.
        low, high: the MIDI range drawn (default: the pitches that sound).
    Returns:
        The PNG written, or None without matplotlib.
    """
    if not plots.available():
        return None

    def as_roll(frames):
        if mode == "poly":
            return np.asarray(frames, bool)
        return piano_roll(melody_to_notes(frames, 1), 1) if len(frames) else np.zeros((1, 128), bool)

    rolls = [as_roll(generated), as_roll(real) if real is not None else None]
    used = np.flatnonzero(np.any([r.any(axis=0) for r in rolls if r is not None], axis=0))
    lo = low if low is not None else (int(used.min()) if used.size else 48)
    hi = high if high is not None else (int(used.max()) if used.size else 84)
    fig = plots._figure(11.0, 4.0)
    panels = [(rolls[0], f"{title} ({len(rolls[0])} frames)")]
    if rolls[1] is not None:
        panels.append((rolls[1], f"real: {real_name} ({len(rolls[1])} frames)"))
    for k, (roll, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.imshow(
            roll[:, lo : hi + 1].T,  # (P, T): pitch up, time across
            origin="lower",
            aspect="auto",
            cmap="Greys",
            interpolation="nearest",
            extent=(-0.5, len(roll) - 0.5, lo - 0.5, hi + 0.5),
        )
        if k == 0 and primer_frames:
            ax.axvspan(-0.5, primer_frames - 0.5, color="tab:blue", alpha=0.15, label="primer")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_xlabel("frame")
        ax.set_ylabel("MIDI pitch" if k == 0 else "")
        ax.set_title(label, fontsize=10)
    return plots._save(fig, path)
