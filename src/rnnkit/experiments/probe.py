"""A diagnosis from a configuration alone: train a small probe on the adding problem.

The adding problem puts the loss at the last step and the information up to T steps
before it, so it shows the gradient flow of a cell configuration at a given length more
plainly than any other task: ``diagnose_adding(cell="rnn_tanh", T=100)`` trains the probe
with a :class:`~rnnkit.diagnostics.DiagnosticsMonitor` attached and writes its report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..diagnostics import DiagnosticsMonitor
from ..nn.cells import CELLS
from ..train import TrainConfig, Trainer, TrainingError
from ._nets import LastStepRegressor
from ._tasks import ADDING_BASELINE, INITS, adding_batches, initialize_layer


def diagnose_adding(
    out,
    *,
    cell: str = "rnn_tanh",
    T: int = 50,
    hidden_size: int = 32,
    batch_size: int = 32,
    steps: int = 200,
    every: int = 5,
    optimizer: str = "sgd",
    lr: float = 0.01,
    clip_norm: float | None = None,
    init: str = "recommended",
    scale: float | None = None,
    seed: int = 0,
    plots: bool = True,
    warn: bool = False,
) -> tuple[Path, dict]:
    """Train the probe for ``steps`` steps and write a diagnostics report to ``out``.

    Args:
        cell: rnn_tanh, rnn_relu, lstm or gru.
        T: sequence length (the distance the gradient must travel).
        init: a scheme of :data:`rnnkit.experiments._tasks.INITS`; ``scale`` then
            multiplies every W_hh (e.g. 1.5 to provoke explosion).
        clip_norm: global gradient-norm clipping (None: off).
    Returns: (report folder, summary dict as in summary.json).
    """

    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    if init not in INITS:
        raise ValueError(f"init: expected one of {sorted(INITS)}, got {init!r}")
    if init == "identity_relu" and cell != "rnn_relu":
        raise ValueError(f"init: 'identity_relu' needs cell='rnn_relu', got cell={cell!r}")
    rng = np.random.default_rng(seed)
    net = LastStepRegressor(cell, 2, hidden_size, rng=rng)
    initialize_layer(net, init, rng=rng)
    if scale is not None:
        for name, p, _ in net.rnn.named_parameters():
            if name.startswith("weight_hh"):
                p *= scale
    mon = DiagnosticsMonitor(net, every=every, warn=warn)
    cb = mon.callback()
    cfg = TrainConfig(epochs=1, optimizer=optimizer, lr=lr, clip_norm=clip_norm, seed=seed, progress=False)
    trainer = Trainer(net, cfg, callbacks=[cb])
    note = ""
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            trainer.fit(lambda epoch, r: adding_batches(steps * batch_size, T, batch_size, rng=r))
    except TrainingError as exc:
        cb.on_train_end(None)
        note = f"training stopped at {str(exc).splitlines()[0]}"  # "step N (epoch E, batch B): ..."
    title = (
        f"rnnkit diagnose: {cell}, adding problem T={T}, H={hidden_size}, init {init}"
        + (f" x{scale}" if scale is not None else "")
        + f", {optimizer} lr {lr}"
        + (f", clip {clip_norm}" if clip_norm else ", no clipping")
    )
    folder = mon.write_report(
        out, title=title, plots=plots, notes=[note] if note else [], extra={"baseline_mse": ADDING_BASELINE}
    )
    return Path(folder), json.loads((Path(folder) / "summary.json").read_text())
