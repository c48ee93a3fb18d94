"""Music: binary cross-entropy, the frame model's gradients, piano rolls, MIDI in and out."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.data import DataFormatError, music
from rnnkit.data.midi import midi_bytes, read_midi, write_midi
from rnnkit.models.music import MusicModel, bay_scores
from rnnkit.nn.losses import binary_cross_entropy_with_logits


# -- binary cross-entropy with logits ---------------------------------------------------------
def _bce_case(rng, shape=(4, 3, 5)):
    z = rng.normal(0, 3, shape)
    y = (rng.random(shape) < 0.3).astype(np.float64)
    mask = rng.random(shape[:-1]) < 0.7
    mask.flat[0] = True
    return z, y, mask


@pytest.mark.parametrize("with_mask", [False, True])
def test_bce_gradient_matches_central_differences(with_mask):
    z, y, mask = _bce_case(np.random.default_rng(0))
    m = mask if with_mask else None
    _, grad = binary_cross_entropy_with_logits(z, y, mask=m)
    num = numeric_grad(lambda: binary_cross_entropy_with_logits(z, y, mask=m)[0], z)
    assert rel_error(grad, num) < 1e-8
    if with_mask:
        assert np.all(grad[~mask] == 0)


def test_bce_matches_torch_sum_over_notes_mean_over_frames():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
    z, y, mask = _bce_case(np.random.default_rng(1))
    z[0, 0, :2] = [60.0, -60.0]  # saturated logits
    loss, grad = binary_cross_entropy_with_logits(z, y, mask=mask)
    zt = torch.tensor(z, requires_grad=True)
    per = torch.nn.BCEWithLogitsLoss(reduction="none")(zt, torch.tensor(y)).sum(-1)
    mt = torch.tensor(mask, dtype=torch.float64)
    ref = (per * mt).sum() / mt.sum()
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12 * max(1.0, abs(ref.item()))
    assert rel_error(grad, zt.grad.numpy()) < 1e-12


def test_bce_is_finite_and_exact_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 1000.0, -1000.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0]])
    loss, grad = binary_cross_entropy_with_logits(z, y)
    assert loss == 2000.0  # two confident mistakes of 1000 nats each
    assert np.array_equal(grad, [[0.0, 0.0, 1.0, -1.0]])


def test_bce_refuses_bad_targets_by_name():
    with pytest.raises(ValueError, match="targets: expected the shape"):
        binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"targets: expected values in \[0, 1\]"):
        binary_cross_entropy_with_logits(np.zeros((2, 3)), np.full((2, 3), 2.0))


# -- the frame model's gradient --------------------------------------------------------------
def _tiny_pieces(mode, rng, lengths=(5, 3, 4)):
    out = []
    for T in lengths:
        if mode == "poly":
            roll = np.zeros((T, 128), bool)
            roll[:, 60:64] = rng.random((T, 4)) < 0.5
            roll[0, 60] = roll[-1, 63] = True
            out.append(roll)
        else:
            toks = rng.choice([60, 61, 62, 63, music.HOLD, music.REST], size=T)
            toks[0], toks[-1] = 60, 63
            out.append(toks.astype(np.int64))
    return out


@pytest.mark.parametrize("mode", ["poly", "melody"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_model_gradient_matches_central_differences(mode, cell):
    rng = np.random.default_rng(3)
    pieces = _tiny_pieces(mode, rng)
    model = MusicModel(mode=mode, cell=cell, hidden_size=4, num_layers=2, dtype="float64", seed=0)
    model._validate_params()
    model.low_, model.high_ = 60, 63
    net = model._build_net(np.random.default_rng(0))
    for _, param, _ in net.named_parameters():
        param *= 2.0  # gradients well above the differences' rounding
    shifts = (0, -1, 0) if mode == "poly" else (0, 0, 0)  # poly: a transposed piece too
    batch = model._batch([model._encode(p, shift) for p, shift in zip(pieces, shifts, strict=False)])
    net.zero_grad()
    net.loss_and_grad(batch)
    for name, param, grad in net.named_parameters():
        num = numeric_grad(lambda: net._forward(batch)[0], param)
        assert rel_error(grad, num) < 1e-6, (name, rel_error(grad, num))
        assert np.any(grad), name


def test_transposition_keeps_pieces_in_range_and_moves_them():
    roll = np.zeros((3, 128), bool)
    roll[:, [60, 64]] = True
    model = MusicModel(transpose=5)
    model.low_, model.high_ = 58, 66
    (shifts,) = model._shifts([roll])
    assert shifts.tolist() == [-2, -1, 0, 1, 2]
    enc = model._encode(roll, 2)  # units 0..8 are pitches 58..66
    assert np.flatnonzero(enc[0]).tolist() == [62 - 58, 66 - 58]


def test_transpose_roll_moves_pitches_and_refuses_to_push_them_off_the_keyboard():
    roll = np.zeros((2, 128), bool)
    roll[0, 60], roll[1, 125] = True, True
    up = music.transpose_roll(roll, 2)
    assert np.flatnonzero(up[0]).tolist() == [62] and np.flatnonzero(up[1]).tolist() == [127]
    with pytest.raises(ValueError, match="shift: 3 semitones moves notes outside MIDI 0..127"):
        music.transpose_roll(roll, 3)
    assert np.array_equal(music.transpose_roll(up, -2), roll)


# -- piano rolls and melodies from a known score, built with mido ----------------------------
def _known_midi(path, tpb=96):
    mido = pytest.importorskip("mido", reason="reading MIDI needs mido")
    mid = mido.MidiFile(ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    # beat 0: C4 (60) for a half note and E4 (64) for a quarter; beat 1: G4 (67) quarter;
    # beat 2: an eighth D4 (62) and an eighth F4 (65) (F4 falls between quarter samples);
    # beat 3: rest; beat 4: C5 (72) quarter, with note-on velocity 0 as its note-off.
    events = [
        (0, "on", 60),
        (0, "on", 64),
        (96, "off", 64),
        (96, "on", 67),
        (192, "off", 60),
        (192, "off", 67),
        (192, "on", 62),
        (240, "off", 62),
        (240, "on", 65),
        (288, "off", 65),
        (384, "on", 72),
        (480, "on0", 72),
    ]
    now = 0
    for t, kind, pitch in events:
        msg = "note_off" if kind == "off" else "note_on"
        vel = 0 if kind != "on" else 90
        track.append(mido.Message(msg, note=pitch, velocity=vel, time=t - now))
        now = t
    mid.save(path)
    return path


def test_piano_roll_of_a_known_score_is_exact(tmp_path):
    notes = read_midi(_known_midi(tmp_path / "known.mid"))
    expect = np.zeros((5, 128), bool)
    expect[0, [60, 64]] = True
    expect[1, [60, 67]] = True
    expect[2, 62] = True
    expect[4, 72] = True
    assert np.array_equal(music.piano_roll(notes, 1), expect)
    sixteenths = music.piano_roll(notes, 4)
    assert sixteenths.shape == (20, 128)
    assert np.flatnonzero(sixteenths[:, 65]).tolist() == [10, 11]  # the eighth F4
    assert np.array_equal(sixteenths[::4], expect)


def test_melody_of_a_known_score(tmp_path):
    notes = read_midi(_known_midi(tmp_path / "known.mid"))
    H, R = music.HOLD, music.REST
    assert music.melody(notes, 1).tolist() == [64, 67, 62, R, 72]
    assert music.melody(notes, 2).tolist() == [64, H, 67, H, 62, 65, R, R, 72, H]
    back = music.melody_to_notes(music.melody(notes, 2), 2)
    assert back[:, :3].tolist() == [[0, 24, 64], [24, 24, 67], [48, 12, 62], [60, 12, 65], [96, 24, 72]]


def test_roll_to_notes_inverts_piano_roll():
    rng = np.random.default_rng(0)
    roll = rng.random((30, 128)) < 0.1
    notes = music.roll_to_notes(roll, 4)
    assert np.array_equal(music.piano_roll(notes, 4)[:30], roll[: len(music.piano_roll(notes, 4))])
    assert notes[:, 1].min() >= 6 and np.all(notes[:, 0] % 6 == 0)


# -- the MIDI writer ------------------------------------------------------------------------------
def test_midi_writer_round_trips_through_mido(tmp_path):
    mido = pytest.importorskip("mido", reason="the round trip reads with mido")
    notes = np.array([[0, 24, 60, 0], [0, 48, 48, 1], [24, 24, 60, 0], [48, 12, 62, 0], [60, 12, 64, 0]], np.int32)
    path = write_midi(tmp_path / "out.mid", notes, tempo=90, program=[52, 19], names=["top", "bass"])
    mid = mido.MidiFile(str(path))
    assert mid.type == 1 and mid.ticks_per_beat == 480 and len(mid.tracks) == 3
    tempos = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempos == [int(round(60_000_000 / 90))]
    assert [m.program for m in mid.tracks[1] if m.type == "program_change"] == [52]
    assert [m.program for m in mid.tracks[2] if m.type == "program_change"] == [19]
    # Every note-on has its note-off; the repeated C4 ends before it starts again.
    now, seen = 0, []
    for m in mid.tracks[1]:
        now += m.time
        if m.type in ("note_on", "note_off"):
            seen.append((now, m.type, m.note))
    assert seen == [
        (0, "note_on", 60),
        (480, "note_off", 60),
        (480, "note_on", 60),
        (960, "note_off", 60),
        (960, "note_on", 62),
        (1200, "note_off", 62),
        (1200, "note_on", 64),
        (1440, "note_off", 64),
    ]
    assert abs(mid.length - 3 * 60 / 90) < 1e-5  # 3 quarter notes at 90 a minute (tempo in whole us)
    back = read_midi(path)
    assert np.array_equal(
        back[np.lexsort((back[:, 2], back[:, 0]))][:, :3], notes[np.lexsort((notes[:, 2], notes[:, 0]))][:, :3]
    )


def test_midi_writer_refuses_bad_arguments_by_name():
    notes = np.array([[0, 24, 60, 0]])
    with pytest.raises(ValueError, match="tempo"):
        midi_bytes(notes, tempo=0)
    with pytest.raises(ValueError, match="program"):
        midi_bytes(notes, program=200)
    with pytest.raises(ValueError, match="notes: expected an array"):
        midi_bytes(np.zeros((2, 3), int))


# -- bad input ---------------------------------------------------------------------------------
def test_read_midi_refuses_non_midi_damaged_and_empty_files(tmp_path):
    mido = pytest.importorskip("mido", reason="reading MIDI needs mido")
    text = tmp_path / "notes.mid"
    text.write_text("this is not music\n")
    with pytest.raises(DataFormatError, match="not a MIDI file .it starts with b'this'"):
        read_midi(text)
    good = midi_bytes(np.array([[0, 24, 60, 0], [24, 24, 62, 0]]))
    cut = tmp_path / "cut.mid"
    cut.write_bytes(good[:30])
    with pytest.raises(DataFormatError, match="a damaged MIDI file, not readable"):
        read_midi(cut)
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    empty.save(tmp_path / "empty.mid")
    with pytest.raises(DataFormatError, match="contains no notes"):
        read_midi(tmp_path / "empty.mid")
    with pytest.raises(FileNotFoundError):
        read_midi(tmp_path / "missing.mid")


def test_notes_outside_the_models_range_are_refused_or_clipped():
    rng = np.random.default_rng(0)
    model = MusicModel(hidden_size=4, epochs=1, seed=0).fit(_tiny_pieces("poly", rng))
    assert (model.low_, model.high_) == (60, 63)
    roll = np.zeros((4, 128), bool)
    roll[:, 60] = True
    roll[1, [40, 90]] = True
    with pytest.raises(
        ValueError,
        match=r"primer\[0\]: expected pitches in the model's range 60..63, "
        r"got 2 pitch\(es\) outside it \(40, 90\)",
    ):
        model.generate(4, primer=roll, seed=0)
    kept, dropped = music.clip_notes(music.roll_to_notes(roll), model.low_, model.high_)
    assert dropped == 2 and set(kept[:, 2].tolist()) == {60}
    model.generate(4, primer=music.piano_roll(kept), seed=0)


# -- fitting, scoring, generating ------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["poly", "melody"])
def test_generation_is_reproducible_with_a_seed_and_survives_save_load(mode, tmp_path):
    from rnnkit.models import load_model

    rng = np.random.default_rng(0)
    pieces = _tiny_pieces(mode, rng, lengths=(8, 6, 7, 9))
    model = MusicModel(mode=mode, cell="gru", hidden_size=8, epochs=2, seed=0).fit(pieces)
    primer = pieces[0][:3]
    a = model.generate(12, primer=primer, temperature=0.9, seed=5)
    b = model.generate(12, primer=primer, temperature=0.9, seed=5)
    assert np.array_equal(a, b)
    assert a.shape == ((12, 128) if mode == "poly" else (12,))
    others = [model.generate(12, primer=primer, temperature=1.5, seed=s) for s in range(6, 10)]
    assert any(not np.array_equal(a, o) for o in others)
    model.save(tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert np.array_equal(again.generate(12, primer=primer, temperature=0.9, seed=5), a)
    assert again.evaluate(pieces) == pytest.approx(model.evaluate(pieces), rel=1e-6)
    if mode == "melody":
        full = np.concatenate([primer, a])
        assert not any(full[i] == music.HOLD and full[i - 1] == music.REST for i in range(1, len(full)))
        alone = model.generate(30, temperature=2.0, seed=1)
        assert alone[0] != music.HOLD


def test_fit_learns_a_repeating_chord_pattern_below_the_frequency_baseline():
    # Two chords alternating: a model with memory knows which comes next.
    roll = np.zeros((24, 128), bool)
    roll[0::2, [60, 64, 67]] = True
    roll[1::2, [62, 65, 69]] = True
    model = MusicModel(cell="gru", hidden_size=16, epochs=60, lr=0.02, seed=0).fit([roll] * 4)
    y = roll[:, 60:70]
    p = y.mean(axis=0).clip(1e-3, 1 - 1e-3)
    frequency_nll = float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum(axis=1).mean())
    assert model.evaluate([roll]) < 0.25 * frequency_nll
    assert model.frame_scores([roll])["accuracy"] > 0.9


def test_bay_scores_by_hand():
    pred = [np.array([[1, 1, 0], [0, 0, 1]])]
    true = [np.array([[1, 0, 0], [0, 1, 1]])]
    s = bay_scores(pred, true)  # TP 2, FP 1, FN 1
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 1)
    assert s["accuracy"] == pytest.approx(0.5) and s["f1"] == pytest.approx(4 / 6)


def test_model_refuses_bad_pieces_by_name():
    with pytest.raises(ValueError, match=r"pieces\[0\]: expected a piano roll \(T, 128\)"):
        MusicModel(epochs=1).fit([np.zeros((4, 88))])
    with pytest.raises(ValueError, match=r"pieces\[0\]: expected tokens in \[0, 129\]"):
        MusicModel(mode="melody", epochs=1).fit([np.array([60, 200])])
    with pytest.raises(ValueError, match="mode: expected one of"):
        MusicModel(mode="drums").fit([np.zeros((4, 128))])


# -- the shipped chorales --------------------------------------------------------------------------
def test_shipped_chorales_have_a_licence_and_a_fixed_split():
    data = music.jsb_chorales()
    assert "public-domain" in data.licence and "music21" in data.licence
    assert len(data.names) == len(set(data.names)) > 300
    assert data.splits == [music.split_of(n) for n in data.names]
    counts = {s: data.splits.count(s) for s in music.SPLITS}
    assert counts == {"train": 213, "valid": 63, "test": 71}
    assert all(len(music.piano_roll(n)) >= 8 for n in data.notes[:20])


def test_building_from_music21_reproduces_the_shipped_pieces(tmp_path):
    pytest.importorskip("music21", reason="building the set reads music21's corpus")
    path, report = music.build_jsb_chorales(tmp_path / "jsb.npz", limit=4)
    built = music.read_music_npz(path)
    shipped = music.jsb_chorales()
    for name, notes in zip(built.names, built.notes, strict=False):
        assert np.array_equal(shipped.notes[shipped.names.index(name)], notes), name
    assert report["read"] == len(built.names) >= 3


# -- the command line ---------------------------------------------------------------------------------
def _rnnkit(capsys, *argv):
    from rnnkit.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    from rnnkit.cli import main

    folder = tmp_path_factory.mktemp("runs") / "music"
    assert main(["train", "music", "--preset", "tiny", "--out", str(folder), "-q"]) == 0
    return folder


def test_train_music_writes_results_and_a_sample(music_run):
    import json

    results = json.loads((music_run / "metrics.json").read_text())["results"]
    assert results["metric"] == "NLL/frame (nats)" and results["split"] == "test"
    assert np.isfinite(results["model"]) and results["n"] == 3934
    assert 0 <= results["frame_accuracy"] <= 1 and 0 < results["repeat_accuracy"] < 1
    assert "independent notes (training frequencies)" in results["baselines"]
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    assert (music_run / "plots" / "sample.png").read_bytes()[:4] == b"\x89PNG"
    notes = read_midi(music_run / "plots" / "sample.mid")
    assert len(notes) and notes[:, 2].min() >= 36 and notes[:, 2].max() <= 81


def test_generate_music_writes_the_same_midi_for_the_same_seed(music_run, tmp_path, capsys):
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    for out in (a, b):
        code, _, err = _rnnkit(
            capsys, "generate", music_run, "--out", out, "--seed", 7, "--length", 12, "--tempo", 120, "--program", 52
        )
        assert code == 0, err
    assert a.read_bytes() == b.read_bytes()
    mido = pytest.importorskip("mido", reason="reading the MIDI file back needs mido")
    mid = mido.MidiFile(str(a))
    assert [m.program for t in mid.tracks for m in t if m.type == "program_change"] == [52]
    first_test = music.jsb_chorales("test")
    assert f"8 of the primer {first_test.names[0]}, 12 generated" in err
    notes = read_midi(a)
    assert np.array_equal(music.piano_roll(notes)[:8], music.piano_roll(first_test.notes[0])[:8])
    pytest.importorskip("matplotlib", reason="the PNG needs matplotlib")
    assert a.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_generate_music_primer_from_midi_clips_outside_notes(music_run, tmp_path, capsys):
    pytest.importorskip("mido", reason="reading a primer needs mido")
    primer = write_midi(
        tmp_path / "tune.mid", np.array([[0, 24, 60, 0], [24, 24, 100, 0], [24, 24, 64, 0], [48, 24, 20, 0]])
    )
    code, _, err = _rnnkit(capsys, "generate", music_run, "--out", tmp_path / "p.mid", "--primer", primer, "--seed", 1)
    assert code == 0, err
    assert "note: 2 of the 4 notes of tune.mid lie outside the model's range MIDI 36..81" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"RIFF1234 not midi", "not a MIDI file"),
        (midi_bytes(np.array([[0, 24, 60, 0]]))[:40], "a damaged MIDI file"),
    ],
)
def test_generate_music_bad_primer_is_one_error_line(music_run, tmp_path, capsys, content, message):
    pytest.importorskip("mido", reason="reading a primer needs mido")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(content)
    code, out, err = _rnnkit(capsys, "generate", music_run, "--out", tmp_path / "p.mid", "--primer", bad)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_generate_music_primer_without_notes_in_range(music_run, tmp_path, capsys):
    pytest.importorskip("mido", reason="reading a primer needs mido")
    high = write_midi(tmp_path / "high.mid", np.array([[0, 24, 110, 0]]))
    code, _, err = _rnnkit(capsys, "generate", music_run, "--out", tmp_path / "p.mid", "--primer", high)
    assert code == 1 and "no note lies in the model's range MIDI 36..81" in err


def test_train_music_on_a_folder_of_midi_files(tmp_path, capsys):
    pytest.importorskip("mido", reason="reading MIDI needs mido")
    folder = tmp_path / "midi"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        pitches = rng.integers(55, 70, 12)
        notes = np.stack([np.arange(12) * 24, np.full(12, 24), pitches, np.zeros(12, int)], 1)
        write_midi(folder / f"tune{k}.mid", notes)
    (folder / "readme.txt").write_text("not read")
    code, out, err = _rnnkit(
        capsys,
        "train",
        "music",
        "--preset",
        "tiny",
        "--data",
        folder,
        "--mode",
        "melody",
        "--out",
        tmp_path / "run",
        "--no-plots",
    )
    assert code == 0, err
    assert "3 pieces are too few to split by name; all train" in err
    assert "training NLL/frame" in out


def test_datasets_lists_the_chorales_and_refuses_unknown_builds(capsys):
    code, out, _ = _rnnkit(capsys, "datasets")
    assert code == 0 and "jsb" in out and ".mid .midi" in out
    code, _, err = _rnnkit(capsys, "datasets", "build", "mnist")
    assert code == 2 and "expected a set name, one of jsb, got 'mnist'" in err


def test_evaluate_music_run_on_its_test_split_and_on_a_midi_file(music_run, tmp_path, capsys):
    code, out, err = _rnnkit(capsys, "evaluate", music_run)
    assert code == 0, err
    assert out.startswith("test NLL/frame (nats) on 3,934 frames")
    pytest.importorskip("mido", reason="reading MIDI needs mido")
    tune = write_midi(tmp_path / "tune.mid", np.array([[0, 24, 60, 0], [24, 48, 64, 0]]))
    code, out, err = _rnnkit(capsys, "evaluate", music_run, "--data", tune)
    assert code == 0, err
    assert "NLL/frame (nats) on 3 frames" in out
