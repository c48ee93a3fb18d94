"""The fault battery, files: hostile model and checkpoint files are refused with one clear
error (a CheckpointError naming the problem; one ``error:`` line and exit code 1 in the CLI),
quickly and before any array data is read; an intact file always loads."""

import json
import time
import zipfile
import zlib

import numpy as np
import pytest
from fault_util import cli, damage, edit_manifest, fuzz, npy_header, one_line_error, read_entries, tally, write_entries
from hypothesis import given
from hypothesis import strategies as st
from linreg import LinReg

from rnnkit.models import SequenceClassifier, load_model
from rnnkit.models.base import _ADDED_SINCE_V1
from rnnkit.train import TrainConfig, Trainer
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

FAST = 0.1  # seconds: the bar for refusing a file, whatever its size


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    """A small fitted classifier's file: its bytes, and its arrays and params to compare."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 6, 2)).astype("float32")
    y = np.array(["a", "b", "c"] * 8)
    model = SequenceClassifier(hidden_size=4, epochs=1, batch_size=8, seed=0).fit(X, y)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    model.save(path)
    return path.read_bytes(), model.net_.state_dict(), model.get_params()


@pytest.fixture(scope="module")
def trainer_bytes(tmp_path_factory):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 3))
    trainer = Trainer(LinReg(), TrainConfig(epochs=1, progress=False))
    trainer.fit([(X[:16], X[:16, :1]), (X[16:], X[16:, :1])])
    path = tmp_path_factory.mktemp("trainer") / "trainer.npz"
    trainer.save(path)
    return path.read_bytes(), trainer.model.state_dict()


def load_outcome(path, original_arrays, original_params) -> str:
    """Load ``path`` as a model: "refused" (a CheckpointError) or "loaded" (then identical;
    ``original_params`` None: a hyper-parameter was edited, the arrays must still be the same)."""
    try:
        model = load_model(path)
    except CheckpointError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return "refused"
    state = model.net_.state_dict()
    assert state.keys() == original_arrays.keys()
    for k, v in original_arrays.items():
        np.testing.assert_array_equal(state[k], v)
    if original_params is not None:
        assert model.get_params() == original_params
    return "loaded"


def check_cli(path, outcome: str) -> None:
    rc, _, err = cli("info", path)
    if outcome == "refused":
        one_line_error(rc, err)
    else:
        assert rc == 0, err


# -- random damage: truncation and bit flips -----------------------------------------------
@fuzz(25)
@given(data=st.data())
def test_truncated_model_files_are_refused(tmp_path, model_bytes, data):
    raw, arrays, params = model_bytes
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    path = tmp_path / "cut.npz"
    path.write_bytes(raw[:cut])
    assert load_outcome(path, arrays, params) == "refused"
    tally("model files: truncated", "refused")
    if cut % 5 == 0:
        check_cli(path, "refused")


@fuzz(40)
@given(data=st.data())
def test_bit_flips_in_model_files_are_refused_or_harmless(tmp_path, model_bytes, data):
    raw, arrays, params = model_bytes
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 7)), min_size=1, max_size=3), label="flips"
    )
    buf = bytearray(raw)
    for pos, bit in flips:
        buf[pos] ^= 1 << bit
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(buf))
    outcome = load_outcome(path, arrays, params)  # "loaded" only when what was read is intact
    tally("model files: bit flips", outcome)
    if flips[0][0] % 4 == 0:
        check_cli(path, outcome)


@fuzz(15)
@given(data=st.data())
def test_damaged_trainer_checkpoints_are_refused_or_harmless(tmp_path, trainer_bytes, data):
    raw, state = trainer_bytes
    path = tmp_path / "trainer.npz"
    path.write_bytes(damage(data, raw, max_flips=3))
    try:
        trainer = Trainer.load(path, LinReg(seed=9))
    except CheckpointError as exc:
        assert "\n" not in str(exc)
        tally("trainer checkpoints: truncated or bit flips", "refused")
        return
    for k, v in trainer.model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    tally("trainer checkpoints: truncated or bit flips", "loaded")


# -- edited manifests --------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(obj, prefix=()):
    """Every key path in a JSON object (dicts only)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))


