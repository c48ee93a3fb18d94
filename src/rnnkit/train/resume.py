"""Checkpoint and resume of a whole training run: :meth:`Trainer.save` and :meth:`Trainer.load`.

One file (the format of :mod:`rnnkit.train.checkpoint`) holds the parameters, the optimizer
and schedule state, the trainer's random generator and every ``numpy.random.Generator``
held by the model's modules (e.g. the dropout generators), the counters, the history and
the callbacks' state, so N steps, save, load, N more steps gives exactly the parameters of
2N steps in one go.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..nn.module import Module
from .checkpoint import CheckpointError, check_keys, load_checkpoint, save_checkpoint
from .config import TrainConfig, _plain
from .rngstate import rng_state, set_rng_state

__all__ = ["save_trainer_state", "load_trainer_state", "walk_modules", "TRAINER_FORMAT", "TRAINER_FORMAT_VERSION"]

TRAINER_FORMAT = "rnnkit-trainer"
TRAINER_FORMAT_VERSION = 1
_META_KEYS = (
    "format",
    "format_version",
    "model_class",
    "config",
    "optimizer",
    "schedule",
    "rng",
    "epoch_rng",
    "model_rngs",
    "counters",
    "history",
    "callbacks",
    "extra",
)
_T = TypeVar("_T")

# ``trainer: Any`` below is a Trainer, which cannot be named here: rnnkit.train.trainer
# imports this module (imports form no cycle, not even for types).


def save_trainer_state(trainer: Any, path: str | os.PathLike[str]) -> Path:
    """Write everything a bit-exact resume of ``trainer`` needs to ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"model." + k: v for k, v in trainer.model.state_dict().items()}
    opt = trainer.optimizer.state_dict()
    arrays.update(("optimizer." + k, v) for k, v in opt.pop("arrays").items())
    hist = trainer.history.state_dict()
    arrays.update(("history." + k, v) for k, v in hist.pop("arrays").items())
    cbs = []
    for i, cb in enumerate(trainer.all_callbacks):
        state = dict(cb.state_dict())
        cb_arrays = state.pop("arrays", {})
        arrays.update((f"callbacks.{i}.{k}", v) for k, v in cb_arrays.items())
        cbs.append({"class": type(cb).__name__, "state": state, "arrays": sorted(cb_arrays)})
    extra = None
    if (
        trainer.batch_in_epoch
        and getattr(trainer, "world", None) is not None
        and trainer.world.active
        and callable(getattr(trainer.model, "trainer_state", None))
    ):
        raise ValueError(
            f"path: under mpiexec a checkpoint inside an epoch ({trainer.batch_in_epoch} batches in) "
            "cannot hold the state each rank carries along its streams; hint: save at the end of "
            "an epoch (CheckpointEvery(every_epochs=1))"
        )
    extra = None
    if callable(getattr(trainer.model, "trainer_state", None)):
        extra, extra_arrays = trainer.model.trainer_state()
        arrays.update(("extra." + k, v) for k, v in extra_arrays.items())
    meta = {
        "format": TRAINER_FORMAT,
        "format_version": TRAINER_FORMAT_VERSION,
        "model_class": type(trainer.model).__name__,
        "config": trainer.config.to_dict(),
        "optimizer": opt,
        "schedule": None if trainer.schedule is None else trainer.schedule.state_dict(),
        "rng": rng_state(trainer.rng),
        "epoch_rng": trainer._epoch_rng,
        "model_rngs": {p: rng_state(g) for p, g in _model_generators(trainer.model).items()},
        "counters": {
            "step": trainer.step,
            "epoch": trainer.epoch,
            "batch_in_epoch": trainer.batch_in_epoch,
            "epoch_first_step": trainer._epoch_first_step,
            "epoch_time": trainer._epoch_time,
        },
        "history": hist,
        "callbacks": cbs,
        "extra": extra,
    }
    return save_checkpoint(path, arrays, _plain(meta))


