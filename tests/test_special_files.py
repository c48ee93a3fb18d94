"""Readers open regular files only, of bounded size, and writers name the user's path.

A FIFO named ``model.npz`` would block the first read forever and ``/dev/zero`` never
ends: every reader must refuse them by name before reading. The in-process tests run
under an alarm, and the command-line ones in a subprocess with a timeout, so a
regression fails instead of hanging the suite.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data import read_conllu, read_pairs_tsv, read_sequences_npz, read_text
from rnnkit.data.pianoroll import MAX_FRAMES, n_frames, piano_roll, read_music_npz
from rnnkit.data.tabular import read_sequences_csv, read_series_csv
from rnnkit.data.ts_format import looks_like_ucr, read_ts, read_ucr
from rnnkit.models import load_model
from rnnkit.models.vocab import Vocab
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rnnkit.utils import files
from rnnkit.utils.atomic import atomic_write, write_bytes_atomic

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero are POSIX")


@pytest.fixture(autouse=True)
def _no_hang():
    """Fail (TimeoutError) a test that blocks for more than 10 seconds."""

    def _raise(signum, frame):
        raise TimeoutError("blocked: a reader waited on a FIFO or read a device without end")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "model.npz"
    os.mkfifo(path)
    return path


@pytest.fixture
def zero_link(tmp_path) -> Path:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    path = tmp_path / "zero.npz"
    path.symlink_to("/dev/zero")
    return path


# -- the helper ------------------------------------------------------------------------------
def test_open_regular_refuses_a_fifo_at_once_by_name(fifo):
    start = time.perf_counter()
    with pytest.raises(files.FileRefusedError, match=r"model\.npz: is a FIFO \(named pipe\), not a regular file"):
        files.open_regular(fifo, what="a model file", max_bytes=100)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("name", ["/dev/zero", "link"])
def test_open_regular_refuses_dev_zero_and_a_link_to_it(name, zero_link):
    path = zero_link if name == "link" else Path(name)
    with pytest.raises(files.FileRefusedError, match="is a character device") as info:
        files.read_regular_bytes(path, what="a model file", max_bytes=2**40)
    assert str(info.value).startswith(str(path))
    if name == "link":
        assert "it resolves to /dev/zero" in str(info.value)


def test_open_regular_refuses_a_folder_and_a_socket(tmp_path):
    with pytest.raises(files.FileRefusedError, match="is a directory"):
        files.open_regular(tmp_path, what="a text file", max_bytes=100)
    short = tempfile.mkdtemp(prefix="rk")  # socket paths are limited to about 100 bytes
    path = Path(short) / "s.npz"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(files.FileRefusedError, match="is a socket"):
            files.open_regular(path, what="a text file", max_bytes=100)
    path.unlink()
    os.rmdir(short)


def test_open_regular_checks_the_ceiling_before_reading_and_reads_a_small_file(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 101)
    with pytest.raises(files.FileRefusedError, match=r"big\.txt: 101 bytes is larger than the 100 bytes accepted"):
        files.open_regular(path, what="a text file", max_bytes=100)
    assert files.read_regular_bytes(path, what="a text file", max_bytes=101) == b"x" * 101
    with pytest.raises(FileNotFoundError, match="missing.txt: file not found"):
        files.open_regular(tmp_path / "missing.txt", what="a text file", max_bytes=100)


# -- model files -----------------------------------------------------------------------------
def test_load_model_and_load_checkpoint_refuse_a_fifo_and_dev_zero(fifo, zero_link):
    for path in (fifo, zero_link):
        with pytest.raises(CheckpointError, match="not a regular file"):
            load_checkpoint(path)
        with pytest.raises(ValueError, match="not a regular file"):
            load_model(path)


def test_load_checkpoint_refuses_a_file_far_over_the_ceiling_before_reading(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(1000)}, {})
    monkeypatch.setattr(files, "MODEL_FILE_OVERHEAD", 0)
    import rnnkit.train.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "MODEL_FILE_OVERHEAD", 0)
    with pytest.raises(CheckpointError, match="is larger than the 100 bytes accepted for a checkpoint file"):
        load_checkpoint(path, max_bytes=100)
    assert load_checkpoint(path)[0]["w"].shape == (1000,)


def _cli(*argv, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnkit", *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("command", [["info"], ["predict", "--text", "a b"]])
def test_cli_refuses_a_fifo_and_dev_zero_model_in_one_line(command, fifo, zero_link, tmp_path):
    signal.alarm(0)  # the subprocess has its own timeout
    for path, kind in ((fifo, "FIFO"), (zero_link, "character device")):
        done = _cli(command[0], path.name, *command[1:], cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        err = done.stderr.strip()
        assert err.startswith(f"error: {path.name}: is a {kind}") and "\n" not in err, err
        assert "internal error" not in err


# -- data readers ----------------------------------------------------------------------------
READERS = {
    "text": read_text,
    "tsv": read_pairs_tsv,
    "conllu": read_conllu,
    "ts": read_ts,
    "ucr": read_ucr,
    "csv": read_series_csv,
    "sequences csv": read_sequences_csv,
    "npz": read_sequences_npz,
    "music npz": read_music_npz,
    "vocab": Vocab.load,
}


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_every_data_reader_refuses_a_fifo_and_dev_zero(reader, fifo, zero_link):
    for path in (fifo, zero_link):
        with pytest.raises(files.FileRefusedError, match="not a regular file") as info:
            reader(path)
        assert str(info.value).startswith(str(path))


def test_the_format_sniffer_does_not_block_on_a_fifo(fifo):
    assert looks_like_ucr(fifo) is False


def test_text_readers_refuse_a_file_over_the_text_ceiling(tmp_path, monkeypatch):
    path = tmp_path / "corpus.txt"
    path.write_text("hello world\n" * 10)
    assert read_text(path).startswith("hello")
    monkeypatch.setattr(files, "MAX_TEXT_BYTES", 50)
    with pytest.raises(files.FileRefusedError, match=r"corpus\.txt: 120 bytes is larger than the 50 bytes accepted"):
        read_text(path)


def test_config_file_refuses_a_fifo(fifo):
    from rnnkit.cli.options import ConfigError, read_config_file

    with pytest.raises(ConfigError, match="--config .*model.npz: is a FIFO"):
        read_config_file(fifo)


# -- MIDI: few bytes, no expansion to gigabytes ---------------------------------------------
def _vlq_max() -> bytes:
    return b"\xff\xff\xff\x7f"  # the largest delta time a MIDI file can hold: 2**28 - 1 ticks


def _long_pause_midi() -> bytes:
    """A ~100-byte MIDI file: one note held through eight maximal delta times."""
    events = b"\x00\x90\x3c\x40"  # note on, middle C
    events += (_vlq_max() + b"\xff\x01\x00") * 7  # empty text events after long pauses
    events += _vlq_max() + b"\x80\x3c\x40"  # note off
    events += b"\x00\xff\x2f\x00"  # end of track
    header = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x00\x00\x01\x00\x01"  # format 0, 1 track, 1 tick/beat
    return header + b"MTrk" + len(events).to_bytes(4, "big") + events


def test_a_tiny_midi_with_maximal_delta_times_is_refused_before_it_expands(tmp_path):
    pytest.importorskip("mido", reason="reading MIDI needs mido")
    from rnnkit.data import DataFormatError
    from rnnkit.data.midi import read_midi

    path = tmp_path / "pause.mid"
    path.write_bytes(_long_pause_midi())
    assert path.stat().st_size < 110
    with pytest.raises(DataFormatError, match=f"more than the {MAX_FRAMES // 4} accepted") as info:
        read_midi(path)
    assert str(path) in str(info.value)


def test_midi_reader_refuses_a_fifo_and_a_file_over_its_ceiling(fifo, tmp_path, monkeypatch):
    pytest.importorskip("mido", reason="reading MIDI needs mido")
    from rnnkit.data.midi import read_midi

    with pytest.raises(files.FileRefusedError, match="is a FIFO"):
        read_midi(fifo)
    path = tmp_path / "pause.mid"
    path.write_bytes(_long_pause_midi())
    monkeypatch.setattr(files, "MAX_MIDI_BYTES", 50)
    with pytest.raises(files.FileRefusedError, match="accepted for a MIDI file"):
        read_midi(path)


def test_frames_are_bounded_before_a_roll_is_allocated():
    notes = np.array([[0, 24 * MAX_FRAMES, 60, 0]], np.int64)  # MAX_FRAMES quarter notes
    assert n_frames(notes, 1) == MAX_FRAMES
    with pytest.raises(ValueError, match=f"more than the {MAX_FRAMES} frames accepted"):
        n_frames(notes, 4)
    with pytest.raises(ValueError, match="frames accepted"):
        piano_roll(np.array([[0, 2**30, 60, 0]], np.int64), 1)


# -- writers name the user's path ------------------------------------------------------------
def _refused_write(path) -> str:
    with pytest.raises(OSError) as info:
        write_bytes_atomic(path, b"data")
    text = str(info.value)
    assert str(path) in text and ".tmp" not in text, text
    return text


def test_atomic_write_names_the_target_not_its_temporary_file(tmp_path):
    assert "it is a folder; expected a file name" in _refused_write(tmp_path)
    (tmp_path / "plain").write_text("x")
    assert f"{tmp_path / 'plain'} is a file, not a folder" in _refused_write(tmp_path / "plain" / "x.mid")
    if os.path.isdir("/proc"):
        _refused_write(Path("/proc/x.mid"))
    with atomic_write(tmp_path / "fine.bin") as fh:  # and an ordinary write still works
        fh.write(b"ok")
    assert (tmp_path / "fine.bin").read_bytes() == b"ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine.bin", "plain"]


def test_generate_out_errors_name_the_users_path(tmp_path, capsys):
    from rnnkit.cli import main

    signal.alarm(60)  # trains a tiny model first
    run = tmp_path / "run"
    assert main(["train", "music", "--preset", "tiny", "--out", str(run), "-q"]) == 0
    capsys.readouterr()
    (tmp_path / "plain").write_text("x")
    targets = [run, tmp_path / "plain" / "x.mid"] + ([Path("/proc/x.mid")] if os.path.isdir("/proc") else [])
    for out in targets:
        assert main(["generate", str(run), "--out", str(out), "--length", "4"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {out}: cannot write it") and ".tmp" not in err, err
        assert "\n" not in err and "internal error" not in err


def test_a_run_folder_with_a_fifo_for_its_description_is_refused(tmp_path):
    from rnnkit.cli.runs import Run, RunError

    folder = tmp_path / "run"
    folder.mkdir()
    os.mkfifo(folder / "run.json")
    os.mkfifo(folder / "config.json")
    with pytest.raises(RunError, match="not a run folder"):
        Run.open(folder)
    with pytest.raises(RunError, match=r"run\.json: unreadable \(.*is a FIFO"):
        Run(folder).info()
    with pytest.raises(RunError, match=r"config\.json: missing or unreadable \(.*is a FIFO"):
        Run(folder).read_config()
