"""A run folder's records: the environment in run.json, and MODEL_CARD.md."""

import dataclasses
import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit import _kernels
from rnnkit.cli import main
from rnnkit.cli.options import resolve
from rnnkit.cli.run_record import data_fingerprint, git_commit
from rnnkit.cli.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("record") / "run"
    assert main(["train", "classify", "--preset", "tiny", "--out", str(out), "-q"]) == 0
    return out


def _dist(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_run_json_records_the_environment(run_folder):
    env = json.loads((run_folder / "run.json").read_text())["environment"]
    versions = env["versions"]
    assert versions["python"] == platform.python_version()
    assert versions["numpy"] == importlib.metadata.version("numpy")
    assert versions["numba"] == _dist("numba") and versions["torch"] == _dist("torch")
    assert env["kernels"] == _kernels.describe()
    assert env["cpu"] and env["threads"]["cores"] >= 1 and "OMP_NUM_THREADS" in env["threads"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert env["git_commit"] == (head.stdout.strip() if head.returncode == 0 else None)


def test_git_commit_is_none_outside_a_checkout(tmp_path):
    assert git_commit(tmp_path) is None


def test_the_environment_does_not_import_torch():
    code = "import sys; from rnnkit.cli.run_record import environment; e = environment(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_model_card_names_task_data_digest_settings_scores_and_use(run_folder):
    card = (run_folder / "MODEL_CARD.md").read_text()
    config = resolve(TASKS["classify"].config_class, "classify", preset_name="tiny")
    data = TASKS["classify"].load(config)
    assert card.startswith("# Model card: classify run run\n")
    assert f"`{data_fingerprint(data.train, data.val, data.test)}`" in card
    assert data.describe() in card
    assert f"| `hidden_size` | `{config.hidden_size}` |" in card and "| `track` | `none` |" in card
    summary = (run_folder / "summary.txt").read_text().split("\n\n")[0].strip()
    assert f"```text\n{summary}\n```" in card  # the score beside its baseline
    assert "## Intended use" in card and f"rnnkit predict {run_folder}" in card


def test_the_data_digest_follows_the_values_not_the_objects():
    @dataclasses.dataclass
    class Part:
        values: np.ndarray
        name: str

    a = data_fingerprint(Part(np.arange(3.0), "x"), "text")
    assert a == data_fingerprint(Part(np.arange(3.0), "x"), "text")
    assert a != data_fingerprint(Part(np.arange(3.0) + 1, "x"), "text")
    assert a != data_fingerprint(Part(np.arange(3.0), "x"), "texts")
