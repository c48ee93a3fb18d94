"""``rnnkit train music``: polyphonic chorales (or melodies), MIDI in and out.

Data: ``jsb`` (the Bach chorales that ship with rnnkit, split by piece name into
train/valid/test; see :mod:`rnnkit.data.pianoroll`), a music ``.npz`` of that layout, one MIDI
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

from ...data import pianoroll as music
from ...data.midi import read_midi, write_midi
from ...data.pianoroll_plot import piano_roll_plot
from ...utils import plots
from .._base import CliError, UsageError
from ..options import did_you_mean, option, training_keys
from ..sources import DataSet
from ..task_configs import CommonConfig
from .task import Task, TaskData, result_line

MIDI_SUFFIXES = (".mid", ".midi")


@dataclasses.dataclass
@training_keys("MusicModel", batch_size="pieces per batch")
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
    try:
        return read_midi(path)
    except ImportError as exc:
        raise CliError(str(exc)) from None


def _range(frames, mode: str) -> tuple[int, int]:
    """(lowest, highest) MIDI pitch sounding in the frames of every piece."""
    found = music.sounding_range(frames, mode)
    if found is None:
        raise CliError("--data: no note sounds on any frame; hint: a finer --frames-per-quarter")
    return found


def load_music(config) -> TaskData:
    names, notes, splits, source, licence = _read_set(config.data, config.format)
    frames = [music.to_frames(n, config.mode, config.frames_per_quarter, config.part) for n in notes]
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
        pick["valid"] = [music.to_frames(n, config.mode, config.frames_per_quarter, config.part) for n in v_notes]
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
    model_module = "rnnkit.models.music_model"
    command = "rnnkit generate"
    help = "polyphonic music or melodies, MIDI in and out (default: Bach chorales)"
    remedy = "more --epochs, a larger --hidden-size, or --preset default"
    about = "polyphonic piano rolls or melodies, frame by frame; MIDI in and out"
    examples = (
        "rnnkit train music --preset quick",
        "rnnkit train music --data my_midi_folder/ --mode melody",
        "rnnkit generate runs/music-<stamp> --out piece.mid --primer my_tune.mid",
    )
    datasets = {
        "jsb": DataSet("jsb", "music", train_kw={"split": "train"}, test_kw={"split": "test"}),
    }
    formats = ("midi", "npz")

    def load(self, config) -> TaskData:
        return load_music(config)

    def build_model(self, config, data: TaskData):
        model = super().build_model(config, data)
        return model.set_params(low=data.extra["low"], high=data.extra["high"])

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        model.fit(data.train, validation_data=data.val, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        # rnnkit.models loads on use: start-up time (cli/__init__.py)
        from ...models.music_model import frequency_nll, repeat_scores

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
        text = result_line(results) + "\n" + self.verdict(results)
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
        piece = _frames_from_json(results["sample"], model.mode)
        real = _frames_from_json(results["sample_real"], model.mode)
        notes = music.to_notes(piece, model.mode, model.frames_per_quarter)
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

    def generate(self, model, args, config, console) -> None:
        """A piece after a primer, written as MIDI (``--out``), with its piano roll beside
        the real piece in a PNG next to it."""
        if not args.out:
            raise UsageError("--out: a music run writes a MIDI file; pass --out piece.mid")
        if args.prime is not None or args.condition or args.top_k is not None or args.plot:
            raise UsageError(
                "--prime, --condition, --top-k and --plot are not for a music run; "
                "hint: --primer FILE.mid, --length, --temperature, --seed"
            )
        if args.primer_frames is not None and args.primer_frames < 0:
            raise UsageError(f"--primer-frames: expected an integer >= 0, got {args.primer_frames}")
        if args.tempo is not None and not 1 <= args.tempo <= 1000:
            raise UsageError(f"--tempo: expected quarter notes per minute in [1, 1000], got {args.tempo}")
        if args.program is not None and not 0 <= args.program <= 127:
            raise UsageError(f"--program: expected a General MIDI program in [0, 127], got {args.program}")
        n_primer = config.primer_frames if args.primer_frames is None else args.primer_frames
        length = args.length if args.length is not None else 64 * model.frames_per_quarter
        temperature = args.temperature if args.temperature is not None else config.temperature
        primer, real, name = primer_frames(model, args.primer, config, n_primer, console)
        gen = model.generate(length, primer=primer, temperature=temperature, seed=args.seed)
        piece = gen if primer is None else np.concatenate([primer, gen])
        notes = music.to_notes(piece, model.mode, model.frames_per_quarter)
        if not len(notes):
            raise CliError("the generated piece is silent; hint: a higher --temperature, or train longer")
        out = Path(args.out)
        program = config.program if args.program is None else args.program
        write_midi(out, notes, tempo=args.tempo or config.tempo, program=program)
        console.note(
            f"wrote {out} ({len(piece)} frames: {0 if primer is None else len(primer)} of the primer "
            f"{name}, {len(gen)} generated; {len(notes)} notes)"
        )
        png = piano_roll_plot(
            piece,
            real,
            out.with_suffix(".png"),
            mode=model.mode,
            primer_frames=0 if primer is None else len(primer),
            low=model.low_,
            high=model.high_,
            real_name=name if real is not None else "none",
        )
        console.note(f"wrote {png}" if png is not None else plots.missing_note())
        console.result(str(out))

    def evaluation_data(self, config):
        loaded = self.load(config)  # pieces split by name, as for training
        return (loaded.test if loaded.test is not None else loaded.train), loaded.source


def primer_frames(model, source, config, n_frames: int, console):
    """(frames of the primer or None, the real piece to draw beside, its name).

    ``source``: a MIDI file, a name of the shipped chorales, "none", or None (the run's
    default: the first test chorale for a run on jsb, else none).
    """
    if source is None:
        source = None if config.data != "jsb" else music.jsb_chorales("test").names[0]
    if source is None or str(source).lower() == "none":
        return None, None, "none"
    path = Path(source)
    if path.suffix.lower() in MIDI_SUFFIXES or path.exists():
        if not path.is_file():
            raise CliError(
                f"--primer {source}: file not found; hint: a MIDI file, a chorale name "
                "(rnnkit.data.music.jsb_chorales().names) or none"
            )
        notes, name = _read_midi(path), path.name
    else:
        data = music.jsb_chorales()
        if source not in data.names:
            raise CliError(
                f"--primer {source}: not a file nor a chorale of the jsb set"
                f"{did_you_mean(str(source), data.names)}; hint: a MIDI file, a name "
                "such as bwv66.6, or none"
            )
        notes, name = data.notes[data.names.index(source)], source
    kept, dropped = music.clip_notes(notes, model.low_, model.high_)
    if dropped:
        console.note(
            f"note: {dropped} of the {len(notes)} notes of {name} lie outside the model's range "
            f"MIDI {model.low_}..{model.high_} and were dropped"
        )
    if not len(kept):
        raise CliError(
            f"--primer {source}: no note lies in the model's range MIDI "
            f"{model.low_}..{model.high_}; hint: transpose the file, or --primer none"
        )
    real = music.to_frames(kept, model.mode, model.frames_per_quarter, getattr(config, "part", None))
    return (real[:n_frames] if n_frames else None), real, name


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


TASK = MusicTask()
