"""The small data files that ship inside the package, under ``rnnkit/data/files/``.

- ``tiny-pos-ud-{train,test}.conllu``: 200 + 60 sentences from :mod:`.grammar`, tagged
  with Universal POS tags (part-of-speech tagging);
- ``waveforms_{TRAIN,TEST}.ts``: 30 + 20 univariate series of 64 steps per class from
  :mod:`.wave_shapes` (sine, square, sawtooth, triangle), UEA/UCR ``.ts`` format
  (sequence classification).

They are generated, not collected, so they carry no third-party licence (MIT, as rnnkit).
:func:`write_shipped_files` recreates them byte for byte; a test checks that it does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from ._common import PathLike
from .conllu import read_conllu, write_conllu
from .grammar import tagged_sentences
from .ts_format import read_ts, write_ts
from .wave_shapes import CLASSES, waveform_classes

SPLITS = ("train", "test")
_POS_SIZES, _POS_SEED = {"train": 200, "test": 60}, 20240601
_WAVE_SIZES, _WAVE_SEED = {"train": 30, "test": 20}, 20240602


def _pos_name(split: str) -> str:
    return f"tiny-pos-ud-{split}.conllu"


def _wave_name(split: str) -> str:
    return f"waveforms_{split.upper()}.ts"


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
    return split


def shipped_path(name: str) -> Path:
    """The path of a shipped file, e.g. ``shipped_path("waveforms_TRAIN.ts")``."""
    path = Path(str(resources.files("rnnkit.data") / "files" / name))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: shipped data file not found; hint: reinstall rnnkit (the package "
            "data under rnnkit/data/files/ is missing)"
        )
    return path


def tiny_pos(split: str = "train") -> list[list[tuple[str, str]]]:
    """The built-in tagging set: sentences of ``(form, upos)`` pairs."""
    return read_conllu(shipped_path(_pos_name(_check_split(split))))


def waveforms(split: str = "train") -> tuple[list[np.ndarray], list | None]:
    """The built-in classification set: ``(sequences, labels)``, (64, 1) arrays and names."""
    return read_ts(shipped_path(_wave_name(_check_split(split))))


def write_shipped_files(directory: PathLike) -> list[Path]:
    """Generate every shipped file into ``directory``; return the paths written."""
    directory = Path(directory)
    sentences = tagged_sentences(sum(_POS_SIZES.values()), seed=_POS_SEED)
    written = []
    start = 0
    for split in SPLITS:
        path = directory / _pos_name(split)
        write_conllu(path, sentences[start : start + _POS_SIZES[split]])
        start += _POS_SIZES[split]
        written.append(path)
    for k, split in enumerate(SPLITS):
        X, labels = waveform_classes(_WAVE_SIZES[split], seed=_WAVE_SEED + k)
        path = directory / _wave_name(split)
        write_ts(path, list(X), labels, problem_name="Waveforms", class_labels=CLASSES, digits=3)
        written.append(path)
    return written
