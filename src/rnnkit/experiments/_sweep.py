"""An experiment's sweep split across MPI ranks (``mpiexec -n N rnnkit experiment NAME``).

A module that names its sweep setting (``SWEEP = "scales"``) and draws its plots with
``_plots(result, cfg, curves)`` is split: each rank runs the experiment alone on its part
of the sweep's values, into a folder of its own, and rank 0 joins the rows and curves in
the sweep's order, draws the plots and writes the result folder. Any other experiment runs
on rank 0 alone while the other ranks wait. Every rank returns the same result.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

from ..distributed import alone
from ._harness import ExperimentResult, plots_enabled, prepare_folder, write_result


def run_split(mod, cfg, out, w) -> ExperimentResult:
    key = getattr(mod, "SWEEP", None)
    if key is None or not hasattr(mod, "_plots"):
        result = None
        if w.is_root:
            with alone():
                result = mod.run(cfg, out)
        return w.bcast(result)
    t0 = time.perf_counter()
    mine, payload = w.shard(list(getattr(cfg, key))), None
    if mine:
        own = Path(out) / f".{mod.NAME}.rank{w.rank}"
        with alone():
            res = mod.run(dataclasses.replace(cfg, plots=False, **{key: tuple(mine)}), own)
        own_curves = json.loads((res.folder / "results.json").read_text(encoding="utf-8"))["curves"]
        payload = (res.columns, res.rows, res.notes, _floats(own_curves))
        shutil.rmtree(own, ignore_errors=True)
    parts, result = w.gather(payload), None
    if w.is_root:
        parts = [p for p in parts if p is not None]
        curves: dict = {}
        for p in parts:
            for kind, by_point in p[3].items():
                curves.setdefault(kind, {}).update(by_point)
        result = ExperimentResult(
            mod.NAME,
            prepare_folder(out, mod.NAME),
            parts[0][0],
            [r for p in parts for r in p[1]],
            notes=list(dict.fromkeys(n for p in parts for n in p[2])),
        )
        if plots_enabled(result, cfg.plots):
            mod._plots(result, cfg, curves)
        result.seconds = time.perf_counter() - t0
        write_result(result, cfg, curves)
    return w.bcast(result)


def _floats(value):
    """Curves read back from results.json: the strings "nan", "inf", "-inf" as floats again."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return value
