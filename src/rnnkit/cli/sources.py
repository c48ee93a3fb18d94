"""Where a task's data comes from: a shipped or generated set by name, or the user's file.

``--data NAME`` picks a set of :data:`rnnkit.data.DATASETS` that fits the task;
``--data PATH`` reads a file whose format comes from its extension (or ``--format``):

=========  ==========================  ========================================
format     extensions                  tasks
=========  ==========================  ========================================
text       .txt .text .md .rst .py     charlm (any unknown extension too)
csv        .csv                        forecast (one series, or many: long or
                                       wide layout);
                                       classify, generate (long: one row per
                                       (sequence, step); wide: one row per
                                       sequence with a label column; no header:
                                       the label first)
npz        .npz                        classify, generate (variable-length seqs)
ts         .ts                         classify, generate (UEA/UCR archive)
ucr        (by content)                classify, generate: the older UCR layout,
                                       label then values on each line (*_TRAIN,
                                       *_TRAIN.tsv, *_TRAIN.txt)
conllu     .conllu .conll .iob .bio    tag (also word ... tag column files)
tsv        .tsv .tab                   seq2seq; generate (condition -> text);
                                       classify (text -> label, split on spaces)
midi       .mid .midi                  music (a file, or a folder of files)
=========  ==========================  ========================================

Which formats a task reads, its sets and its own readers are the task's (``formats``,
``datasets``, ``readers`` of :class:`rnnkit.cli.tasks.task.Task`); the table shows them.
A file whose extension says little (none, ``.txt``, ``.tsv``) is looked at: lines of
numbers are the UCR layout, tab-separated lines are pairs.

:func:`load` returns the task's raw data: text, a series, ``(sequences, labels)``,
tagged sentences or ``(source, target)`` pairs, plus a held-out split when the set ships
one (``tiny-pos``, ``waveforms``).
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import data
from ..utils import files
from ._base import CliError
from .options import did_you_mean
from .task_registry import TASKS

FORMATS = {
    "text": (".txt", ".text", ".md", ".rst", ".py"),
    "csv": (".csv",),
    "npz": (".npz",),
    "ts": (".ts",),
    "conllu": (".conllu", ".conll", ".iob", ".bio"),
    "tsv": (".tsv", ".tab"),
    "ucr": (),
    "midi": (".mid", ".midi"),
}


@dataclass(frozen=True)
class DataSet:
    """A set a task offers as ``--data NAME`` (the task's ``datasets``): a set of
    :data:`rnnkit.data.DATASETS`, the loader's keyword arguments for its training part and
    its held-out part (None: it ships none), and how its value becomes the task's data
    (``convert``: "text", "series", "labelled", "xy", "sentences", "token_pairs",
    "count_pairs", "pairs" or "music")."""

    registry_name: str
    convert: str
    train_kw: dict = dataclasses.field(default_factory=dict)
    test_kw: dict | None = None
    description: str | None = None  # how the CLI uses the set, where that differs from its own


@dataclass
class Loaded:
    """A task's data: ``train`` and optionally ``test`` (a held-out part that ships)."""

    train: object
    test: object | None
    source: str  # what was read, for messages and the run summary
    kind: str  # "dataset" or the file format
    notes: list[str] = dataclasses.field(default_factory=list)  # what was guessed or fixed


def detect_format(path, fmt: str | None, task) -> str:
    """The file format of ``path`` for ``task`` (a Task): ``fmt`` if given, else from the
    extension (see the table above)."""
    allowed = task.formats
    if fmt is not None:
        if fmt not in FORMATS:
            raise CliError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        if fmt not in allowed:
            raise CliError(
                f"--format {fmt}: the {task.name} task reads {', '.join(allowed)} files; "
                f"hint: see 'rnnkit datasets' for which task reads {fmt}"
            )
        return fmt
    suffix = Path(path).suffix.lower()
    sniffed = _sniff(path, suffix, allowed)
    if sniffed is not None:
        return sniffed
    for name, extensions in FORMATS.items():
        if suffix in extensions:
            if name not in allowed:
                raise CliError(
                    f"--data {path}: a {name} file, but the {task.name} task reads "
                    f"{', '.join(allowed)} files; hint: {_task_for_format(name)}"
                )
            return name
    if "text" in allowed:  # a task that reads text reads any file as text
        return "text"
    raise CliError(
        f"--data {path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
        f"hint: pass --format, one of {', '.join(allowed)}"
    )


def _sniff(path, suffix: str, allowed) -> str | None:
    """The format of a file whose extension says little, from its first lines."""
    if suffix not in ("", ".txt", ".tsv", ".tab", ".data", ".dat"):
        return None
    if "ucr" in allowed and data.looks_like_ucr(path):
        return "ucr"
    if "tsv" in allowed and suffix in ("", ".txt", ".data", ".dat") and _has_tabs(path):
        return "tsv"
    return None


def _has_tabs(path) -> bool:
    try:
        raw = files.open_regular(path, what="a data file", max_bytes=files.MAX_TEXT_BYTES)
        with io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as fh:
            lines = [line for _, line in zip(range(5), fh, strict=False) if line.strip()]
    except (OSError, files.FileRefusedError):  # the reader says why
        return False
    return bool(lines) and all("\t" in line for line in lines)


def _task_for_format(fmt: str) -> str:
    tasks = [t.name for t in TASKS.values() if fmt in t.formats]
    return f"{fmt} files are for the {' and '.join(tasks)} task(s)" if tasks else "see 'rnnkit datasets'"


def load(task, config, *, path_key: str = "data") -> Loaded:
    """Load ``config.data`` (a set's name or a file path) for ``task`` (a Task)."""
    spec = getattr(config, path_key)
    sets = task.datasets
    if spec in sets:
        return _load_dataset(task, spec, config)
    path = Path(spec)
    if not path.exists():
        names = ", ".join(sets)
        if path.suffix == "" and path.parent == Path("."):
            raise CliError(
                f"--data {spec}: no such data set or file{did_you_mean(spec, sets)}; "
                f"the {task.name} task ships {names}; hint: 'rnnkit datasets' lists them"
            )
        raise CliError(f"--data {spec}: file not found; hint: check the path, or use a set that ships: {names}")
    if path.is_dir():
        raise CliError(f"--data {spec}: is a folder; expected a file")
    fmt = detect_format(path, getattr(config, "format", None), task)
    notes: list[str] = []
    return Loaded(read_file(task, path, fmt, config, notes), None, str(path), fmt, notes)


def _load_dataset(task, name: str, config) -> Loaded:
    ds = task.datasets[name]
    registry_name, test_kw, convert = ds.registry_name, ds.test_kw, ds.convert
    kw = dict(ds.train_kw)
    if convert in ("series", "xy", "token_pairs", "count_pairs", "pairs"):
        size = getattr(config, "data_size", None)
        if size:
            kw["n"] = size
        if convert != "series" or registry_name != "mackey-glass":
            kw["seed"] = config.seed
    if convert == "text" and getattr(config, "data_size", None):
        kw["max_chars"] = config.data_size
    train = _convert(convert, data.load_dataset(registry_name, **kw))
    test = _convert(convert, data.load_dataset(registry_name, **test_kw)) if test_kw is not None else None
    return Loaded(train, test, name, "dataset")


def _convert(kind: str, value):
    if kind == "xy":  # (X (N, T, F), y (N, K)) -> sequences, targets
        X, y = value
        return list(X), np.asarray(y, dtype=np.float64)
    if kind == "token_pairs":  # aligned int tokens -> tagged "sentences"
        inputs, targets = value
        return [[(str(a), str(b)) for a, b in zip(x, t, strict=False)] for x, t in zip(inputs, targets, strict=False)]
    if kind == "count_pairs":  # running sum: 0/1 tokens tagged with the count
        X, Y = value
        return [
            [(str(int(a)), str(int(b))) for a, b in zip(x[:, 0], t[:, 0], strict=False)]
            for x, t in zip(X, Y, strict=False)
        ]
    return value


def read_file(task, path: Path, fmt: str, config, notes: list | None = None):
    """Read one user file into ``task``'s data (a Task: its ``readers`` read the formats it
    reads its own way); what was guessed or repaired goes to ``notes``."""
    notes = [] if notes is None else notes
    if fmt == "text":
        text = data.read_text(path, config.encoding)
        if not text.strip():
            raise CliError(f"--data {path}: the file is empty; hint: a character model needs text")
        return text
    if fmt == "conllu":
        return data.read_conllu(path, config.encoding)
    special = task.readers.get(fmt)
    if special is not None:
        return special(path, config, notes)
    if fmt == "tsv":
        return data.read_pairs_tsv(path, config.encoding)
    if fmt == "csv":
        seqs, labels = data.read_sequences_csv(
            path,
            id_column=config.id_column,
            time_column=config.time_column,
            label_column=config.label_column,
            encoding=config.encoding,
        )
    elif fmt == "npz":
        seqs, labels = data.read_sequences_npz(path)
    elif fmt == "ucr":
        seqs, labels = data.read_ucr(path, config.encoding)
    else:
        seqs, labels = data.read_ts(path, config.encoding)
    if labels is None:
        raise CliError(
            f"--data {path}: the sequences have no labels; hint: training needs a label "
            "per sequence (a label column, a labels array or @classLabel)"
        )
    note = nonfinite_note(seqs, "filled with the value before them")
    if note:
        notes.append(note)
    seqs = [_fill_missing(s) for s in seqs]
    return seqs, labels


# -- inputs to predict on: what a file holds, its labels or targets left out ---------------------
def read_lines(path: Path, config) -> list[str]:
    """The non-empty lines of a text file."""
    lines = [line for line in data.read_text(path, getattr(config, "encoding", "utf-8")).split("\n") if line.strip()]
    if not lines:
        raise CliError(f"--data {path}: the file has no non-empty lines")
    return lines


def read_sources(path: Path, config) -> list[str]:
    """Lines ``source`` or ``source<TAB>target``: the sources (prediction needs no target)."""
    return [line.split("\t")[0] for line in read_lines(path, config)]


def read_sentences(path: Path, config) -> list[list[str]]:
    """The words of each sentence of a CoNLL-U (or word ... tag column) file."""
    return [[w for w, _ in s] for s in data.read_conllu(path, getattr(config, "encoding", "utf-8"), tagged=False)]


def read_unlabelled(path: Path, fmt: str, config) -> list[np.ndarray]:
    """The sequences of a .ts, .npz, UCR or CSV file, missing values filled (labels dropped)."""
    encoding = getattr(config, "encoding", "utf-8")
    if fmt == "npz":
        seqs, _ = data.read_sequences_npz(path)
    elif fmt == "ts":
        seqs, _ = data.read_ts(path, encoding)
    elif fmt == "ucr":
        seqs, _ = data.read_ucr(path, encoding)
    else:
        seqs, _ = data.read_sequences_csv(
            path,
            id_column=config.id_column,
            time_column=config.time_column,
            label_column=config.label_column,
            encoding=encoding,
        )
    return [_fill_missing(s) for s in seqs]


def nonfinite_note(arrays, how: str) -> str | None:
    """``"3 missing value(s) and 2 infinite value(s) <how>"``, or None when all are finite:
    NaN is a missing value, inf is counted and named apart (both are replaced)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    nan = sum(int(np.isnan(a).sum()) for a in arrays)
    inf = sum(int(np.isinf(a).sum()) for a in arrays)
    parts = ([f"{nan:,} missing value(s)"] if nan else []) + ([f"{inf:,} infinite value(s)"] if inf else [])
    return f"{' and '.join(parts)} {how}" if parts else None


def _fill_missing(seq: np.ndarray) -> np.ndarray:
    """NaN (missing, or padding of a shorter dimension in .ts) and inf -> carry the last
    finite value."""
    seq = np.asarray(seq, dtype=np.float64)
    if np.all(np.isfinite(seq)):
        return seq
    out = seq.copy()
    for f in range(out.shape[1]):
        col = out[:, f]
        good = np.isfinite(col)
        if not good.any():
            col[:] = 0.0
            continue
        idx = np.where(good, np.arange(len(col)), 0)
        np.maximum.accumulate(idx, out=idx)
        col[:] = col[idx]
        col[: np.argmax(good)] = col[np.argmax(good)]
    return out
