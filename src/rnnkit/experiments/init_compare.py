"""Initializations compared: small normal, Xavier, orthogonal, identity + ReLU.

How W_hh starts decides whether any gradient reaches far back on the first step:

    small normal   W ~ N(0, 0.01^2): sigma_max(W_hh) << 1, the gradient vanishes at once
    Xavier         W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)): rho(W_hh) ~ 1 on average,
                   but its singular values spread over (0, 2), so some directions shrink
    orthogonal     W_hh = Q, every singular value 1: norms preserved (up to tanh')
    identity+ReLU  W_hh = I with ReLU units (IRNN, Le, Jaitly & Hinton 2015): h copies
                   itself, the gradient passes unchanged while units stay active

Each scheme trains the same model on the adding problem (the ReLU network for
identity+ReLU, tanh for the others) with the same optimizer and clipping; the table
gives rho and sigma_max of W_hh at initialization, the gradient decay over T steps, the
memory horizon, and the validation MSE after training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..diagnostics import decay_ratio, largest_singular_value, memory_horizon, spectral_radius
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

NAME = "init"
SWEEP = "inits"  # the setting mpiexec splits across ranks
TITLE = "Initializations compared on the adding problem"


@dataclass
class Config:
    inits: tuple = ("small_normal", "xavier", "orthogonal", "identity_relu")
    T: int = 100
    hidden_size: int = 32
    batch_size: int = 32
    steps_per_epoch: int = 50
    epochs: int = 10
    n_val: int = 256
    optimizer: str = "adam"
    lr: float = 0.001
    clip_norm: float = 1.0
    every: int = 10
    seed: int = 0
    plots: bool = True


SMOKE = {
    "inits": ("small_normal", "identity_relu"),
    "T": 6,
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
            "init",
            "cell",
            "rho(W_hh)",
            "sigma_max(W_hh)",
            "decay ratio at init",
            "horizon at init",
            "val MSE",
            "/ baseline",
            "warnings",
        ],
        [],
    )
    val = adding_batches(cfg.n_val, cfg.T, cfg.batch_size, rng=np.random.default_rng(cfg.seed))

    def train_batches(epoch, rng):
        return adding_batches(cfg.steps_per_epoch * cfg.batch_size, cfg.T, cfg.batch_size, rng=rng)

    curves: dict[str, dict] = {"val": {}, "profile_init": {}}
    for init in cfg.inits:
        cell = "rnn_relu" if init == "identity_relu" else "rnn_tanh"
        rng = np.random.default_rng(cfg.seed + 1)
        net = LastStepRegressor(cell, 2, cfg.hidden_size, rng=rng)
        initialize_layer(net, init, rng=rng)
        W = net.parameters()["rnn.weight_hh_l0"]
        rho, sigma = spectral_radius(W), largest_singular_value(W)
        profile = probe_flow(net, val[0])
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
        curves["val"][init] = val_curve(run_.history)
        curves["profile_init"][init] = profile
        mse = next((v for v in reversed(curves["val"][init]) if v is not None), None)
        result.rows.append(
            {
                "init": init,
                "cell": cell,
                "rho(W_hh)": rho,
                "sigma_max(W_hh)": sigma,
                "decay ratio at init": decay_ratio(profile),
                "horizon at init": memory_horizon(profile),
                "val MSE": mse,
                "/ baseline": None if mse is None else mse / ADDING_BASELINE,
                "warnings": ", ".join(sorted({f.kind for f in run_.record.findings})) or "none",
            }
        )
    result.notes.append(
        f"Adding problem, T = {cfg.T}; baseline MSE {ADDING_BASELINE:.3f}; "
        f"{cfg.epochs * cfg.steps_per_epoch} steps of batch {cfg.batch_size}, {cfg.optimizer} lr "
        f"{cfg.lr}, clip {cfg.clip_norm}. small_normal: N(0, 0.01^2) weights; xavier: Xavier-uniform "
        "W_ih and W_hh; orthogonal: Xavier W_ih, orthogonal W_hh; identity_relu: ReLU units, W_hh = I, "
        "W_ih ~ N(0, 0.001^2); all with zero biases."
    )
    if plots_enabled(result, cfg.plots):
        _plots(result, cfg, curves)
    result.seconds = time.perf_counter() - t0
    return write_result(result, cfg, curves)


def _plots(result, cfg, curves) -> None:
    f = result.folder
    plot_flow_profiles(
        curves["profile_init"],
        f / "profile_at_init.png",
        title=f"gradient reaching k steps back at initialization, T = {cfg.T}",
    )
    series = {
        k: (np.arange(1, len(v) + 1) * cfg.steps_per_epoch, [np.nan if u is None else u for u in v])
        for k, v in curves["val"].items()
    }
    plot_lines(
        series,
        f / "learning.png",
        title=f"adding problem, T = {cfg.T}: validation MSE",
        ylabel="MSE",
        logy=True,
        hline=ADDING_BASELINE,
        hline_label="predict the mean (1/6)",
    )
    result.plots += ["profile_at_init.png", "learning.png"]
