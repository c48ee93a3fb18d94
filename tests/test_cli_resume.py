"""``rnnkit train --resume RUN`` continues a run bit for bit from its ``trainer.npz``:
``--epochs 3`` equals ``--epochs 1`` then ``--resume --epochs 2``, in the parameters and
in the metrics, each epoch once."""

import json

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.models import load_model


def rnnkit(capsys, *argv):
    """(exit code, stdout, stderr) of ``rnnkit argv`` run in-process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys, task, folder, *extra):
    code, _, err = rnnkit(capsys, "train", task, "--preset", "tiny", "--out", folder, "--no-plots", *extra)
    assert code == 0, err


def resume(capsys, task, folder, *extra):
    code, _, err = rnnkit(capsys, "train", task, "--resume", folder, "--no-plots", *extra)
    assert code == 0, err
    return err


def parameters(folder):
    """The arrays of a run's model.npz (without the JSON metadata, which names the epochs)."""
    with np.load(folder / "model.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files if not k.endswith(".json")}


def assert_same_parameters(a, b):
    pa, pb = parameters(a), parameters(b)
    assert pa and sorted(pa) == sorted(pb)
    for k in pa:
        assert pa[k].dtype == pb[k].dtype and np.array_equal(pa[k], pb[k]), k


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


@pytest.mark.parametrize("task", ["classify", "tag", "forecast", "charlm"])
def test_resume_equals_one_run_bit_for_bit(tmp_path, capsys, task):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(capsys, task, whole, "--epochs", 3)
    train(capsys, task, parts, "--epochs", 1)
    assert (parts / "trainer.npz").is_file()
    err = resume(capsys, task, parts, "--epochs", 2)
    assert "from trainer.npz" in err and "starts afresh" not in err
    assert_same_parameters(whole, parts)
    a, b = metrics(whole), metrics(parts)
    assert [r["epoch"] for r in b["epochs"]] == [1, 2, 3]
    assert [r["loss"] for r in b["epochs"]] == [r["loss"] for r in a["epochs"]]
    assert b["steps"] == a["steps"]  # every step once, the same values


def test_a_changed_lr_restarts_the_optimizer_with_a_note(tmp_path, capsys):
    folder = tmp_path / "r"
    train(capsys, "classify", folder, "--epochs", 1)
    before = parameters(folder)
    err = resume(capsys, "classify", folder, "--epochs", 2, "--lr", 0.01)
    assert "note: lr changed" in err and "optimizer state starts afresh" in err
    assert any(not np.array_equal(before[k], v) for k, v in parameters(folder).items())
    rows = metrics(folder)["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert len(metrics(folder)["steps"]["loss"]) == sum(r["steps"] for r in rows)
    # The next resume continues from the trainer that the new lr started, without a note.
    err = resume(capsys, "classify", folder, "--epochs", 1)
    assert "starts afresh" not in err
    rows = metrics(folder)["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert len(metrics(folder)["steps"]["loss"]) == sum(r["steps"] for r in rows)


def test_a_damaged_trainer_file_is_an_error_and_keeps_the_model(tmp_path, capsys):
    folder = tmp_path / "r"
    train(capsys, "tag", folder, "--epochs", 1)
    model_bytes = (folder / "model.npz").read_bytes()
    trainer = folder / "trainer.npz"
    trainer.write_bytes(trainer.read_bytes()[:200])
    code, _, err = rnnkit(capsys, "train", "tag", "--resume", folder, "--epochs", 1, "--no-plots")
    assert code != 0
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert str(trainer) in line
    assert (folder / "model.npz").read_bytes() == model_bytes
    load_model(folder / "model.npz")


def test_a_run_without_trainer_file_warm_starts_with_a_note(tmp_path, capsys):
    folder = tmp_path / "r"
    train(capsys, "classify", folder, "--epochs", 2)
    (folder / "trainer.npz").unlink()  # as a run of an older version left it
    err = resume(capsys, "classify", folder, "--epochs", 1)
    assert "no trainer.npz" in err and "optimizer starts afresh" in err
    assert (folder / "trainer.npz").is_file()
    err = resume(capsys, "classify", folder, "--epochs", 1)
    assert "from trainer.npz" in err
    rows = metrics(folder)["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert len(metrics(folder)["steps"]["loss"]) == sum(r["steps"] for r in rows)


def test_a_run_stopped_before_model_npz_resumes_from_trainer_file(tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(capsys, "forecast", whole, "--epochs", 3)
    train(capsys, "forecast", parts, "--epochs", 2)
    for name in ("model.npz", "metrics.json", "metrics.csv"):  # as a crash after epoch 2 leaves it
        (parts / name).unlink()
    resume(capsys, "forecast", parts, "--epochs", 1)
    assert_same_parameters(whole, parts)
    assert metrics(parts)["steps"] == metrics(whole)["steps"]
    assert [r["epoch"] for r in metrics(parts)["epochs"]] == [1, 2, 3]
