"""``rnnkit generate RUN``: sample text from a charlm run, sequences from a generate run, or
a piece of music from a music run.

charlm: ``--prime`` text to start from, ``--length`` characters, ``--temperature`` (lower
is more conservative), ``--top-k`` (sample among the k most likely), ``--seed`` for the
same text every time. generate: one sequence per ``--condition`` (default: every class);
text is sampled like charlm, series are deterministic and printed as CSV
(``condition,t,value``), with ``--plot FILE.png`` to draw them. music: ``--out
piece.mid`` (required), ``--length`` frames after a ``--primer`` (a MIDI file, a chorale's
name such as bwv66.6, or none; default: the first test chorale for a run on the
chorales) of which ``--primer-frames`` frames are read; the MIDI file gets ``--tempo`` and
``--program``, and ``piece.png`` beside it shows the piano roll beside the real piece.
"""

from __future__ import annotations

from ..utils.atomic import write_text_atomic
from ..utils.memory import check_steps
from ._base import EXIT_OK, Command, Console, UsageError, examples
from .options import resolve
from .tasks import TASKS as ALL
from .tasks import open_model

TASKS = tuple(name for name in ALL if ALL[name].serves("generate"))


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a charlm or generate run folder (or model file)")
    parser.add_argument("--prime", default=None, metavar="TEXT", help="charlm: text to start from (default: a newline)")
    parser.add_argument(
        "--length", type=int, default=None, metavar="N", help="characters or steps to generate (charlm default: 400)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        metavar="T",
        help="sampling temperature > 0 (default: the run's, 0.7)",
    )
    parser.add_argument(
        "--top-k", type=int, default=None, metavar="K", help="sample among the K most likely tokens only"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fresh)")
    parser.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="LABEL",
        help="generate: the class to generate (repeatable; default: all)",
    )
    parser.add_argument("--plot", default=None, metavar="FILE.png", help="generate (series): also draw the sequences")
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write to FILE, not stdout (music: the MIDI file to write, e.g. piece.mid)",
    )
    parser.add_argument(
        "--primer",
        default=None,
        metavar="SOURCE",
        help="music: a MIDI file, a chorale name (bwv66.6) or none to start from "
        "(default: the first test chorale for a run on jsb)",
    )
    parser.add_argument(
        "--primer-frames",
        type=int,
        default=None,
        metavar="N",
        help="music: frames of the primer read before generating (default: the run's)",
    )
    parser.add_argument(
        "--tempo",
        type=float,
        default=None,
        metavar="BPM",
        help="music: quarter notes per minute in the MIDI file (default: the run's)",
    )
    parser.add_argument(
        "--program",
        type=int,
        default=None,
        metavar="N",
        help="music: General MIDI instrument 0..127 (default: the run's, 19 organ)",
    )


def run(args) -> int:
    if args.length is not None and args.length < 1:
        raise UsageError(f"--length: expected an integer >= 1, got {args.length}")
    if args.length is not None:  # music's 128 pitches a frame, as float64 with their probabilities
        check_steps("--length", args.length, 2 * 128 * 8, "the generated steps")
    if args.temperature is not None and not args.temperature > 0:
        raise UsageError(f"--temperature: expected a number > 0, got {args.temperature}")
    model, run_folder, name = open_model(args.run, TASKS, "rnnkit generate")
    task = ALL[name]
    config = resolve(task.config_class, name, base=run_folder.read_config()) if run_folder else task.config_class()
    console = Console(args.quiet)
    text = task.generate(model, args, config, console)
    if text is None:  # the task wrote its own files (music: MIDI and a PNG)
        return EXIT_OK
    if args.out:
        write_text_atomic(args.out, text)
        console.note(f"wrote {args.out}")
    else:
        console.result(text.rstrip("\n"))
    return EXIT_OK


COMMAND = Command(
    name="generate",
    help="sample text from a charlm run, sequences from a generate run, or music (MIDI)",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit generate runs/charlm-<stamp> --prime 'def ' --length 300",
        "rnnkit generate runs/charlm-<stamp> --temperature 0.5 --top-k 10 --seed 1",
        "rnnkit generate runs/generate-<stamp> --condition square --plot square.png",
        "rnnkit generate runs/music-<stamp> --out piece.mid --length 64 --seed 1",
        "rnnkit generate runs/music-<stamp> --out piece.mid --primer my_tune.mid",
    ),
)
