"""rnnkit's messages go through the ``rnnkit`` logger: printed as before by default, and an
application can silence or route them."""

import logging

import pytest
from linreg import LinReg, batches_of, linear_data

from rnnkit.cli import main
from rnnkit.train import TrainConfig, Trainer
from rnnkit.utils import log


class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def rnnkit_logger():
    """The rnnkit logger, put back as it was after the test."""
    logger = log.get_logger()
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


def test_cli_notes_are_log_records_printed_as_before(rnnkit_logger, capsys, tmp_path):
    keep = Keep()
    rnnkit_logger.addHandler(keep)
    assert main(["train", "classify", "--preset", "tiny", "--out", str(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    notes = [r.getMessage() for r in keep.records if r.name == "rnnkit.cli"]
    assert notes and notes[0].startswith("data: waveforms")
    # stderr: the bare messages, in order, between them the progress lines (not a terminal)
    assert [line for line in err.splitlines() if not line.startswith("epoch 1/1 ")][: len(notes)] == notes
    assert "test accuracy" in out and "data:" not in out  # results stay on stdout


def test_an_application_silences_or_routes_the_messages(rnnkit_logger, capsys, caplog, tmp_path):
    rnnkit_logger.setLevel(logging.WARNING)
    assert main(["train", "classify", "--preset", "tiny", "--out", str(tmp_path / "a")]) == 0
    out, err = capsys.readouterr()
    assert "data:" not in err and "test accuracy" in out
    rnnkit_logger.setLevel(logging.INFO)
    log.disable_default_handler()
    log.enable_propagation()
    with caplog.at_level(logging.INFO):
        assert main(["train", "classify", "--preset", "tiny", "--out", str(tmp_path / "b")]) == 0
    out, err = capsys.readouterr()
    assert "data:" not in err  # routed to the application's handlers only
    assert any(r.name == "rnnkit.cli" and r.getMessage().startswith("data:") for r in caplog.records)


def test_the_trainers_lines_are_records_of_rnnkit_train(rnnkit_logger, capsys):
    keep = Keep()
    rnnkit_logger.addHandler(keep)
    X, y = linear_data(32)
    Trainer(LinReg(), TrainConfig(epochs=1, log_every=1)).fit(batches_of(X, y))
    lines = [r.getMessage() for r in keep.records if r.name == "rnnkit.train"]
    assert [line.split()[:2] for line in lines] == [["step", "1"], ["step", "2"], ["epoch", "1/1"]]
    assert capsys.readouterr().err.splitlines() == lines


def test_only_rnnkit_loggers():
    with pytest.raises(ValueError, match="name: expected 'rnnkit' or 'rnnkit.<part>', got 'numpy'"):
        log.get_logger("numpy")
