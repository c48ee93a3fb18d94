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

A file whose extension says little (none, ``.txt``, ``.tsv``) is looked at: lines of
numbers are the UCR layout, tab-separated lines are pairs.

:func:`load` returns the task's raw data: text, a series, ``(sequences, labels)``,
tagged sentences or ``(source, target)`` pairs, plus a held-out split when the set ships
one (``tiny-pos``, ``waveforms``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import data
from ..data.series_table import read_series_table
from ._base import CliError
from .options import did_you_mean

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

TASK_FORMATS = {
    "charlm": ("text",),
    "forecast": ("csv",),
    "classify": ("ts", "csv", "npz", "tsv", "ucr"),
    "tag": ("conllu",),
    "seq2seq": ("tsv",),
    "generate": ("ts", "csv", "npz", "tsv", "ucr"),
    "music": ("midi", "npz"),
}

# name -> (registry name, loader keyword arguments for the training part, for held-out
# part or None, how the registry's value becomes the task's data)
TASK_DATASETS = {
    "charlm": {"pydoc": ("pydoc", {}, None, "text")},
    "forecast": {"mackey-glass": ("mackey-glass", {}, None, "series"), "seasonal": ("seasonal", {}, None, "series")},
    "classify": {
        "waveforms": ("waveforms", {"split": "train"}, {"split": "test"}, "labelled"),
        "adding": ("adding", {}, None, "xy"),
    },
    "tag": {
        "tiny-pos": ("tiny-pos", {"split": "train"}, {"split": "test"}, "sentences"),
        "copy-memory": ("copy-memory", {}, None, "token_pairs"),
        "running-sum": ("running-sum", {}, None, "count_pairs"),
    },
    "seq2seq": {"arithmetic": ("arithmetic", {}, None, "pairs")},
    "generate": {"waveforms": ("waveforms", {"split": "train"}, {"split": "test"}, "labelled")},
    "music": {"jsb": ("jsb", {"split": "train"}, {"split": "test"}, "music")},
}

DEFAULT_DATA = {
    "charlm": "pydoc",
    "forecast": "mackey-glass",
    "classify": "waveforms",
    "tag": "tiny-pos",
    "seq2seq": "arithmetic",
    "generate": "waveforms",
    "music": "jsb",
}


@dataclass
class Loaded:
    """A task's data: ``train`` and optionally ``test`` (a held-out part that ships)."""

    train: object
    test: object | None
    source: str  # what was read, for messages and the run summary
    kind: str  # "dataset" or the file format
    notes: list[str] = dataclasses.field(default_factory=list)  # what was guessed or fixed


def detect_format(path, fmt: str | None, task: str) -> str:
    """The file format: ``fmt`` if given, else from the extension (see the table above)."""
    allowed = TASK_FORMATS[task]
    if fmt is not None:
        if fmt not in FORMATS:
            raise CliError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        if fmt not in allowed:
            raise CliError(
                f"--format {fmt}: the {task} task reads {', '.join(allowed)} files; "
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
                    f"--data {path}: a {name} file, but the {task} task reads "
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
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [line for _, line in zip(range(5), fh, strict=False) if line.strip()]
    except OSError:
        return False
    return bool(lines) and all("\t" in line for line in lines)


def _task_for_format(fmt: str) -> str:
    tasks = [t for t, formats in TASK_FORMATS.items() if fmt in formats]
    return f"{fmt} files are for the {' and '.join(tasks)} task(s)" if tasks else "see 'rnnkit datasets'"


def load(task: str, config, *, path_key: str = "data") -> Loaded:
    """Load ``config.data`` (a set's name or a file path) for ``task``."""
    spec = getattr(config, path_key)
    sets = TASK_DATASETS[task]
    if spec in sets:
        return _load_dataset(task, spec, config)
    path = Path(spec)
    if not path.exists():
        names = ", ".join(sets)
        if path.suffix == "" and path.parent == Path("."):
            raise CliError(
                f"--data {spec}: no such data set or file{did_you_mean(spec, sets)}; "
                f"the {task} task ships {names}; hint: 'rnnkit datasets' lists them"
            )
        raise CliError(f"--data {spec}: file not found; hint: check the path, or use a set that ships: {names}")
    if path.is_dir():
        raise CliError(f"--data {spec}: is a folder; expected a file")
    fmt = detect_format(path, getattr(config, "format", None), task)
    notes: list[str] = []
    return Loaded(read_file(task, path, fmt, config, notes), None, str(path), fmt, notes)


def _load_dataset(task: str, name: str, config) -> Loaded:
    registry_name, train_kw, test_kw, convert = TASK_DATASETS[task][name]
    kw = dict(train_kw)
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


def read_file(task: str, path: Path, fmt: str, config, notes: list | None = None):
    """Read one user file into the task's data; what was guessed or repaired goes to ``notes``."""
    notes = [] if notes is None else notes
    if fmt == "text":
        text = data.read_text(path, config.encoding)
        if not text.strip():
            raise CliError(f"--data {path}: the file is empty; hint: a character model needs text")
        return text
    if fmt == "conllu":
        return data.read_conllu(path, config.encoding)
    special = _TASK_READERS.get((task, fmt))
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


def _read_labelled_text(path: Path, config, notes: list):
    """text<TAB>label (or label<TAB>text, told apart by :func:`_label_first`): each
    sentence's words and its label."""
    pairs = data.read_pairs_tsv(path, config.encoding)
    if _label_first(pairs):
        pairs = [(b, a) for a, b in pairs]
        notes.append("the first column looks like the labels (few distinct values, no spaces): read as label<TAB>text")
    return [s.split() for s, _ in pairs], [t for _, t in pairs]


def _read_series(path: Path, config, notes: list):
    """A forecast CSV: one or many series with their dates, as a
    :class:`rnnkit.data.series_table.SeriesSet` (see its module); what was guessed or
    filled goes to ``notes``."""
    cov_cols = [
        c
        for key in ("past_covariates", "future_covariates", "static_covariates")
        for c in column_list(getattr(config, key, None))
    ]
    s = read_series_table(
        path,
        layout=config.layout,
        id_column=config.id_column,
        date_column=config.date_column,
        value_columns=config.value_column,
        extra_columns=cov_cols,
        fill=config.fill,
    )
    if s.layout != "single":
        notes.append(
            f"{len(s.ids)} series ({s.layout} layout" + (f", ids in {s.id_column!r}" if s.id_column else "") + ")"
        )
    if s.date_column and config.date_column is None:
        notes.append(f"time stamps in column {s.date_column!r} (guessed; --date-column to change)")
    parts = ([f"{s.n_missing:,} missing value(s)"] if s.n_missing else []) + (
        [f"{s.n_infinite:,} infinite value(s)"] if s.n_infinite else []
    )
    if parts:  # inf is not "missing": it is counted and named apart, then filled the same way
        notes.append(f"{' and '.join(parts)} filled by linear interpolation")
    if s.n_filled:
        notes.append(f"{s.n_filled:,} missing date(s) filled ({config.fill})")
    return s


def column_list(value) -> list[str]:
    """The column names of a comma-separated setting (``"a, b"``); none for an empty one."""
    return [p.strip() for p in value.split(",") if p.strip()] if value else []


# (task, format) -> the reader, where a task reads a format its own way.
_TASK_READERS = {("classify", "tsv"): _read_labelled_text, ("forecast", "csv"): _read_series}


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
    return [[w for w, _ in s] for s in data.read_conllu(path, getattr(config, "encoding", "utf-8"))]


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


def _label_first(pairs) -> bool:
    """label<TAB>text: the first column has fewer distinct values, none with a space."""
    first = {a for a, _ in pairs}
    second = {b for _, b in pairs}
    return (
        len(first) < len(second)
        and len(first) <= max(2, len(pairs) // 4)
        and not any(" " in a.strip() for a in first)
        and any(" " in b.strip() for b in second)
    )


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
