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

import csv
import glob
import io
from pathlib import Path

import numpy as np

from ..utils.atomic import write_text_atomic
from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from .sources import FORMATS, detect_format

TASKS = ("classify", "tag", "seq2seq")


def read_inputs(task: str, config, data: str | None, texts, fmt: str | None, *, text_classifier: bool = False):
    """The items to predict: sequences or word lists (classify), word lists (tag) or
    sources (seq2seq). ``text_classifier``: the classifier was trained on words (TSV)."""
    words = task == "tag" or (task == "classify" and text_classifier)
    if texts:
        if task == "classify" and not words:
            raise UsageError("--text: this classifier reads numeric sequences; use --data FILE")
        return [t.split() for t in texts] if words else list(texts)
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
    encoding = getattr(config, "encoding", "utf-8")
    from .. import data as readers

    suffix = path.suffix.lower()
    if fmt is None and (task in ("tag", "seq2seq") or words) and suffix in FORMATS["text"]:
        fmt = "text"
    if fmt == "text":
        lines = [line for line in readers.read_text(path, encoding).split("\n") if line.strip()]
        if not lines:
            raise CliError(f"--data {data}: the file has no non-empty lines")
        return [line.split() for line in lines] if words else lines
    fmt = detect_format(path, fmt, task)
    if task == "tag":
        return [[w for w, _ in s] for s in readers.read_conllu(path, encoding)]
    if task == "seq2seq" or fmt == "tsv":
        sources = [s for s, _ in _read_sources_tsv(path, encoding)]
        return [s.split() for s in sources] if words else sources
    seqs, _ = read_sequences(path, fmt, config)
    return seqs


def _read_sources_tsv(path, encoding="utf-8"):
    """Lines ``source`` or ``source<TAB>target``: prediction needs only the source."""
    from .. import data as readers

    pairs = []
    for line in readers.read_text(path, encoding).split("\n"):
        if line.strip():
            pairs.append((line.split("\t")[0], None))
    if not pairs:
        raise CliError(f"--data {path}: the file has no non-empty lines")
    return pairs


def read_sequences(path, fmt, config):
    """Sequences and labels (None when the file has none) from a .ts, .npz or CSV file."""
    from .. import data as readers

    encoding = getattr(config, "encoding", "utf-8")
    if fmt == "npz":
        seqs, labels = readers.read_sequences_npz(path)
    elif fmt == "ts":
        seqs, labels = readers.read_ts(path, encoding)
    elif fmt == "ucr":
        seqs, labels = readers.read_ucr(path, encoding)
    else:
        seqs, labels = readers.read_sequences_csv(
            path,
            id_column=config.id_column,
            time_column=config.time_column,
            label_column=config.label_column,
            encoding=encoding,
        )
    from .sources import _fill_missing

    return [_fill_missing(s) for s in seqs], labels


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


def format_predictions(task: str, model, items, out_path: str | None) -> str:
    if task == "classify":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(items)
            pred = model.classes_[np.argmax(proba, axis=1)]
            writer.writerow(["index", "prediction", "probability"])
            for i, (p, row) in enumerate(zip(pred, proba, strict=False)):
                writer.writerow([i, p, f"{row.max():.4f}"])
        else:
            pred = np.asarray(model.predict(items))
            writer.writerow(
                ["index"] + (["prediction"] if pred.ndim == 1 else [f"prediction_{k}" for k in range(pred.shape[1])])
            )
            for i, p in enumerate(pred):
                writer.writerow([i] + [f"{v:.6g}" for v in np.atleast_1d(p)])
        return buf.getvalue()
    if task == "tag":
        tags = model.predict(items)
        if out_path is not None and out_path.lower().endswith(".conllu"):
            return _conllu(items, tags)
        return (
            "\n\n".join(
                "\n".join(f"{w}\t{t}" for w, t in zip(ws, ts, strict=False))
                for ws, ts in zip(items, tags, strict=False)
            )
            + "\n"
        )
    decoded = model.predict(items)
    return "".join(f"{s}\t{p}\n" for s, p in zip(items, decoded, strict=False))


def _conllu(sentences, tags) -> str:
    lines = []
    for k, (words, ts) in enumerate(zip(sentences, tags, strict=False), start=1):
        lines += [f"# sent_id = {k}", "# text = " + " ".join(words)]
        for i, (w, t) in enumerate(zip(words, ts, strict=False), start=1):
            lines.append("\t".join([str(i), w, "_", str(t), "_", "_", "_", "_", "_", "_"]))
        lines.append("")
    return "\n".join(lines) + "\n"


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


def _with_source(task: str, text: str, source: str, header: bool) -> str:
    """Prefix the rows of one input's predictions with its file (one table for a batch)."""
    lines = text.rstrip("\n").split("\n")
    if task == "classify":
        rows = lines if header else lines[1:]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for k, row in enumerate(csv.reader(rows)):
            writer.writerow(["source" if header and k == 0 else source] + row)
        return buf.getvalue()
    return "".join(f"{source}\t{line}\n" if line else "\n" for line in lines) + "\n"


def run(args) -> int:
    from ..distributed import RankSplit, world
    from .config import resolve
    from .tasks import TASKS as ALL
    from .tasks import open_model

    model, run_folder, task = open_model(args.run, TASKS, "rnnkit predict")
    config_class = ALL[task].config_class
    config = resolve(config_class, task, base=run_folder.read_config()) if run_folder else config_class()
    if args.encoding is not None:
        config.encoding = args.encoding
    if args.beam_size is not None:
        if task != "seq2seq" or args.beam_size < 1:
            raise UsageError("--beam-size: expected an integer >= 1, for a seq2seq model")
        model.set_params(beam_size=args.beam_size)
    text_classifier = getattr(model, "input_kind_", None) == "tokens"
    if args.engine == "onnxruntime":
        from ..interop import OnnxPredictor

        try:
            model = OnnxPredictor(model)
        except ImportError as exc:
            raise CliError(str(exc)) from None
    if world().active:  # under mpiexec each rank predicts its part of the items; all get the whole
        model = RankSplit(model)
    console = Console(args.quiet)
    if args.text or not args.data:
        items = read_inputs(task, config, None, args.text, args.format, text_classifier=text_classifier)
        return _write(console, task, model, items, args.out)
    files, batch = expand_data(args.data)
    if not batch:
        items = read_inputs(task, config, str(files[0]), [], args.format, text_classifier=text_classifier)
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
    from ..train.progress import ProgressBar

    parts, n_items = [], 0
    bar = ProgressBar(len(files), desc="predict", enabled=False if args.quiet else None)
    for k, path in enumerate(files):
        items = read_inputs(task, config, str(path), [], args.format, text_classifier=text_classifier)
        check_features(model, items, path)
        text = format_predictions(task, model, items, None)
        n_items += len(items)
        if out_dir is not None:
            target = out_dir / (path.stem + (".csv" if task == "classify" else ".tsv"))
            if world().is_root:
                write_text_atomic(target, text)
        else:
            parts.append(_with_source(task, text, str(path), header=k == 0))
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
    text = format_predictions(task, model, items, out)
    if out:
        from ..distributed import world

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
