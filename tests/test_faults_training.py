"""The fault battery, training: divergence through the CLI for every task ends in a clean stop
(exit code 3, one paragraph, run.json "stopped: diverged", a loadable last state), and
training killed with SIGKILL at random moments, most of them inside a save, resumes to
exactly the parameters of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from fault_util import cli, one_line_error, tally

from rnnkit.models import load_model
from rnnkit.train.checkpoint import load_checkpoint

ABSURD = ("--optimizer", "sgd", "--lr", "1e6", "--clip-norm", "none")
TASKS = [
    ("charlm", ()),
    ("forecast", ()),
    ("classify", ()),
    ("classify", ("--data", "adding")),
    ("tag", ()),
    ("seq2seq", ()),
    ("generate", ()),
]


def stopped(rc: int, err: str) -> str:
    """Assert the clean stop: exit code 3 and one paragraph."""
    line = one_line_error(rc, err, code=3)
    assert line.startswith("error: training stopped at step "), line
    assert "Likely cause:" in line and "Hint: lower --lr (now 1e+06) and set --clip-norm 1" in line
    return line


@pytest.mark.parametrize("task,extra", TASKS, ids=[" ".join((t,) + e) for t, e in TASKS])
def test_divergence_through_the_cli_is_a_clean_stop_for_every_task(tmp_path, task, extra):
    out = tmp_path / "run"
    rc, _, err = cli("train", task, "--preset", "tiny", *extra, *ABSURD, "--out", out, "--no-plots", "-q")
    line = stopped(rc, err)
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "stopped: diverged"
    stop = info["stop"]
    assert f"at step {stop['step']} (epoch {stop['epoch']}, batch {stop['batch']})" in line
    assert stop["epoch"] >= 1 and stop["batch"] >= 1 and 0 <= stop["good_step"] <= stop["step"]
    model = load_model(out / "model.npz")  # the last good state, loadable
    assert all(np.isfinite(v).all() for v in model.net_.state_dict().values())
    _, meta = load_checkpoint(out / "trainer.npz")
    # the steps done; the weights kept may be those of an earlier step (the best loss)
    assert stop["good_step"] <= meta["counters"]["step"] <= stop["step"]
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows and rows[0].startswith("epoch")
    rc, text, err = cli("info", out)
    assert rc == 0 and f"stopped at step {stop['step']}" in text, err
    # the record and the info line say whether --resume may continue, as the hint does
    assert stop["resumable"] is ("--resume" in line)
    assert ("(--resume can continue from them)" if stop["resumable"] else "start again)") in text, text
    tally("training: divergence through the CLI", f"clean stop ({stop['kind']})")


@pytest.mark.parametrize("task", ["classify", "charlm"])
def test_a_stopped_run_resumes_with_a_lower_learning_rate(tmp_path, task):
    out = tmp_path / "run"
    stopped(*cli("train", task, "--preset", "tiny", *ABSURD, "--out", out, "--no-plots", "-q")[::2])
    rc, _, err = cli(
        "train",
        task,
        "--resume",
        out,
        "--optimizer",
        "adam",
        "--lr",
        "0.005",
        "--clip-norm",
        "1",
        "--epochs",
        "1",
        "--no-plots",
        "-q",
    )
    assert rc == 0, err
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    tally("training: divergence through the CLI", "resumed after the stop")


def test_a_run_that_overflowed_resumes_from_the_weights_of_its_best_loss(tmp_path):
    """The forecaster's weights reach ~1e23 before a value overflows: the weights kept are
    those of the best loss (here the initial ones), so a lower learning rate continues
    instead of overflowing again at its first step."""
    out = tmp_path / "run"
    line = stopped(*cli("train", "forecast", "--preset", "tiny", *ABSURD, "--out", out, "--no-plots", "-q")[::2])
    assert f"--resume {out} --lr 1e+05 --clip-norm 1' or start again" in line
    stop = json.loads((out / "run.json").read_text())["stop"]
    assert stop["kind"] == "nonfinite" and stop["good_step"] < stop["step"] - 1  # not the last finite weights
    assert stop["resumable"] is True
    model = load_model(out / "model.npz")
    assert max(float(np.abs(v).max()) for v in model.net_.state_dict().values()) < 10
    rc, _, err = cli("train", "forecast", "--resume", out, "--lr", "0.001", "--epochs", "1", "--no-plots", "-q")
    assert rc == 0, err
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    tally("training: divergence through the CLI", "resumed after the stop")


def test_without_a_copy_of_the_best_weights_the_stop_says_to_start_again(tmp_path):
    """--on-divergence warn keeps no copy of the best weights: the last finite ones (~1e23)
    are not sane to continue from, so the hint does not suggest --resume."""
    out = tmp_path / "run"
    args = ("--preset", "tiny", *ABSURD, "--on-divergence", "warn", "--out", out, "--no-plots", "-q")
    line = stopped(*cli("train", "forecast", *args)[::2])
    assert line.endswith("then start again (the weights kept are not sane to continue from)"), line
    assert "--resume" not in line
    assert json.loads((out / "run.json").read_text())["stop"]["resumable"] is False
    rc, text, err = cli("info", out)
    assert rc == 0 and "(not sane to continue from: start again)" in text, err


def test_nan_in_the_data_is_refused_before_training(tmp_path):
    """NaN in a user's file is filled when read (a note says so); NaN given to an estimator
    directly is a one-line ValueError, not a stop."""
    from rnnkit.models import SequenceClassifier

    X = np.ones((8, 4, 1))
    X[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="contains NaN or inf"):
        SequenceClassifier(epochs=1).fit(X, ["a", "b"] * 4)


# -- kill during saves, then resume ----------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from rnnkit.nn import Linear
    from rnnkit.nn.losses import mse
    from rnnkit.nn.module import Module
    from rnnkit.train import TrainConfig, Trainer

    class Wide(Module):
        # A linear model with a large (unused) weight block: saves dominate the wall time.
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.lin = self.add_module("lin", Linear(3, 1, dtype="float64", rng=rng))
            self.wide = self.add_module("wide", Linear(700, 700, dtype="float64", rng=rng))

        def loss_and_grad(self, batch):
            X, y = batch
            pred, cache = self.lin.forward(X)
            loss, dpred = mse(pred, y)
            self.lin.backward(dpred, cache)
            return loss

    folder = sys.argv[1]
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3))
    data = [(X[i:i + 4], X[i:i + 4, :1] * 2.0 - X[i:i + 4, 1:2]) for i in range(0, 64, 4)]
    saving = sys.argv[2] == "save"  # the reference run saves nothing
    cfg = TrainConfig(epochs=12, lr=0.05, shuffle=True, seed=3, checkpoint_every=1 if saving else 0,
                      checkpoint_path=folder + "/state.npz" if saving else None, progress=False)
    import os
    model = Wide()
    if saving and os.path.exists(cfg.checkpoint_path):
        trainer = Trainer.load(cfg.checkpoint_path, model)
    else:
        trainer = Trainer(model, cfg)
    print("ready", trainer.step, flush=True)
    trainer.fit(data)
    np.save(folder + "/final.npy", model.state_dict()["lin.weight"])
    print("done", flush=True)
""")


