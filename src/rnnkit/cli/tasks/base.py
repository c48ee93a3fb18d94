"""The Task base class and what tasks share: splits, history rows, result lines."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import sources
from .._base import CliError


@dataclass
class TaskData:
    """A task's data, split. ``test`` is a held-out part that ships with a set, else None;
    results are reported on ``test`` when there is one, else on ``val``."""

    train: Any  # each task's own kind of part: text, arrays, (X, y), a series set
    val: Any
    test: Any
    source: str
    test_name: str = "test"  # how results name the held-out part
    extra: Any = None  # what a task needs besides the parts (a dict), or None
    notes: list | None = None  # what was guessed or repaired while reading, for the user

    @property
    def eval_split(self) -> str:
        return self.test_name if self.test is not None else "validation"

    @property
    def eval_part(self):
        return self.test if self.test is not None else self.val

    def describe(self) -> str:
        sizes = [
            f"{name} {_size(part)}"
            for name, part in (("train", self.train), ("validation", self.val), ("test", self.test))
            if part is not None
        ]
        return f"{self.source}: " + ", ".join(sizes)


def _size(part) -> str:
    if isinstance(part, str):
        return f"{len(part):,} chars"
    if isinstance(part, np.ndarray):
        return f"{len(part):,} steps"
    if isinstance(part, tuple):
        return f"{len(part[0]):,} sequences"
    return f"{len(part):,} items"


class Task:
    """One ``rnnkit train`` task. Subclasses set the class attributes and the hooks."""

    name = ""
    config_class: Any = None  # the task's config dataclass (a CommonConfig subclass)
    model_names: tuple[str, ...] = ()  # model classes this task trains (for loading)
    model_module = ""  # where they live, e.g. "rnnkit.models.classifier"
    command = ""  # the command that uses a trained model
    metric_name = ""

    # -- data -------------------------------------------------------------------------------
    def load(self, config) -> TaskData:
        loaded = sources.load(self.name, config)
        rng = np.random.default_rng(config.seed)
        if config.val_data is not None:
            val_loaded = sources.load(self.name, config, path_key="val_data")
            train, val = loaded.train, val_loaded.train
            loaded.notes.extend(val_loaded.notes)
        else:
            train, val = self.split(loaded.train, config.val_fraction, rng)
        return TaskData(train, val, loaded.test, loaded.source, notes=loaded.notes)

    def split(self, data, fraction: float, rng):
        """Hold out ``fraction`` of the data for validation (random items by default)."""
        n = len(data[0]) if isinstance(data, tuple) else len(data)
        n_val = int(round(fraction * n))
        if fraction > 0 and n_val == 0 and n >= 2:
            n_val = 1
        if n - n_val < 1:
            raise CliError(
                f"--data: only {n} item(s); too few to hold out a validation part; hint: --val-fraction 0, or more data"
            )
        order = rng.permutation(n)
        train_idx, val_idx = np.sort(order[n_val:]), np.sort(order[:n_val])
        pick = _picker(data)
        return pick(train_idx), (pick(val_idx) if n_val else None)

    # -- the model --------------------------------------------------------------------------
    def model_class(self, config, data: TaskData):
        module = importlib.import_module(self.model_module)
        return getattr(module, self.model_names[0])

    def build_model(self, config, data: TaskData):
        cls = self.model_class(config, data)
        valid = set(cls().get_params(deep=False))
        kwargs = {k: v for k, v in _model_keys(config).items() if k in valid}
        return cls(**kwargs)

    def load_model(self, path):
        module = importlib.import_module(self.model_module)
        from ...models.base import BaseEstimator

        model = BaseEstimator.load(path)
        if type(model).__name__ not in self.model_names or not hasattr(module, type(model).__name__):
            raise CliError(f"{path}: holds a {type(model).__name__}, not a {self.name} model")
        return model

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        """Fit ``model`` on ``data``; ``callbacks`` (:class:`rnnkit.train.callbacks.Callback`)
        go to ``model.fit(..., callbacks=...)`` and so to its Trainer."""
        raise NotImplementedError

    # -- results ----------------------------------------------------------------------------
    def evaluate(self, model, data: TaskData, config) -> dict:
        raise NotImplementedError

    def samples(self, model, config) -> dict:
        """What the model generates after training (added to the results), if anything."""
        return {}

    def summary(self, results: dict) -> str:
        return result_line(results)

    def plots(self, model, data: TaskData, config, directory, results) -> list:
        return []


def _model_keys(config) -> dict:
    import dataclasses

    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.metadata.get("group") == "model"}


def _picker(data):
    if isinstance(data, tuple):
        parts = [_picker(d) for d in data]
        return lambda idx: tuple(p(idx) for p in parts)
    if isinstance(data, np.ndarray):
        return lambda idx: data[idx]
    return lambda idx: [data[i] for i in idx]


def history_rows(history) -> tuple[list[dict], dict]:
    """Per-epoch rows and per-step series from a model's ``history_``.

    Accepts the training loop's :class:`rnnkit.train.callbacks.History` or a dict of per-epoch
    lists (``loss``, ``val_loss``) and per-step lists (``grad_norm``, ``lr``).
    """
    if history is None:
        return [], {}
    if hasattr(history, "epochs") and hasattr(history, "steps"):
        # Rows are numbered 1..n for people (the training loop counts from 0).
        epochs = [{**e, "epoch": i + 1} for i, e in enumerate(history.epochs)]
        steps = {k: list(v) for k, v in history.steps.items() if k != "skipped"}
        return epochs, steps
    if isinstance(history, dict):
        losses = list(history.get("loss", []))
        val = list(history.get("val_loss", []))
        epochs = []
        for i, loss in enumerate(losses):
            row = {"epoch": i + 1, "loss": float(loss)}
            if i < len(val):
                row["val_loss"] = float(val[i])
            epochs.append(row)
        steps = {k: [float(v) for v in history[k]] for k in ("grad_norm", "lr") if isinstance(history.get(k), list)}
        return epochs, steps
    return [], {}


def result_line(results: dict, note: str = "") -> str:
    """The result beside its baselines, as a small table::

    validation nats/char on 46,512 chars (lower is better)
      model              1.2589  (1.816 bits/char)
      baseline trigram   1.7088
    """
    fmt = results.get("format", "{:.4f}")
    better = results.get("better")
    head = f"{results['split']} {results['metric']} on {results['n']:,} {results.get('unit', 'items')}" + (
        f" ({better} is better)" if better else ""
    )
    rows = [("model", results["model"], note)]
    rows += [(f"baseline: {name}", value, "") for name, value in results.get("baselines", {}).items()]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"  {name:<{width}}  {fmt.format(value)}" + (f"  {extra}" if extra else "") for name, value, extra in rows]
    return "\n".join([head] + lines)
