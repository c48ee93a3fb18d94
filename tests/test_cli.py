"""The command line, driven as a user drives it: every task trains with its tiny preset,
writes its run folder, and the model is reloaded by predict/generate/forecast/evaluate/info.

Most calls go through ``main(argv)`` in-process (fast); a few go through
``python -m rnnkit`` in a subprocess to cover the real entry point.
"""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from rnnkit.cli import commands, main

RUN_FILES = ("run.json", "config.toml", "config.json", "model.npz", "metrics.csv", "metrics.json", "summary.txt")


def read_csv(path):
    return list(csv.DictReader(path.read_text().splitlines()))


def rnnkit(capsys, *argv):
    """(exit code, stdout, stderr) of ``rnnkit argv`` run in-process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny run per task, trained once for the module: {task: run folder}."""
    root = tmp_path_factory.mktemp("runs")
    folders = {}
    for task in ("charlm", "forecast", "classify", "tag", "seq2seq", "generate"):
        folders[task] = root / task
        code = main(["train", task, "--preset", "tiny", "--out", str(folders[task]), "-q"])
        assert code == 0, task
    return folders


# -- the run folder ----------------------------------------------------------------------
@pytest.mark.parametrize("task", ["charlm", "forecast", "classify", "tag", "seq2seq", "generate"])
def test_train_writes_a_complete_run_folder(runs, task):
    folder = runs[task]
    for name in RUN_FILES:
        assert (folder / name).is_file(), name
    info = json.loads((folder / "run.json").read_text())
    assert info["task"] == task and info["status"] == "finished"
    config = json.loads((folder / "config.json").read_text())["config"]
    assert config["epochs"] == 1  # the tiny preset was applied
    rows = read_csv(folder / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1]
    assert np.isfinite(float(rows[0]["loss"]))
    metrics = json.loads((folder / "metrics.json").read_text())
    results = metrics["results"]
    assert np.isfinite(results["model"]) and results["baselines"]
    assert metrics["epochs"][0]["loss"] == pytest.approx(float(rows[0]["loss"]))
    summary = (folder / "summary.txt").read_text()
    assert results["metric"] in summary
    assert ("lower is better" in summary) != ("higher is better" in summary)


def test_a_tiny_charlm_that_loses_to_its_unigram_baseline_says_so(runs):
    summary = (runs["charlm"] / "summary.txt").read_text()
    verdict = summary.split("\n")[5]  # after the table of the model and three baselines
    model = json.loads((runs["charlm"] / "metrics.json").read_text())["results"]
    assert model["model"] > model["baselines"]["unigram"]  # one epoch of the tiny preset
    assert verdict.startswith(f"the model ({model['model']:.4f}) does NOT beat unigram")
    assert "hint: try more --epochs" in verdict
    assert verdict in (runs["charlm"] / "MODEL_CARD.md").read_text()


def test_config_toml_of_a_run_trains_the_same_configuration(runs, tmp_path, capsys):
    code, _, _ = rnnkit(
        capsys, "train", "tag", "--config", runs["tag"] / "config.toml", "--out", tmp_path / "again", "-q", "--no-plots"
    )
    assert code == 0
    first = json.loads((runs["tag"] / "config.json").read_text())
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert first == again


def test_plots_are_png_files(runs):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    expected = {
        "charlm": ["loss.png", "samples.png", "samples.txt"],
        "forecast": ["loss.png", "forecast.png"],
        "classify": ["loss.png", "confusion.png"],
        "tag": ["loss.png"],
        "seq2seq": ["loss.png"],
        "generate": ["loss.png", "generated.png"],
    }
    for task, names in expected.items():
        for name in names:
            path = runs[task] / "plots" / name
            assert path.is_file(), path
            if name.endswith(".png"):
                assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_plots_are_skipped_with_one_note(tmp_path, capsys, monkeypatch):
    from rnnkit.utils import plots

    monkeypatch.setattr(plots, "available", lambda: False)
    code, _, err = rnnkit(capsys, "train", "classify", "--preset", "tiny", "--out", tmp_path / "r")
    assert code == 0
    assert err.count("plots skipped: matplotlib is not installed") == 1
    assert not list((tmp_path / "r" / "plots").glob("*.png"))


# -- using a trained model ---------------------------------------------------------------
def test_generate_from_a_charlm_run_is_seeded(runs, capsys):
    code, a, _ = rnnkit(capsys, "generate", runs["charlm"], "--prime", "The ", "--length", 40, "--seed", 3)
    assert code == 0 and a.startswith("The ") and len(a.rstrip("\n")) == 44
    _, b, _ = rnnkit(capsys, "generate", runs["charlm"] / "model.npz", "--prime", "The ", "--length", 40, "--seed", 3)
    assert a == b


def test_generate_series_by_condition(runs, capsys, tmp_path):
    code, out, _ = rnnkit(capsys, "generate", runs["generate"], "--condition", "square", "--length", 7)
    assert code == 0
    rows = list(csv.DictReader(out.splitlines()))
    assert [r["condition"] for r in rows] == ["square"] * 7
    assert all(np.isfinite(float(r["value"])) for r in rows)
    code, _, err = rnnkit(capsys, "generate", runs["generate"], "--condition", "circle")
    assert code == 2 and "unknown 'circle'" in err


def test_forecast_continues_the_series(runs, capsys, tmp_path):
    code, out, _ = rnnkit(capsys, "forecast", runs["forecast"], "--horizon", 5, "--out", tmp_path / "f.csv")
    assert code == 0
    rows = read_csv(tmp_path / "f.csv")
    assert len(rows) == 5 and [int(r["step"]) for r in rows] == [400, 401, 402, 403, 404]


