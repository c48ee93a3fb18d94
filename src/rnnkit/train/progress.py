"""A dependency-free progress bar on stderr: count, loss, steps per second, ETA.

    bar = ProgressBar(total=len(batches), desc="epoch 1/10")
    for batch in batches:
        ...
        bar.update(loss=loss)
    bar.close("loss 0.4321  val_loss 0.5012")

It keeps out of the way:

- ``enabled=None`` (auto) draws only when the stream is a terminal, and only once the
  run has lasted ``delay`` seconds, so short runs and redirected output stay silent;
- ``enabled=True`` draws from the first update whatever the stream (``progress=True``);
- ``enabled=False`` never writes anything (``quiet``).

On a terminal or in a Jupyter notebook the line is redrawn in place, at most once per
``min_interval`` seconds. Anywhere else (a log file, a pipe) carriage returns would pile
up, so the bar writes whole lines instead: one at the first update, one every
``plain_interval`` seconds, and the last one at :meth:`ProgressBar.close`. The clock is
injectable so tests need not sleep.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

__all__ = ["ProgressBar", "track", "format_duration"]

_T = TypeVar("_T")


def format_duration(seconds: float) -> str:
    """``75.2 -> "01:15"``, ``3725 -> "1:02:05"``; ``"--:--"`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _redraws_in_place(stream: TextIO) -> bool:
    """A terminal, or a Jupyter kernel's output stream (which honours carriage returns)."""
    return _is_tty(stream) or type(stream).__module__.split(".")[0] == "ipykernel"


class ProgressBar:
    """One line, redrawn in place with a carriage return.

    Args:
        total: number of updates expected (None when unknown: no bar and no ETA).
        desc: a short label in front of the line, e.g. ``"epoch 3/10"``.
        enabled: None (auto: a terminal, after ``delay`` seconds), True or False.
        stream: where to draw; ``sys.stderr`` at construction time by default.
        delay: seconds of silence before an auto bar first appears.
        visible_from: clock time from which an auto bar may appear (default: now + delay);
            a training loop passes the start of the run, so that short epochs of a long
            run still show.
        initial: steps already done before this bar (a resumed epoch); not counted in the rate.
        min_interval: the shortest time between two redraws, in seconds.
        plain_interval: off a terminal, the time between two whole lines, in seconds.
        width: characters of the bar itself.
        clock: a monotonic clock in seconds (for tests).
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        desc: str = "",
        enabled: bool | None = None,
        stream: TextIO | None = None,
        delay: float = 1.0,
        visible_from: float | None = None,
        initial: int = 0,
        min_interval: float = 0.1,
        plain_interval: float = 10.0,
        width: int = 24,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
            raise ValueError(f"total: expected an int >= 0 or None, got {total!r}")
        if enabled not in (None, True, False):
            raise TypeError(f"enabled: expected None (auto), True or False, got {enabled!r}")
        self.total = total
        self.desc = str(desc)
        self.stream = sys.stderr if stream is None else stream
        self.active = enabled is True or (enabled is None and _is_tty(self.stream))
        self.min_interval = float(min_interval)
        self.in_place = _redraws_in_place(self.stream)
        self.plain_interval = float(plain_interval)
        self.width = int(width)
        self.clock = clock
        self.count = self.initial = int(initial)
        self.metrics: dict[str, float] = {}
        self._start = clock()
        if enabled is True:
            self.visible_from = -math.inf
        else:
            self.visible_from = self._start + float(delay) if visible_from is None else float(visible_from)
        self._last_draw = -math.inf
        self._drawn = False  # something is on the current line
        self._shown = False  # the bar has appeared at least once
        self._line_len = 0
        self._last_update = self._start

    # -- public ---------------------------------------------------------------------------
    def update(self, n: int = 1, **metrics: float) -> None:
        """Count ``n`` more steps; ``metrics`` (e.g. ``loss=0.5``) are shown next to the bar."""
        self.count += n
        self.metrics.update(metrics)
        if not self.active:
            return
        now = self._last_update = self.clock()
        if now < self.visible_from:
            return
        if not self.in_place:  # whole lines: the first, then one per plain_interval; close() the last
            if now - self._last_draw >= self.plain_interval:
                self._draw(now)
            return
        if now - self._last_draw >= self.min_interval or (self.total is not None and self.count >= self.total):
            self._draw(now)

    def write(self, line: str) -> None:
        """Print a whole line (a log message) without garbling the bar."""
        if not self.active:
            return
        self._clear()
        self.stream.write(line.rstrip("\n") + "\n")
        if self._shown and self.in_place:
            self._draw(self.clock())
        else:
            self.stream.flush()

    def close(self, summary: str | None = None) -> None:
        """Finish the line: the final state of the bar plus ``summary``, then a newline.

        Nothing is written if the bar never appeared (an auto bar on a short run).
        """
        if not self.active or not self._shown:
            return
        self._draw(self._last_update, summary=summary)  # rate and time as of the last step
        if self.in_place:
            self.stream.write("\n")
        self.stream.flush()
        self._drawn = False
        self.active = False

    @property
    def shown(self) -> bool:
        """Whether the bar has appeared (an auto bar stays hidden on short runs)."""
        return self._shown

    @property
    def rate(self) -> float:
        """Steps per second so far."""
        elapsed = self.clock() - self._start
        return (self.count - self.initial) / elapsed if elapsed > 0 else 0.0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- drawing --------------------------------------------------------------------------
    def render(self, now: float | None = None, summary: str | None = None) -> str:
        """The text of the line, without carriage return (also used by the tests)."""
        now = self.clock() if now is None else now
        elapsed = max(now - self._start, 0.0)
        rate = (self.count - self.initial) / elapsed if elapsed > 0 else 0.0
        parts = [self.desc] if self.desc else []
        if self.total:
            frac = min(self.count / self.total, 1.0)
            filled = int(round(frac * self.width))
            parts.append(f"{self.count}/{self.total} [{'=' * filled}{' ' * (self.width - filled)}]")
        else:
            parts.append(f"{self.count} steps")
        parts.extend(f"{k} {_fmt(v)}" for k, v in self.metrics.items())
        parts.append(f"{rate:.1f} steps/s" if rate < 100 else f"{rate:.0f} steps/s")
        if self.total and rate > 0 and self.count < self.total:
            parts.append("ETA " + format_duration((self.total - self.count) / rate))
        else:
            parts.append(format_duration(elapsed))
        if summary:
            parts.append(summary)
        return "  ".join(parts)

    def _draw(self, now: float, summary: str | None = None) -> None:
        line = self.render(now, summary)
        if not self.in_place:
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_draw, self._shown = now, True
            return
        pad = " " * max(self._line_len - len(line), 0)  # erase the tail of a longer line
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._line_len = len(line)
        self._last_draw = now
        self._drawn = self._shown = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * self._line_len + "\r")
            self._drawn = False
            self._line_len = 0


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e-3 or abs(v) >= 1e4 else f"{v:.4f}"
    return str(v)


def track(
    iterable: Iterable[_T],
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool | None = None,
    stream: TextIO | None = None,
) -> Iterator[_T]:
    """Yield from ``iterable`` with a :class:`ProgressBar` (total taken from ``len`` when it has one)."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    bar = ProgressBar(total, desc=desc, enabled=enabled, stream=stream)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        bar.close()
