"""MusicModel out of rnnkit: its ONNX graphs run by onnxruntime, its network run by PyTorch.

The sequence graph's probabilities equal ``predict_proba`` and its logits the network's
forward (float32, 1e-5); the step graph, driven by onnxruntime alone, samples the same
piece as ``generate`` with the same seed; ``to_torch`` equals rnnkit in float64 to 1e-10.
"""

import json
import zlib

import numpy as np
import pytest
from interop_util import assert_close

from rnnkit.data.music import HOLD, REST
from rnnkit.models.music import MusicModel
from rnnkit.models.sampling import as_generator, sample

TOL = 1e-5


def close(a, b, tol=TOL):
    assert_close(a, b, tol)


def _pieces(mode, rng, n=6, low=60, high=67):
    out = []
    for _ in range(n):
        T = int(rng.integers(3, 10))
        if mode == "poly":
            roll = np.zeros((T, 128), bool)
            roll[:, low : high + 1] = rng.random((T, high - low + 1)) < 0.3
            out.append(roll)
        else:
            out.append(rng.choice(np.r_[np.arange(low, high + 1), HOLD, REST], T).astype(np.int64))
    return out


def _model(mode, cell, layers, dtype="float32"):
    rng = np.random.default_rng(zlib.crc32(f"{mode}{cell}{layers}".encode()))
    pieces = _pieces(mode, rng)
    model = MusicModel(
        mode=mode, cell=cell, hidden_size=6, num_layers=layers, epochs=2, batch_size=3, lr=0.02, seed=0, dtype=dtype
    ).fit(pieces)
    for p in model.net_.parameters().values():  # larger weights: saturate gates
        p *= 2.0
    return model, pieces


def _session(path):
    onnx = pytest.importorskip("onnx", reason="the exported graph is checked by onnx")
    ort = pytest.importorskip("onnxruntime", reason="the exported graph is run by onnxruntime")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


CASES = [
    ("poly", "lstm", 2),
    ("poly", "gru", 1),
    ("poly", "rnn_tanh", 1),
    ("melody", "lstm", 1),
    ("melody", "gru", 2),
    ("melody", "rnn_relu", 1),
]


@pytest.mark.parametrize("mode,cell,layers", CASES)
def test_sequence_graph_matches_rnnkit(mode, cell, layers, tmp_path):
    from rnnkit.interop import to_onnx

    model, pieces = _model(mode, cell, layers)
    paths = to_onnx(model, tmp_path / "music.onnx")
    assert set(paths) == {"sequence", "step"} and paths["sequence"].name == "music.sequence.onnx"
    sess = _session(paths["sequence"])
    meta = json.loads(_meta(paths["sequence"])["rnnkit.music"])
    assert (meta["low"], meta["high"], meta["mode"]) == (model.low_, model.high_, mode)
    encoded = [model._encode(p) for p in pieces]
    x, _, lengths = model._inputs(encoded)  # the network's inputs (T, B, I)
    T = x.shape[0]
    if mode == "poly":
        frames = np.zeros((T, len(pieces), model.n_pitches_), np.float32)
    else:
        frames = np.zeros((T, len(pieces)), np.int64)
    for b, e in enumerate(encoded):
        frames[: len(e), b] = e
    logits, probs = sess.run(None, {"frames": frames, "lengths": lengths.astype(np.int32)})
    out, _, _ = model.net_.rnn.forward(x, None, lengths=lengths)
    want, _ = model.net_.head.forward(out)  # (T, B, K)
    want_p = model.predict_proba(pieces)
    for b, n in enumerate(lengths):
        close(logits[:n, b], want[:n, b])
        got_p = probs[:n, b]
        if mode == "poly":  # predict_proba covers 128 pitches
            got_p = np.zeros((n, 128), np.float32)
            got_p[:, model.low_ : model.high_ + 1] = probs[:n, b]
        close(got_p, want_p[b])


def _meta(path):
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _ort_generate(sess, model, length, temperature, seed):
    """MusicModel.generate without a primer, with onnxruntime's step graph alone."""
    rng = as_generator(seed)
    names = [i.name for i in sess.get_inputs()]
    L, H = model.num_layers, model.hidden_size
    state = {n: np.zeros((L, 1, H), np.float32) for n in names[1:]}
    P = model.n_pitches_
    if model.mode == "poly":
        feed = np.zeros((1, P + 1), np.float32)
        feed[0, P] = 1.0  # the start unit
    else:
        feed = np.array([P + 2], np.int64)  # the start token
    frames, prev = [], None
    for _ in range(length):
        logits, _, *new = sess.run(None, {names[0]: feed, **state})
        state = dict(zip(names[1:], new, strict=False))
        z = logits.astype(np.float64) / temperature
        if model.mode == "poly":
            frame = rng.random(P) < 1.0 / (1.0 + np.exp(-z[0]))
            feed = np.zeros((1, P + 1), np.float32)
            feed[0, :P] = frame
        else:
            if prev is None or prev == P + 1:  # no HOLD at the start or after REST
                z[0, P] = -np.inf
            frame = int(sample(z, rng=rng)[0])
            feed, prev = np.array([frame], np.int64), frame
        frames.append(frame)
    return model._decode(np.array(frames))


