"""Experiments anyone can rerun: each trains small models, then writes plots and a table.

    weight-scaling   W_hh = s x orthogonal, s below and above 1: vanishing vs exploding,
                     with and without gradient clipping (tanh RNN, adding problem)
    cells-adding     tanh RNN vs LSTM vs GRU on the adding problem at T = 50, 100, 200:
                     learning curves and per-step gradient norms
    init             small normal, Xavier, orthogonal, identity + ReLU (IRNN) compared
    neuron           a feed-forward network vs an RNN predicting the next character of "neuron"
    regularization   the AWD-LSTM regularizers on/off (none, all, all but one) on a character
                     language model of the shipped pydoc corpus: train/validation loss and gap

    result = run_experiment("weight-scaling", out="experiments", smoke=True)
    print(result.table())

``smoke=True`` shrinks every size so a run takes seconds (for tests and a first look);
``overrides`` change any setting of the experiment's ``Config`` (see ``describe(name)``).
Under ``mpiexec -n N`` the values of an experiment's sweep are split across the ranks.
"""

from __future__ import annotations

import dataclasses
import importlib

from ..distributed import world
from ._harness import ExperimentResult, apply_overrides
from ._sweep import run_split

_MODULES = {
    "weight-scaling": "weight_scaling",
    "cells-adding": "cells_adding",
    "init": "init_compare",
    "neuron": "neuron",
    "regularization": "regularization",
}
EXPERIMENTS = tuple(_MODULES)

__all__ = ["EXPERIMENTS", "ExperimentResult", "run_experiment", "describe", "get_config"]


def _module(name: str):
    if name not in _MODULES:
        raise ValueError(f"name: expected one of {list(_MODULES)}, got {name!r}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}")


def get_config(name: str, *, smoke: bool = False, overrides: dict | None = None):
    """The experiment's config: its defaults, shrunk by ``smoke``, then ``overrides`` applied."""
    mod = _module(name)
    cfg = mod.Config()
    if smoke:
        cfg = dataclasses.replace(cfg, **mod.SMOKE)
    return apply_overrides(cfg, overrides or {})


def describe(name: str) -> dict:
    """Title, docstring and settings (with defaults and smoke values) of an experiment."""
    mod = _module(name)
    defaults = dataclasses.asdict(mod.Config())
    return {"name": name, "title": mod.TITLE, "doc": mod.__doc__, "settings": defaults, "smoke": dict(mod.SMOKE)}


def run_experiment(
    name: str, out="experiments", *, smoke: bool = False, overrides: dict | None = None, plots: bool | None = None
) -> ExperimentResult:
    """Run experiment ``name``; writes ``<out>/<name>/`` (table.md, table.csv, results.json, *.png)."""
    cfg = get_config(name, smoke=smoke, overrides=overrides)
    if plots is not None:
        cfg = dataclasses.replace(cfg, plots=bool(plots))
    w = world()
    if w.active:  # under mpiexec: the sweep split across the ranks (see experiments/_sweep.py)
        return run_split(_module(name), cfg, out, w)
    return _module(name).run(cfg, out)
