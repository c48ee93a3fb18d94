"""The Trainer's progress output: the bar on a terminal, silence off one, durations and
log lines."""

import io

from linreg import LinReg, batches_of, linear_data

from rnnkit.train import TrainConfig, Trainer
from rnnkit.train.progress import ProgressBar, format_duration


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_is_silent_off_a_terminal_and_for_short_runs():
    t = [0.0]
    quiet = io.StringIO()
    bar = ProgressBar(10, stream=quiet, clock=lambda: t[0])
    for _ in range(10):
        t[0] += 1.0
        bar.update(loss=0.5)
    bar.close()
    assert quiet.getvalue() == ""
    tty = FakeTTY()
    t[0] = 0.0
    bar = ProgressBar(10, desc="epoch 1/2", stream=tty, delay=1.0, clock=lambda: t[0])
    t[0] = 0.5
    bar.update(loss=0.5)
    assert tty.getvalue() == ""  # still within the delay
    t[0] = 2.0
    bar.update(loss=0.25)
    line = tty.getvalue()
    assert line.startswith("\repoch 1/2  2/10 [") and "loss 0.2500" in line and "1.0 steps/s" in line
    assert "ETA 00:08" in line
    bar.close("val_loss 0.3")
    assert tty.getvalue().endswith("val_loss 0.3\n")


def test_progress_bar_of_a_run_already_long_shows_at_once_and_rates_only_new_steps():
    t = [10.0]
    tty = FakeTTY()
    bar = ProgressBar(8, stream=tty, visible_from=5.0, initial=4, clock=lambda: t[0])
    t[0] = 12.0
    bar.update()
    assert "5/8 [" in tty.getvalue() and "0.5 steps/s" in tty.getvalue()


def test_format_duration():
    assert [format_duration(s) for s in (0, 75.2, 3725, float("inf"))] == ["00:00", "01:15", "1:02:05", "--:--"]


def test_trainer_output_follows_progress_and_log_every(capsys):
    X, y = linear_data(32)
    Trainer(LinReg(), TrainConfig(epochs=2, progress=False, log_every=1)).fit(batches_of(X, y))
    assert capsys.readouterr().err == ""
    Trainer(LinReg(), TrainConfig(epochs=2, log_every=2)).fit(batches_of(X, y))
    err = capsys.readouterr().err.splitlines()
    assert [line.split()[:2] for line in err] == [["step", "2"], ["epoch", "1/2"], ["step", "4"], ["epoch", "2/2"]]
    Trainer(LinReg(), TrainConfig(epochs=1, progress=True)).fit(batches_of(X, y))
    err = capsys.readouterr().err  # not a terminal: whole lines, the first step's and the last
    assert "\r" not in err and [line.split()[:3] for line in err.splitlines()] == [
        ["epoch", "1/1", "1/2"],
        ["epoch", "1/1", "2/2"],
    ]


def test_off_a_terminal_a_bar_writes_a_whole_line_now_and_then():
    t = [0.0]
    log = io.StringIO()
    bar = ProgressBar(100, desc="epoch 1/1", enabled=True, stream=log, plain_interval=10.0, clock=lambda: t[0])
    for _ in range(100):
        t[0] += 0.5  # 2 steps a second: a line at the first step, then every 10 s
        bar.update(loss=1.0)
        if t[0] == 20.0:
            bar.write("a message")
    bar.close("val_loss 0.5")
    lines = log.getvalue().split("\n")
    assert "\r" not in log.getvalue() and lines[-1] == ""
    counts = [line.split()[2] for line in lines[:-1] if line.startswith("epoch")]
    assert counts == ["1/100", "21/100", "41/100", "61/100", "81/100", "100/100"]
    assert lines[-2].endswith("val_loss 0.5") and "a message" in lines


class FakeNotebookStream(io.StringIO):
    pass


FakeNotebookStream.__module__ = "ipykernel.iostream"  # where Jupyter's output streams come from


def test_in_a_notebook_the_bar_redraws_in_place():
    t = [0.0]
    out = FakeNotebookStream()
    bar = ProgressBar(2, enabled=True, stream=out, clock=lambda: t[0])
    t[0] = 1.0
    bar.update()
    assert out.getvalue().startswith("\r1/2 [")


def test_an_estimator_with_verbose_shows_its_epochs_in_a_log(capsys):
    import numpy as np

    from rnnkit.models import SequenceClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 5, 2)), np.arange(20) % 2
    SequenceClassifier(hidden_size=4, epochs=2, batch_size=10, verbose=True).fit(X, y, validation_data=(X, y))
    err = capsys.readouterr().err
    assert "\r" not in err  # captured: not a terminal, so whole lines
    finals = [line for line in err.splitlines() if "val_loss" in line]
    assert [line.split()[:2] for line in finals] == [["epoch", "1/2"], ["epoch", "2/2"]]  # each epoch's last line


def test_rnnkit_train_into_a_log_file_writes_whole_progress_lines(tmp_path):
    import subprocess
    import sys

    from rnnkit.models import load_model

    argv = [sys.executable, "-m", "rnnkit", "train", "classify", "--preset", "tiny", "--epochs", "2", "--no-plots"]
    log = tmp_path / "log.txt"
    with log.open("w") as err:  # 2>log.txt: stderr is not a terminal
        proc = subprocess.run([*argv, "--out", str(tmp_path / "r")], stderr=err, stdout=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0
    text = log.read_text()
    assert "\r" not in text
    lines = [line.split("  ") for line in text.splitlines() if line.startswith("epoch ")]
    # per epoch: the first step's line, then the last one with its validation score
    assert [(fields[0], fields[1]) for fields in lines] == [
        ("epoch 1/2", "1 steps"),
        ("epoch 1/2", "7 steps"),
        ("epoch 2/2", "1 steps"),
        ("epoch 2/2", "7 steps"),
    ]
    assert [fields[-1].startswith("val_loss ") for fields in lines] == [False, True, False, True]
    assert text.index("training SequenceClassifier") < text.index("epoch 1/2") < text.index("run folder:")
    # the saved model keeps its progress off, as before: fitted again, it writes nothing into a log
    assert load_model(tmp_path / "r" / "model.npz").get_params()["verbose"] is False
    with log.open("w") as err:  # --quiet: no progress
        proc = subprocess.run(
            [*argv, "-q", "--out", str(tmp_path / "q")], stderr=err, stdout=subprocess.PIPE, timeout=120
        )
    assert proc.returncode == 0 and log.read_text() == ""