@pytest.mark.parametrize("mode,cell,layers", [CASES[0], CASES[1], CASES[3], CASES[4]])
def test_step_graph_generates_what_rnnkit_generates(mode, cell, layers, tmp_path):
    from rnnkit.interop import to_onnx

    model, _ = _model(mode, cell, layers)
    sess = _session(to_onnx(model, tmp_path / "m.onnx")["step"])
    first = "input" if mode == "poly" else "token"
    assert [i.name for i in sess.get_inputs()] == [first, "h"] + (["c"] if cell == "lstm" else [])
    assert [o.name for o in sess.get_outputs()][:3] == ["logits", "probabilities", "h_out"]
    # step by step along a piece: logits and state equal rnnkit's step
    x, _, _ = model._inputs([model._encode(_pieces(mode, np.random.default_rng(9), n=1)[0])])
    state, feeds = None, {n: np.zeros((layers, 1, 6), np.float32) for n in ("h", "c")[: 1 + (cell == "lstm")]}
    for t in range(x.shape[0]):
        feed = x[t] if mode == "poly" else np.array([int(np.argmax(x[t, 0]))], np.int64)
        logits, probs, *new = sess.run(None, {first: feed, **feeds})
        want, state = model.net_.step(x[t], state)
        close(logits, want)
        z = want.astype(np.float64)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        close(probs, 1.0 / (1.0 + np.exp(-z)) if mode == "poly" else e / e.sum(axis=1, keepdims=True))
        feeds = dict(zip(feeds, new, strict=False))
    for got, w in zip(feeds.values(), state if isinstance(state, tuple) else (state,), strict=False):
        close(got, w)
    # and sampling outside rnnkit gives the piece generate() gives
    got = _ort_generate(sess, model, 24, 0.9, 3)
    np.testing.assert_array_equal(got, model.generate(24, temperature=0.9, seed=3))


def test_unfitted_music_model_is_refused(tmp_path):
    pytest.importorskip("onnx", reason="the export needs onnx")
    from rnnkit.interop import to_onnx
    from rnnkit.models import NotFittedError

    with pytest.raises(NotFittedError, match="unfitted MusicModel"):
        to_onnx(MusicModel(), tmp_path / "m.onnx")


def test_rnnkit_export_a_music_run(tmp_path, capsys):
    from rnnkit.cli import main

    folder = tmp_path / "music"
    assert main(["train", "music", "--preset", "tiny", "--out", str(folder), "-q", "--no-plots"]) == 0
    code = main(["export", str(folder), "--format", "onnx", "--out", str(tmp_path / "chorale.onnx")])
    err = capsys.readouterr().err
    assert code == 0 and "chorale.sequence.onnx" in err and "chorale.step.onnx" in err
    from rnnkit.models import load_model

    model = load_model(folder / "model.npz")
    sess = _session(tmp_path / "chorale.step.onnx")
    meta = json.loads(_meta(tmp_path / "chorale.step.onnx")["rnnkit.music"])
    assert meta["mode"] == "poly" and meta["pitches"] == meta["high"] - meta["low"] + 1
    P = meta["pitches"]
    start = np.zeros((1, P + 1), np.float32)
    start[0, P] = 1.0
    feeds = {
        i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32) for i in sess.get_inputs()[1:]
    }
    logits, probs, *_ = sess.run(None, {"input": start, **feeds})
    assert logits.shape == (1, P) and np.all((probs > 0) & (probs < 1))
    want, _ = model.net_.step(start, None)
    close(logits, want)


@pytest.mark.parametrize("mode,cell,layers", [CASES[0], CASES[1], CASES[4], CASES[5]])
def test_to_torch_music_network_in_float64(mode, cell, layers, tmp_path):
    torch = pytest.importorskip("torch", reason="to_torch is checked against PyTorch itself")
    st = pytest.importorskip("safetensors.torch", reason="the weights file is read by safetensors")
    from rnnkit.interop import save_safetensors, to_torch

    model, pieces = _model(mode, cell, layers, dtype="float64")
    tm = to_torch(model)
    assert set(tm.state_dict()) == set(model.net_.state_dict())
    with torch.no_grad():
        for p in tm.parameters():
            p.zero_()
    tm.load_state_dict(st.load_file(str(save_safetensors(model, tmp_path / "m.safetensors"))))  # strict
    x, _, lengths = model._inputs([model._encode(p) for p in pieces])  # ragged: (T, B, I)
    out, _, _ = model.net_.rnn.forward(x, None, lengths=lengths)
    want, _ = model.net_.head.forward(out)
    with torch.no_grad():
        got, _ = tm(torch.from_numpy(x), torch.from_numpy(lengths))
    for b, n in enumerate(lengths):
        close(got[:n, b], want[:n, b], 1e-10)
    state, tstate = None, None
    for k in range(x.shape[0]):  # one frame at a time
        want_k, state = model.net_.step(x[k], state)
        with torch.no_grad():
            got_k, tstate = tm.step(torch.from_numpy(x[k]), tstate)
        close(got_k, want_k, 1e-10)
