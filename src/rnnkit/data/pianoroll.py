"""Music as data: notes, piano rolls, melodies, and the Bach chorales set.

Shape legend
    N  notes      T  frames      P  pitches (128: MIDI 0..127, 60 = middle C)

A piece is a note array ``notes`` (N, 4) int32 with columns

    onset, duration     in ticks, :data:`TICKS_PER_QUARTER` = 24 ticks per quarter note
                        (so sixteenths, 32nds and triplets are whole numbers)
    pitch               MIDI note number 0..127
    part                the voice (0 soprano, 1 alto, 2 tenor, 3 bass for the chorales;
                        the MIDI channel for a user's file)

Frames. ``piano_roll(notes, frames_per_quarter=r)`` samples the piece every 1/r quarter
notes: frame f is the set of pitches sounding at time f / r quarters, that is, of the
notes with onset <= f / r < onset + duration; the roll is (T, 128) bool with T =
ceil(end / (1/r)). Quarter-note frames (r = 1) are the usual setting of the chorale
benchmarks; sixteenth-note frames (r = 4) keep the passing notes. A note shorter than a
frame that falls between two samples is not in the roll, and a pitch repeated without a
rest merges into one held note: a roll has no onsets. :func:`roll_to_notes` is the
inverse used for writing MIDI: a run of frames in which a pitch sounds is one note.

Melodies. ``melody(notes, r)`` is one token per frame: the pitch (0..127) when the top
sounding note starts in the frame (or is a new pitch), :data:`HOLD` (128) while it goes
on, :data:`REST` (129) when nothing sounds. The top note is that of the highest-sounding
voice ("skyline"), or of one ``part``.

The chorales. :func:`jsb_chorales` reads the shipped ``jsb-chorales.npz`` (built once by
:func:`build_jsb_chorales` from the MusicXML scores of ``music21.corpus``; ``rnnkit
datasets build jsb`` rebuilds it). The split is fixed by piece name:
``zlib.crc32(name) % 5`` = 0, 1, 2 -> train, 3 -> valid, 4 -> test (about 60/20/20), so
it never changes when pieces are added or removed. :data:`JSB_LICENCE` states the terms.

The ``.npz`` layout (no object arrays, read with ``allow_pickle=False``): ``notes``
(sum N_i, 4) int32, ``lengths`` (pieces,) notes per piece, ``names`` (pieces,) str,
``splits`` (pieces,) str, ``ticks_per_quarter``, ``format`` ("rnnkit-music"),
``format_version``, ``licence`` and ``source`` (str scalars).
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..utils import files
from ..utils.atomic import write_bytes_atomic
from ._validate import DataFormatError

TICKS_PER_QUARTER = 24
N_PITCHES = 128
HOLD, REST = 128, 129
SPLITS = ("train", "valid", "test")
MUSIC_FORMAT, MUSIC_FORMAT_VERSION = "rnnkit-music", 1
JSB_FILE = "jsb-chorales.npz"
JSB_LICENCE = (
    "J. S. Bach's four-part chorale harmonizations are public-domain scores (Bach died in "
    "1750). The notes were read from the MusicXML encodings of music21's corpus "
    "(music21.corpus.chorales.Iterator), which music21 distributes under its corpus terms "
    "(music21/corpus/license.txt: encodings distributed with the permission of the encoders, "
    "to the best of the music21 authors' knowledge out of copyright in the United States; "
    "some corpus encodings restrict commercial use, none of the Bach chorale files carries "
    "such a notice). This file keeps only the onset, duration, pitch and voice of each note."
)
JSB_SOURCE = "music21 corpus, bach chorales (Riemenschneider collection), soprano/alto/tenor/bass"
_VOICES = ("Soprano", "Alto", "Tenor", "Bass")


# -- notes and frames ----------------------------------------------------------------------
def check_notes(notes, name: str = "notes") -> np.ndarray:
    """A (N, 4) int array of onset, duration, pitch, part (see the module docstring)."""
    a = np.asarray(notes)
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name}: expected an array (N, 4) of onset, duration, pitch, part, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name}: expected integers (ticks and MIDI numbers), got dtype {a.dtype}")
    a = a.astype(np.int32)
    if a.size and (a[:, 0].min() < 0 or a[:, 1].min() < 1):
        raise ValueError(f"{name}: expected onsets >= 0 and durations >= 1 tick")
    if a.size and (a[:, 2].min() < 0 or a[:, 2].max() >= N_PITCHES):
        raise ValueError(f"{name}: expected MIDI pitches in [0, 127], got [{a[:, 2].min()}, {a[:, 2].max()}]")
    return a


def _frame_ticks(frames_per_quarter) -> int:
    if frames_per_quarter not in (1, 2, 4):
        raise ValueError(
            f"frames_per_quarter: expected 1 (quarter notes), 2 (eighths) or 4 (sixteenths), got {frames_per_quarter!r}"
        )
    return TICKS_PER_QUARTER // frames_per_quarter


#: the most frames one piece may expand to (about 36 hours of sixteenth notes at 120 bpm):
#: checked before a roll or melody is allocated, so a few bytes of MIDI cannot ask for gigabytes
MAX_FRAMES = 2**20


def n_frames(notes, frames_per_quarter: int = 1) -> int:
    """Frames of a piece: ceil(end / frame length), at least 1; ValueError over :data:`MAX_FRAMES`."""
    step = _frame_ticks(frames_per_quarter)
    end = int((notes[:, 0] + notes[:, 1]).max()) if len(notes) else 0
    frames = max(1, -(-end // step))
    if frames > MAX_FRAMES:
        raise ValueError(
            f"notes: the piece lasts {end // TICKS_PER_QUARTER} quarter notes, {frames} frames at "
            f"frames_per_quarter={frames_per_quarter}, more than the {MAX_FRAMES} frames accepted; "
            "hint: split the piece, or check its note times"
        )
    return frames


def piano_roll(notes, frames_per_quarter: int = 1) -> np.ndarray:
    """(T, 128) bool: frame f holds the pitches sounding at f / frames_per_quarter quarters."""
    notes = check_notes(notes)
    step = _frame_ticks(frames_per_quarter)
    T = n_frames(notes, frames_per_quarter)
    roll = np.zeros((T, N_PITCHES), bool)
    for onset, dur, pitch, _ in notes:
        first = -(-onset // step)  # the first sample at or after the onset
        stop = -(-(onset + dur) // step)  # samples before the end
        roll[first:stop, pitch] = True
    return roll


def roll_to_notes(roll, frames_per_quarter: int = 1) -> np.ndarray:
    """The notes of a (T, 128) roll: each run of frames in which a pitch sounds is one note."""
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[1] != N_PITCHES:
        raise ValueError(f"roll: expected a (T, {N_PITCHES}) piano roll, got shape {roll.shape}")
    step = _frame_ticks(frames_per_quarter)
    on = np.zeros((roll.shape[0] + 2, N_PITCHES), np.int8)
    on[1:-1] = roll.astype(bool)
    edges = np.diff(on, axis=0)  # +1 at a start, -1 after an end
    starts, ends = np.nonzero(edges.T == 1), np.nonzero(edges.T == -1)
    # Both are ordered by pitch, then time, so the k-th start and k-th end are one note.
    pitch, first, last = starts[0], starts[1], ends[1]
    notes = np.stack([first * step, (last - first) * step, pitch, np.zeros_like(pitch)], 1)
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))].astype(np.int32)


def pitch_range(notes) -> tuple[int, int]:
    """(lowest, highest) MIDI pitch of the notes."""
    notes = check_notes(notes)
    if not len(notes):
        raise ValueError("notes: expected at least one note, got none")
    return int(notes[:, 2].min()), int(notes[:, 2].max())


def clip_notes(notes, low: int, high: int) -> tuple[np.ndarray, int]:
    """The notes with pitch in [low, high], and how many were dropped."""
    notes = check_notes(notes)
    keep = (notes[:, 2] >= low) & (notes[:, 2] <= high)
    return notes[keep], int((~keep).sum())


def transpose_roll(roll, shift: int) -> np.ndarray:
    """A (T, 128) roll moved ``shift`` semitones (pitches pushed past 0 or 127 are refused)."""
    roll = np.asarray(roll, bool)
    if shift == 0:
        return roll
    lost = roll[:, -shift:] if shift > 0 else roll[:, :-shift]
    if lost.any():
        raise ValueError(f"shift: {shift} semitones moves notes outside MIDI 0..127")
    return np.roll(roll, shift, axis=1)


# -- melodies --------------------------------------------------------------------------------
def melody(notes, frames_per_quarter: int = 1, *, part: int | None = None) -> np.ndarray:
    """(T,) int64 tokens: pitch 0..127 at an onset, HOLD while it sounds, REST (module doc)."""
    notes = check_notes(notes)
    if part is not None:
        notes = notes[notes[:, 3] == part]
        if not len(notes):
            raise ValueError(f"part: no notes in part {part}")
    step = _frame_ticks(frames_per_quarter)
    T = n_frames(notes, frames_per_quarter)
    top = np.full(T, -1)
    top_onset = np.full(T, -1)
    for onset, dur, pitch, _ in notes:
        first, stop = -(-onset // step), -(-(onset + dur) // step)
        sl = slice(first, stop)
        higher = pitch > top[sl]
        top[sl] = np.where(higher, pitch, top[sl])
        top_onset[sl] = np.where(higher, onset, top_onset[sl])
    tokens = np.full(T, REST, np.int64)
    for f in range(T):
        if top[f] < 0:
            continue
        same = f > 0 and top[f - 1] == top[f] and top_onset[f - 1] == top_onset[f]
        tokens[f] = HOLD if same else top[f]
    return tokens


def melody_to_notes(tokens, frames_per_quarter: int = 1) -> np.ndarray:
    """The notes of a token melody; HOLD after a REST (or first) is read as a REST."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or (tokens.size and (tokens.min() < 0 or tokens.max() > REST)):
        raise ValueError(f"tokens: expected a 1-D array of melody tokens in [0, {REST}], got shape {tokens.shape}")
    step = _frame_ticks(frames_per_quarter)
    out, current = [], None
    for f, tok in enumerate(tokens.tolist()):
        if tok == HOLD and current is not None:
            current[1] += step
            continue
        if current is not None:
            out.append(current)
            current = None
        if tok < N_PITCHES:
            current = [f * step, step, tok, 0]
    if current is not None:
        out.append(current)
    return np.array(out, np.int32).reshape(-1, 4)


