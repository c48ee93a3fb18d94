"""Standard MIDI files: a writer (no dependency) and a reader (with mido).

Notes are the arrays of :mod:`rnnkit.data.pianoroll`: (N, 4) int rows of onset and duration in
ticks of 1/24 quarter note, MIDI pitch, and part.

:func:`write_midi` writes a format-1 file that any player opens: a first track with the
tempo and a 4/4 time signature, then one track per part with its name, a program change
(the instrument, General MIDI numbering from 0: 0 piano, 19 church organ, 52 choir aahs),
and a note-on and a matching note-off for every note, on channel ``part`` (channel 10,
drums, is skipped). The division is 480 ticks per quarter.

:func:`read_midi` reads a user's file with ``mido`` (``pip install 'rnnkit[music]'``),
imported when called: every channel but 10 (drums), note-on with velocity 0 counted as a
note-off, times rounded to 1/24 quarter. It refuses a file that is not MIDI (no ``MThd``
header), is damaged, or has no notes, with one line that says which.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from ..utils import files
from ..utils.atomic import write_bytes_atomic
from ._validate import DataFormatError
from .pianoroll import MAX_FRAMES, TICKS_PER_QUARTER, check_notes

DIVISION = 480  # MIDI ticks per quarter in the files written
_SCALE = DIVISION // TICKS_PER_QUARTER  # 20 MIDI ticks per rnnkit tick
_DRUMS = 9  # channel 10, counted from 0


def _varlen(value: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body)) + body


def _track(events) -> bytes:
    """events: (absolute tick, order, bytes); sorted, written with delta times, then end."""
    body, now = b"", 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        body += _varlen(tick - now) + data
        now = tick
    return _chunk(b"MTrk", body + b"\x00\xff\x2f\x00")


def _text_event(kind: int, text: str) -> bytes:
    raw = text.encode("latin-1", "replace")
    return bytes([0xFF, kind]) + _varlen(len(raw)) + raw


def midi_bytes(notes, *, tempo: float = 100.0, program=0, velocity: int = 80, names=None) -> bytes:
    """The bytes of a MIDI file of ``notes``; see the module docstring.

    Args:
        tempo: quarter notes per minute.
        program: a General MIDI program 0..127, or one per part (a list).
        velocity: 1..127 for every note.
        names: optional track name per part.
    """
    notes = check_notes(notes)
    if not (isinstance(tempo, (int, float)) and 1 <= tempo <= 1000):
        raise ValueError(f"tempo: expected quarter notes per minute in [1, 1000], got {tempo!r}")
    if not (isinstance(velocity, (int, np.integer)) and 1 <= velocity <= 127):
        raise ValueError(f"velocity: expected an int in [1, 127], got {velocity!r}")
    parts = sorted(set(notes[:, 3].tolist())) or [0]
    channels = [c for c in range(16) if c != _DRUMS]
    if len(parts) > len(channels) or min(parts) < 0:
        raise ValueError(f"notes: expected parts 0..{len(channels) - 1} (one channel each), got {parts}")
    programs = list(program) if isinstance(program, (list, tuple)) else [program] * (max(parts) + 1)
    for p in programs:
        if not (isinstance(p, (int, np.integer)) and 0 <= p <= 127):
            raise ValueError(f"program: expected General MIDI programs in [0, 127], got {program!r}")
    if len(programs) <= max(parts):
        raise ValueError(f"program: expected one program per part ({max(parts) + 1}), got {len(programs)}")
    usec = int(round(60_000_000 / tempo))
    head = [
        (0, 0, _text_event(0x03, "rnnkit")),
        (0, 1, b"\xff\x51\x03" + usec.to_bytes(3, "big")),
        (0, 2, b"\xff\x58\x04\x04\x02\x18\x08"),
    ]  # 4/4
    tracks = [_track(head)]
    for _k, part in enumerate(parts):
        ch = channels[part]
        name = names[part] if names is not None and part < len(names) else f"part {part + 1}"
        events = [(0, 0, _text_event(0x03, name)), (0, 1, bytes([0xC0 | ch, programs[part]]))]
        for onset, dur, pitch, _ in notes[notes[:, 3] == part]:
            start, end = int(onset) * _SCALE, int(onset + dur) * _SCALE
            # At one tick, note-offs (order 2) come before note-ons (order 3): a repeated
            # pitch ends, then starts again.
            events.append((end, 2, bytes([0x80 | ch, int(pitch), 0])))
            events.append((start, 3, bytes([0x90 | ch, int(pitch), int(velocity)])))
        tracks.append(_track(events))
    header = _chunk(b"MThd", struct.pack(">HHH", 1, len(tracks), DIVISION))
    return header + b"".join(tracks)


def write_midi(path, notes, *, tempo: float = 100.0, program=0, velocity: int = 80, names=None) -> Path:
    """Write ``notes`` as a MIDI file (atomically); returns the path. See :func:`midi_bytes`."""
    return write_bytes_atomic(path, midi_bytes(notes, tempo=tempo, program=program, velocity=velocity, names=names))


def read_midi(path) -> np.ndarray:
    """The notes of a MIDI file as (N, 4) rows (onset, duration, pitch, channel).

    Raises:
        FileNotFoundError: no such file.
        FileRefusedError: a FIFO, device or other non-regular file, or one over
            :data:`rnnkit.utils.files.MAX_MIDI_BYTES`.
        DataFormatError: not a MIDI file, a damaged one, one without notes, or one longer
            than :data:`rnnkit.data.pianoroll.MAX_FRAMES` sixteenth-note frames.
        ImportError: mido is not installed.
    """
    try:
        import mido
    except ImportError:
        raise ImportError("rnnkit.data.midi.read_midi needs mido: pip install 'rnnkit[music]'") from None
    path = Path(path)
    raw = files.read_regular_bytes(path, what="a MIDI file", max_bytes=files.MAX_MIDI_BYTES)
    head = raw[:4]
    if head != b"MThd":
        raise DataFormatError(
            path,
            f"not a MIDI file (it starts with {head!r}, not the MIDI header b'MThd')",
            hint="pass a standard MIDI file (.mid)",
        )
    try:
        mid = mido.MidiFile(file=io.BytesIO(raw))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError... by damage
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise DataFormatError(
            path,
            f"a damaged MIDI file, not readable ({type(exc).__name__}: {text})",
            hint="export it again from the program that made it",
        ) from None
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise DataFormatError(path, "not a readable MIDI file (SMPTE time division is not supported)")
    rows, drums = [], 0
    for track in mid.tracks:
        now = 0
        open_notes: dict[tuple[int, int], list[int]] = {}  # (channel, pitch) -> start ticks
        for msg in track:
            now += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            if msg.channel == _DRUMS:
                drums += msg.type == "note_on" and msg.velocity > 0
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault(key, []).append(now)
            elif open_notes.get(key):
                start = open_notes[key].pop(0)
                rows.append((start, now, msg.note, msg.channel))
        for (channel, pitch), starts in open_notes.items():  # never ended: end with the track
            rows += [(s, now, pitch, channel) for s in starts]
    if not rows:
        extra = f" (only {drums} drum notes on channel 10, which are not read)" if drums else ""
        raise DataFormatError(
            path, "the MIDI file contains no notes" + extra, hint="pass a file with at least one note-on and note-off"
        )
    a = np.array(rows, np.int64)
    onset = np.rint(a[:, 0] * TICKS_PER_QUARTER / tpb).astype(np.int64)
    end = np.rint(a[:, 1] * TICKS_PER_QUARTER / tpb).astype(np.int64)
    notes = np.stack([onset, np.maximum(end - onset, 1), a[:, 2], a[:, 3]], 1)
    notes[:, 0] -= notes[:, 0].min()  # the piece starts at its first note
    # a few bytes of delta times can span years: refuse before anything expands to frames
    last = int((notes[:, 0] + notes[:, 1]).max())
    if last > MAX_FRAMES * (TICKS_PER_QUARTER // 4):
        raise DataFormatError(
            path,
            f"the piece lasts {last // TICKS_PER_QUARTER} quarter notes, more than the "
            f"{MAX_FRAMES // 4} accepted ({MAX_FRAMES} sixteenth-note frames)",
            hint="check the file's delta times (a damaged file can declare huge pauses), or split the piece",
        )
    return notes[np.lexsort((notes[:, 3], notes[:, 2], notes[:, 0]))].astype(np.int32)
