"""``rnnkit diagnose``: see vanishing and exploding gradients in a training run.

Three sources, one report folder (heatmap of ||dL/dh_t|| over time step x training step,
spectral radius of W_hh over training, gate saturation, summary.txt/summary.json):

    rnnkit diagnose                          a probe: a cell on the adding problem (flags below)
    rnnkit diagnose --task TASK [--preset P] [--data D] [--set KEY=VALUE]
                                             train a task's model as 'rnnkit train' would
    rnnkit diagnose --run RUN                train a run's configuration again, watched

and one picture of a trained character model: '--cells RUN --text-file FILE' writes an
HTML page colouring the text by its most interpretable cells.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..data import read_text
from ..diagnostics.attach import watch_fit
from ..diagnostics.cells import interpretable_cells_report
from ..diagnostics.health import recurrent_weight_health
from ..experiments.probe import diagnose_adding
from ..nn.cells.registry import cell_names
from . import options as cfg
from ._base import CliError, Command, Console, UsageError, examples
from .runs import Run
from .tasks import get_task


def add_arguments(parser) -> None:
    src = parser.add_argument_group("what to diagnose (default: the probe)")
    src.add_argument(
        "--task",
        metavar="TASK",
        help="train this task's model with diagnostics (charlm, forecast, classify, tag, seq2seq, generate)",
    )
    src.add_argument("--run", metavar="RUN", help="train the configuration of a run folder again, with diagnostics")
    src.add_argument("--preset", metavar="NAME", help="with --task: a shipped preset (e.g. tiny)")
    src.add_argument("--data", metavar="NAME|PATH", help="with --task: the data, as for 'rnnkit train'")
    src.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --task/--run: override a configuration key (repeatable)",
    )
    src.add_argument(
        "--cells",
        metavar="RUN|MODEL",
        help="a trained character model: write an HTML page of its most interpretable cells",
    )
    src.add_argument("--text", metavar="TEXT", help="with --cells: the text to read")
    src.add_argument("--text-file", metavar="FILE", help="with --cells: read the text from a file")
    src.add_argument(
        "--unknown",
        default="error",
        choices=("error", "skip", "replace"),
        help="with --cells: characters the model never saw: stop with an error, skip "
        "them, or replace them with --replace-char [default: error]",
    )
    src.add_argument(
        "--replace-char",
        default=" ",
        metavar="C",
        help="with --unknown replace: the character put instead [default: a space]",
    )
    src.add_argument(
        "--encoding", default="utf-8", metavar="NAME", help="with --text-file: its text encoding [default: utf-8]"
    )
    src.add_argument("--top", type=int, default=8, metavar="N", help="with --cells: cells to show [default: 8]")
    probe = parser.add_argument_group("the probe: a many-to-one model on the adding problem")
    probe.add_argument("--cell", default="rnn_tanh", choices=cell_names(), help="[default: rnn_tanh]")
    probe.add_argument("--length", "-T", type=int, default=50, metavar="T", help="sequence length [default: 50]")
    probe.add_argument("--hidden-size", type=int, default=32, metavar="H", help="[default: 32]")
    probe.add_argument("--batch-size", type=int, default=32, metavar="B", help="[default: 32]")
    probe.add_argument("--steps", type=int, default=200, metavar="N", help="training steps [default: 200]")
    probe.add_argument("--optimizer", default="sgd", metavar="NAME", help="[default: sgd]")
    probe.add_argument("--lr", type=float, default=0.01, help="[default: 0.01]")
    probe.add_argument(
        "--clip-norm", type=float, default=None, metavar="X", help="clip the global gradient norm at X [default: off]"
    )
    probe.add_argument(
        "--init",
        default="recommended",
        metavar="NAME",
        help="recommended, pytorch, small_normal, xavier, orthogonal, identity_relu [default: recommended]",
    )
    probe.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="S",
        help="multiply W_hh by S after initializing (S > 1 provokes explosion)",
    )
    probe.add_argument("--seed", type=int, default=0, help="[default: 0]")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--every", type=int, default=5, metavar="N", help="record every N training steps (and the first) [default: 5]"
    )
    out.add_argument(
        "--out", default=None, metavar="DIR", help="the report folder [default: diagnostics/<what>-<date>-<time>]"
    )
    out.add_argument("--no-plots", action="store_true", help="write summary.txt/json only")


def _out(args, what: str) -> Path:
    if args.out is not None:
        return Path(args.out)
    return Path("diagnostics") / f"{what}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(args) -> int:
    console = Console(args.quiet)
    modes = [m for m in ("task", "run", "cells") if getattr(args, m) is not None]
    if len(modes) > 1:
        raise UsageError(f"--{modes[0]} and --{modes[1]}: pass one of them")
    if args.every < 1:
        raise UsageError(f"--every: expected an int >= 1, got {args.every}")
    if args.cells is not None:
        return _cells(args, console)
    if args.task is not None or args.run is not None:
        folder, summary = _task(args, console)
    else:
        for flag in ("preset", "data"):
            if getattr(args, flag) is not None or args.set:
                raise UsageError(f"--{flag if getattr(args, flag) is not None else 'set'}: only with --task or --run")
        folder, summary = diagnose_adding(
            _out(args, f"probe-{args.cell}-T{args.length}"),
            cell=args.cell,
            T=args.length,
            hidden_size=args.hidden_size,
            batch_size=args.batch_size,
            steps=args.steps,
            every=args.every,
            optimizer=args.optimizer,
            lr=args.lr,
            clip_norm=args.clip_norm,
            init=args.init,
            scale=args.scale,
            seed=args.seed,
            plots=not args.no_plots,
        )
    console.result((folder / "summary.txt").read_text(encoding="utf-8").rstrip())
    console.note(f"wrote {folder}/ ({', '.join(summary.get('files', []))})")
    return 0


def _task(args, console):
    """Train a task's model (as 'rnnkit train' would) with a monitor on its network."""
    base, extra = None, {}
    if args.run is not None:
        run_folder = Run.open(args.run)
        task_name, base = run_folder.task, run_folder.read_config()
        if run_folder.model_path.is_file():
            from ..forecast import Forecaster  # noqa: F401 (known to load_model once imported)
            from ..models import load_model  # on use: start-up time (cli/__init__.py)

            saved = load_model(run_folder.model_path)
            extra["saved_model_weights"] = recurrent_weight_health(saved.net_)
    else:
        task_name = args.task
    task = get_task(task_name)
    overrides = []
    if args.data is not None:
        overrides.append(("data", args.data, "--data"))
    for text in args.set:
        try:
            key, value = cfg.parse_assignment(text)
        except cfg.ConfigError as exc:
            raise UsageError(str(exc)) from None
        overrides.append((key, value, f"--set {key}"))
    preset = args.preset
    if preset is None and base is None and "default" in cfg.preset_names(task_name):
        preset = "default"
    try:
        config = cfg.resolve(task.config_class, task_name, preset_name=preset, base=base, overrides=overrides)
    except cfg.ConfigError as exc:
        raise UsageError(str(exc)) from None
    data = task.load(config)
    console.note(f"diagnosing {task_name}: {data.describe()}")
    model = task.build_model(config, data)
    watch = watch_fit(every=args.every, warn=False)  # a Trainer callback; its monitor is built by fit
    task.fit(model, data, config, callbacks=[watch])
    if watch.monitor is None:
        raise CliError(f"{task_name}: its model built no recurrent network to watch")
    folder = watch.monitor.write_report(
        _out(args, task_name),
        title=f"rnnkit diagnose: {task_name} ({type(model).__name__})",
        plots=not args.no_plots,
        extra=extra,
        notes=["trained again from scratch with the run's configuration"] if args.run else [],
    )
    return folder, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _cells(args, console) -> int:
    if (args.text is None) == (args.text_file is None):
        raise UsageError("--cells: expected the text to read, with --text TEXT or --text-file FILE (one of them)")
    text = args.text if args.text is not None else read_text(args.text_file, args.encoding)
    if args.top < 1:
        raise UsageError(f"--top: expected an int >= 1, got {args.top}")
    from ..forecast import Forecaster  # noqa: F401 (known to load_model once imported)
    from ..models import load_model  # on use: start-up time (cli/__init__.py)

    path = Path(args.cells)
    model_path = Run.open(path).model_path if path.is_dir() else path

    model = load_model(model_path)
    text = known_characters(model, text, args.unknown, args.replace_char)
    out = _out(args, "cells")
    page, ranking = interpretable_cells_report(model, text, out, top=args.top)
    for r in ranking:
        console.result(f"cell {r['kind']}[{r['cell']}]  {r['feature']:<18} r = {r['correlation']:+.3f}")
    console.note(f"wrote {page}")
    return 0