# -- either kind of frame -------------------------------------------------------------------------
def to_frames(notes, mode: str, frames_per_quarter: int = 1, part: int | None = None) -> np.ndarray:
    """A piece's frames: its :func:`piano_roll` (``mode="poly"``) or its :func:`melody`."""
    if mode == "poly":
        return piano_roll(notes, frames_per_quarter)
    return melody(notes, frames_per_quarter, part=part)


def to_notes(frames, mode: str, frames_per_quarter: int = 1) -> np.ndarray:
    """The notes of frames of either kind: the inverse of :func:`to_frames`."""
    if mode == "poly":
        return roll_to_notes(frames, frames_per_quarter)
    return melody_to_notes(frames, frames_per_quarter)


def sounding_range(pieces, mode: str) -> tuple[int, int] | None:
    """(lowest, highest) MIDI pitch sounding in the frames of every piece; None when none sounds."""
    if mode == "poly":
        used = np.flatnonzero(np.any([f.any(axis=0) for f in pieces], axis=0))
    else:
        used = np.unique(np.concatenate(pieces))
        used = used[used < N_PITCHES]
    if not used.size:
        return None
    return int(used.min()), int(used.max())


# -- the split -----------------------------------------------------------------------------------
def split_of(name: str) -> str:
    """The fixed split of a piece: ``zlib.crc32(name) % 5`` 0-2 train, 3 valid, 4 test."""
    k = zlib.crc32(name.encode("utf-8")) % 5
    return "train" if k < 3 else ("valid" if k == 3 else "test")


