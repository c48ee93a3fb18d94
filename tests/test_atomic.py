"""The one atomic writer (rnnkit.utils.atomic) and every writer built on it.

A failure in the middle of a write leaves the old file intact and no temporary file behind;
a completed write fsyncs the file and its folder.
"""

import os

import numpy as np
import pytest

from rnnkit.utils import atomic
from rnnkit.utils.atomic import atomic_write, write_bytes_atomic, write_json_atomic, write_text_atomic


class Boom(RuntimeError):
    pass


@pytest.fixture
def fsyncs(monkeypatch):
    """Count os.fsync calls: the file descriptors and whether each is a directory."""
    calls = []
    real = os.fsync

    def counting(fd):
        calls.append(os.path.isdir(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else None)
        return real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def _left(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("mode, data", [("wb", b"new bytes"), ("w", "new text\n")])
def test_atomic_write_replaces_the_file_and_fsyncs_file_and_folder(tmp_path, fsyncs, mode, data):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_write(target, mode) as fh:
        fh.write(data)
        assert target.read_bytes() == b"old"  # nothing visible before the block ends
    assert target.read_bytes() == (data if mode == "wb" else data.encode())
    assert _left(tmp_path) == ["out.bin"]
    assert len(fsyncs) == 2
    if fsyncs[0] is not None:  # /proc tells a folder from a file
        assert fsyncs == [False, True]


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path, fsyncs):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old contents")
    with pytest.raises(Boom), atomic_write(target, "wb") as fh:
        fh.write(b"half of the new")
        raise Boom()
    assert target.read_bytes() == b"old contents"
    assert _left(tmp_path) == ["model.npz"]
    assert fsyncs == []  # nothing was committed


def test_a_failing_rename_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def refuse(src, dst):
        raise OSError("rename refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert _left(tmp_path) == ["a.txt"]


def test_whole_content_forms_fsync_and_write(tmp_path, fsyncs):
    write_bytes_atomic(tmp_path / "sub" / "b.bin", b"\x00\x01")
    write_text_atomic(tmp_path / "t.txt", "é\n")
    write_json_atomic(tmp_path / "j.json", {"x": float("nan")})
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_bytes() == "é\n".encode()
    assert (tmp_path / "j.json").read_text() == '{\n "x": null\n}\n'
    assert len(fsyncs) == 6  # a file and its folder, three times


def test_atomic_write_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="mode: expected 'wb' or 'w', got 'a'"), atomic_write(tmp_path / "x", "a"):
        pass
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "missing" / "x", "wb", parents=False):
        pass
    assert _left(tmp_path) == []


def test_the_temporary_name_is_one_clean_stale_temps_knows(tmp_path, monkeypatch):
    seen = []
    real = atomic._create_temp

    def spy(path):
        tmp, fd = real(path)
        seen.append(tmp)
        return tmp, fd

    monkeypatch.setattr(atomic, "_create_temp", spy)
    write_text_atomic(tmp_path / "f.txt", "x")
    assert seen[0].name.startswith(".f.txt.") and seen[0].name.endswith(".tmp")
    assert str(os.getpid()) in seen[0].name


# -- the writers built on it -------------------------------------------------------------------
def _boom(*args, **kwargs):
    raise Boom()


def test_checkpoint_failure_mid_write_keeps_the_old_checkpoint(tmp_path, monkeypatch, fsyncs):
    from rnnkit.train import checkpoint

    path = tmp_path / "ck.npz"
    checkpoint.save_checkpoint(path, {"w": np.arange(3.0)}, {"step": 1})
    assert len(fsyncs) == 2
    monkeypatch.setattr(np.lib.format, "write_array", _boom)
    with pytest.raises(Boom):
        checkpoint.save_checkpoint(path, {"w": np.arange(5.0)}, {"step": 2})
    arrays, meta = checkpoint.load_checkpoint(path)
    assert meta == {"step": 1} and arrays["w"].tolist() == [0.0, 1.0, 2.0]
    assert _left(tmp_path) == ["ck.npz"]


def test_metric_log_fsyncs_and_survives_a_failure(tmp_path, monkeypatch, fsyncs):
    from rnnkit.train import callbacks

    class Ctx:
        class history:
            epochs = [{"epoch": 0, "loss": 1.5}]

    log = callbacks.MetricLog(tmp_path / "metrics.csv")
    log.on_epoch_end(Ctx)
    assert (tmp_path / "metrics.csv").read_text() == "epoch,loss\n0,1.5\n"
    assert len(fsyncs) == 2
    monkeypatch.setattr(callbacks.csv, "DictWriter", _boom)
    with pytest.raises(Boom):
        log.on_epoch_end(Ctx)
    assert (tmp_path / "metrics.csv").read_text() == "epoch,loss\n0,1.5\n"
    assert _left(tmp_path) == ["metrics.csv"]


def test_vocab_save_fsyncs_and_survives_a_failure(tmp_path, monkeypatch, fsyncs):
    from rnnkit.models import vocab as vocab_mod

    v = vocab_mod.Vocab(["a", "b"])
    path = v.save(tmp_path / "vocab.json")
    assert vocab_mod.Vocab.load(path).to_dict() == v.to_dict()
    assert len(fsyncs) == 2
    before = path.read_bytes()
    monkeypatch.setattr(vocab_mod.json, "dumps", _boom)
    with pytest.raises(Boom):
        vocab_mod.Vocab(["c"]).save(path)
    assert path.read_bytes() == before
    assert _left(tmp_path) == ["vocab.json"]


def test_plots_write_through_the_atomic_writer(tmp_path, fsyncs):
    pytest.importorskip("matplotlib")
    from rnnkit.utils import plots

    out = plots.loss_curves([{"epoch": 0, "loss": 2.0}, {"epoch": 1, "loss": 1.0}], None, tmp_path / "loss.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _left(tmp_path) == ["loss.png"] and len(fsyncs) == 2


def test_atomic_savefig_survives_a_failing_savefig(tmp_path):
    pytest.importorskip("matplotlib")
    from rnnkit.utils import plots

    target = tmp_path / "fig.svg"
    target.write_text("old")
    fig = plots._figure()
    fig.add_subplot().plot([1, 2, 3])
    real = fig.savefig

    def half_then_fail(fh, **kwargs):
        fh.write(b"<?xml half")
        raise Boom()

    fig.savefig = half_then_fail
    with pytest.raises(Boom):
        atomic.atomic_savefig(fig, target)
    fig.savefig = real
    assert target.read_text() == "old" and _left(tmp_path) == ["fig.svg"]
    atomic.atomic_savefig(fig, target)
    assert target.read_text().lstrip().startswith("<?xml")
