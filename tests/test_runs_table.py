"""``rnnkit runs``: the runs of a folder as a table, two runs compared, their losses plotted."""

import json

import pytest

from rnnkit.cli import main
from rnnkit.cli.runs_table import best_loss, sort_rows, table


def rnnkit(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, hidden, epochs in (("small", 8, 1), ("large", 16, 2)):
        argv = ["train", "classify", "--preset", "tiny", "--set", f"hidden_size={hidden}", "--epochs", str(epochs)]
        assert main([*argv, "--out", str(root / name), "-q"]) == 0
    return root


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def _lines(out):
    return {line.split()[0]: line for line in out.splitlines()[1:]}


def test_lists_the_runs_with_their_best_scores(two_runs, capsys):
    code, out, _ = rnnkit(capsys, "runs", two_runs)
    assert code == 0
    header, rows = out.splitlines()[0], _lines(out)
    assert header.split()[:3] == ["run", "task", "data"] and "best val_loss" in header
    assert set(rows) == {"small", "large"}
    for name, hidden in (("small", "8"), ("large", "16")):
        metrics = _metrics(two_runs / name)
        best = min(e["val_loss"] for e in metrics["epochs"])
        cells = rows[name].split()
        assert cells[1:5] == ["classify", "waveforms", "lstm", hidden]
        assert f"{best:.4g}" in cells and f"{metrics['results']['model']:.4g}" in cells
        assert "finished" in cells and "accuracy" in cells


def test_sorted_by_a_column(two_runs, capsys):
    _, out, _ = rnnkit(capsys, "runs", two_runs, "--sort", "hidden_size")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["small", "large"]
    _, out, _ = rnnkit(capsys, "runs", two_runs, "--sort", "hidden_size", "--reverse")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["large", "small"]
    code, _, err = rnnkit(capsys, "runs", two_runs, "--sort", "scor")
    assert code == 2 and "--sort: expected a column" in err and "did you mean 'score'" in err


def test_compare_shows_the_settings_that_differ_and_the_losses_side_by_side(two_runs, capsys):
    code, out, _ = rnnkit(capsys, "runs", two_runs, "--compare", "small", two_runs / "large")
    assert code == 0
    differ = out.split("settings that differ:")[1].split("results:")[0]
    keys = {line.split()[0]: line.split()[1:] for line in differ.strip().splitlines()[1:]}
    assert keys == {"hidden_size": ["8", "16"], "epochs": ["1", "2"]}  # lr, cell, data: the same
    small, large = _metrics(two_runs / "small"), _metrics(two_runs / "large")
    model_line = next(line for line in out.splitlines() if line.split()[:1] == ["model"])
    assert model_line.split()[1:] == [f"{small['results']['model']:.4g}", f"{large['results']['model']:.4g}"]
    per_epoch = out.split("per epoch:")[1].strip().splitlines()
    assert per_epoch[0].split() == ["epoch", "loss", "A", "loss", "B", "val_loss", "A", "val_loss", "B"]
    assert per_epoch[2].split()[1] == "-"  # the small run trained one epoch
    assert per_epoch[2].split()[2] == f"{large['epochs'][1]['loss']:.4g}"


def test_plot_draws_the_runs_losses_in_one_png(two_runs, capsys, tmp_path):
    code, _, err = rnnkit(capsys, "runs", two_runs, "--plot", tmp_path / "losses.png")
    assert code == 0 and "wrote" in err
    assert (tmp_path / "losses.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_damaged_run_is_listed_and_an_empty_folder_says_so(two_runs, capsys, tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    code, out, _ = rnnkit(capsys, "runs", tmp_path)
    assert code == 0 and "unreadable run.json" in _lines(out)["broken"]
    (tmp_path / "empty").mkdir()
    code, out, err = rnnkit(capsys, "runs", tmp_path / "empty")
    assert code == 0 and out == "" and "no runs under" in err
    code, _, err = rnnkit(capsys, "runs", tmp_path / "absent")
    assert code == 1 and "no such folder" in err


def test_rows_sort_numbers_as_numbers_and_missing_values_last():
    rows = [{"run": "a", "score": 9.0}, {"run": "b", "score": None}, {"run": "c", "score": 10.0}]
    assert [r["run"] for r in sort_rows(rows, "score")] == ["a", "c", "b"]
    assert [r["run"] for r in sort_rows(rows, "score", reverse=True)] == ["c", "a", "b"]
    assert best_loss([{"loss": 2.0}, {"loss": 1.5}]) == 1.5
    assert best_loss([{"loss": 2.0, "val_loss": 3.0}, {"loss": 1.0, "val_loss": 2.5}]) == 2.5
    assert table([{"run": "x", "score": 0.5}], ["run", "score"]).splitlines() == ["run  score", "x      0.5"]
