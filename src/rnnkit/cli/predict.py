"""``rnnkit predict RUN``: label sequences, tag tokens or decode sources with a trained model.

Inputs come from ``--data`` (the formats the task trains on; labels, tags or targets in
the files are ignored) or ``--text`` (repeatable; tag: a sentence split on spaces;
seq2seq: one source; a plain text file gives one item per line; a text classifier reads
sentences the same way). Output goes to stdout, or ``--out FILE`` (written atomically):

- classify: CSV ``index,prediction[,probability]``;
- tag: ``word<TAB>tag`` lines, a blank line between sentences (CoNLL-U when --out ends
  in ``.conllu``);
- seq2seq: ``source<TAB>prediction`` lines.

Batch prediction: ``--data`` takes several files, a folder (every file in it) or a glob
(quoted: ``'data/*.ts'``). The model is loaded once; the predictions form one table with
the input file in a first ``source`` column, or, with ``--out-dir DIR``, one file per input
(``DIR/<input name>.csv`` for classify, ``.tsv`` otherwise). ``--engine onnxruntime``
runs the network through onnxruntime (``pip install 'rnnkit[onnx]'``) instead of rnnkit.
Under ``mpiexec -n N`` the items are split across the ranks and rank 0 writes them all.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from ..distributed import RankSplit, world
from ..train.progress import ProgressBar
from ..utils.atomic import write_text_atomic
from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from .options import resolve
from .sources import FORMATS
from .tasks import TASKS as ALL
from .tasks import open_model

TASKS = tuple(name for name in ALL if ALL[name].serves("predict"))


def read_inputs(task, model, config, data: str | None, texts, fmt: str | None):
    """The items to predict, from ``--text`` or from the file ``data``, read as ``task``
    (a :class:`~rnnkit.cli.tasks.task.Task`) reads its inputs for ``model``."""
    if texts:
        return task.predict_texts(model, texts)
    if data is None:
        raise UsageError("expected --data FILE or --text TEXT; see 'rnnkit predict --help'")
    path = Path(data)
    if path.is_dir():
        raise CliError(
            f"--data {data}: is a folder; expected one file (.ts, .csv, .npz, .conllu, .tsv "
            f"or text); hint: predict each file in turn, e.g. for f in {data}/*; do rnnkit "
            'predict RUN --data "$f"; done'
        )
    if not path.is_file():
        raise CliError(f"--data {data}: file not found; hint: check the path")
    return task.predict_inputs(model, config, path, fmt)


def check_features(model, items, source) -> None:
    """Numeric sequences must have the number of features the model was trained on."""
    expected = getattr(model, "n_features_in_", None)
    if not isinstance(expected, int) or not items or not isinstance(items[0], np.ndarray):
        return
    got = items[0].shape[1] if items[0].ndim == 2 else 1
    if got != expected:
        raise CliError(
            f"--data {source}: {got} feature(s) per step, but the model was trained "
            f"on {expected}; hint: pass data laid out like the training file"
        )


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a classify, tag or seq2seq run folder (or model file)")
    parser.add_argument(
        "--data", metavar="FILE", nargs="+", help="the inputs, in a format the task reads: files, folders or globs"
    )
    parser.add_argument(
        "--text", action="append", default=[], metavar="TEXT", help="an input given on the command line (repeatable)"
    )
    parser.add_argument(
        "--format", default=None, choices=list(FORMATS), help="the file format (default: from the extension)"
    )
    parser.add_argument(
        "--encoding", default=None, metavar="NAME", help="the text encoding of --data (default: the run's, utf-8)"
    )
    parser.add_argument(
        "--beam-size", type=int, default=None, metavar="K", help="seq2seq: beam width (default: the run's beam_size)"
    )
    parser.add_argument("--out", metavar="FILE", help="write the predictions here instead of stdout")
    parser.add_argument("--out-dir", metavar="DIR", help="several inputs: one prediction file per input in this folder")
    parser.add_argument(
        "--engine", default="rnnkit", choices=["rnnkit", "onnxruntime"], help="what runs the network (default: rnnkit)"
    )


def expand_data(specs) -> tuple[list[Path], bool]:
    """Files from ``--data`` arguments (files, folders, globs), in order, each once; and
    whether they are a batch (several, or from a folder or glob)."""
    files, batch = [], len(specs) > 1
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not found:
                raise CliError(f"--data {spec}: the folder has no files")
            files += found
            batch = True
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(str(spec)):
            found = sorted(Path(p) for p in glob.glob(str(spec)) if Path(p).is_file())
            if not found:
                raise CliError(f"--data {spec}: the pattern matches no file")
            files += found
            batch = True
        else:
            raise CliError(f"--data {spec}: file not found; hint: check the path")
    unique = list(dict.fromkeys(files))
    return unique, batch


def run(args) -> int:
    fitted, run_folder, name = open_model(args.run, TASKS, "rnnkit predict")
    task = ALL[name]
    config = resolve(task.config_class, name, base=run_folder.read_config()) if run_folder else task.config_class()
    if args.encoding is not None:
        config.encoding = args.encoding
    task.predict_options(fitted, args)
    model = fitted
    if args.engine == "onnxruntime":
        from ..interop import OnnxPredictor  # loads rnnkit.models (start-up cost, see cli/__init__.py)

        try:
            model = OnnxPredictor(model)
        except ImportError as exc:
            raise CliError(str(exc)) from None
    if world().active:  # under mpiexec each rank predicts its part of the items; all get the whole
        model = RankSplit(model)
    console = Console(args.quiet)
    if args.text or not args.data:
        items = read_inputs(task, fitted, config, None, args.text, args.format)
        return _write(console, task, model, items, args.out)
    files, batch = expand_data(args.data)
    if not batch:
        items = read_inputs(task, fitted, config, str(files[0]), [], args.format)
        check_features(model, items, files[0])
        return _write(console, task, model, items, args.out)
    if args.out_dir is not None and args.out is not None:
        raise UsageError("--out and --out-dir: expected one of them (one table, or one file per input)")
    if args.out and args.out.lower().endswith(".conllu"):
        raise UsageError("--out: CoNLL-U holds one input; with several use --out-dir DIR or a .tsv file")
    out_dir = None
    if args.out_dir is not None:
        out_dir = Path(args.out_dir)
        if not out_dir.is_dir():
            raise CliError(f"--out-dir {out_dir}: the folder does not exist; hint: create it first")
    parts, n_items = [], 0
    bar = ProgressBar(len(files), desc="predict", enabled=False if args.quiet else None)
    for k, path in enumerate(files):
        items = read_inputs(task, fitted, config, str(path), [], args.format)
        check_features(model, items, path)
        text = task.format_predictions(model, items, None)
        n_items += len(items)
        if out_dir is not None:
            target = out_dir / (path.stem + task.prediction_suffix)
            if world().is_root:
                write_text_atomic(target, text)
        else:
            parts.append(task.with_source(text, str(path), header=k == 0))
        bar.update()
    bar.close()
    if out_dir is not None:
        console.note(f"wrote {n_items} prediction(s) for {len(files)} input(s) to {out_dir}")
        return EXIT_OK
    table = "".join(parts)
    if args.out:
        if world().is_root:
            write_text_atomic(args.out, table)
        console.note(f"wrote {n_items} prediction(s) for {len(files)} input(s) to {args.out}")
    else:
        console.result(table.rstrip("\n"))
    return EXIT_OK


def _write(console, task, model, items, out):
    text = task.format_predictions(model, items, out)
    if out:
        if world().is_root:
            write_text_atomic(out, text)
        console.note(f"wrote {len(items)} prediction(s) to {out}")
    else:
        console.result(text.rstrip("\n"))
    return EXIT_OK


COMMAND = Command(
    name="predict",
    help="label sequences, tag tokens or decode sources with a trained model",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit predict runs/classify-<stamp> --data new_series.ts --out labels.csv",
        "rnnkit predict runs/tag-<stamp> --text 'the dog runs home'",
        "rnnkit predict runs/tag-<stamp> --data sentences.txt --out tagged.conllu",
        "rnnkit predict runs/seq2seq-<stamp> --text 123+45 --text 9+990 --beam-size 4",
        "rnnkit predict runs/classify-<stamp> --data 'new/*.ts' --out-dir predictions/",
        "rnnkit predict runs/classify-<stamp> --data new/ --engine onnxruntime --out all.csv",
    ),
)
