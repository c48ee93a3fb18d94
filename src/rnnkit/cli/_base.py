"""What every command module shares: the Command record, user errors, the parser class.

A user mistake (a missing file, an unknown flag value, a model of another task) is raised
as :class:`CliError` (exit code 1) or :class:`UsageError` (exit code 2, a bad command line);
a training run that stopped cleanly because it diverged (a non-finite value, or a loss
that ran away) or scored NaN or inf is :class:`TrainingStopped` (exit code 3). ``main`` prints each as one
``error: ...`` paragraph. Anything else is a bug and keeps its traceback under ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from ..utils.log import get_logger
from .options import did_you_mean

_NOTES = get_logger("rnnkit.cli")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


class CliError(Exception):
    """A user mistake the command can explain; printed as ``error: <message>``.

    ``every_rank``: under ``mpiexec`` every rank raises it at once (a check made together,
    such as the ranks' data digests): rank 0 alone prints it and no rank aborts the others.
    """

    exit_code = EXIT_FAILURE
    every_rank = False


class UsageError(CliError):
    """A bad command line (unknown flag, bad value): exit code 2, like argparse."""

    exit_code = EXIT_USAGE


class TrainingStopped(CliError):
    """Training diverged, or scored NaN or inf, and stopped cleanly, its last good state
    saved: exit code 3."""

    exit_code = EXIT_DIVERGED


@dataclass(frozen=True)
class Command:
    """One ``rnnkit`` sub-command.

    Attributes:
        name: the word users type (``rnnkit NAME``).
        help: one line for ``rnnkit --help``.
        add_arguments: ``f(parser)`` declares the command's flags on its own parser.
        run: ``f(args) -> int`` does the work and returns the exit code; it raises
            :class:`CliError` for user mistakes.
        description: the paragraph at the top of ``rnnkit NAME --help`` (default: help).
        epilog: examples shown at the bottom of ``rnnkit NAME --help``.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""
    epilog: str = ""


class Parser(argparse.ArgumentParser):
    """argparse, with one-line errors: ``error: <what>; see 'rnnkit train --help'``.

    Abbreviated flags are refused: with a flag per configuration key, ``--hid`` could
    silently mean a different key after a new one is added.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse's hook
        raise UsageError(f"{_improve(message, self)}; see '{self.prog} --help'")


def _improve(message: str, parser: argparse.ArgumentParser) -> str:
    """Add a 'did you mean' to argparse's invalid-choice and unknown-flag messages."""
    if "invalid choice:" in message and "(choose from" in message:
        bad = message.split("invalid choice:", 1)[1].split("(choose from", 1)[0].strip(" '\"")
        options = [c.strip(" '\",)") for c in message.split("(choose from", 1)[1].split(",")]
        return message + did_you_mean(bad, options)
    if message.startswith("unrecognized arguments:"):
        flag = next((a.split("=", 1)[0] for a in message.split(":", 1)[1].split() if a.startswith("--")), None)
        if flag is not None:
            return message + did_you_mean(flag, [o for o in parser._option_string_actions if o.startswith("--")])
    return message


def add_common_flags(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--quiet`` and ``--debug``, accepted before or after the command name."""
    default = False if top else argparse.SUPPRESS
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="print only results and errors (no progress bar)"
    )
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show the full traceback when something goes wrong"
    )


class Console:
    """Where a command writes: results to stdout, notes to the ``rnnkit.cli`` logger (by
    default on stderr, as plain lines: :mod:`rnnkit.utils.log`)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def result(self, text: str = "") -> None:
        print(text, file=sys.stdout, flush=True)

    def note(self, text: str) -> None:
        """Informational lines (paths written, what is happening); silenced by --quiet."""
        if not self.quiet:
            _NOTES.info(text)


def fill(text: str, width: int = 88) -> str:
    """Re-wrap each paragraph of ``text``; paragraphs with indented lines are kept as they are."""
    paragraphs = text.replace("``", "").strip("\n").split("\n\n")
    out = []
    for p in paragraphs:
        if any(line.startswith(" ") for line in p.split("\n")):
            out.append(p)
        else:
            out.append(textwrap.fill(" ".join(p.split()), width))
    return "\n\n".join(out)


def examples(*lines: str) -> str:
    """An epilog block: ``examples:`` followed by indented command lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
