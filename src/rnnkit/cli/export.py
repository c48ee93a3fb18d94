"""``rnnkit export RUN --format onnx|safetensors --out FILE``: a trained model for other runtimes.

``onnx`` writes the model's network as an ONNX graph of the standard RNN/LSTM/GRU
operators, with its vocabulary, classes and scalers in the metadata (a seq2seq run gives
two files, ``FILE``'s stem + ``.encoder.onnx`` and ``.decoder.onnx``; a music run the
whole-piece graph ``.sequence.onnx`` and the one-frame graph ``.step.onnx``); onnxruntime
runs it. ``safetensors`` writes the network's weights under PyTorch's parameter names. Both
need their package: ``pip install 'rnnkit[onnx]'`` or ``'rnnkit[safetensors]'``.
"""

from __future__ import annotations

from ._base import EXIT_OK, CliError, Command, Console, examples
from .tasks import TASKS, open_model

FORMATS = ("onnx", "safetensors")


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder (or model file) of any task")
    parser.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    parser.add_argument("--out", required=True, metavar="FILE", help="the file to write (its folder must exist)")


def run(args) -> int:
    model, _, task = open_model(args.run, tuple(TASKS), "rnnkit export")
    try:
        if args.format == "onnx":
            # rnnkit.interop loads on use: start-up time (cli/__init__.py)
            from ..interop import to_onnx

            written = to_onnx(model, args.out)
        else:
            # rnnkit.interop loads on use: start-up time (cli/__init__.py)
            from ..interop import save_safetensors

            written = save_safetensors(model, args.out)
    except ImportError as exc:
        raise CliError(str(exc)) from None
    paths = list(written.values()) if isinstance(written, dict) else [written]
    console = Console(args.quiet)
    for p in paths:
        console.note(f"wrote {p} ({args.format}, {task} model)")
    return EXIT_OK


COMMAND = Command(
    name="export",
    help="write a trained model as ONNX (onnxruntime) or safetensors (PyTorch's names)",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit export runs/classify-<stamp> --format onnx --out classifier.onnx",
        "rnnkit export runs/charlm-<stamp> --format safetensors --out charlm.safetensors",
    ),
)
