"""``rnnkit datasets``: the data that ships or is generated, and the files each task reads.

``rnnkit datasets build jsb [--out FILE]`` rebuilds the shipped Bach chorales from the
MusicXML scores of music21's corpus (needs ``pip install 'rnnkit[music]'``); the file
that ships was built this way.
"""

from __future__ import annotations

import textwrap

from ..data import DATASETS
from ..data import pianoroll as music
from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from .sources import FORMATS
from .tasks import TASKS

FORMAT_NOTES = {
    "text": "plain UTF-8 text (any extension for charlm)",
    "csv": "forecast: a header row, one row per time step, value column(s) and an optional "
    "date column (--value-column, --date-column); classify/generate: long format, "
    "one row per (sequence, step) with columns seq_id, t, label and features",
    "npz": "variable-length sequences: arrays data (sum T_i, F), lengths (N,), labels (N,); "
    "music: notes (sum N_i, 4), lengths, names, splits (rnnkit.data.music)",
    "ts": "the UEA/UCR time-series classification archive format (@problemName ... @data)",
    "conllu": "Universal Dependencies CoNLL-U: FORM and UPOS columns are read",
    "tsv": "one pair per line: seq2seq 'source<TAB>target'; generate 'condition<TAB>text'; "
    "classify 'text<TAB>label' (words split on spaces)",
    "midi": "standard MIDI files, read with mido (pip install 'rnnkit[music]'); every channel "
    "but 10 (drums); music also reads a folder of them, split by file name",
    "ucr": "the older UCR archive layout: one sequence per line, the class label then the "
    "values (comma, tab or space separated; *_TRAIN, *_TRAIN.tsv, *_TRAIN.txt), "
    "recognised by its content",
}


def describe() -> str:
    """The text ``rnnkit datasets`` prints."""
    lines = ["Data sets by task (use with: rnnkit train TASK --data NAME):", ""]
    for task in TASKS.values():
        lines.append(f"{task.name}: {task.about}")
        for name, ds in task.datasets.items():
            text = ds.description or DATASETS[ds.registry_name].description
            notes = (["default"] if task.default_data == name else []) + (
                ["ships a test split"] if ds.test_kw is not None else []
            )
            lines.append(f"  {name:<14}{text}" + (f" ({'; '.join(notes)})" if notes else ""))
        lines.append(f"  files:        {', '.join(task.formats)}  (rnnkit train {task.name} --data FILE)")
        lines.append("")
    lines.append("File formats (detected from the extension, or --format NAME):")
    for fmt, extensions in FORMATS.items():
        lines.append(f"  {fmt:<8}{' '.join(extensions) or '(by content)'}")
        lines += textwrap.wrap(FORMAT_NOTES[fmt], 86, initial_indent=" " * 10, subsequent_indent=" " * 10)
    lines += ["", "Sources and licences: rnnkit.data.DATASETS[name].source; the generated sets are seeded (--seed)."]
    return "\n".join(lines)


BUILDABLE = ("jsb",)


def add_arguments(parser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("build",),
        default=None,
        help="build: rebuild a set from its source (jsb: needs music21)",
    )
    parser.add_argument(
        "name", nargs="?", default=None, metavar="NAME", help=f"with build: the set ({', '.join(BUILDABLE)})"
    )
    parser.add_argument(
        "--out", default=None, metavar="FILE.npz", help="with build: where to write (default: the file that ships)"
    )


def run(args) -> int:
    console = Console(args.quiet)
    if args.action is None:
        if args.name is not None or args.out is not None:
            raise UsageError("datasets: NAME and --out go with 'build'; hint: rnnkit datasets build jsb")
        console.result(describe())
        return EXIT_OK
    if args.name not in BUILDABLE:
        raise UsageError(f"datasets build: expected a set name, one of {', '.join(BUILDABLE)}, got {args.name!r}")

    def progress(i, total, name):
        if i % 50 == 0:
            console.note(f"  {i}/{total} {name}")

    console.note("reading the Bach chorales of music21's corpus (a few tens of seconds)")
    try:
        path, report = music.build_jsb_chorales(args.out, progress=progress)
    except ImportError as exc:
        raise CliError(str(exc)) from None
    console.result(
        f"wrote {path}: {report['read']} chorales; skipped (not four voices): "
        f"{', '.join(report['skipped']) or 'none'}; dropped as exact duplicates: "
        f"{len(report['duplicates'])}"
    )
    return EXIT_OK


COMMAND = Command(
    name="datasets",
    help="list the data that ships or is generated, and the file formats read",
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit datasets",
        "rnnkit datasets build jsb --out jsb.npz    # rebuild the chorales (music21)",
        "rnnkit train forecast --data seasonal",
        "rnnkit train classify --data my_archive/Epilepsy_TRAIN.ts",
        "rnnkit train forecast --data sales.csv --value-column units --date-column day",
    ),
)