def _child(folder: Path, mode: str = "save") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_training_killed_during_saves_resumes_bit_exactly(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    proc = _child(reference, "reference")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    expected = np.load(reference / "final.npy")

    folder = tmp_path / "killed"
    folder.mkdir()
    rng = np.random.default_rng(7)
    kills = in_save = 0
    wanted = int(os.environ.get("RNNKIT_FAULT_KILLS", "6"))
    while kills < wanted or (in_save == 0 and kills < 4 * wanted):  # on a busy machine a save is hit later
        proc = _child(folder)
        line = proc.stdout.readline()
        if not line.startswith("ready"):
            proc.kill()
            pytest.fail(proc.communicate()[1])
        time.sleep(rng.uniform(0.05, 0.3))
        if proc.poll() is not None:  # finished before the kill
            proc.communicate()
            break
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)  # reaps it and closes the pipes
        kills += 1
        in_save += any(p.name.endswith(".tmp") for p in folder.iterdir())
        tally("training: SIGKILL during training", "survived")
    proc = _child(folder)  # the last resume runs to the end
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    np.testing.assert_array_equal(np.load(folder / "final.npy"), expected)
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())  # stray files cleaned up
    assert kills >= 3 and in_save >= 1, (kills, in_save)
    for _ in range(in_save):
        tally("training: SIGKILL during a save", "survived")


def test_a_stop_outside_a_run_folder_is_exit_code_3(tmp_path):
    """`rnnkit diagnose --task` trains without a run folder: the stop is still one paragraph."""
    rc, _, err = cli(
        "diagnose",
        "--task",
        "classify",
        "--preset",
        "tiny",
        "--set",
        "lr=1e6",
        "--set",
        "clip_norm=none",
        "--set",
        "optimizer=sgd",
        "--set",
        "cell=rnn_relu",
        "--out",
        tmp_path / "d",
        "--no-plots",
        "-q",
    )
    line = one_line_error(rc, err, code=3)
    assert line.startswith("error: training stopped: step ") and "Likely cause:" in line
    tally("training: divergence through the CLI", "clean stop outside a run folder")