def test_predict_each_kind(runs, capsys, tmp_path):
    from rnnkit.data import shipped_path

    code, out, _ = rnnkit(capsys, "predict", runs["classify"], "--data", shipped_path("waveforms_TEST.ts"))
    rows = list(csv.DictReader(out.splitlines()))
    assert code == 0 and len(rows) == 80
    assert {r["prediction"] for r in rows} <= {"sine", "square", "sawtooth", "triangle"}
    code, out, _ = rnnkit(capsys, "predict", runs["tag"], "--text", "the dog runs")
    assert code == 0 and [line.split("\t")[0] for line in out.split("\n")[:3]] == ["the", "dog", "runs"]
    code, _, _ = rnnkit(capsys, "predict", runs["tag"], "--text", "a cat", "--out", tmp_path / "t.conllu")
    from rnnkit.data import read_conllu

    assert code == 0 and [w for w, _ in read_conllu(tmp_path / "t.conllu")[0]] == ["a", "cat"]
    code, out, _ = rnnkit(capsys, "predict", runs["seq2seq"], "--text", "1+2", "--text", "30+4")
    assert code == 0 and [line.split("\t")[0] for line in out.strip().split("\n")] == ["1+2", "30+4"]


def test_evaluate_reproduces_the_training_result(runs, capsys):
    code, out, _ = rnnkit(capsys, "evaluate", runs["classify"])
    assert code == 0
    saved = json.loads((runs["classify"] / "metrics.json").read_text())["results"]
    model_row = [line.split() for line in out.split("\n") if line.strip().startswith("model")]
    assert out.startswith("test accuracy on 80 sequences")
    assert float(model_row[0][1]) == pytest.approx(saved["model"], abs=1e-4)


def test_info_shows_architecture_parameters_and_history(runs, capsys):
    code, out, _ = rnnkit(capsys, "info", runs["tag"])
    assert code == 0
    from rnnkit.models.tagger import SequenceTagger

    n = SequenceTagger.load(runs["tag"] / "model.npz").net_.num_parameters()
    assert f"parameters: {n:,}" in out and "SequenceTagger" in out and "training: 1 epoch(s)" in out


def test_resume_continues_a_run(tmp_path, capsys):
    folder = tmp_path / "r"
    assert rnnkit(capsys, "train", "classify", "--preset", "tiny", "--out", folder, "--no-plots")[0] == 0
    before = (folder / "model.npz").read_bytes()
    code, _, err = rnnkit(capsys, "train", "classify", "--resume", folder, "--epochs", 2, "--no-plots")
    assert code == 0 and "resuming" in err
    rows = read_csv(folder / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert (folder / "model.npz").read_bytes() != before
    code, _, err = rnnkit(capsys, "train", "classify", "--resume", folder, "--hidden-size", 3)
    assert code == 2 and "cannot change hidden_size" in err


# -- help on every level -----------------------------------------------------------------
def _help(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv) + ["--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_on_every_level_has_examples(capsys):
    assert "examples:" in _help(capsys)
    for name in commands():
        assert "usage: rnnkit " + name in _help(capsys, name), name
    for name in ("train", "generate", "forecast", "predict", "evaluate", "info", "datasets", "gradcheck"):
        assert "examples:" in _help(capsys, name), name
    for task in ("charlm", "forecast", "classify", "tag", "seq2seq", "generate"):
        text = _help(capsys, "train", task)
        assert "--hidden-size" in text and "presets:" in text and "tiny" in text, task


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "rnnkit", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("rnnkit ")


def test_subprocess_train_then_generate(tmp_path):
    """The real entry point, end to end, in a fresh directory."""

    def run(*argv):
        return subprocess.run(
            [sys.executable, "-m", "rnnkit", *map(str, argv)], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    trained = run("train", "charlm", "--preset", "tiny", "--no-plots")
    assert trained.returncode == 0, trained.stderr
    assert "nats/char" in trained.stdout and "bigram" in trained.stdout
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("charlm-")
    sample = run("generate", folder.relative_to(tmp_path), "--length", 20, "--seed", 0)
    assert sample.returncode == 0 and len(sample.stdout.rstrip("\n")) >= 20
    assert "Traceback" not in trained.stderr + sample.stderr


def test_datasets_lists_every_task_and_format(capsys):
    code, out, _ = rnnkit(capsys, "datasets")
    assert code == 0
    for word in (
        "pydoc",
        "mackey-glass",
        "seasonal",
        "waveforms",
        "adding",
        "tiny-pos",
        "copy-memory",
        "running-sum",
        "arithmetic",
        ".conllu",
        ".ts",
        ".tsv",
        ".npz",
    ):
        assert word in out, word


@pytest.mark.parametrize(
    "argv, unknown, hint, prog",
    [
        (["backtest", "runs/x", "--horizn", "3"], "--horizn 3", "did you mean '--horizon'?", "rnnkit backtest"),
        (["train", "forecast", "--epoch", "3"], "--epoch 3", "did you mean '--epochs'?", "rnnkit train forecast"),
        (["tune", "forecast", "--trails=3"], "--trails=3", "did you mean '--trials'?", "rnnkit tune forecast"),
        (["info", "runs/x", "--verbos"], "--verbos", "", "rnnkit info"),
    ],
)
def test_an_unknown_flag_is_named_by_its_own_command_with_a_close_match(argv, unknown, hint, prog, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: unrecognized arguments: {unknown}"), err
    assert hint in err and f"see '{prog} --help'" in err and "\n" not in err
