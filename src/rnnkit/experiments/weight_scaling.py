"""Scaling the recurrent weight below and above 1: vanishing versus exploding gradients.

The claim (Pascanu, Mikolov & Bengio 2013; the guides' "W_rec < 1 / W_rec > 1"): BPTT
multiplies one Jacobian diag(act'(a_t)) W_hh per step back, so with W_hh = s Q (Q
orthogonal, hence rho(W_hh) = sigma_max(W_hh) = s) and units in their linear range,

    ||dL/dh_{T-k}|| ~ s^k ||dL/dh_T||:   s < 1 vanishes, s > 1 explodes, s = 1 keeps it.

For each scale s the experiment builds the same tanh RNN on the adding problem (small
input weights and zero biases, so the units start near their linear range), measures
the per-step gradient profile at initialization, then trains twice from that same start:
without clipping and with the global gradient norm clipped. The table shows the decay
ratio ||dL/dh_0|| / ||dL/dh_T||, the memory horizon, the largest gradient norm met, whether
training diverged (NaN/inf) and the final validation MSE against the 1/6 baseline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..diagnostics import decay_ratio, memory_horizon
from ..diagnostics.figures import plot_flow_profiles, plot_lines
from ..nn.init import initialize
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
from ._tasks import ADDING_BASELINE, adding_batches

NAME = "weight-scaling"
SWEEP = "scales"  # the setting mpiexec splits across ranks
TITLE = "Recurrent weight scale: vanishing vs exploding gradients (tanh RNN, adding problem)"


@dataclass
class Config:
    scales: tuple = (0.5, 0.9, 1.0, 1.1, 1.5, 2.0)
    cell: str = "rnn_tanh"
    T: int = 50
    hidden_size: int = 32
    batch_size: int = 32
    steps_per_epoch: int = 25
    epochs: int = 12
    n_val: int = 256
    optimizer: str = "sgd"
    lr: float = 0.05
    clip_norm: float = 1.0
    input_std: float = 0.1
    every: int = 5
    seed: int = 0
    plots: bool = True


SMOKE = {
    "scales": (0.5, 1.5),
    "T": 8,
    "hidden_size": 6,
    "batch_size": 8,
    "steps_per_epoch": 2,
    "epochs": 2,
    "n_val": 16,
    "every": 1,
}


def _build(cfg: Config, scale: float, rng) -> LastStepRegressor:
    net = LastStepRegressor(cfg.cell, 2, cfg.hidden_size, rng=rng)
    initialize(
        net,
        weight_ih=("scaled_normal", {"std": cfg.input_std}),
        weight_hh="orthogonal",
        bias="zeros",
        forget_bias=None,
        rng=rng,
    )
    for name, p, _ in net.rnn.named_parameters():
        if name.startswith("weight_hh"):
            p *= scale  # rho(W_hh) = sigma_max(W_hh) = scale
    return net


def run(cfg: Config, out) -> ExperimentResult:
    t0 = time.perf_counter()
    result = ExperimentResult(
        NAME,
        prepare_folder(out, NAME),
        [
            "scale",
            "rho(W_hh)",
            "decay ratio at init",
            "horizon at init",
            "max grad norm (no clip)",
            "diverged at step (no clip)",
            "val MSE (no clip)",
            "max grad norm (clip)",
            "val MSE (clip)",
            "warnings (no clip)",
        ],
        [],
    )
    data_rng = np.random.default_rng(cfg.seed)
    val = adding_batches(cfg.n_val, cfg.T, cfg.batch_size, rng=data_rng)

    def train_batches(epoch, rng):
        return adding_batches(cfg.steps_per_epoch * cfg.batch_size, cfg.T, cfg.batch_size, rng=rng)

    curves: dict[str, dict] = {
        "profile_init": {},
        "val_noclip": {},
        "val_clip": {},
        "grad_norm_noclip": {},
        "grad_norm_clip": {},
    }
    for scale in cfg.scales:
        net = _build(cfg, scale, np.random.default_rng(cfg.seed + 1))
        start = net.state_dict()
        profile = probe_flow(net, val[0])
        runs = {}
        for mode, clip in (("noclip", None), ("clip", cfg.clip_norm)):
            net.load_state_dict(start)
            runs[mode] = train_with_diagnostics(
                net,
                train_batches,
                val,
                optimizer=cfg.optimizer,
                lr=cfg.lr,
                epochs=cfg.epochs,
                clip_norm=clip,
                every=cfg.every,
                seed=cfg.seed,
            )
            curves[f"val_{mode}"][str(scale)] = val_curve(runs[mode].history)
            curves[f"grad_norm_{mode}"][str(scale)] = runs[mode].history.steps["grad_norm"]
        curves["profile_init"][str(scale)] = profile
        a, b = runs["noclip"], runs["clip"]
        result.rows.append(
            {
                "scale": scale,
                "rho(W_hh)": scale,
                "decay ratio at init": decay_ratio(profile),
                "horizon at init": memory_horizon(profile),
                "max grad norm (no clip)": _max(a.history.steps["grad_norm"]),
                "diverged at step (no clip)": a.diverged_at,
                "val MSE (no clip)": _last(val_curve(a.history)),
                "max grad norm (clip)": _max(b.history.steps["grad_norm"]),
                "val MSE (clip)": _last(val_curve(b.history)),
                "warnings (no clip)": ", ".join(sorted({f.kind for f in a.record.findings})) or "none",
            }
        )
    result.notes.append(
        f"Adding problem, T = {cfg.T}; predicting the mean scores MSE {ADDING_BASELINE:.3f}. "
        "Decay ratio = ||dL/dh_0|| / ||dL/dh_T|| at initialization (<< 1 vanishing, >> 1 exploding); "
        "horizon = steps back until the gradient falls below 1% of its value at the loss "
        "(inf: never within T). Clipping: global norm " + f"{cfg.clip_norm}."
    )
    if plots_enabled(result, cfg.plots):
        _plots(result, cfg, curves)
    result.seconds = time.perf_counter() - t0
    return write_result(result, cfg, curves)


def _max(values):
    v = [x for x in values if np.isfinite(x)]
    return max(v) if v else None


def _last(values):
    v = [x for x in values if x is not None]
    return v[-1] if v else None


def _plots(result, cfg, curves) -> None:
    f = result.folder
    plot_flow_profiles(
        {f"scale {s}": p for s, p in curves["profile_init"].items()},
        f / "profile_at_init.png",
        title=f"gradient reaching k steps back at initialization (W_hh = scale x orthogonal, T = {cfg.T})",
    )
    colour = {s: f"C{i % 10}" for i, s in enumerate(curves["profile_init"])}  # one colour per scale
    steps = lambda n: np.arange(1, n + 1)  # noqa: E731
    for mode, label in (("noclip", "without clipping"), ("clip", f"clipped at {cfg.clip_norm}")):
        plot_lines(
            {f"scale {s}": (steps(len(v)), v, {"color": colour[s]}) for s, v in curves[f"grad_norm_{mode}"].items()},
            f / f"grad_norm_{mode}.png",
            title=f"global gradient norm (before clipping), {label}",
            ylabel="||dL/dtheta||",
            logy=True,
        )
    series = {}
    for mode, tag, dash in (("noclip", "", "-"), ("clip", " (clip)", "--")):
        for s, v in curves[f"val_{mode}"].items():
            x = np.arange(1, len(v) + 1) * cfg.steps_per_epoch
            series[f"scale {s}{tag}"] = (
                x,
                [np.nan if u is None else u for u in v],
                {"color": colour[s], "linestyle": dash},
            )
    plot_lines(
        series,
        f / "val_loss.png",
        title="validation MSE",
        ylabel="MSE",
        logy=True,
        hline=ADDING_BASELINE,
        hline_label="predict the mean (1/6)",
    )
    result.plots += ["profile_at_init.png", "grad_norm_noclip.png", "grad_norm_clip.png", "val_loss.png"]
