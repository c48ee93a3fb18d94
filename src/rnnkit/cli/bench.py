"""``rnnkit bench``: time rnnkit against PyTorch on the same work (see :mod:`rnnkit.bench`)."""

from __future__ import annotations

from .. import bench
from ._base import EXIT_OK, CliError, Command, examples


def add_arguments(parser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and a few rounds: a smoke run of seconds, not a measurement"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for OpenBLAS and PyTorch alike (default: the usable cores)"
    )
    parser.add_argument(
        "--sections", default=",".join(bench.SECTIONS), help=f"comma-separated subset of: {', '.join(bench.SECTIONS)}"
    )
    parser.add_argument("--no-torch", action="store_true", help="time rnnkit alone")
    parser.add_argument(
        "--kernels",
        choices=("auto", "numpy", "numba"),
        default=None,
        help="rnnkit's path: numba kernels when installed (auto, the default) or the NumPy reference",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also write every number to PATH (JSON)")


def run(args) -> int:
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = sorted(set(sections) - set(bench.SECTIONS))
    if unknown:
        raise CliError(f"--sections: expected names from {', '.join(bench.SECTIONS)}, got {', '.join(unknown)}")
    if args.threads is not None and args.threads < 1:
        raise CliError(f"--threads: expected an int >= 1, got {args.threads}")
    try:
        result = bench.run(
            quick=args.quick,
            threads=args.threads,
            sections=sections,
            torch_side=not args.no_torch,
            kernels=args.kernels,
            echo=lambda s: print(s, flush=True),
        )
    except ImportError as exc:  # --kernels numba without numba
        raise CliError(str(exc)) from None
    except bench.BenchmarkError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        bench.write_json(args.json, result)
    return EXIT_OK


COMMAND = Command(
    name="bench",
    help="time training, inference and streaming against PyTorch on this machine",
    description="Time rnnkit and PyTorch on the same work, interleaved, with the same thread count: "
    "training steps of RNN/LSTM/GRU, inference, streaming steps, CharLM sampling, "
    "truncated-BPTT memory and float64 cost. Both sides' numbers are compared before timing.",
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit bench --quick",
        "rnnkit bench --threads 1 --json bench.json",
        "rnnkit bench --kernels numpy      # the NumPy reference path, without numba",
        "rnnkit bench --sections train,streaming",
    ),
)
