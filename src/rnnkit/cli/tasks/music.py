"""``rnnkit train music``: polyphonic chorales (or melodies), MIDI in and out.

Data: ``jsb`` (the Bach chorales that ship with rnnkit, split by piece name into
train/valid/test; see :mod:`rnnkit.data.music`), a music ``.npz`` of that layout, one MIDI
file (trained on, and scored on itself), or a folder of MIDI files (split by file name
like the chorales; every part must get at least one file, else all train). Pieces become
frames at ``frames_per_quarter``; the pitch range is that of the whole set's frames.

The result is the negative log-likelihood per frame in nats on the test pieces beside
the memoryless baseline (independent notes with their training frequencies; for
melodies, token frequencies), and frame-level accuracy and F1 (Bay et al. 2009) beside
repeating the previous frame. After training, ``sample_length`` frames are generated
after the first ``primer_frames`` frames of the first test piece: ``plots/sample.mid`` and
``plots/sample.png`` (the generated piano roll beside the real piece).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .._base import CliError
from ..config import option
from ..task_configs import CommonConfig
from .base import Task, TaskData, result_line

MIDI_SUFFIXES = (".mid", ".midi")


@dataclasses.dataclass
class MusicConfig(CommonConfig):
    data: str = option(
        "jsb", "jsb (the Bach chorales that ship), a music .npz, a MIDI file or a folder of MIDI files", group="data"
    )
    format: str | None = option(None, "file format; none: from the extension", choices=("midi", "npz"), group="data")
    val_fraction: float = option(
        0.1,
        "not used by music: pieces are split by name (--val-data gives another validation set)",
        min=0.0,
        max=0.5,
        group="data",
    )
    data_size: int | None = option(None, "train on the first N training pieces only; none: all", min=1, group="data")
    mode: str = option(
        "poly",
        "poly: piano-roll frames (independent notes); melody: one token per frame (pitch, hold, rest)",
        choices=("poly", "melody"),
    )
    frames_per_quarter: int = option(
        1, "frames per quarter note: 1 quarters, 2 eighths, 4 sixteenths", choices=(1, 2, 4)
    )
    part: int | None = option(
        None, "melody: the part (voice or MIDI channel) to take; none: the top sounding note", min=0, group="data"
    )
    transpose: int = option(
        3, "augmentation: move training pieces by up to this many semitones, anew each epoch", min=0, max=12
    )
    hidden_size: int = option(128, "hidden units per layer", min=1)
    lr: float = option(0.003, "learning rate", min=0.0)
    batch_size: int = option(8, "pieces per batch", min=1)
    sample_length: int = option(32, "frames generated after training (0: none)", min=0, group="run")
    primer_frames: int = option(8, "frames of the first test piece read before generating", min=0, group="run")
    temperature: float = option(1.0, "sampling temperature (lower: more conservative)", min=0.01, group="run")
    tempo: float = option(90.0, "MIDI files written: quarter notes per minute", min=1.0, max=1000.0, group="run")
    program: int = option(
        19,
        "MIDI files written: General MIDI instrument (0 piano, 19 church organ, 52 choir)",
        min=0,
        max=127,
        group="run",
    )


# -- reading pieces --------------------------------------------------------------------------------
def _read_set(spec: str, fmt):
    """(names, notes, splits or None, source, licence) of a set name, npz, MIDI file or folder."""
    from ...data import music

    if spec == "jsb":
        d = music.jsb_chorales()
        return d.names, d.notes, d.splits, "jsb (Bach chorales, music21 corpus)", d.licence
    path = Path(spec)
    if not path.exists():
        raise CliError(
            f"--data {spec}: no such data set or file; the music task ships jsb, or "
            "reads a MIDI file, a folder of them, or a music .npz"
        )
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in MIDI_SUFFIXES)
        if not files:
            raise CliError(f"--data {spec}: the folder holds no .mid or .midi file")
        names = [p.stem for p in files]
        return names, [_read_midi(p) for p in files], [music.split_of(n) for n in names], str(path), ""
    kind = fmt or ("midi" if path.suffix.lower() in MIDI_SUFFIXES else "npz" if path.suffix.lower() == ".npz" else None)
    if kind == "npz":
        d = music.read_music_npz(path)
        return d.names, d.notes, d.splits, str(path), d.licence
    if kind == "midi":
        return [path.stem], [_read_midi(path)], None, str(path), ""
    raise CliError(
        f"--data {spec}: expected a .mid/.midi file, a folder of them or a music .npz, "
        f"got extension {path.suffix or '(none)'!r}; hint: --format midi"
    )


def _read_midi(path):
    from ...data.midi import read_midi

    try:
        return read_midi(path)
    except ImportError as exc:
        raise CliError(str(exc)) from None


def to_frames(notes, mode: str, frames_per_quarter: int, part=None):
    from ...data import music

    if mode == "poly":
        return music.piano_roll(notes, frames_per_quarter)
    return music.melody(notes, frames_per_quarter, part=part)


def to_notes(frames, mode: str, frames_per_quarter: int):
    from ...data import music

    if mode == "poly":
        return music.roll_to_notes(frames, frames_per_quarter)
    return music.melody_to_notes(frames, frames_per_quarter)


def _range(frames, mode: str) -> tuple[int, int]:
    """(lowest, highest) MIDI pitch sounding in the frames of every piece."""
    from ...data.music import N_PITCHES

    if mode == "poly":
        used = np.flatnonzero(np.any([f.any(axis=0) for f in frames], axis=0))
    else:
        used = np.unique(np.concatenate(frames))
        used = used[used < N_PITCHES]
    if not used.size:
        raise CliError("--data: no note sounds on any frame; hint: a finer --frames-per-quarter")
    return int(used.min()), int(used.max())


def load_music(config) -> TaskData:
    from ...data import music

    names, notes, splits, source, licence = _read_set(config.data, config.format)
    frames = [to_frames(n, config.mode, config.frames_per_quarter, config.part) for n in notes]
    low, high = _range(frames, config.mode)
    notes_out = []
    if splits is None or not all(s in splits for s in music.SPLITS):
        if len(frames) > 1 and splits is not None:
            notes_out.append(f"{len(frames)} pieces are too few to split by name; all train")
        parts = {"train": list(range(len(frames))), "valid": [], "test": []}
    else:
        parts = {s: [i for i, x in enumerate(splits) if x == s] for s in music.SPLITS}
    if config.data_size:
        parts["train"] = parts["train"][: config.data_size]
    pick = {s: [frames[i] for i in idx] for s, idx in parts.items()}
    if config.val_data is not None:
        v_names, v_notes, _, _, _ = _read_set(config.val_data, config.format)
        pick["valid"] = [to_frames(n, config.mode, config.frames_per_quarter, config.part) for n in v_notes]
        v_low, v_high = _range(pick["valid"], config.mode)
        low, high = min(low, v_low), max(high, v_high)
    extra = {
        "low": low,
        "high": high,
        "licence": licence,
        "test_names": [names[i] for i in parts["test"]] or [names[i] for i in parts["train"]],
    }
    unit = "quarter" if config.frames_per_quarter == 1 else f"1/{4 * config.frames_per_quarter}-note"
    source = f"{source}, {unit} frames, MIDI {low}..{high}"
    return TaskData(pick["train"], pick["valid"] or None, pick["test"] or None, source, extra=extra, notes=notes_out)


# -- the task ----------------------------------------------------------------------------------------
class MusicTask(Task):
    name = "music"
    config_class = MusicConfig
    model_names = ("MusicModel",)
    model_module = "rnnkit.models.music"
    command = "rnnkit generate"

    def load(self, config) -> TaskData:
        return load_music(config)

    def build_model(self, config, data: TaskData):
        model = super().build_model(config, data)
        return model.set_params(low=data.extra["low"], high=data.extra["high"])

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        model.fit(data.train, validation_data=data.val, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        from ...models.music import frequency_nll, repeat_scores

        part, split = (data.eval_part, data.eval_split) if data.eval_part else (data.train, "training")
        out = {
            "metric": "NLL/frame (nats)",
            "model": model.evaluate(part),
            "split": split,
            "n": int(sum(len(p) for p in part)),
            "unit": "frames",
            "better": "lower",
            "baselines": {},
            "format": "{:.4f}",
        }
        name = "independent notes (training frequencies)" if model.mode == "poly" else "token frequencies"
        out["baselines"][name] = frequency_nll(data.train, part, model.low_, model.high_, mode=model.mode)
        scores = model.frame_scores(part)
        out["frame_accuracy"] = scores["accuracy"]
        if model.mode == "poly":
            out["frame_f1"] = scores["f1"]
            rep = repeat_scores(part, model.low_, model.high_)
            out["repeat_accuracy"], out["repeat_f1"] = rep["accuracy"], rep["f1"]
        return out

    def samples(self, model, config) -> dict:
        if not config.sample_length:
            return {}
        data = load_music(config)
        real = (data.test or data.train)[0]
        primer = real[: config.primer_frames] if config.primer_frames else None
        gen = model.generate(config.sample_length, primer=primer, temperature=config.temperature, seed=config.seed)
        piece = gen if primer is None else np.concatenate([primer, gen])
        return {
            "sample": _jsonable_frames(piece, model.mode),
            "sample_primer_frames": 0 if primer is None else len(primer),
            "sample_real": _jsonable_frames(real, model.mode),
            "sample_source": data.extra["test_names"][0],
        }

    def summary(self, results: dict) -> str:
        text = result_line(results)
        if "frame_f1" in results:
            text += (
                f"\nframe accuracy (Bay et al. 2009) {results['frame_accuracy']:.3f}, F1 "
                f"{results['frame_f1']:.3f}; repeating the previous frame: "
                f"{results['repeat_accuracy']:.3f}, {results['repeat_f1']:.3f}"
            )
        elif "frame_accuracy" in results:
            text += f"\nnext-token accuracy {results['frame_accuracy']:.3f}"
        return text

    def plots(self, model, data, config, directory, results) -> list:
        if "sample" not in results:
            return []
        from ...data.midi import write_midi

        piece = _frames_from_json(results["sample"], model.mode)
        real = _frames_from_json(results["sample_real"], model.mode)
        notes = to_notes(piece, model.mode, model.frames_per_quarter)
        written = (
            [write_midi(Path(directory) / "sample.mid", notes, tempo=config.tempo, program=config.program)]
            if len(notes)
            else []
        )
        png = piano_roll_plot(
            piece,
            real,
            Path(directory) / "sample.png",
            mode=model.mode,
            primer_frames=results["sample_primer_frames"],
            low=model.low_,
            high=model.high_,
            real_name=results["sample_source"],
        )
        return written + ([png] if png is not None else [])


def _jsonable_frames(frames, mode):
    """Frames as JSON: the sounding pitches of each frame (poly) or the tokens (melody)."""
    if mode == "poly":
        return [np.flatnonzero(f).tolist() for f in np.asarray(frames)]
    return np.asarray(frames).tolist()


def _frames_from_json(value, mode):
    if mode == "poly":
        roll = np.zeros((len(value), 128), bool)
        for t, pitches in enumerate(value):
            roll[t, pitches] = True
        return roll
    return np.array(value, np.int64)


# -- the picture ---------------------------------------------------------------------------------
def piano_roll_plot(
    generated,
    real,
    path,
    *,
    mode: str = "poly",
    primer_frames: int = 0,
    low=None,
    high=None,
    real_name: str = "a real piece",
    title: str = "generated",
) -> Path | None:
    """The generated piano roll (primer shaded) beside a real one, pitch over frames."""
    from ...data import music
    from ...utils import plots

    if not plots.available():
        return None

    def as_roll(frames):
        if mode == "poly":
            return np.asarray(frames, bool)
        return music.piano_roll(music.melody_to_notes(frames, 1), 1) if len(frames) else np.zeros((1, 128), bool)

    rolls = [as_roll(generated), as_roll(real) if real is not None else None]
    used = np.flatnonzero(np.any([r.any(axis=0) for r in rolls if r is not None], axis=0))
    lo = low if low is not None else (int(used.min()) if used.size else 48)
    hi = high if high is not None else (int(used.max()) if used.size else 84)
    fig = plots._figure(11.0, 4.0)
    panels = [(rolls[0], f"{title} ({len(rolls[0])} frames)")]
    if rolls[1] is not None:
        panels.append((rolls[1], f"real: {real_name} ({len(rolls[1])} frames)"))
    for k, (roll, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.imshow(
            roll[:, lo : hi + 1].T,
            origin="lower",
            aspect="auto",
            cmap="Greys",
            interpolation="nearest",
            extent=(-0.5, len(roll) - 0.5, lo - 0.5, hi + 0.5),
        )
        if k == 0 and primer_frames:
            ax.axvspan(-0.5, primer_frames - 0.5, color="tab:blue", alpha=0.15, label="primer")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_xlabel("frame")
        ax.set_ylabel("MIDI pitch" if k == 0 else "")
        ax.set_title(label, fontsize=10)
    return plots._save(fig, path)


TASK = MusicTask()
