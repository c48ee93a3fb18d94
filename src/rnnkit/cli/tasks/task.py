"""The Task base class and what tasks share: splits, history rows, result lines.

A task holds everything the commands do for it and every fact about it: what it reads
(``formats``, ``datasets``, ``readers``, used by :mod:`rnnkit.cli.sources`), its help
(``help``, ``about``, ``examples``), its data (``load``, ``split``), its
model (``build_model``, ``fit``, ``load_model``), its results (``evaluate``, ``summary``,
``plots``) and what the commands do with a trained model (``predict_*`` and
``format_predictions`` for ``rnnkit predict``, ``generate`` for ``rnnkit generate``,
``evaluation_data`` for ``rnnkit evaluate --data``). A command takes the tasks that have
its method (:meth:`Task.serves`); the verbs in ``rnnkit/cli`` never ask for a task's name.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...distributed import world
from .. import sources
from .._base import CliError, UsageError


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
    """One ``rnnkit train`` task. Subclasses set the class attributes and the hooks; the
    methods of a command a task does not serve raise a :class:`CliError` that names it."""

    name = ""
    config_class: Any = None  # the task's config dataclass (a CommonConfig subclass)
    model_names: tuple[str, ...] = ()  # model classes this task trains (for loading)
    model_module = ""  # where they live, e.g. "rnnkit.models.classifier"
    command = ""  # the command that uses a trained model
    metric_name = ""
    help = ""  # one line for 'rnnkit train --help'
    about = ""  # what the task learns, for 'rnnkit datasets'
    examples: tuple[str, ...] = ()  # for 'rnnkit train TASK --help'
    # what to try when the model does not beat its baselines (the verdict's hint)
    remedy = "more --epochs, a larger --hidden-size, or a larger --preset (default instead of tiny)"

    # -- what it reads: --data NAME (a set it offers) or --data FILE (a format it reads) ---------
    datasets: ClassVar[dict[str, sources.DataSet]] = {}  # by the name given to --data
    formats: tuple[str, ...] = ()  # the file formats it reads (of sources.FORMATS)
    # format -> reader(path, config, notes), for a format the task reads its own way
    readers: ClassVar[dict[str, Callable]] = {}

    @property
    def default_data(self) -> str:
        """The set trained on without ``--data``: the default of the config's ``data`` key."""
        return str({f.name: f.default for f in dataclasses.fields(self.config_class)}["data"])

    # -- data -------------------------------------------------------------------------------
    def load(self, config) -> TaskData:
        loaded = sources.load(self, config)
        rng = np.random.default_rng(config.seed)
        if config.val_data is not None:
            val_loaded = sources.load(self, config, path_key="val_data")
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
        # rnnkit.models loads on use: start-up time (cli/__init__.py)
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

    def sample_texts(self, results: dict) -> dict[str, str]:
        """What the trackers show as text after training, ``name -> text``: a sample of what
        a text model produces, from :meth:`samples`'s or :meth:`evaluate`'s results (a
        string ``sample`` among the results is shown without this)."""
        return {}

    def summary(self, results: dict) -> str:
        return result_line(results) + "\n" + self.verdict(results)

    def verdict(self, results: dict) -> str:
        """One plain line: does the model beat each baseline, and if not, what to try
        (:attr:`remedy`)? See :func:`verdict_line`."""
        return verdict_line(results, self.remedy)

    def plots(self, model, data: TaskData, config, directory, results) -> list:
        return []

    # -- using a trained model: rnnkit evaluate, predict, generate ----------------------------
    def serves(self, verb: str) -> bool:
        """Whether ``rnnkit <verb>`` takes this task's models: the task has the verb's method."""
        method = _VERB_METHODS[verb]
        return getattr(type(self), method) is not getattr(Task, method)

    def evaluation_data(self, config):
        """``rnnkit evaluate --data``: (the part to score on, what was read) of ``config.data``,
        its held-out part when the set ships one."""
        loaded = sources.load(self, config)
        return (loaded.test if loaded.test is not None else loaded.train), loaded.source

    def predict_texts(self, model, texts: list[str]) -> list:
        """``rnnkit predict --text``: the items given on the command line."""
        raise self._lacks("predict")

    def predict_inputs(self, model, config, path: Path, fmt: str | None) -> list:
        """``rnnkit predict --data``: the items of one file (labels or targets in it are ignored)."""
        raise self._lacks("predict")

    def predict_options(self, model, args) -> None:
        """Apply the predict flags that only some tasks take (``--beam-size``)."""
        if args.beam_size is not None:
            raise UsageError("--beam-size: expected an integer >= 1, for a seq2seq model")

    prediction_suffix = ".tsv"  # ``rnnkit predict --out-dir``: one file per input, named so

    def format_predictions(self, model, items, out_path: str | None) -> str:
        """The predictions for ``items`` as the text ``rnnkit predict`` writes."""
        raise self._lacks("predict")

    def with_source(self, text: str, source: str, header: bool) -> str:
        """One input's predictions as rows of a batch table, prefixed with the input file."""
        lines = text.rstrip("\n").split("\n")
        return "".join(f"{source}\t{line}\n" if line else "\n" for line in lines) + "\n"

    def generate(self, model, args, config, console) -> str | None:
        """``rnnkit generate``: sample from the model. Returns the text for stdout or
        ``--out``, or None when the task wrote its own files."""
        raise self._lacks("generate")

    def _lacks(self, verb: str) -> CliError:
        return CliError(
            f"rnnkit {verb}: task {self.name!r} has no {verb}; hint: use '{self.command or 'rnnkit evaluate'} RUN' "
            f"with a {self.name} run"
        )