@fuzz(60)
@given(data=st.data())
def test_edited_manifests_are_refused_with_a_clear_error(tmp_path, model_bytes, data):
    raw, arrays, params = model_bytes
    path = tmp_path / "edited.npz"
    path.write_bytes(raw)
    manifest = json.loads(dict(read_entries(path))["meta.json"])
    paths = sorted(_paths(manifest))
    where = data.draw(st.sampled_from(paths), label="key")
    action = data.draw(st.sampled_from(["delete", "replace", "add"]), label="action")
    value = data.draw(JSON, label="value")

    def edit(m):
        parent = m
        for k in where[:-1]:
            parent = parent[k]
        if action == "delete":
            del parent[where[-1]]
        elif action == "replace":
            parent[where[-1]] = value
        elif isinstance(parent[where[-1]], dict):
            parent[where[-1]]["zz_extra"] = value
        else:
            parent["zz_extra"] = value

    edit_manifest(path, edit)
    outcome = load_outcome(path, arrays, None if where[:2] == ("meta", "params") else params)
    # a training setting added since version 1 may be absent (files written before it): its default
    optional = action == "delete" and where[:2] == ("meta", "params") and where[2:] in [(k,) for k in _ADDED_SINCE_V1]
    if action in ("delete", "add") and where[0] in ("meta", "arrays", "format", "version") and not optional:
        assert outcome == "refused", (where, action)
    tally("model files: edited manifests", outcome)
    if len(where) % 3 == 0:
        check_cli(path, outcome)


@pytest.mark.parametrize("key", ["params", "fitted", "model", "format_version"])
def test_a_missing_meta_key_is_named(tmp_path, model_bytes, key):
    path = tmp_path / "m.npz"
    path.write_bytes(model_bytes[0])
    edit_manifest(path, lambda m: m["meta"].pop(key))
    with pytest.raises(CheckpointError, match=rf"missing key 'meta\.{key}'"):
        load_model(path)
    line = one_line_error(*cli("info", path)[::2])
    assert f"missing key 'meta.{key}'" in line


@pytest.mark.parametrize("where,key", [("meta", "extra_key"), ("params", "hidden_sizes"), ("fitted", "shadow")])
def test_an_extra_or_missing_nested_key_is_named(tmp_path, model_bytes, where, key):
    path = tmp_path / "m.npz"
    path.write_bytes(model_bytes[0])

    def add(m):
        (m["meta"] if where == "meta" else m["meta"][where])[key] = 1

    edit_manifest(path, add)
    prefix = "meta." if where == "meta" else f"meta.{where}."
    with pytest.raises(CheckpointError, match=rf"unexpected key '{prefix}{key}'"):
        load_model(path)
    path.write_bytes(model_bytes[0])
    victim = sorted(json.loads(dict(read_entries(path))["meta.json"])["meta"]["fitted"])[0]
    edit_manifest(path, lambda m: m["meta"]["fitted"].pop(victim))
    with pytest.raises(CheckpointError, match=rf"missing key 'meta\.fitted\.{victim}'"):
        load_model(path)


# -- oversized headers and zip tricks: refused fast ------------------------------------------
def _timed_refusal(path, match):
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)
    seconds = time.perf_counter() - t0
    assert seconds < FAST, seconds
    return seconds