# -- the npz format ------------------------------------------------------------------------------
@dataclass
class MusicSet:
    """Pieces read from a music ``.npz``: names, note arrays, splits, licence and source."""

    names: list
    notes: list
    splits: list
    licence: str
    source: str

    def part(self, split: str) -> MusicSet:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
        idx = [i for i, s in enumerate(self.splits) if s == split]
        return MusicSet(
            [self.names[i] for i in idx], [self.notes[i] for i in idx], [split] * len(idx), self.licence, self.source
        )

    def pitch_range(self) -> tuple[int, int]:
        """(lowest, highest) MIDI pitch over every piece."""
        return pitch_range(np.concatenate(self.notes))

    def rolls(self, frames_per_quarter: int = 1) -> list:
        return [piano_roll(n, frames_per_quarter) for n in self.notes]

    def melodies(self, frames_per_quarter: int = 1, part: int | None = 0) -> list:
        return [melody(n, frames_per_quarter, part=part) for n in self.notes]


def write_music_npz(path, names, notes, *, licence: str, source: str, splits=None) -> Path:
    """Write pieces in the layout of the module docstring (compressed); returns the path."""
    names = [str(n) for n in names]
    arrays = [check_notes(n, f"notes[{i}]") for i, n in enumerate(notes)]
    if len(names) != len(arrays) or not arrays:
        raise ValueError(f"names: expected one name per piece ({len(arrays)}), got {len(names)}")
    if len(set(names)) != len(names):
        raise ValueError("names: expected distinct piece names")
    splits = [split_of(n) for n in names] if splits is None else list(splits)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        notes=np.concatenate(arrays).astype(np.int32),
        lengths=np.array([len(a) for a in arrays], np.int64),
        names=np.array(names),
        splits=np.array(splits),
        ticks_per_quarter=np.int64(TICKS_PER_QUARTER),
        format=np.array(MUSIC_FORMAT),
        format_version=np.int64(MUSIC_FORMAT_VERSION),
        licence=np.array(licence),
        source=np.array(source),
    )
    return write_bytes_atomic(path, buf.getvalue())