def load_trainer_state(path: str | os.PathLike[str], model: Any, build: Callable[[TrainConfig], _T]) -> _T:
    """Read ``path``, check it against ``model``, build the trainer with ``build(config)`` and
    restore its state; raises :class:`CheckpointError` naming what does not match."""
    arrays, meta = load_checkpoint(path)
    if meta.get("format") != TRAINER_FORMAT:
        raise CheckpointError(
            f"checkpoint {path}: holds format {meta.get('format')!r}, expected "
            f"{TRAINER_FORMAT!r}; hint: a saved model loads with its class's load(path)"
        )
    if not isinstance(meta.get("format_version"), int) or meta["format_version"] > TRAINER_FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path}: trainer format version {meta.get('format_version')!r} is "
            f"newer than this rnnkit reads ({TRAINER_FORMAT_VERSION}); hint: upgrade rnnkit"
        )
    check_keys(meta, _META_KEYS, f"checkpoint {path}", "meta.")
    for key in ("config", "counters", "history", "optimizer"):
        if not isinstance(meta[key], dict):
            raise CheckpointError(f"checkpoint {path}: meta.{key} must be an object, got {type(meta[key]).__name__}")
    if meta["model_class"] != type(model).__name__:
        raise CheckpointError(
            f"checkpoint {path}: saved from a {meta['model_class']}, got a "
            f"{type(model).__name__}; hint: build the same model class as the saved run"
        )
    try:
        config = TrainConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: meta.config: {exc}") from None
    trainer = build(config)
    try:
        _restore(trainer, arrays, meta)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(
            f"checkpoint {path}: cannot restore into this {type(model).__name__}: {exc}; "
            "hint: build the model with the same sizes as the saved run"
        ) from exc
    return trainer


def _restore(trainer: Any, arrays: dict, meta: dict) -> None:
    def part(prefix: str) -> dict:
        return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

    trainer.model.load_state_dict(part("model."))
    trainer.optimizer.load_state_dict(dict(meta["optimizer"], arrays=part("optimizer.")))
    if trainer.schedule is not None:
        trainer.schedule.load_state_dict(meta["schedule"])
    set_rng_state(trainer.rng, meta["rng"])
    gens, saved = _model_generators(trainer.model), meta["model_rngs"]
    if set(gens) != set(saved):
        raise ValueError(f"the model's random generators {sorted(gens)} differ from the saved {sorted(saved)}")
    for p, g in gens.items():
        set_rng_state(g, saved[p])
    c = meta["counters"]
    trainer.step, trainer.epoch, trainer.batch_in_epoch = c["step"], c["epoch"], c["batch_in_epoch"]
    trainer._epoch_first_step, trainer._epoch_time, trainer._epoch_rng = (
        c["epoch_first_step"],
        c["epoch_time"],
        meta["epoch_rng"],
    )
    trainer.history.load_state_dict(dict(meta["history"], arrays=part("history.")))
    for i, (cb, saved_cb) in enumerate(zip(trainer.all_callbacks, meta["callbacks"], strict=False)):
        if saved_cb["class"] == type(cb).__name__:
            cb_arrays = {k: arrays[f"callbacks.{i}.{k}"] for k in saved_cb["arrays"]}
            cb.load_state_dict(dict(saved_cb["state"], arrays=cb_arrays))
    if meta["extra"] is not None:
        trainer.model.load_trainer_state(meta["extra"], part("extra."))


def walk_modules(obj: object, prefix: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, object]]:
    """(path, module) for ``obj`` and every Module reachable through children or attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield prefix.rstrip("."), obj
    children = dict(getattr(obj, "_children", {}))
    known = {id(c) for c in children.values()}
    for name, value in vars(obj).items():
        if isinstance(value, Module) and id(value) not in known and name not in children:
            children[name] = value
    for name, child in children.items():
        yield from walk_modules(child, f"{prefix}{name}.", seen)


def _model_generators(model: object) -> dict[str, np.random.Generator]:
    """Every numpy Generator held by the model's modules, by ``path.attribute`` (each once)."""
    out, seen = {}, set()
    for path, mod in walk_modules(model):
        for name, value in vars(mod).items():
            if isinstance(value, np.random.Generator) and id(value) not in seen:
                seen.add(id(value))
                out[f"{path}.{name}" if path else name] = value
    return out
