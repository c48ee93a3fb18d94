"""The ``rnnkit`` command line (also ``python -m rnnkit``).

The CLI is thin: each command parses its flags, resolves a configuration and calls an
importable function (``rnnkit.cli.tasks``, ``rnnkit.cli.runs``, ``rnnkit.cli.options``, the models).

Adding a command
----------------
Write a module ``rnnkit/cli/<name>.py`` that defines ``COMMAND``::

    from ._base import CliError, Command, examples

    def add_arguments(parser):
        parser.add_argument("run", help="a run folder or model file")

    def run(args) -> int:
        ...                       # raise CliError("what went wrong; hint: what to do")
        return 0

    COMMAND = Command(name="<name>", help="one line for rnnkit --help",
                      add_arguments=add_arguments, run=run,
                      epilog=examples("rnnkit <name> runs/charlm-1"))

and list its module name in ``COMMAND_MODULES`` below (the order is the order of
``rnnkit --help``). A listed module that is not installed is skipped, so a command can be
listed before its file lands. ``rnnkit --help`` imports every command module (and every
task of ``rnnkit.cli.tasks``), so two kinds of import stay inside the function that needs
them: optional packages (matplotlib, torch, onnx, music21, mpi4py, ...), and
``rnnkit.models`` and ``rnnkit.interop`` (which loads the models), which would add about
a fifth to the start-up time of every command (60 of 310 ms of imports). Everything else
is imported at the top.
``--quiet`` and ``--debug`` are added to every command; read them as ``args.quiet`` and
``args.debug``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from .._version import __version__
from ..distributed import MPIMissingError, world
from ..train.faults import TrainingError
from ..utils.memory import from_memory_error
from ._base import (
    EXIT_DIVERGED,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Command,
    Parser,
    UsageError,
    add_common_flags,
    fill,
)

__all__ = ["main", "build_parser", "commands", "COMMAND_MODULES", "Command", "CliError", "UsageError"]

COMMAND_MODULES = (
    "train",
    "generate",
    "forecast",
    "backtest",
    "tune",
    "predict",
    "evaluate",
    "export",
    "info",
    "runs_table",
    "datasets",
    "gradcheck",
    "diagnose",
    "experiment",
    "bench",
)

DESCRIPTION = """\
Recurrent neural networks (RNN, LSTM, GRU) with hand-written backpropagation through time,
in NumPy. Train on data that ships, on generated data or on your own files, then generate,
forecast, predict and evaluate with the saved run."""

EPILOG = """\
examples:
  rnnkit datasets                                  # what ships and which files are read
  rnnkit train charlm --preset quick               # a character model of the Python docs
  rnnkit generate runs/charlm-<stamp> --prime "def " --length 300
  rnnkit train forecast --data mackey-glass        # forecast a chaotic series
  rnnkit forecast runs/forecast-<stamp> --horizon 50
  rnnkit train classify --data my_sequences.ts     # UEA/UCR .ts, CSV or NPZ
  rnnkit predict runs/classify-<stamp> --data new.ts
  rnnkit info runs/classify-<stamp>
  rnnkit gradcheck --cell lstm --layers 2 --bidirectional --lengths 5,3

Run 'rnnkit COMMAND --help' for a command's flags and examples."""


def commands() -> dict[str, Command]:
    """The registered commands by name, from the modules in ``COMMAND_MODULES``."""
    found = {}
    for module_name in COMMAND_MODULES:
        qualified = f"{__name__}.{module_name}"
        if importlib.util.find_spec(qualified) is None:
            continue  # listed ahead of its file; see the module docstring
        command = importlib.import_module(qualified).COMMAND
        found[command.name] = command
    return found


def build_parser() -> Parser:
    parser = Parser(
        prog="rnnkit", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    add_common_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in commands().values():
        child = sub.add_parser(
            command.name,
            help=command.help,
            description=fill(command.description or command.help),
            epilog=command.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_common_flags(child)
        command.add_arguments(child)
        child.set_defaults(_command=command)
        _own_parser(child)
    return parser


def _own_parser(parser: argparse.ArgumentParser) -> None:
    """Each (sub)command's parser is kept in ``args._parser``, to name its flags in errors."""
    parser.set_defaults(_parser=parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in set(action.choices.values()):
                _own_parser(nested)


def main(argv=None) -> int:
    """Run ``rnnkit`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Under ``mpiexec -n N`` every rank runs the command; rank 0 alone prints results and
    notes, and a rank that fails ends the whole job (no rank waits for it forever).
    """
    try:
        w = world()
    except MPIMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not w.active:
        return _main(argv, root=True)
    if not w.is_root:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (open for the whole run: results once, from rank 0)
    raised: list[CliError] = []
    code = _main(argv, root=w.is_root, raised=raised)
    together = code == EXIT_DIVERGED or any(exc.every_rank for exc in raised)
    if together and w.wait_all(timeout=120):
        return code  # a stop (or an error) every rank reached together: rank 0 has said so
    if code != EXIT_OK:
        w.abort(code)
    return code


def _main(argv, root: bool, raised: list | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said by the command's own parser, which knows its flags
            getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
        if not root:
            args.quiet = True
        if getattr(args, "_command", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args._command.run(args) or EXIT_OK)
    except CliError as exc:
        if debug:
            raise
        if raised is not None:
            raised.append(exc)
        if root or not (exc.every_rank or exc.exit_code == EXIT_DIVERGED):  # on every rank: rank 0 says so
            print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``rnnkit predict ... | head``): not an error to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:  # an allocation the estimates did not foresee: the same one-line error
        if debug:
            raise
        print(f"error: {_one_line(from_memory_error(exc, _doing(argv)))}", file=sys.stderr)
        return EXIT_FAILURE
    except (ValueError, TypeError, OSError) as exc:
        # Library functions validate their arguments with messages meant for users.
        if debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # a bug: say so, and how to see it
        if debug:
            raise
        if isinstance(exc, TrainingError):  # the fault policy's clean stop, outside a run folder
            if root:
                print(f"error: training stopped: {_one_line(exc)}", file=sys.stderr)
            return EXIT_DIVERGED
        print(
            f"error: internal error ({type(exc).__name__}: {_one_line(exc)}); "
            "rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _doing(argv) -> str:
    """What a command line was doing, for an out-of-memory error: the command and its options."""
    return f"running 'rnnkit {' '.join(argv)}'" if argv else "running rnnkit"


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split())
