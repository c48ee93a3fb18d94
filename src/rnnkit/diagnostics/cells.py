"""The most interpretable cells of a character model, as a ranked list and an HTML page.

    page, ranking = interpretable_cells_report(charlm, text, "cells/", top=8)

Ranks every unit's hidden state h (and, for an LSTM, its cell state c) by its strongest
|Pearson r| with the features of :func:`~rnnkit.diagnostics.activations.text_features`
(inside quotes/parentheses, position in line, vowel, ...), then writes ``cells.html``
(the text coloured by each top unit) and ``cells.json`` (the ranking).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..utils.atomic import write_json_atomic, write_text_atomic
from .activations import char_model_activations, rank_cells, text_features
from .visualize import activation_html


def interpretable_cells_report(
    model: Any, text: str, out: str | os.PathLike[str], *, top: int = 8, max_chars: int = 5000
) -> tuple[Path, list[dict]]:
    """Write ``<out>/cells.html`` and ``<out>/cells.json``; returns (page path, ranking).

    Each ranking entry: ``{"kind": "c" | "h", "cell": j, "feature": name, "correlation": r}``.
    The page shows at most ``max_chars`` characters of ``text`` (the ranking uses all of it).
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top: expected an int >= 1, got {top!r}")
    acts = char_model_activations(model, text)
    feats = text_features(text)
    ranking = []
    for kind in ("c", "h"):
        if kind in acts:
            ranking += [{"kind": kind, **r} for r in rank_cells(acts[kind], feats, top=top)]
    ranking.sort(key=lambda r: -abs(r["correlation"]))
    ranking = ranking[:top]
    shown = text[:max_chars]
    panels = {
        f"{r['kind']}[{r['cell']}]  ~ {r['feature']} (r = {r['correlation']:+.2f})": acts[r["kind"]][
            : len(shown), r["cell"]
        ]
        for r in ranking
    }
    out = Path(out)
    page = write_text_atomic(
        out / "cells.html",
        activation_html(
            shown,
            panels,
            title="the most interpretable cells",
            note="Units ranked by |Pearson r| between their value after each character and simple features of the "
            "text (inside quotes or parentheses, position in line, vowel, ...). Blue: low, red: high.",
        ),
    )
    write_json_atomic(out / "cells.json", {"ranking": ranking, "characters": len(text)}, nonfinite="string")
    return page, ranking