def known_characters(model, text: str, unknown: str, replace_char: str) -> str:
    """``text`` with the characters ``model`` never saw refused, skipped or replaced."""
    vocab = getattr(model, "vocab_", None)
    if vocab is None:
        return text
    unseen = sorted({c for c in text if c not in vocab})
    if not unseen:
        return text
    shown = ", ".join(repr(c) for c in unseen[:12]) + (" ..." if len(unseen) > 12 else "")
    if unknown == "error":
        raise CliError(
            f"--text: {len(unseen)} character(s) the model never saw: {shown}; hint: "
            "--unknown skip drops them, --unknown replace puts --replace-char instead"
        )
    if unknown == "replace":
        if len(replace_char) != 1 or replace_char not in vocab:
            raise UsageError(f"--replace-char: expected one character the model knows, got {replace_char!r}")
        return "".join(c if c in vocab else replace_char for c in text)
    kept = "".join(c for c in text if c in vocab)
    if not kept:
        raise CliError(f"--text: no character the model knows is left after skipping {shown}")
    return kept


COMMAND = Command(
    name="diagnose",
    help="see vanishing/exploding gradients: a report folder with heatmaps and a diagnosis",
    description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit diagnose --cell rnn_tanh -T 100                 # does the gradient reach 100 steps back?",
        "rnnkit diagnose --cell rnn_tanh --init orthogonal --scale 1.5 --lr 0.1   # provoke explosion",
        "rnnkit diagnose --cell lstm -T 200 --optimizer adam --lr 0.005 --clip-norm 1",
        "rnnkit diagnose --task classify --preset tiny",
        "rnnkit diagnose --run runs/classify-<stamp>",
        "rnnkit diagnose --cells runs/charlm-<stamp> --text-file some.py",
    ),
)
