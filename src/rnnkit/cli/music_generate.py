"""``rnnkit generate`` for a music run: a primer in, a MIDI file and a piano-roll PNG out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._base import CliError, UsageError


def primer_frames(model, source, config, n_frames: int, console):
    """(frames of the primer or None, the real piece to draw beside, its name).

    ``source``: a MIDI file, a name of the shipped chorales, "none", or None (the run's
    default: the first test chorale for a run on jsb, else none).
    """
    from ..data import pianoroll as music
    from .tasks.music import to_frames

    if source is None:
        source = None if config.data != "jsb" else music.jsb_chorales("test").names[0]
    if source is None or str(source).lower() == "none":
        return None, None, "none"
    path = Path(source)
    if path.suffix.lower() in (".mid", ".midi") or path.exists():
        if not path.is_file():
            raise CliError(
                f"--primer {source}: file not found; hint: a MIDI file, a chorale name "
                "(rnnkit.data.music.jsb_chorales().names) or none"
            )
        from ..data.midi import read_midi

        try:
            notes = read_midi(path)
        except ImportError as exc:
            raise CliError(str(exc)) from None
        name = path.name
    else:
        data = music.jsb_chorales()
        if source not in data.names:
            from .config import did_you_mean

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
    real = to_frames(kept, model.mode, model.frames_per_quarter, getattr(config, "part", None))
    return (real[:n_frames] if n_frames else None), real, name


def generate_music(model, args, config, console) -> None:
    from ..data.midi import write_midi
    from .tasks.music import piano_roll_plot, to_notes

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
    notes = to_notes(piece, model.mode, model.frames_per_quarter)
    if not len(notes):
        raise CliError("the generated piece is silent; hint: a higher --temperature, or train longer")
    out = Path(args.out)
    write_midi(
        out, notes, tempo=args.tempo or config.tempo, program=config.program if args.program is None else args.program
    )
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
    if png is not None:
        console.note(f"wrote {png}")
    else:
        from ..utils import plots

        console.note(plots.missing_note())
    console.result(str(out))
