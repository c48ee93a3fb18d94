"""The AWD-LSTM regularizers one at a time: a character language model on the shipped corpus.

Merity et al. 2017 ("Regularizing and Optimizing LSTM Language Models") combine several
regularizers; this experiment shows what each one is worth here. A character LSTM is
trained on the Python Language Reference topics (the ``pydoc`` corpus that ships with
Python; the last ``val_fraction`` is the validation text) with

- ``none``: no regularizer at all,
- ``all``: every regularizer in ``regularizers`` at its value,
- ``all - X``: every regularizer but X (leave-one-out), for each X,

all from the same initialization, data order and budget. The table gives each run's
validation loss, its training loss measured the same way (the trained model in evaluation
mode on a stretch of the training text as long as the validation text, so the two are
comparable and the train/validation gap is the generalization gap), the gap, and the
change in validation loss against ``all`` (positive: X helped). The plots show the losses
per run and the validation curves.

``regularizers`` are ``name=value`` settings of :class:`rnnkit.models.CharLM` (its
``--set`` keys on the command line), e.g. ``--set regularizers=weight_drop=0.3,activation_reg=2``;
an optimizer counts as one too (``optimizer=ntasgd``), its ``lr`` from ``optimizer_lr``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.corpus import python_docs_corpus
from ..diagnostics.figures import plot_bars, plot_lines
from ..models import CharLM
from ._harness import ExperimentResult, plots_enabled, prepare_folder, val_curve, write_result

NAME = "regularization"
TITLE = "AWD-LSTM regularizers on/off: a character language model on the shipped corpus"


@dataclass
class Config:
    regularizers: tuple = (
        "weight_drop=0.1",
        "embedding_dropout=0.02",
        "input_dropout=0.05",
        "output_dropout=0.1",
        "activation_reg=1.0",
        "temporal_activation_reg=1.0",
        "tie_weights=true",
    )
    data_size: int = 0  # characters of the corpus; 0: all of it
    val_fraction: float = 0.1
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 1
    embedding_dim: int = 256  # = hidden_size, so that the weights can be tied
    k1: int = 32
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.004
    optimizer_lr: float = 2.0  # the lr of an optimizer named in regularizers (SGD-based: larger)
    lr_schedule: str = "cosine"
    epochs: int = 6
    seed: int = 0
    plots: bool = True


SMOKE = {
    "data_size": 6000,
    "hidden_size": 16,
    "embedding_dim": 16,
    "k1": 8,
    "batch_size": 8,
    "epochs": 1,
}


def parse_regularizers(items: tuple) -> dict:
    """``("weight_drop=0.2", "tie_weights=true", "optimizer=ntasgd")`` -> a dict of settings."""
    out: dict = {}
    for item in items:
        name, sep, text = str(item).partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise ValueError(f"regularizers: expected name=value items, got {item!r}")
        if name in out:
            raise ValueError(f"regularizers: {name!r} is given twice")
        out[name] = _value(text)
    return out


def _value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def arms(cfg: Config) -> dict:
    """Run name -> the regularizer settings of that run (none, all, all - X for each X)."""
    regs = parse_regularizers(cfg.regularizers)
    known = set(CharLM().get_params(deep=False))
    unknown = sorted(set(regs) - known)
    if unknown:
        raise ValueError(
            f"regularizers: {', '.join(unknown)} is not a setting of CharLM; "
            f"expected names among {', '.join(sorted(known))}"
        )
    runs = {"none": {}, "all": dict(regs)}
    for name in regs:
        runs[f"all - {name}"] = {k: v for k, v in regs.items() if k != name}
    return runs


def _texts(cfg: Config) -> tuple[str, str]:
    text = python_docs_corpus(cfg.data_size or None)
    cut = int(len(text) * (1 - cfg.val_fraction))
    return text[:cut], text[cut:]


def _model(cfg: Config, settings: dict, alphabet: str) -> CharLM:
    params: dict[str, Any] = dict(
        alphabet=alphabet,
        cell=cfg.cell,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        embedding_dim=cfg.embedding_dim,
        k1=cfg.k1,
        batch_size=cfg.batch_size,
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        lr_schedule=cfg.lr_schedule or None,
        epochs=cfg.epochs,
        seed=cfg.seed,
        verbose=False,
    )
    if "optimizer" in settings:
        params["lr"] = cfg.optimizer_lr
    params.update(settings)
    return CharLM(**params)


def run(cfg: Config, out) -> ExperimentResult:
    t0 = time.perf_counter()
    result = ExperimentResult(
        NAME,
        prepare_folder(out, NAME),
        ["run", "val loss", "train loss", "gap", "val - all's val", "seconds"],
        [],
    )
    train_text, val_text = _texts(cfg)
    train_probe = train_text[-len(val_text) :]  # as long as the validation text, just before it
    runs = arms(cfg)
    alphabet = "".join(sorted(set(train_text) | set(val_text)))  # so that every run has the same vocabulary
    curves: dict = {"val": {}}
    for name, settings in runs.items():
        model = _model(cfg, settings, alphabet)
        t1 = time.perf_counter()
        model.fit(train_text, validation_data=val_text)
        seconds = time.perf_counter() - t1
        val, train = model.evaluate(val_text), model.evaluate(train_probe)
        curves["val"][name] = val_curve(model.history_)
        result.rows.append(
            {"run": name, "val loss": val, "train loss": train, "gap": val - train, "seconds": round(seconds, 1)}
        )
    base = next(r["val loss"] for r in result.rows if r["run"] == "all")
    for row in result.rows:
        row["val - all's val"] = row["val loss"] - base
    result.notes.append(
        f"Losses in nats per character; {len(train_text):,} training and {len(val_text):,} validation characters "
        f"of the pydoc corpus; {cfg.cell} {cfg.num_layers}x{cfg.hidden_size}, {cfg.epochs} epochs, "
        f"{cfg.optimizer} lr {cfg.lr}. Train loss: the trained model on the last {len(train_probe):,} training "
        "characters, in evaluation mode (no dropout), as the validation loss is measured. "
        "'val - all's val' > 0 for 'all - X': X lowered the validation loss."
    )
    if plots_enabled(result, cfg.plots):
        _plots(result, cfg, curves)
    result.seconds = time.perf_counter() - t0
    return write_result(result, cfg, curves)


def _plots(result, cfg, curves) -> None:
    names = [r["run"] for r in result.rows]
    plot_bars(
        {
            "validation": [r["val loss"] for r in result.rows],
            "training (eval mode)": [r["train loss"] for r in result.rows],
        },
        result.folder / "losses.png",
        title="loss per run (nats/char)",
        ylabel="nats per character",
        groups=names,
    )
    plot_lines(
        {n: (np.arange(1, len(v) + 1), [np.nan if u is None else u for u in v]) for n, v in curves["val"].items()},
        result.folder / "val_curves.png",
        title="validation loss per epoch",
        xlabel="epoch",
        ylabel="nats per character",
    )
    result.plots += ["losses.png", "val_curves.png"]
