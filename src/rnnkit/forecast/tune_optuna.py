"""Searching by Optuna for :func:`rnnkit.forecast.tune.tune`: the TPE sampler and the median
pruner, with the trials run and recorded by the caller's ``run(params, should_prune)``.

Optuna is optional (the ``tune`` extra), imported inside the functions that need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .tune_result import Trial
from .tune_space import Range, Space

__all__ = ["import_optuna", "optuna_installed", "optuna_search"]


def optuna_installed() -> bool:
    try:
        import_optuna()
    except ImportError:
        return False
    return True


def import_optuna() -> Any:
    try:
        import optuna  # optional: the 'tune' extra
    except ImportError:
        raise ImportError('backend "optuna" needs Optuna: pip install "rnnkit[tune]" (or backend="random")') from None
    return optuna


class _TrialFailed(Exception):
    pass


def optuna_search(
    run: Callable[[dict[str, Any], Callable[[int, float], bool]], Trial],
    space: Space,
    queue: list[dict[str, Any]],
    n_trials: int,
    timeout: float | None,
    seed: int,
    startup: int,
) -> None:
    optuna = import_optuna()
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the trials are reported by progress
    try:
        _optimize(optuna, run, space, queue, n_trials, timeout, seed, startup)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _optimize(
    optuna: Any,
    run: Callable[[dict[str, Any], Callable[[int, float], bool]], Trial],
    space: Space,
    queue: list[dict[str, Any]],
    n_trials: int,
    timeout: float | None,
    seed: int,
    startup: int,
) -> None:
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=max(startup, 1), n_warmup_steps=0),
    )
    for params in queue:
        study.enqueue_trial(params)

    def objective(trial: Any) -> float:
        params = {k: _suggest(trial, k, spec) for k, spec in space.items()}

        def should_prune(j: int, running: float) -> bool:
            trial.report(running, j)
            return bool(trial.should_prune())

        record = run(params, should_prune)
        if record.state == "pruned":
            raise optuna.TrialPruned()
        if record.state == "failed":
            raise _TrialFailed(record.message)
        return record.mase

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=1, catch=(_TrialFailed,))  # one trial at least, as the random search
    left = None if timeout is None else timeout - (time.perf_counter() - t0)
    if n_trials > 1 and (left is None or left > 0):
        study.optimize(objective, n_trials=n_trials - 1, timeout=left, catch=(_TrialFailed,))


def _suggest(trial: Any, key: str, spec: Sequence[Any] | Range) -> Any:
    if isinstance(spec, Range):
        if spec.integer:
            return trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
        return trial.suggest_float(key, float(spec.low), float(spec.high), log=spec.log)
    return trial.suggest_categorical(key, list(spec))
