"""Each task owns what the commands do with its models: which commands a task serves comes
from the methods it has, and a task without a command's method refuses it by name."""

import numpy as np
import pytest

from rnnkit.cli import evaluate, generate, predict, sources
from rnnkit.cli._base import CliError, UsageError
from rnnkit.cli.tasks import TASKS
from rnnkit.cli.tasks.task import Task, read_text_items
from rnnkit.data import pianoroll
from rnnkit.data.pianoroll_plot import piano_roll_plot
from rnnkit.utils import plots


def test_the_commands_offer_the_tasks_that_have_their_methods():
    assert predict.TASKS == ("classify", "tag", "seq2seq")
    assert generate.TASKS == ("charlm", "generate", "music")
    assert evaluate.EVAL_TASKS == ("charlm", "forecast", "classify", "tag", "seq2seq", "generate", "music")


def test_a_task_that_gains_a_method_is_offered_by_its_command():
    class Echo(Task):
        name, command = "echo", "rnnkit generate"

        def generate(self, model, args, config, console):
            return "echo\n"

    assert Echo().serves("generate") and not Echo().serves("predict")
    assert not Task().serves("generate")


@pytest.mark.parametrize(
    "task, call, message",
    [
        ("classify", lambda t: t.generate(None, None, None, None), "rnnkit generate: task 'classify' has no generate"),
        ("charlm", lambda t: t.predict_texts(None, ["a"]), "rnnkit predict: task 'charlm' has no predict"),
        ("forecast", lambda t: t.format_predictions(None, [], None), "rnnkit predict: task 'forecast' has no predict"),
    ],
)
def test_a_task_without_a_command_refuses_it_with_a_hint(task, call, message):
    with pytest.raises(CliError, match="hint: use 'rnnkit") as info:
        call(TASKS[task])
    assert str(info.value).startswith(message)
    assert TASKS[task].command in str(info.value)


def test_beam_size_is_for_seq2seq_alone():
    class Args:
        beam_size = 3

    with pytest.raises(UsageError, match="--beam-size"):
        TASKS["tag"].predict_options(None, Args())


def test_text_items_one_per_line(tmp_path):
    config = TASKS["tag"].config_class()
    path = tmp_path / "in.txt"
    path.write_text("the dog\n\n  \nruns home\n", encoding="utf-8")
    assert read_text_items(path, None, config, words=True) == [["the", "dog"], ["runs", "home"]]
    assert read_text_items(path, None, config, words=False) == ["the dog", "runs home"]
    assert read_text_items(path, None, config, words=False, guess=False) is None
    assert read_text_items(path, "tsv", config, words=False) is None
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(CliError, match="no non-empty lines"):
        sources.read_lines(path, config)


def test_sources_keep_the_first_column(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("1+2\t3\n4+5\n", encoding="utf-8")
    assert sources.read_sources(path, TASKS["seq2seq"].config_class()) == ["1+2", "4+5"]


# -- the frame helpers of data/pianoroll.py ---------------------------------------------------
NOTES = np.array([[0, 24, 60, 0], [24, 48, 64, 0], [24, 24, 55, 1]], np.int32)  # onset, duration, pitch, part


@pytest.mark.parametrize("mode", ["poly", "melody"])
def test_frames_and_notes_round_trip(mode):
    frames = pianoroll.to_frames(NOTES, mode, 1)
    assert len(frames) == 3
    back = pianoroll.to_frames(pianoroll.to_notes(frames, mode, 1), mode, 1)
    np.testing.assert_array_equal(back, frames)
    assert pianoroll.sounding_range([frames], mode) == ((55, 64) if mode == "poly" else (60, 64))


def test_sounding_range_of_silence_is_none():
    assert pianoroll.sounding_range([np.zeros((4, 128), bool)], "poly") is None
    assert pianoroll.sounding_range([np.full(4, pianoroll.REST)], "melody") is None


def test_piano_roll_plot_draws_only_with_matplotlib(tmp_path, monkeypatch):
    roll = pianoroll.piano_roll(NOTES)
    monkeypatch.setattr(plots, "available", lambda: False)
    assert piano_roll_plot(roll, None, tmp_path / "none.png") is None
    monkeypatch.undo()
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    path = piano_roll_plot(roll, roll, tmp_path / "roll.png", primer_frames=1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rnnkit_help_loads_neither_the_models_nor_optional_packages():
    # cli/__init__.py: rnnkit.models and rnnkit.interop are imported where used, for start-up time.
    import subprocess
    import sys

    code = (
        "import sys\nfrom rnnkit.cli import build_parser\nbuild_parser()\n"
        "ours = ('rnnkit.models', 'rnnkit.interop')\n"
        "optional = ('torch', 'onnx', 'onnxruntime', 'matplotlib', 'numba', 'music21')\n"
        "print(sorted(m for m in sys.modules if m.startswith(ours) or m.split('.')[0] in optional))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
