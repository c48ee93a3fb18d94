"""Every task's result ends with a verdict: does the model beat its baselines, and if not, what to try."""

import math

import pytest

from rnnkit.cli.tasks import TASKS
from rnnkit.cli.tasks.task import verdict_line


def _results(model, baselines, better="lower", split="validation"):
    return {"split": split, "metric": "loss", "n": 10, "model": model, "baselines": baselines, "better": better}


def test_beating_every_baseline():
    line = verdict_line(_results(1.0, {"unigram": 3.0, "bigram": 2.0}), "more epochs")
    assert line == "the model (1.0000) beats unigram and bigram on the validation part"
    assert "hint" not in line


def test_losing_to_some_or_all_baselines_says_which_and_what_to_try():
    some = verdict_line(_results(2.5, {"unigram": 3.0, "bigram": 2.0, "trigram": 1.5}), "more --epochs")
    assert some == (
        "the model (2.5000) beats unigram but NOT bigram (2.0000) or trigram (1.5000) on the validation part; "
        "hint: try more --epochs"
    )
    none = verdict_line(_results(0.2, {"majority": 0.25}, better="higher", split="test"), "X")
    assert none == "the model (0.2000) does NOT beat majority (0.2500) on the test part; hint: try X"


def test_a_tie_is_not_a_win_and_scores_that_are_not_finite_count_for_nothing():
    assert "does NOT beat b (1.0000)" in verdict_line(_results(1.0, {"b": 1.0}), "r")
    assert verdict_line(_results(1.0, {"b": math.nan, "c": 2.0}), "r") == (
        "the model (1.0000) beats c on the validation part"
    )
    assert "nothing to compare" in verdict_line(_results(1.0, {}), "r")
    assert "beats no baseline" in verdict_line(_results(math.inf, {"b": 1.0}), "r")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_summary_ends_its_result_with_the_verdict(name):
    results = _results(1.0, {"b": 0.5})
    text = TASKS[name].summary(results)
    lines = text.split("\n")
    assert lines[0] == "validation loss on 10 items (lower is better)"
    verdict = lines[3]  # after the heading, the model's row and the baseline's
    assert "does NOT beat b" in verdict and "hint: try" in verdict
    if name != "forecast":  # forecasting keeps its own hint
        assert verdict.endswith(TASKS[name].remedy) and "--epochs" in TASKS[name].remedy
