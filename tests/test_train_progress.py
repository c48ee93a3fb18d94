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
    err = capsys.readouterr().err
    assert err.startswith("\repoch 1/1  1/2 [") and err.endswith("\n")
