"""``rnnkit export`` and batch ``rnnkit predict`` (several files, a folder, a glob, onnxruntime)."""

import csv
import shutil

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data import shipped_path


def rnnkit(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    folders = {}
    for task in ("classify", "tag", "seq2seq", "forecast"):
        folders[task] = root / task
        assert main(["train", task, "--preset", "tiny", "--out", str(folders[task]), "-q", "--no-plots"]) == 0
    return folders


def test_export_onnx_and_safetensors(runs, tmp_path, capsys):
    onnx = pytest.importorskip("onnx", reason="the exported file is checked by onnx")
    st = pytest.importorskip("safetensors.numpy", reason="the exported file is read by safetensors")
    code, _, err = rnnkit(capsys, "export", runs["classify"], "--format", "onnx", "--out", tmp_path / "c.onnx")
    assert code == 0 and "c.onnx" in err
    onnx.checker.check_model(onnx.load(str(tmp_path / "c.onnx")), full_check=True)
    code, _, _ = rnnkit(capsys, "export", runs["seq2seq"], "--format", "onnx", "--out", tmp_path / "s.onnx")
    assert code == 0 and (tmp_path / "s.encoder.onnx").is_file() and (tmp_path / "s.decoder.onnx").is_file()
    code, _, _ = rnnkit(capsys, "export", runs["tag"], "--format", "safetensors", "--out", tmp_path / "t.safetensors")
    assert code == 0
    assert any(k.startswith("rnn.weight_ih_l0") for k in st.load_file(str(tmp_path / "t.safetensors")))


def test_export_forecast_run_to_onnx_and_safetensors(runs, tmp_path, capsys):
    """A forecast run's network as ONNX (onnxruntime equals its forward on model-ready
    inputs) with the rnnkit.forecaster metadata, and as safetensors under torch's names."""
    onnx = pytest.importorskip("onnx", reason="the exported file is checked by onnx")
    ort = pytest.importorskip("onnxruntime", reason="the exported graph is run by onnxruntime")
    import json

    from rnnkit.cli.tasks import TASKS, open_model

    code, _, err = rnnkit(capsys, "export", runs["forecast"], "--format", "onnx", "--out", tmp_path / "f.onnx")
    assert code == 0 and "f.onnx" in err and "forecast" in err
    proto = onnx.load(str(tmp_path / "f.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    model, _, _ = open_model(runs["forecast"], tuple(TASKS), "test")
    spec = json.loads({p.key: p.value for p in proto.metadata_props}["rnnkit.forecaster"])
    assert (spec["window"], spec["strategy"], spec["scaling"]["name"]) == (model.window, model.strategy, model.scaling)
    x = np.random.default_rng(0).standard_normal((spec["input_steps"], 3, spec["input_size"])).astype(np.float32)
    sess = ort.InferenceSession(str(tmp_path / "f.onnx"), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"inputs": x})
    want, _ = model.net_.forward(x)
    want = want.mean(axis=0) if want.ndim == 5 else want
    assert got.shape == want.shape and np.max(np.abs(got - want)) < 1e-5
    st = pytest.importorskip("safetensors.numpy", reason="the exported file is read by safetensors")
    code, _, _ = rnnkit(capsys, "export", runs["forecast"], "--format", "safetensors", "--out", tmp_path / "f.st")
    arrays = st.load_file(str(tmp_path / "f.st"))
    assert code == 0 and set(arrays) == set(model.net_.state_dict())


def test_export_errors_are_one_line(runs, tmp_path, capsys):
    code, _, err = rnnkit(capsys, "export", runs["tag"], "--format", "onnx", "--out", tmp_path / "no" / "t.onnx")
    assert code == 1 and err.count("\n") == 1 and "does not exist" in err
    code, _, err = rnnkit(capsys, "export", runs["tag"], "--format", "tflite", "--out", tmp_path / "t")
    assert code == 2 and "invalid choice" in err


def _rows(text):
    return list(csv.DictReader(text.splitlines()))


def test_batch_predict_several_files_folder_and_glob(runs, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.ts", "b.ts"):
        shutil.copy(shipped_path("waveforms_TEST.ts"), folder / name)
    code, single, _ = rnnkit(capsys, "predict", runs["classify"], "--data", folder / "a.ts")
    n = len(_rows(single))
    for data in ([folder / "a.ts", folder / "b.ts"], [folder], [str(folder / "*.ts")]):
        code, out, _ = rnnkit(capsys, "predict", runs["classify"], "--data", *data)
        rows = _rows(out)
        assert code == 0 and len(rows) == 2 * n
        assert [r["source"] for r in rows] == [str(folder / "a.ts")] * n + [str(folder / "b.ts")] * n
        assert [r["prediction"] for r in rows[:n]] == [r["prediction"] for r in _rows(single)]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = rnnkit(capsys, "predict", runs["classify"], "--data", folder, "--out-dir", out_dir)
    assert code == 0 and sorted(p.name for p in out_dir.iterdir()) == ["a.csv", "b.csv"]
    assert (out_dir / "a.csv").read_text() == single
    code, _, err = rnnkit(capsys, "predict", runs["classify"], "--data", str(tmp_path / "*.nothing"))
    assert code == 1 and "matches no file" in err


def test_batch_tagging_with_a_source_column(runs, tmp_path, capsys):
    for name, text in (("x.txt", "the dog runs\na cat\n"), ("y.txt", "dogs run\n")):
        (tmp_path / name).write_text(text)
    code, out, _ = rnnkit(capsys, "predict", runs["tag"], "--data", tmp_path / "x.txt", tmp_path / "y.txt")
    lines = [line.split("\t") for line in out.splitlines() if line]
    assert code == 0 and len(lines) == 7
    assert [line[:2] for line in lines[:3]] == [[str(tmp_path / "x.txt"), w] for w in ("the", "dog", "runs")]


def test_engine_onnxruntime_predicts_as_rnnkit(runs, tmp_path, capsys):
    pytest.importorskip("onnxruntime", reason="--engine onnxruntime needs onnxruntime")
    data = shipped_path("waveforms_TEST.ts")
    _, ours, _ = rnnkit(capsys, "predict", runs["classify"], "--data", data)
    code, theirs, _ = rnnkit(capsys, "predict", runs["classify"], "--data", data, "--engine", "onnxruntime")
    assert code == 0
    a, b = _rows(ours), _rows(theirs)
    assert [r["prediction"] for r in a] == [r["prediction"] for r in b]
    assert np.allclose([float(r["probability"]) for r in a], [float(r["probability"]) for r in b], atol=2e-4)
    for task, text in (("tag", "the dog runs home"), ("seq2seq", "12+34")):
        _, ours, _ = rnnkit(capsys, "predict", runs[task], "--text", text)
        code, theirs, _ = rnnkit(capsys, "predict", runs[task], "--text", text, "--engine", "onnxruntime")
        assert code == 0 and ours == theirs
