"""tanh RNN vs LSTM vs GRU on the adding problem at T = 50, 100, 200.

The adding problem (Hochreiter & Schmidhuber 1997): two of T random numbers are marked,
one in each half; the target is their sum. The answer needs information from up to T
steps back, so a model learns it only if the gradient from the loss at step T reaches
the marked steps. Predicting the mean (1) scores an MSE of 1/6 ~ 0.167.

Each cell trains from the same kind of initialization (Xavier W_ih, orthogonal W_hh,
zero biases, LSTM forget-gate bias 1) with Adam and gradient clipping, on fresh data
every epoch. The table gives the final validation MSE against the baseline and the
gradient flow before and after training: the decay ratio ||dL/dh_0|| / ||dL/dh_T|| and the
memory horizon; the plots show the learning curves and the per-step gradient profiles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..diagnostics import decay_ratio, memory_horizon
from ..diagnostics.figures import plot_flow_profiles, plot_lines
from ._harness import (
    ExperimentResult,
    plots_enabled,
    prepare_folder,
    probe_flow,
    train_with_diagnostics,
    val_curve,
    write_result,
)
from ._nets import LastStepRegressor
from ._tasks import ADDING_BASELINE, adding_batches, initialize_layer

NAME = "cells-adding"
SWEEP = "lengths"  # the setting mpiexec splits across ranks
TITLE = "tanh RNN vs LSTM vs GRU on the adding problem"


@dataclass
class Config:
    cells: tuple = ("rnn_tanh", "lstm", "gru")
    lengths: tuple = (50, 100, 200)
    hidden_size: int = 32
    batch_size: int = 32
    steps_per_epoch: int = 50
    epochs: int = 10
    n_val: int = 256
    optimizer: str = "adam"
    lr: float = 0.005
    clip_norm: float = 1.0
    init: str = "recommended"
    every: int = 10
    seed: int = 0
    plots: bool = True


SMOKE = {
    "cells": ("rnn_tanh", "lstm"),
    "lengths": (6,),
    "hidden_size": 6,
    "batch_size": 8,
    "steps_per_epoch": 2,
    "epochs": 2,
    "n_val": 16,
    "every": 1,
}


def run(cfg: Config, out) -> ExperimentResult:
    t0 = time.perf_counter()
    result = ExperimentResult(
        NAME,
        prepare_folder(out, NAME),
        [
            "cell",
            "T",
            "val MSE",
            "/ baseline",
            "decay ratio at init",
            "horizon at init",
            "decay ratio after",
            "horizon after",
            "seconds",
        ],
        [],
    )
    curves: dict[str, dict] = {"val": {}, "profile_init": {}, "profile_end": {}}
    for T in cfg.lengths:
        val = adding_batches(cfg.n_val, T, cfg.batch_size, rng=np.random.default_rng(cfg.seed))

        def train_batches(epoch, rng, T=T):
            return adding_batches(cfg.steps_per_epoch * cfg.batch_size, T, cfg.batch_size, rng=rng)

        for cell in cfg.cells:
            rng = np.random.default_rng(cfg.seed + 1)
            net = LastStepRegressor(cell, 2, cfg.hidden_size, rng=rng)
            initialize_layer(net, cfg.init, rng=rng)
            before = probe_flow(net, val[0])
            run_ = train_with_diagnostics(
                net,
                train_batches,
                val,
                optimizer=cfg.optimizer,
                lr=cfg.lr,
                epochs=cfg.epochs,
                clip_norm=cfg.clip_norm,
                every=cfg.every,
                seed=cfg.seed,
            )
            after = probe_flow(net, val[0])
            key = f"{cell} T={T}"
            curves["val"][key] = val_curve(run_.history)
            curves["profile_init"][key], curves["profile_end"][key] = before, after
            mse = next((v for v in reversed(curves["val"][key]) if v is not None), None)
            result.rows.append(
                {
                    "cell": cell,
                    "T": T,
                    "val MSE": mse,
                    "/ baseline": None if mse is None else mse / ADDING_BASELINE,
                    "decay ratio at init": decay_ratio(before),
                    "horizon at init": memory_horizon(before),
                    "decay ratio after": decay_ratio(after),
                    "horizon after": memory_horizon(after),
                    "seconds": round(run_.seconds, 1),
                }
            )
    result.notes.append(
        f"Baseline: predicting the mean scores MSE {ADDING_BASELINE:.3f} (/ baseline = 1); "
        f"{cfg.epochs * cfg.steps_per_epoch} steps of batch {cfg.batch_size}, {cfg.optimizer} "
        f"lr {cfg.lr}, clip {cfg.clip_norm}. Decay ratio = ||dL/dh_0|| / ||dL/dh_T||; horizon = steps "
        "back until the gradient falls below 1% of its value at the loss (inf: never within T)."
    )
    if plots_enabled(result, cfg.plots):
        _plots(result, cfg, curves)
    result.seconds = time.perf_counter() - t0
    return write_result(result, cfg, curves)


def _plots(result, cfg, curves) -> None:
    f = result.folder
    for T in cfg.lengths:
        series = {}
        for cell in cfg.cells:
            v = curves["val"][f"{cell} T={T}"]
            series[cell] = (np.arange(1, len(v) + 1) * cfg.steps_per_epoch, [np.nan if u is None else u for u in v])
        plot_lines(
            series,
            f / f"learning_T{T}.png",
            title=f"adding problem, T = {T}: validation MSE",
            ylabel="MSE",
            logy=True,
            hline=ADDING_BASELINE,
            hline_label="predict the mean (1/6)",
        )
        profiles = {}
        for i, cell in enumerate(cfg.cells):  # one colour per cell; dashed at init, solid trained
            profiles[f"{cell} at init"] = (
                curves["profile_init"][f"{cell} T={T}"],
                {"color": f"C{i % 10}", "linestyle": "--"},
            )
            profiles[f"{cell} trained"] = (curves["profile_end"][f"{cell} T={T}"], {"color": f"C{i % 10}"})
        plot_flow_profiles(profiles, f / f"grad_flow_T{T}.png", title=f"gradient reaching k steps back, T = {T}")
        result.plots += [f"learning_T{T}.png", f"grad_flow_T{T}.png"]
