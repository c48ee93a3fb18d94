"""Checkpoint format: exact round trips, every documented failure, and atomic replacement."""

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rnnkit.train.checkpoint as ckpt
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rnnkit.train.rngstate import rng_state, set_rng_state


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "model.weight_ih_l0": rng.standard_normal((8, 3)).astype(np.float32),
        "model.bias_hh_l0": rng.standard_normal(8),
        "optim.model.weight_ih_l0.exp_avg": np.zeros((8, 3), np.float32),
        "optim.step": np.array(17, dtype=np.int64),
        "tokens": np.arange(10, dtype=np.int32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        "empty": np.zeros((0, 5)),
        "mask": np.array([True, False, True]),
    }


def _only_file(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- round trips -------------------------------------------------------------------------
def test_round_trip_arrays_and_meta(tmp_path):
    arrays = _arrays()
    meta = {
        "step": 17,
        "big": 2**200 + 1,
        "neg": -(2**70),
        "lr": 0.1,
        "best": float("inf"),
        "name": "lstm",
        "sizes": [1, 2, 3],
        "nested": {"a": None, "b": True},
    }
    out = save_checkpoint(tmp_path / "run.npz", arrays, meta)
    assert out == tmp_path / "run.npz"
    loaded, loaded_meta = load_checkpoint(out)
    assert loaded_meta == meta and loaded_meta["big"] == 2**200 + 1
    assert list(loaded) == list(arrays)
    for name, a in arrays.items():
        assert loaded[name].dtype == a.dtype and loaded[name].shape == a.shape
        np.testing.assert_array_equal(loaded[name], a)
    assert _only_file(tmp_path) == ["run.npz"]


def test_file_is_an_npz_with_a_json_manifest(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.ones((2, 2), np.float32)}, {"k": 1})
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["w"], np.ones((2, 2)))
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("meta.json"))
    assert manifest["format"] == "rnnkit-checkpoint" and manifest["version"] == 1
    assert manifest["meta"] == {"k": 1}
    assert manifest["arrays"]["w"]["shape"] == [2, 2]
    assert manifest["arrays"]["w"]["dtype"] == "<f4"


def test_same_content_gives_same_bytes(tmp_path):
    a = save_checkpoint(tmp_path / "a.npz", _arrays(), {"x": 1})
    b = save_checkpoint(tmp_path / "b.npz", _arrays(), {"x": 1})
    assert a.read_bytes() == b.read_bytes()


def test_overwrite_replaces_previous(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.zeros(3)}, {"step": 1})
    save_checkpoint(path, {"v": np.ones(2)}, {"step": 2})
    arrays, meta = load_checkpoint(path)
    assert list(arrays) == ["v"] and meta == {"step": 2}


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_rng_state_continues_identically(tmp_path, bit_generator):
    gen = np.random.Generator(bit_generator(1234))
    gen.standard_normal(11)
    save_checkpoint(tmp_path / "r.npz", {}, {"rng": rng_state(gen)})
    expected = gen.standard_normal(50)
    _, meta = load_checkpoint(tmp_path / "r.npz")
    other = np.random.Generator(bit_generator(0))
    set_rng_state(other, meta["rng"])
    np.testing.assert_array_equal(other.standard_normal(50), expected)


def test_set_rng_state_refuses_other_bit_generator():
    state = rng_state(np.random.Generator(np.random.MT19937(0)))
    with pytest.raises(ValueError, match="MT19937.*PCG64"):
        set_rng_state(np.random.default_rng(0), state)
    with pytest.raises(TypeError, match="gen: expected a numpy.random.Generator"):
        rng_state(np.random.RandomState(0))


# -- refusing bad input on save ----------------------------------------------------------
def test_refuses_object_dtype(tmp_path):
    with pytest.raises(TypeError, match=r"arrays\['bad'\].*object.*pickle"):
        save_checkpoint(tmp_path / "c.npz", {"bad": np.array([{}, None], dtype=object)}, {})
    assert _only_file(tmp_path) == []


@pytest.mark.parametrize("name", ["", "a/b", "a\\b", ".hidden", "tab\there", 3])
def test_refuses_bad_names(tmp_path, name):
    with pytest.raises(CheckpointError, match="invalid array name"):
        save_checkpoint(tmp_path / "c.npz", {name: np.zeros(1)}, {})


@pytest.mark.parametrize(
    "meta, where",
    [
        ({"x": np.float32(1.0)}, r"meta\['x'\]: expected a JSON value.*float32"),
        ({"x": [1, {"y": object()}]}, r"meta\['x'\]\[1\]\['y'\]"),
        ({"x": {1: "a"}}, r"meta\['x'\]: expected string keys"),
        ({"x": np.zeros(2)}, "arrays belong in `arrays`"),
    ],
)
def test_refuses_non_json_meta(tmp_path, meta, where):
    with pytest.raises(TypeError, match=where):
        save_checkpoint(tmp_path / "c.npz", {}, meta)


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        save_checkpoint(tmp_path / "nope" / "c.npz", {}, {})


