"""Trackers (TensorBoard, MLflow) as callbacks: each run read back by the tool's own reader."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnkit.cli import main
from rnnkit.cli.options import ConfigError, resolve
from rnnkit.cli.tasks import TASKS
from rnnkit.diagnostics import watch_fit
from rnnkit.models import SequenceClassifier
from rnnkit.train.trackers import TRACKERS, MLflowTracker, TensorBoardTracker, make_trackers
from rnnkit.train.trackers.mlflow import file_store_allowed
from rnnkit.train.trackers.tracker import layer_of, scalar_params


def _events(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _mlflow(uri):
    from mlflow.tracking import MlflowClient

    with file_store_allowed(uri):
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments()  # opens the store while the switch is on
    return client


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8, 2))
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    return X, y


def _fit(callbacks, epochs=3):
    X, y = _data()
    model = SequenceClassifier(hidden_size=8, epochs=epochs, batch_size=10, seed=1)
    model.fit(X[:32], y[:32], validation_data=(X[32:], y[32:]), callbacks=callbacks)
    return model


def test_layer_names_and_flat_params():
    assert layer_of("rnn.weight_hh_l1") == "rnn.l1"
    assert layer_of("enc.rnn.bias_ih_l0_reverse") == "enc.rnn.l0_reverse"
    assert layer_of("head.weight") == "head"
    assert scalar_params({"a": None, "b": (1, 2), "c": {"x": 1}, "d": 0.5}) == {
        "a": "none",
        "b": "1,2",
        "c.x": 1,
        "d": 0.5,
    }


def test_tensorboard_in_the_library_reads_back_with_tensorboards_reader(tmp_path):
    watch = watch_fit(every=2, warn=False)
    model = _fit([watch, TensorBoardTracker(tmp_path / "tb")])
    acc = _events(tmp_path / "tb")
    epochs = model.history_.epochs
    for key in ("loss", "val_loss", "lr"):
        got = [(e.step, e.value) for e in acc.Scalars(f"epoch/{key}")]
        assert got == [(i + 1, pytest.approx(e[key], rel=1e-6)) for i, e in enumerate(epochs)]
    steps = model.history_.steps
    assert [e.value for e in acc.Scalars("step/loss")] == pytest.approx(steps["loss"], rel=1e-6)
    assert [e.step for e in acc.Scalars("step/loss")] == list(range(1, len(steps["loss"]) + 1))
    tags = acc.Tags()
    # the layers' gradient norms add up to the global one
    layers = [t for t in tags["scalars"] if t.startswith("grad_norm/")]
    assert "grad_norm/rnn.l0" in layers and "grad_norm/head" in layers
    total = np.sqrt(sum(np.square([e.value for e in acc.Scalars(t)]) for t in layers))
    assert total == pytest.approx(steps["grad_norm"], rel=1e-5)
    # the monitor's diagnostics at its recorded steps, weights as histograms each epoch
    radius = [t for t in tags["scalars"] if t.startswith("diagnostics/spectral_radius/")]
    assert radius and [e.step for e in acc.Scalars(radius[0])] == watch.monitor.record.steps
    assert any(t.startswith("diagnostics/saturation/") for t in tags["scalars"])
    assert len(acc.Histograms("weights/rnn.weight_hh_l0")) == len(epochs)
    assert "config/text_summary" in tags["tensors"]


def test_mlflow_in_the_library_reads_back_with_mlflows_client(tmp_path):
    tracker = MLflowTracker(tmp_path / "mlruns", experiment="demo", run_name="first")
    model = _fit([tracker])
    client = _mlflow(tracker.tracking_uri)
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "first"
    assert run.data.params["lr"] == str(model.lr) and run.data.params["model"] == "SequenceNet"
    history = client.get_metric_history(tracker.run_id, "epoch/loss")
    assert [(m.step, m.value) for m in history] == [
        (i + 1, pytest.approx(e["loss"], rel=1e-9)) for i, e in enumerate(model.history_.epochs)
    ]
    steps = client.get_metric_history(tracker.run_id, "step/loss")
    assert [m.value for m in steps] == pytest.approx(model.history_.steps["loss"], rel=1e-9)


def _text(acc, tag):
    """The text TensorBoard shows under ``tag`` (the last one sent)."""
    return acc.Tensors(f"{tag}/text_summary")[-1].tensor_proto.string_val[0].decode()


def _onnx_session(client, run_id, artifact, folder):
    import onnxruntime as ort

    local = client.download_artifacts(run_id, artifact, str(folder))
    return ort.InferenceSession(local, providers=["CPUExecutionProvider"])


def test_mlflow_keeps_the_model_and_its_onnx_export(tmp_path):
    from rnnkit.interop import to_onnx

    tracker = MLflowTracker(tmp_path / "mlruns", close_on_train_end=False)
    model = _fit([tracker], epochs=1)
    path = model.save(tmp_path / "model.npz")
    seen = []

    def export(folder):
        seen.append(folder)
        return [to_onnx(model, folder / "model.onnx")]

    tracker.finish(model=path, export=export)
    assert not tracker.is_open and not seen[0].exists()  # the export's folder is temporary
    client = _mlflow(tracker.tracking_uri)
    assert {a.path for a in client.list_artifacts(tracker.run_id, "model")} == {"model/model.npz", "model/model.onnx"}
    session = _onnx_session(client, tracker.run_id, "model/model.onnx", tmp_path / "got")
    X, _ = _data(4)
    logits, probabilities = session.run(None, {"input": X.astype(np.float32), "lengths": np.full(4, 8, np.int32)})
    assert probabilities.shape == (4, 2) and np.allclose(probabilities.sum(1), 1.0, atol=1e-6)
    downloaded = client.download_artifacts(tracker.run_id, "model/model.npz", str(tmp_path / "npz"))
    assert Path(downloaded).read_bytes() == path.read_bytes()


def test_texts_given_to_finish_replace_those_among_the_results(tmp_path):
    tracker = TensorBoardTracker(tmp_path / "tb", close_on_train_end=False)
    _fit([tracker], epochs=1)
    tracker.finish(results={"sample": "old", "model": 0.5}, texts={"sample": "new", "more": "a\nb"}, model="x.npz")
    acc = _events(tmp_path / "tb")
    assert _text(acc, "result/sample") == "    new" and _text(acc, "result/more") == "    a\n    b"
    assert [e.value for e in acc.Scalars("result/model")] == [0.5]


def test_a_failed_fit_marks_the_mlflow_run_failed(tmp_path):
    from rnnkit.train.callbacks import LambdaCallback

    def boom(ctx):
        raise RuntimeError("stop here")

    tracker = MLflowTracker(tmp_path / "mlruns")
    with pytest.raises(RuntimeError, match="stop here"):
        _fit([tracker, LambdaCallback(on_epoch_end=boom)])
    assert not tracker.is_open
    assert _mlflow(tracker.tracking_uri).get_run(tracker.run_id).info.status == "FAILED"


def test_a_missing_tool_names_its_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'rnnkit\[tensorboard\]'"):
        make_trackers(["tensorboard"], tmp_path)
    code = main(["train", "classify", "--preset", "tiny", "--track", "tensorboard", "--out", str(tmp_path / "r")])
    assert code == 1
    assert "--track: TensorBoardTracker needs tensorboardX" in capsys.readouterr().err


def test_track_is_a_run_key_checked_by_name():
    cls = TASKS["classify"].config_class
    config = resolve(cls, "classify", overrides=[("track", "tensorboard,mlflow", "--track")])
    assert config.track == ("tensorboard", "mlflow") and config.track_uri is None
    assert resolve(cls, "classify").track is None
    with pytest.raises(ConfigError, match="expected one of tensorboard, mlflow; got 'tensorbord'; did you mean"):
        resolve(cls, "classify", overrides=[("track", "tensorbord", "--track")])
    assert set(TRACKERS) == {"tensorboard", "mlflow"}


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tracked") / "run"
    code = main(["train", "classify", "--preset", "tiny", "--track", "tensorboard,mlflow", "--out", str(out), "-q"])
    assert code == 0
    return out


def test_train_track_tensorboard_writes_the_loss_of_every_epoch(tracked_run):
    rows = list(csv.DictReader((tracked_run / "metrics.csv").read_text().splitlines()))
    acc = _events(tracked_run / "tensorboard")
    got = [(e.step, e.value) for e in acc.Scalars("epoch/loss")]
    assert got == [(int(r["epoch"]), pytest.approx(float(r["loss"]), rel=1e-6)) for r in rows]
    assert "plots/loss" in acc.Tags()["images"]  # the run's figures, as images
    assert any(t.startswith("result/baseline/") for t in acc.Tags()["scalars"])
    assert "summary/text_summary" in acc.Tags()["tensors"]


def test_train_track_mlflow_writes_the_loss_of_every_epoch_and_the_run_folder(tracked_run):
    rows = list(csv.DictReader((tracked_run / "metrics.csv").read_text().splitlines()))
    client = _mlflow((tracked_run / "mlruns").resolve().as_uri())
    (experiment,) = client.search_experiments(filter_string="name = 'rnnkit'")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert run.data.params["task"] == "classify" and run.data.params["track"] == "tensorboard,mlflow"
    history = client.get_metric_history(run.info.run_id, "epoch/loss")
    assert [(m.step, m.value) for m in history] == [
        (int(r["epoch"]), pytest.approx(float(r["loss"]), rel=1e-9)) for r in rows
    ]
    assert "result/model" in run.data.metrics
    names = {a.path for a in client.list_artifacts(run.info.run_id, "run")}
    assert {"run/model.npz", "run/metrics.csv", "run/run.json", "run/plots"} <= names
    assert "run/mlruns" not in names  # the store is not copied into itself
    # the model, and its ONNX export, which onnxruntime loads
    models = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert models == {"model/model.npz", "model/model.onnx"}
    session = _onnx_session(client, run.info.run_id, "model/model.onnx", tracked_run.parent / "got")
    assert [i.name for i in session.get_inputs()] == ["input", "lengths"]


def test_a_seq2seq_run_sends_translations_and_both_onnx_graphs(tmp_path):
    out = tmp_path / "s"
    argv = ["train", "seq2seq", "--preset", "tiny", "--no-plots", "-q", "--track", "tensorboard,mlflow"]
    assert main([*argv, "--out", str(out)]) == 0
    examples = json.loads((out / "metrics.json").read_text())["results"]["examples"]
    lines = _text(_events(out / "tensorboard"), "result/translations").splitlines()
    assert len(lines) == len(examples) == 8
    for line, e in zip(lines, examples, strict=True):
        mark = "ok" if e["predicted"] == e["target"] else "x "
        assert line == f"    {mark} {e['source']!r} -> {e['predicted']!r} (target {e['target']!r})"
    client = _mlflow((out / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("rnnkit").experiment_id])
    assert "result/translations.txt" in {a.path for a in client.list_artifacts(run.info.run_id, "result")}
    models = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert models == {"model/model.npz", "model/model.encoder.onnx", "model/model.decoder.onnx"}
    for part in ("encoder", "decoder"):
        assert _onnx_session(client, run.info.run_id, f"model/model.{part}.onnx", tmp_path / part).get_inputs()


def test_a_text_generator_sends_its_samples_and_says_why_it_has_no_onnx(tmp_path, capsys):
    rows = [f"{'pos' if i % 2 else 'neg'}\t{'good fun' if i % 2 else 'dull film'}" for i in range(20)]
    (tmp_path / "cond.tsv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "g"
    argv = ["train", "generate", "--preset", "tiny", "--data", str(tmp_path / "cond.tsv"), "--no-plots"]
    assert main([*argv, "--track", "tensorboard,mlflow", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "note: the tracked model has no ONNX export: model: SequenceGenerator cannot be exported" in err
    samples = json.loads((out / "metrics.json").read_text())["results"]["samples"]
    assert sorted(samples) == ["neg", "pos"] and all(isinstance(v, str) for v in samples.values())
    got = _text(_events(out / "tensorboard"), "result/samples").splitlines()
    assert got == [f"    {c}: {text}" for c, text in samples.items()]
    client = _mlflow((out / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("rnnkit").experiment_id])
    assert "result/samples.txt" in {a.path for a in client.list_artifacts(run.info.run_id, "result")}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "model")} == {"model/model.npz"}


def test_without_the_onnx_extra_the_model_is_kept_with_a_note_naming_it(monkeypatch, tmp_path, capsys):
    from rnnkit.cli._base import Console
    from rnnkit.cli.tasks.run import _onnx_export

    monkeypatch.setitem(sys.modules, "onnx", None)
    tracker = MLflowTracker(tmp_path / "mlruns", close_on_train_end=False)
    model = _fit([tracker], epochs=1)
    tracker.finish(model=model.save(tmp_path / "model.npz"), export=_onnx_export(model, Console()))
    assert (
        "note: the tracked model has no ONNX export: rnnkit.interop.to_onnx needs onnx: pip install 'rnnkit[onnx]'"
        in (capsys.readouterr().err)
    )
    client = _mlflow(tracker.tracking_uri)
    assert {a.path for a in client.list_artifacts(tracker.run_id, "model")} == {"model/model.npz"}
