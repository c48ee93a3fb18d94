"""Data for recurrent networks: generated tasks, a built-in corpus, shipped files, readers.

- generated (seeded): :func:`adding_problem`, :func:`copy_memory`, :func:`running_sum`,
  :func:`arithmetic_pairs`, :func:`mackey_glass`, :func:`noisy_seasonal`,
  :func:`tagged_sentences`, :func:`waveform_classes`;
- text: :func:`python_docs_corpus`, the Python reference manual as ASCII;
- shipped files: :func:`tiny_pos` (tagging) and :func:`waveforms` (classification);
- readers: :func:`read_text`, :func:`read_pairs_tsv`, :func:`read_series_csv`,
  :func:`read_sequences_csv`, :func:`read_sequences_npz`, :func:`read_ts`,
  :func:`read_ucr`, :func:`read_conllu` (and writers for npz, .ts and CoNLL-U);
- :data:`DATASETS` and :func:`load_dataset`: all of the above sets by name.

Readers raise :class:`DataFormatError` (a ``ValueError``) naming file, line and column.
"""

from ._validate import DataFormatError
from .catalog import DATASETS, TASKS, Dataset, load_dataset
from .conllu import read_conllu, write_conllu
from .corpus import normalize_ascii, python_docs_corpus
from .grammar import tagged_sentences
from .readers import read_pairs_tsv, read_text
from .sequence_npz import read_sequences_npz, write_sequences_npz
from .shipped import shipped_path, tiny_pos, waveforms, write_shipped_files
from .synthetic import (
    adding_problem,
    arithmetic_pairs,
    copy_memory,
    mackey_glass,
    noisy_seasonal,
    running_sum,
)
from .tabular import interpolate_missing, read_sequences_csv, read_series_csv
from .ts_format import looks_like_ucr, read_ts, read_ucr, write_ts
from .wave_shapes import waveform_classes

__all__ = [
    "DATASETS",
    "TASKS",
    "Dataset",
    "DataFormatError",
    "load_dataset",
    "adding_problem",
    "arithmetic_pairs",
    "copy_memory",
    "mackey_glass",
    "noisy_seasonal",
    "running_sum",
    "tagged_sentences",
    "waveform_classes",
    "normalize_ascii",
    "python_docs_corpus",
    "shipped_path",
    "tiny_pos",
    "waveforms",
    "write_shipped_files",
    "read_conllu",
    "read_pairs_tsv",
    "read_sequences_csv",
    "read_sequences_npz",
    "read_series_csv",
    "read_text",
    "read_ts",
    "read_ucr",
    "looks_like_ucr",
    "interpolate_missing",
    "write_conllu",
    "write_sequences_npz",
    "write_ts",
]