# -- refusing bad files on load ----------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"missing\.npz: file not found"):
        load_checkpoint(tmp_path / "missing.npz")


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", _arrays(), {})
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 30):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="c.npz: not a readable zip"):
            load_checkpoint(path)


def test_foreign_plain_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(CheckpointError, match="notes.txt: not a readable zip"):
        load_checkpoint(path)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.npz"):
        load_checkpoint(empty)


def test_foreign_npz(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"plain\.npz: a NumPy \.npz file without an rnnkit manifest"):
        load_checkpoint(tmp_path / "plain.npz")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(CheckpointError, match="a zip file without an rnnkit manifest"):
        load_checkpoint(tmp_path / "other.zip")


def _rewrite_manifest(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(entries["meta.json"])
    edit(manifest)
    entries["meta.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def test_wrong_format_name(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(2)}, {})
    _rewrite_manifest(path, lambda m: m.update(format="something-else"))
    with pytest.raises(CheckpointError, match="format is 'something-else', expected 'rnnkit-checkpoint'"):
        load_checkpoint(path)


def test_newer_version(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(2)}, {})
    _rewrite_manifest(path, lambda m: m.update(version=2))
    with pytest.raises(CheckpointError, match="format version 2 .*newer.*reads version 1.*upgrade"):
        load_checkpoint(path)
    _rewrite_manifest(path, lambda m: m.update(version="1"))
    with pytest.raises(CheckpointError, match="invalid format version '1'"):
        load_checkpoint(path)


def test_missing_and_unlisted_arrays(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(2)}, {})
    _rewrite_manifest(path, lambda m: m["arrays"].update(v=m["arrays"]["w"]))
    with pytest.raises(CheckpointError, match="array 'v' is listed but missing"):
        load_checkpoint(path)
    _rewrite_manifest(path, lambda m: m.update(arrays={}))
    with pytest.raises(CheckpointError, match=r"entries not in the manifest: \['w.npy'\]"):
        load_checkpoint(path)


def test_manifest_shape_or_dtype_disagrees(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros((2, 3))}, {})
    _rewrite_manifest(path, lambda m: m["arrays"]["w"].update(shape=[3, 2]))
    with pytest.raises(CheckpointError, match=r"array 'w' is corrupted: shape \[2, 3\]"):
        load_checkpoint(path)
    _rewrite_manifest(path, lambda m: m["arrays"]["w"].update(shape=[2, 3], dtype="<f4"))
    with pytest.raises(CheckpointError, match="array 'w' is corrupted: dtype <f8"):
        load_checkpoint(path)


def test_corrupted_byte(tmp_path):
    values = np.linspace(0.0, 1.0, 1000)
    path = save_checkpoint(tmp_path / "c.npz", {"w": values}, {})
    data = bytearray(path.read_bytes())
    # Flip one bit inside the array's data (it is stored uncompressed, so it is findable).
    offset = bytes(data).index(values[500:502].tobytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="c.npz: array 'w' is corrupted"):
        load_checkpoint(path)


# -- atomicity ---------------------------------------------------------------------------
def test_failure_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.arange(4.0)}, {"step": 1})
    before = path.read_bytes()
    real_write = np.lib.format.write_array
    calls = []

    def failing_write(fp, array, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real_write(fp, array, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, {"a": np.zeros(100), "b": np.ones(100)}, {"step": 2})
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert _only_file(tmp_path) == ["c.npz"]
    arrays, meta = load_checkpoint(path)
    assert meta == {"step": 1}


def test_failure_at_rename_keeps_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.arange(4.0)}, {"step": 1})

    def failing_replace(src, dst):
        raise PermissionError("simulated")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        save_checkpoint(path, {"w": np.zeros(4)}, {"step": 2})
    assert _only_file(tmp_path) == ["c.npz"]
    assert load_checkpoint(path)[1] == {"step": 1}


_SAVE_LOOP = """
import sys
import numpy as np
from rnnkit.train.checkpoint import save_checkpoint
path = sys.argv[1]
big = np.empty(2_000_000)  # 16 MB: most of each iteration is spent writing
for i in range(1_000_000):
    big.fill(i)
    save_checkpoint(path, {"big": big, "i": np.array(i)}, {"i": i})
    print(i, flush=True)
"""


def test_sigkill_during_saves_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "c.npz"
    src = str(Path(ckpt.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", _SAVE_LOOP, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(3):  # let a few saves complete...
            assert proc.stdout.readline(), "the saving process died early"
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # ...then kill one while its temp file is open
            if any(n.endswith(".tmp") for n in _only_file(tmp_path)):
                break
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    arrays, meta = load_checkpoint(path)
    assert meta["i"] >= 2 and int(arrays["i"]) == meta["i"]
    assert arrays["big"].shape == (2_000_000,) and np.all(arrays["big"] == meta["i"])
    # Only a kill can leave a temporary file, and it never has the target's name.
    stray = [n for n in _only_file(tmp_path) if n != "c.npz"]
    assert all(n.startswith(".c.npz.") and n.endswith(".tmp") for n in stray)
