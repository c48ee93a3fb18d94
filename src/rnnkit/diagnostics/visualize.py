"""Text coloured by a hidden unit's value: a self-contained HTML page.

Each character sits on a background whose colour encodes one unit's value after reading
it: blue for the low end, white for the middle, red for the high end (the look of
Karpathy et al. 2015). Hovering shows the value. The page has no scripts and no external
resources, so it opens anywhere, offline, and can be attached to a report.

    page = activation_html(text, {"cell 17 (inside_quotes, r=0.91)": acts["c"][:, 17]})
    write_activation_html("cells.html", text, panels)
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..utils.atomic import write_text_atomic

_CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.2em; } h2 { font-size: 1em; margin-top: 1.5em; }
.text { font-family: monospace; font-size: 14px; line-height: 1.6; white-space: pre-wrap;
        word-break: break-all; border: 1px solid #ddd; padding: 0.6em; }
.legend { font-size: 0.85em; color: #555; }
.nl { color: #999; }
"""


def _rgb(u: float) -> str:
    """u in [0, 1] -> a blue-white-red colour (#rrggbb)."""
    u = min(max(u, 0.0), 1.0)
    if u < 0.5:  # blue (low) to white
        s = u / 0.5
        r, g, b = 60 + 195 * s, 110 + 145 * s, 255.0
    else:  # white to red (high)
        s = (u - 0.5) / 0.5
        r, g, b = 255, 255 - 165 * s, 255 - 175 * s
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def _range(values: np.ndarray, vrange: tuple[float, float] | None) -> tuple[float, float]:
    if vrange is not None:
        lo, hi = (float(v) for v in vrange)
        if not hi > lo:
            raise ValueError(f"vrange: expected (low, high) with high > low, got {vrange!r}")
        return lo, hi
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    if finite.min() >= 0.0 and finite.max() <= 1.0:
        return 0.0, 1.0  # a gate
    m = float(np.max(np.abs(finite)))
    return (-m, m) if m > 0 else (-1.0, 1.0)  # symmetric around 0: tanh units, cell states


def _panel(text: str, values: ArrayLike, label: str, vrange: tuple[float, float] | None) -> str:
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (len(text),):
        raise ValueError(f"values[{label!r}]: expected shape ({len(text)},) (one value per character), got {v.shape}")
    lo, hi = _range(v, vrange)
    spans = []
    for ch, x in zip(text, v, strict=False):
        colour = _rgb((x - lo) / (hi - lo)) if np.isfinite(x) else "#cccccc"
        shown = '<span class="nl">\u21b5</span>\n' if ch == "\n" else html.escape(ch)
        spans.append(f'<span style="background:{colour}" title="{x:.3f}">{shown}</span>')
    legend = (
        f'<p class="legend">colour scale: <span style="background:{_rgb(0)}">&#160;{lo:.3g}&#160;</span> '
        f'<span style="background:{_rgb(0.5)}">&#160;{(lo + hi) / 2:.3g}&#160;</span> '
        f'<span style="background:{_rgb(1)}">&#160;{hi:.3g}&#160;</span></p>'
    )
    return f'<h2>{html.escape(label)}</h2>\n{legend}\n<div class="text">{"".join(spans)}</div>'


def activation_html(
    text: str,
    panels: ArrayLike | Mapping[str, ArrayLike],
    *,
    title: str = "hidden-state activations",
    vrange: tuple[float, float] | None = None,
    note: str = "",
) -> str:
    """A complete HTML page: ``text`` coloured once per panel.

    Args:
        text: the characters, T of them.
        panels: a (T,) array, or a mapping label -> (T,) values (one panel each).
        vrange: (low, high) for the colour scale; default: [0, 1] for values inside it
            (gates), else symmetric around 0.
        note: a sentence shown under the title (e.g. how the cells were chosen).
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text: expected a non-empty string")
    if not isinstance(panels, Mapping):
        panels = {"activation": panels}
    if not panels:
        raise ValueError("panels: expected at least one label -> values entry")
    body = "\n".join(_panel(text, v, str(label), vrange) for label, v in panels.items())
    note_html = f"<p>{html.escape(note)}</p>\n" if note else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{note_html}{body}\n</body>\n</html>\n"
    )


def write_activation_html(
    path: str | os.PathLike[str], text: str, panels: ArrayLike | Mapping[str, ArrayLike], **kwargs: Any
) -> Path:
    """Write :func:`activation_html` to ``path`` atomically; returns the path."""
    return write_text_atomic(path, activation_html(text, panels, **kwargs))


def interpretable_cells_html(
    text: str,
    acts: Mapping[str, np.ndarray],
    ranking: list,
    *,
    kind: str = "h",
    title: str = "most interpretable cells",
) -> str:
    """One panel per ranked cell (from :func:`~rnnkit.diagnostics.activations.rank_cells`).

    ``acts`` comes from :func:`hidden_activations`; ``kind`` picks which array ("h", "c",
    a gate name) the ranking was computed on and the panels show.
    """
    if kind not in acts:
        raise ValueError(f"kind: expected one of {sorted(acts)}, got {kind!r}")
    panels = {
        f"{kind}[{r['cell']}]: {r['feature']} (r = {r['correlation']:+.2f})": acts[kind][:, r["cell"]] for r in ranking
    }
    return activation_html(
        text,
        panels,
        title=title,
        note=f"Cells ranked by |Pearson r| between the cell's {kind} value and simple "
        "features of the text (inside quotes/parentheses, position in line, vowel, ...).",
    )
