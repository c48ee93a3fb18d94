"""A feed-forward network vs an RNN predicting the next character of "neuron".

The guides' example: fed "neuron" one character at a time, a feed-forward network sees
only the current character, so by "r" it has forgotten "n", "e", "u". Framed as
``^neuron$``, the letter "n" comes twice: after "^" the next character is "e", after
"o" it is the end "$". A memoryless predictor can do no better than p(next | current),
which is 1/2 for each at both "n"s; a recurrent network keeps the history in h_t and
can tell the two apart.

The table gives next-character accuracy and cross-entropy (nats per character) for each
model and for the best possible memoryless predictor (the conditional entropy
H(next | current) of the text); a second table and the plot give p(correct next
character) at every position.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..diagnostics.figures import plot_bars, plot_lines
from ..train import TrainConfig, Trainer
from ._harness import ExperimentResult, markdown_table, plots_enabled, prepare_folder, write_result
from ._nets import CharFeedForward, CharRNN
from ._tasks import words_batch

NAME = "neuron"
TITLE = 'Feed-forward vs recurrent: next character of "neuron"'


@dataclass
class Config:
    words: tuple = ("neuron",)
    models: tuple = ("feedforward", "rnn_tanh", "lstm")
    hidden_size: int = 16
    steps: int = 300
    optimizer: str = "adam"
    lr: float = 0.05
    seed: int = 0
    plots: bool = True


SMOKE = {"models": ("feedforward", "rnn_tanh"), "hidden_size": 6, "steps": 5}


def memoryless_optimum(inputs, targets) -> tuple[float, float]:
    """(accuracy, nats per character) of the best predictor that sees only the current character:
    p(next | current) from the counts, i.e. the conditional entropy H(next | current)."""
    valid = targets != -100
    pairs = Counter(zip(inputs[valid].tolist(), targets[valid].tolist(), strict=False))
    current = Counter(inputs[valid].tolist())
    n = int(valid.sum())
    nats = -sum(c * math.log(c / current[a]) for (a, _), c in pairs.items()) / n
    best: dict = {}
    for (a, _), c in pairs.items():
        best[a] = max(best.get(a, 0), c)
    return sum(best.values()) / n, nats


def run(cfg: Config, out) -> ExperimentResult:
    t0 = time.perf_counter()
    result = ExperimentResult(NAME, prepare_folder(out, NAME), ["model", "accuracy", "nats per char"], [])
    inputs, targets, vocab = words_batch(list(cfg.words))
    V = len(vocab)
    valid = targets != -100
    labels = [f"{vocab[a]}->{vocab[b]}" for a, b in zip(inputs[valid].tolist(), targets[valid].tolist(), strict=False)]
    acc_opt, nats_opt = memoryless_optimum(inputs, targets)
    per_position: dict = {}
    curves: dict[str, Any] = {"loss": {}}
    for model in cfg.models:
        rng = np.random.default_rng(cfg.seed)
        net = (
            CharFeedForward(V, cfg.hidden_size, rng=rng)
            if model == "feedforward"
            else CharRNN(model, V, cfg.hidden_size, rng=rng)
        )
        # No clipping and the optimizer's own weight decay, as this experiment was measured.
        config = TrainConfig(
            epochs=1,
            optimizer=cfg.optimizer,
            lr=cfg.lr,
            seed=cfg.seed,
            progress=False,
            clip_norm=None,
            weight_decay=None,
        )
        trainer = Trainer(net, config)
        trainer.fit([(inputs, targets)] * cfg.steps)
        curves["loss"][model] = trainer.history.steps["loss"]
        P = net.predict_proba(inputs)  # (B, L, V)
        p_true = np.take_along_axis(P, np.where(valid, targets, 0)[..., None], axis=-1)[..., 0][valid]
        correct = (P.argmax(-1) == targets)[valid]
        per_position[model] = p_true.tolist()
        result.rows.append(
            {
                "model": model,
                "accuracy": float(correct.mean()),
                "nats per char": float(-np.mean(np.log(np.maximum(p_true, 1e-300)))),
            }
        )
    result.rows.append(
        {"model": "best memoryless: p(next given current)", "accuracy": acc_opt, "nats per char": nats_opt}
    )
    cols = ["transition"] + [f"p({m})" for m in cfg.models]
    rows = [{"transition": lab, **{f"p({m})": per_position[m][i] for m in cfg.models}} for i, lab in enumerate(labels)]
    result.notes.append(
        f"Words: {', '.join(cfg.words)} (framed ^word$); {cfg.steps} steps of {cfg.optimizer} lr "
        f"{cfg.lr}, hidden size {cfg.hidden_size}. Probability given to the correct next character:\n\n"
        + markdown_table(cols, rows)
    )
    curves["p_correct"] = per_position
    curves["transitions"] = labels
    if plots_enabled(result, cfg.plots):
        plot_bars(
            per_position,
            result.folder / "p_correct.png",
            title="p(correct next character) per position",
            ylabel="probability",
            groups=labels,
        )
        plot_lines(
            {m: (np.arange(1, len(v) + 1), v) for m, v in curves["loss"].items()},
            result.folder / "loss.png",
            title="training loss (nats per character)",
            ylabel="cross-entropy",
            hline=nats_opt,
            hline_label="best memoryless",
        )
        result.plots += ["p_correct.png", "loss.png"]
    result.seconds = time.perf_counter() - t0
    return write_result(result, cfg, curves)
