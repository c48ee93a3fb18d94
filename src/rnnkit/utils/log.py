"""rnnkit's messages go through :mod:`logging`, under the logger named ``rnnkit``.

What the command line notes (paths written, what is being read), what the training loop
prints (``log_every`` lines and epoch lines) and the like are ``INFO`` records of
``rnnkit`` or a child of it (``rnnkit.cli``, ``rnnkit.train``). By default the ``rnnkit``
logger has one handler of its own, which writes the bare message to the current
``sys.stderr``, and does not propagate, so that rnnkit prints what it always printed
whether or not the application configures logging. An application takes over with::

    import logging
    from rnnkit.utils import log

    logging.getLogger("rnnkit").setLevel(logging.WARNING)  # silence the notes
    log.enable_propagation()      # send rnnkit's records to the application's handlers
    log.disable_default_handler() # ... and stop printing them on stderr too

Python warnings (``GradientWarning``, the divergence guard's) stay warnings; route them
with :func:`logging.captureWarnings`.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["get_logger", "enable_default_handler", "disable_default_handler", "enable_propagation", "ROOT"]

ROOT = "rnnkit"


class _CurrentStderr(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is when a record comes
    (a test's capture, a redirected stream), as ``print(..., file=sys.stderr)`` did."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ sets it: ignored
        pass


_default_handler = _CurrentStderr()


def _root() -> logging.Logger:
    logger = logging.getLogger(ROOT)
    if not getattr(logger, "_rnnkit_configured", False):
        if logger.level == logging.NOTSET:  # an application's own level stays
            logger.setLevel(logging.INFO)
        logger.addHandler(_default_handler)
        logger.propagate = False
        logger._rnnkit_configured = True  # type: ignore[attr-defined]
    return logger


def get_logger(name: str = ROOT) -> logging.Logger:
    """The logger ``name`` (``"rnnkit"`` or ``"rnnkit.<part>"``), with rnnkit's default set up."""
    if name != ROOT and not name.startswith(ROOT + "."):
        raise ValueError(f"name: expected 'rnnkit' or 'rnnkit.<part>', got {name!r}")
    _root()
    return logging.getLogger(name)


def disable_default_handler() -> None:
    """Stop printing rnnkit's records on stderr (your own handlers still get them)."""
    _root().removeHandler(_default_handler)


def enable_default_handler() -> None:
    """Print rnnkit's records on stderr again (the default)."""
    _root().addHandler(_default_handler)


def enable_propagation(on: bool = True) -> None:
    """Pass rnnkit's records on to the root logger's handlers (the application's)."""
    _root().propagate = bool(on)