@fuzz(20)
@given(
    exponent=st.integers(6, 18),
    descr=st.sampled_from(["<f4", "<f8", "|u1", "<c16", "<U64"]),
    manifest_agrees=st.booleans(),
    version=st.sampled_from([(1, 0), (2, 0)]),
)
def test_oversized_headers_are_refused_before_reading(tmp_path, exponent, descr, manifest_agrees, version):
    """A header declaring 10^6..10^18 elements over a few bytes of data: refused in
    milliseconds, never a MemoryError, whatever the manifest says."""
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(4, np.float32)}, {})
    shape = (10**exponent,)
    entries = [
        (n, npy_header(shape, descr, version=version) + b"\0" * 64 if n == "w.npy" else d)
        for n, d in read_entries(path)
    ]
    write_entries(path, entries)
    if manifest_agrees:
        edit_manifest(path, lambda m: m["arrays"]["w"].update(shape=list(shape), dtype=descr))
    _timed_refusal(path, r"refused|corrupted|over the ceiling")
    tally("checkpoints: oversized headers", "refused")


ZIP_TRICKS = {
    "duplicate name": lambda e: e + [e[-1]],
    "path name ../": lambda e: e + [("../evil.npy", e[-1][1])],
    "absolute path": lambda e: e + [("/tmp/evil.npy", e[-1][1])],
    "nested path": lambda e: e + [("a/b.npy", e[-1][1])],
    "unlisted entry": lambda e: e + [("extra.npy", e[-1][1])],
    "missing entry": lambda e: e[:-1],
    "manifest twice": lambda e: e + [e[0]],
}


@pytest.mark.parametrize("trick", sorted(ZIP_TRICKS))
def test_zip_tricks_are_refused(tmp_path, model_bytes, trick):
    path = tmp_path / "t.npz"
    path.write_bytes(model_bytes[0])
    write_entries(path, ZIP_TRICKS[trick](read_entries(path)))
    _timed_refusal(path, r"refused|not in the manifest|listed but missing")
    one_line_error(*cli("info", path)[::2])
    tally("model files: zip tricks", "refused")


def test_a_compression_bomb_is_refused_before_inflating(tmp_path):
    """64 MB of zeros deflate to ~64 KB: refused from the zip directory alone."""
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(4, np.float32)}, {})
    n = 16 * 2**20
    body = npy_header((n,)) + bytes(4 * n)
    entries = [(name, body if name == "w.npy" else d) for name, d in read_entries(path)]
    write_entries(path, entries, compress={"w.npy": zipfile.ZIP_DEFLATED})
    assert path.stat().st_size < 2**20
    edit_manifest(path, lambda m: m["arrays"]["w"].update(shape=[n], crc32=zlib.crc32(bytes(4 * n))))
    with zipfile.ZipFile(path) as zf:  # edit_manifest rewrote it stored: compress it again
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    write_entries(path, entries, compress={"w.npy": zipfile.ZIP_DEFLATED})
    _timed_refusal(path, r"refused: entry 'w.npy' is compressed")
    tally("checkpoints: compression bombs", "refused")


def test_a_large_file_with_a_lying_last_header_is_refused_fast(tmp_path):
    """Every header is checked against the manifest before any data is read: a 256 MB
    checkpoint whose last array's header disagrees is refused in milliseconds."""
    arrays = {f"a{i}": np.zeros(2**23, np.float64) for i in range(4)}  # 4 x 64 MB
    path = save_checkpoint(tmp_path / "big.npz", arrays, {})
    edit_manifest(path, lambda m: m["arrays"]["a3"].update(shape=[2**23 + 1]))
    seconds = _timed_refusal(path, r"array 'a3' is corrupted: shape \[8388608\] in its header")
    assert path.stat().st_size > 256 * 10**6
    tally("checkpoints: large file, lying header", "refused")
    print(f"refused a {path.stat().st_size / 1e6:.0f} MB checkpoint in {seconds * 1e3:.1f} ms")


def test_the_ceiling_is_a_clear_error_and_can_be_raised(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"w": np.zeros(1000)}, {})
    with pytest.raises(CheckpointError, match="more than the ceiling of 4,000 bytes"):
        load_checkpoint(path, max_bytes=4000)
    arrays, _ = load_checkpoint(path, max_bytes=9000)
    np.testing.assert_array_equal(arrays["w"], np.zeros(1000))
