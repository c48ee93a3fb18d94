"""The machine's memory, and the one error for a size that would not fit in it.

Every size-like setting and flag (a model's ``hidden_size``, ``num_layers``, ``embedding_dim``,
``batch_size``; ``--horizon``, ``--length``) is checked against an estimate of the bytes it
makes rnnkit allocate, before anything is allocated: :func:`check_fits` raises
:class:`MemoryBoundError`, naming the option, the estimate and the machine's memory. A
``MemoryError`` raised anyway (an estimate too low, another process using the memory) becomes
the same error through :func:`from_memory_error`.

Sizes are Python ints throughout, so a value like ``2**63`` is an estimate too, never a NumPy
overflow.
"""

from __future__ import annotations

import os

GIB = 1024**3


class MemoryBoundError(ValueError):
    """A size-like option or a file asks for more memory than the machine has."""


def machine_memory() -> int | None:
    """The machine's physical memory in bytes, or None where the system does not say (no bound)."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or page_size <= 0:
        return None
    return int(pages) * int(page_size)


def format_bytes(n: int | float) -> str:
    """``n`` bytes as "1.5 KiB", "29.8 GiB", "2.1e+09 GiB" (huge values stay readable)."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    if unit == "bytes":
        return f"{int(value)} bytes"
    return f"{value:.1f} {unit}" if value < 1e6 else f"{value:.2g} {unit}"


def check_fits(option: str, value: object, need: int, what: str, *, hint: str | None = None) -> None:
    """Raise :class:`MemoryBoundError` when ``need`` bytes exceed the machine's memory.

    Args:
        option: the option as the user names it (``"hidden_size"``, ``"--horizon"``).
        value: its value, shown as ``option=value``.
        need: the estimated bytes.
        what: what the bytes are for ("parameters, gradients, ...").
        hint: the remedy; default: a smaller ``option``.
    """
    _refuse_beyond_memory(need, f"{option}={value}: {what}", "", hint or f"a smaller {option}")


def _refuse_beyond_memory(need: int, head: str, tail: str, hint: str) -> None:
    """Raise ``"{head} need about {need}{tail}, this machine has {have}; hint: {hint}"`` when
    ``need`` bytes exceed the machine's memory (never when the machine does not say)."""
    have = machine_memory()
    if have is None or need <= have:
        return
    raise MemoryBoundError(
        f"{head} need about {format_bytes(need)}{tail}, this machine has {format_bytes(have)}; hint: {hint}"
    )


#: bytes one character of a text file may become once parsed: at most one token (or value) per
#: character, each a slot in a list of tokens, a slot in a list of ids and an int64 in the array
#: of ids (a number in a .ts file takes two characters or more: a float64, its Python float and
#: its list slot fit in twice this)
TOKEN_BYTES = 24
#: bytes one CSV cell takes once parsed: its Python str (about 50 bytes for a short one), its
#: slot in the row's list and its float64 in the array of values
CELL_BYTES = 72


def check_expansion(source: object, count: int, bytes_each: int, what: str) -> None:
    """Refuse a file whose ``count`` parsed items of ``what`` (``bytes_each`` bytes each) would
    not fit in the machine's memory, before the parser allocates them; the error names ``source``
    (the file, or the argument holding the data)."""
    _refuse_beyond_memory(
        int(count) * int(bytes_each),
        f"{source}: {count} {what}",
        " once read",
        "a smaller file (split it, or keep fewer rows or columns)",
    )


def from_memory_error(exc: MemoryError, doing: str) -> MemoryBoundError:
    """The :class:`MemoryBoundError` for a ``MemoryError`` raised while ``doing``."""
    have = machine_memory()
    detail = str(exc).strip()
    return MemoryBoundError(
        f"out of memory while {doing}"
        + (f" ({detail})" if detail else "")
        + (f"; this machine has {format_bytes(have)}" if have else "")
        + "; hint: smaller sizes (hidden_size, num_layers, embedding_dim, batch_size, --horizon, --length)"
    )


#: the most steps ``--horizon`` and ``--length`` may ask for: each step is a forward pass of the
#: network, so a mistyped 1e9 would run for days even where its output fits in memory
MAX_STEPS = 100_000


def check_steps(option: str, value: int, bytes_per_step: int = 0, what: str = "the output") -> None:
    """Refuse ``value`` steps above :data:`MAX_STEPS`, or whose ``bytes_per_step`` x ``value``
    bytes of ``what`` exceed the machine's memory; the error names ``option``."""
    if value > MAX_STEPS:
        raise MemoryBoundError(
            f"{option}: expected at most {MAX_STEPS} steps (each is one pass of the network), got {value}; "
            f"hint: a smaller {option}"
        )
    check_fits(option, value, int(bytes_per_step) * int(value), what)