def read_text_items(path: Path, fmt: str | None, config, *, words: bool, guess: bool = True) -> list | None:
    """The items of a plain text file, one per non-empty line (split on spaces when
    ``words``); None when the file is read otherwise: ``fmt`` names another format, or is
    None and (``guess``) the extension is not a text one."""
    if fmt is None and guess and path.suffix.lower() in sources.FORMATS["text"]:
        fmt = "text"
    if fmt != "text":
        return None
    lines = sources.read_lines(path, config)
    return [line.split() for line in lines] if words else lines


def refuse_music_flags(args, task: str) -> None:
    """``rnnkit generate``'s MIDI flags, given for a run that does not write MIDI."""
    for flag in ("primer", "primer_frames", "tempo", "program"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag.replace('_', '-')}: only for a music run, not a {task} run")


# The method a task overrides to take part in each command (see Task.serves).
_VERB_METHODS = {"evaluate": "evaluate", "predict": "format_predictions", "generate": "generate"}


def _model_keys(config) -> dict:
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


def check_same_data(data: TaskData, config) -> None:
    """Under ``mpiexec``, a one-line error on every rank unless every rank read the same data.

    Compared (through a digest) right after loading, before anything is built from the data
    (vocabularies, classes, scales) and before any collective that depends on it: ranks that
    read different texts would otherwise disagree on a shape inside MPI.
    """
    flags = "--data" + (", --val-data" if getattr(config, "val_data", None) is not None else "")
    try:
        world().check_same(flags, data.train, data.val, data.test)
    except ValueError as exc:
        error = CliError(str(exc))
        error.every_rank = True  # every rank compared the same digests and raises
        raise error from None


def verdict_line(results: dict, remedy: str) -> str:
    """Whether the model's score beats each baseline's, in the direction ``results["better"]``
    ("lower" or "higher"); a baseline with the same score is not beaten. When one is not
    beaten: which, with its score, and ``remedy`` as the hint. Scores that are not finite beat
    nothing and are beaten by nothing."""
    model, better = results["model"], results.get("better")
    where = f"on the {results.get('split', 'held-out')} part"
    if not math.isfinite(model):
        return f"the model's score {where} is {model}: it beats no baseline"
    scored = {name: float(v) for name, v in results.get("baselines", {}).items() if math.isfinite(v)}
    if not scored or better not in ("lower", "higher"):
        return f"no baseline was scored {where}: nothing to compare the model with"
    beats = (lambda v: model < v) if better == "lower" else (lambda v: model > v)
    won = [name for name, v in scored.items() if beats(v)]
    lost = [(name, v) for name, v in scored.items() if not beats(v)]
    fmt = results.get("format", "{:.4f}")
    score = f"the model ({fmt.format(model)})"
    if not lost:
        return f"{score} beats {_and(won)} {where}"
    worse = _and([f"{name} ({fmt.format(v)})" for name, v in lost], "or")
    head = f"{score} beats {_and(won)} but NOT" if won else f"{score} does NOT beat"
    return f"{head} {worse} {where}; hint: try {remedy}"


def _and(names: list, word: str = "and") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {word} " + names[-1]


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