def read_music_npz(path) -> MusicSet:
    """Read a file written by :func:`write_music_npz`; DataFormatError names what is wrong."""
    import zipfile

    path = Path(path)
    fh = files.open_regular(path, what="a music .npz file", max_bytes=files.MAX_DATA_NPZ_BYTES)
    try:
        with fh, np.load(fh, allow_pickle=False) as npz:
            found = set(npz.files)
            need = {"notes", "lengths", "names", "splits", "ticks_per_quarter", "format", "licence"}
            if need - found:
                raise DataFormatError(
                    path,
                    f"missing arrays {sorted(need - found)}",
                    hint="write it with rnnkit.data.music.write_music_npz",
                )
            if str(npz["format"]) != MUSIC_FORMAT or int(npz["ticks_per_quarter"]) != TICKS_PER_QUARTER:
                raise DataFormatError(
                    path, f"expected format {MUSIC_FORMAT!r} at {TICKS_PER_QUARTER} ticks per quarter"
                )
            notes, lengths = npz["notes"], npz["lengths"]
            names, splits = npz["names"].tolist(), npz["splits"].tolist()
            licence = str(npz["licence"])
            source = str(npz["source"]) if "source" in found else ""
    except DataFormatError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFormatError(path, f"not a readable music .npz ({exc})") from exc
    if int(lengths.sum()) != len(notes) or len(names) != len(lengths) or len(splits) != len(lengths):
        raise DataFormatError(path, "lengths, names and splits do not agree with the notes")
    pieces = np.split(check_notes(notes, f"{path}: notes"), np.cumsum(lengths)[:-1])
    return MusicSet(names, list(pieces), splits, licence, source)


def jsb_path() -> Path:
    return Path(str(resources.files("rnnkit.data") / "files" / JSB_FILE))


def jsb_chorales(split: str | None = None) -> MusicSet:
    """The Bach chorales that ship with rnnkit (all pieces, or one split)."""
    data = read_music_npz(jsb_path())
    return data if split is None else data.part(split)


# -- building the set from music21 ---------------------------------------------------------------
def build_jsb_chorales(path=None, *, limit: int | None = None, progress=None) -> tuple[Path, dict]:
    """Read the chorales of ``music21.corpus`` once and write them as a music ``.npz``.

    Keeps the four voices (the parts named Soprano, Alto, Tenor, Bass; a chorale with
    exactly four unnamed parts keeps them in score order; any other is skipped), ties
    merged. Pieces whose notes repeat an earlier piece exactly are dropped. Needs music21
    (``pip install 'rnnkit[music]'``); a few tens of seconds.

    Args:
        path: where to write (default: the shipped file's place).
        limit: read only the first ``limit`` chorales (for tests).
        progress: called with (index, total, name) per chorale.
    Returns:
        ``(path, report)`` with counts of pieces read, skipped and dropped as duplicates.
    """
    try:
        from music21 import corpus
    except ImportError:
        raise ImportError("rnnkit.data.music.build_jsb_chorales needs music21: pip install 'rnnkit[music]'") from None
    files = list(corpus.chorales.Iterator(returnType="filename"))
    files = files[:limit] if limit is not None else files
    names, pieces, seen = [], [], set()
    report: dict[str, Any] = {"read": 0, "skipped": [], "duplicates": []}
    for i, name in enumerate(files):
        if progress is not None:
            progress(i, len(files), name)
        notes = _score_notes(corpus.parse(name))
        short = name.split("/")[-1]
        if notes is None:
            report["skipped"].append(short)
            continue
        key = notes.tobytes()
        if key in seen:
            report["duplicates"].append(short)
            continue
        seen.add(key)
        names.append(short)
        pieces.append(notes)
        report["read"] += 1
    out = write_music_npz(jsb_path() if path is None else path, names, pieces, licence=JSB_LICENCE, source=JSB_SOURCE)
    return out, report


def _score_notes(score) -> np.ndarray | None:
    """The SATB notes of a music21 score as (N, 4) ticks, or None without four voices."""
    parts = list(score.parts)
    by_name = {p.partName: p for p in parts}
    if all(v in by_name for v in _VOICES):
        voices = [by_name[v] for v in _VOICES]
    elif len(parts) == 4:
        voices = parts
    else:
        return None
    rows = []
    for k, part in enumerate(voices):
        for n in part.stripTies().flatten().notes:
            onset = int(round(float(n.offset) * TICKS_PER_QUARTER))
            dur = int(round(float(n.quarterLength) * TICKS_PER_QUARTER))
            if dur < 1:
                continue  # grace notes
            rows += [(onset, dur, p.midi, k) for p in n.pitches]
    if not rows:
        return None
    notes = np.array(rows, np.int32)
    notes[:, 0] -= notes[:, 0].min()  # a pickup starts the piece at 0
    return notes[np.lexsort((notes[:, 3], notes[:, 2], notes[:, 0]))]
