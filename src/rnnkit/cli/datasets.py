"""``rnnkit datasets``: the data that ships or is generated, and the files each task reads."""

from __future__ import annotations

from ._base import EXIT_OK, Command, Console, examples
from .sources import DEFAULT_DATA, FORMATS, TASK_DATASETS, TASK_FORMATS

FORMAT_NOTES = {
    "text": "plain UTF-8 text (any extension for charlm)",
    "csv": "forecast: a header row, one row per time step, value column(s) and an optional "
           "date column (--value-column, --date-column); classify/generate: long format, "
           "one row per (sequence, step) with columns seq_id, t, label and features",
    "npz": "variable-length sequences: arrays data (sum T_i, F), lengths (N,), labels (N,)",
    "ts": "the UEA/UCR time-series classification archive format (@problemName ... @data)",
    "conllu": "Universal Dependencies CoNLL-U: FORM and UPOS columns are read",
    "tsv": "one 'source<TAB>target' pair per line",
}

TASK_NOTES = {
    "charlm": "character language model: next-character prediction, then text generation",
    "forecast": "forecast the next steps of a time series",
    "classify": "one label (or number) per sequence",
    "tag": "one tag per token (part-of-speech tagging)",
    "seq2seq": "encoder-decoder: an input sequence to an output sequence of another length",
    "generate": "a sequence from a condition (a class label or a text prompt)",
}


def describe() -> str:
    """The text ``rnnkit datasets`` prints."""
    from ..data import DATASETS

    lines = ["Data sets by task (use with: rnnkit train TASK --data NAME):", ""]
    for task, sets in TASK_DATASETS.items():
        lines.append(f"{task}: {TASK_NOTES[task]}")
        for name, (registry_name, _, test_kw, _) in sets.items():
            entry = DATASETS[registry_name]
            default = " (default)" if DEFAULT_DATA[task] == name else ""
            held_out = "; ships a test split" if test_kw is not None else ""
            lines.append(f"  {name:<14}{entry.description}{default}{held_out}")
        lines.append(f"  files:        {', '.join(TASK_FORMATS[task])}  "
                     f"(rnnkit train {task} --data FILE)")
        lines.append("")
    lines.append("File formats (detected from the extension, or --format NAME):")
    for fmt, extensions in FORMATS.items():
        lines.append(f"  {fmt:<8}{' '.join(extensions):<28}{FORMAT_NOTES[fmt]}")
    lines += ["", "Sources and licences: rnnkit.data.DATASETS[name].source; "
              "the generated sets are seeded (--seed)."]
    return "\n".join(lines)


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    Console(args.quiet).result(describe())
    return EXIT_OK


COMMAND = Command(
    name="datasets",
    help="list the data that ships or is generated, and the file formats read",
    add_arguments=add_arguments, run=run,
    epilog=examples("rnnkit datasets",
                    "rnnkit train forecast --data seasonal",
                    "rnnkit train classify --data my_archive/Epilepsy_TRAIN.ts",
                    "rnnkit train forecast --data sales.csv --value-column units --date-column day"),
)
