"""Data parallelism over MPI: the programs of tests/mpi_worker.py run alone and under
``mpiexec -n 2`` for real, and must agree to 1e-10 in float64; faults end the job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnkit.distributed import EMPTY_SHARD, MPIMissingError, World
from rnnkit.distributed import _world as world_module
from rnnkit.train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "mpi_worker.py"


def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="needs mpi4py and an MPI: pip install 'rnnkit[mpi]'")
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    assert found, "mpi4py is installed but no mpiexec was found; pip install 'rnnkit[mpi]' installs mpich's"
    return found


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def run_case(case: str, out: Path, ranks: int, timeout: float = 120) -> subprocess.CompletedProcess:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(WORKER), case, str(out)]
    if ranks > 1:
        cmd = [_mpiexec(), "-n", str(ranks)] + cmd
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


# -- two ranks follow the one-process trajectory ------------------------------------------
@pytest.mark.parametrize(
    "case", ["classifier-rnn_tanh", "classifier-lstm", "classifier-gru", "charlm", "tagger", "seq2seq", "generator"]
)
def test_two_ranks_equal_one_process(case, tmp_path):
    _mpiexec()
    one, two = run_case(case, tmp_path / "one", 1), run_case(case, tmp_path / "two", 2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    a = json.loads((tmp_path / "one" / "history.json").read_text())
    b = json.loads((tmp_path / "two" / "history.json").read_text())
    assert (a["size"], b["size"]) == (1, 2)
    assert len(a["step_loss"]) == len(b["step_loss"]) > 4
    np.testing.assert_allclose(b["step_loss"], a["step_loss"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(b["epoch_loss"], a["epoch_loss"], rtol=0, atol=1e-10)
    if a["val_loss"] is not None:
        np.testing.assert_allclose(b["val_loss"], a["val_loss"], rtol=0, atol=1e-10)
    pa, _ = load_checkpoint(tmp_path / "one" / "model.npz")
    pb, _ = load_checkpoint(tmp_path / "two" / "model.npz")
    assert sorted(pa) == sorted(pb)
    for k in pa:
        assert pa[k].dtype == np.float64
        np.testing.assert_allclose(pb[k], pa[k], rtol=0, atol=1e-10, err_msg=k)
    assert a["step_loss"][-1] < a["step_loss"][0]  # it trained: equal trajectories, not two idle models


def test_with_dropout_the_ranks_stay_identical_and_a_run_is_reproducible(tmp_path):
    _mpiexec()
    runs = [run_case("dropout", tmp_path / str(i), 2) for i in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    digests = [json.loads((tmp_path / str(i) / "digests.json").read_text()) for i in range(2)]
    assert digests[0][0] == digests[0][1]  # every rank holds the same parameters
    a, _ = load_checkpoint(tmp_path / "0" / "model.npz")
    b, _ = load_checkpoint(tmp_path / "1" / "model.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])  # same seed, same N: the same run


def test_cli_under_mpiexec_without_mpi4py_prints_one_error_line(monkeypatch, capsys):
    from rnnkit.cli import main

    monkeypatch.setattr(world_module, "_WORLD", None)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["datasets"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: rnnkit.distributed: this process was started by mpiexec")


# -- faults end the job ---------------------------------------------------------------------
def test_a_killed_rank_ends_the_job(tmp_path):
    t0 = time.monotonic()
    r = run_case("kill", tmp_path, 2, timeout=60)
    assert r.returncode != 0
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "history.json").exists()


def test_a_raising_rank_aborts_the_job_with_its_message(tmp_path):
    t0 = time.monotonic()
    r = run_case("raise", tmp_path, 2, timeout=60)
    assert r.returncode != 0
    assert time.monotonic() - t0 < 30
    assert "a fault injected on rank 1" in r.stderr + r.stdout


def test_a_nan_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    r = run_case("nan", tmp_path, 2, timeout=60)
    assert r.returncode == 0, r.stderr
    seen = json.loads((tmp_path / "nan.json").read_text())
    assert len(seen) == 2 and seen[0] == seen[1]
    # rank 1's third call of loss_and_grad (step 3, or 4 when it held no rows of an earlier
    # batch) was not applied on either rank, and both stopped there
    assert seen[0]["steps_done"] in (2, 3)
    assert seen[0].get("error_step", seen[0]["steps_done"] + 1) == seen[0]["steps_done"] + 1


def test_ranks_disagreeing_on_the_data_is_an_error(tmp_path):
    r = run_case("disagree", tmp_path, 2, timeout=60)
    assert r.returncode != 0
    assert "the ranks disagree on the data" in r.stderr + r.stdout


def test_ranks_building_models_of_different_shapes_is_an_error_not_an_mpi_failure(tmp_path):
    """Different texts give different vocabularies: the parameters' shapes are compared
    before rank 0's are broadcast, so the error names them instead of MPI_Bcast."""
    r = run_case("disagree-text", tmp_path, 2, timeout=60)
    assert r.returncode != 0
    err = r.stderr + r.stdout
    assert "model: the ranks built models of different shapes: embed.weight is (13, 3) <f4 on rank 0, " in err
    assert "embed.weight is (14, 3) <f4 on rank 1 (the ranks disagree on the data); hint: every rank" in err
    assert "MPI_Bcast" not in err


# -- the world, in one process ---------------------------------------------------------------
class FakeComm:
    """Just enough of a communicator for rank ``rank`` of ``size`` without collectives."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size


@pytest.fixture
def as_rank(monkeypatch):
    def enter(rank, size):
        w = World(FakeComm(rank, size))
        monkeypatch.setattr(world_module, "_WORLD", w)
        return w

    return enter


def test_alone_the_world_has_one_rank_and_does_nothing():
    w = World()
    assert (w.rank, w.size, w.active, w.is_root) == (0, 1, False, True)
    assert w.any(True, False) == (True, False)
    np.testing.assert_array_equal(w.sum([1.5, 2.0]), [1.5, 2.0])
    assert w.gather(3) == [3] and w.bcast("x") == "x"
    w.check_same("X", np.arange(3))  # nothing to compare with


@pytest.mark.parametrize("n, size", [(10, 3), (5, 2), (1, 2), (7, 7), (0, 4)])
def test_shards_are_disjoint_contiguous_and_cover_everything(n, size):
    parts = [World(FakeComm(r, size)).shard(np.arange(n)) for r in range(size)]
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_rank_batches_gives_each_rank_its_part_and_an_empty_marker(as_rank):
    from rnnkit.models._data import rank_batches

    as_rank(1, 2)
    batches = [np.arange(5), np.array([7])]
    # check_same is skipped without data: FakeComm has no allgather
    assert list(rank_batches(list, batches)) == [[3, 4], EMPTY_SHARD]


def test_only_rank_zero_writes_checkpoints(as_rank, tmp_path):
    from rnnkit.train.checkpoint import save_checkpoint

    as_rank(1, 2)
    assert save_checkpoint(tmp_path / "c.npz", {"w": np.ones(2)}) == tmp_path / "c.npz"
    assert not any(tmp_path.iterdir())
    as_rank(0, 2)
    save_checkpoint(tmp_path / "c.npz", {"w": np.ones(2)})
    assert (tmp_path / "c.npz").is_file()


def test_a_sharded_stream_reads_this_ranks_rows(as_rank, monkeypatch):
    from rnnkit.train.streams import Stream

    data = np.arange(61)
    whole = list(Stream(data, 3, 4))
    w = as_rank(1, 2)
    monkeypatch.setattr(w, "check_same", lambda *a: None)
    mine = list(Stream(data, 3, 4, shard=True))
    assert len(mine) == len(whole)
    for a, b in zip(whole, mine, strict=False):
        np.testing.assert_array_equal(b.inputs, a.inputs[:, 2:])
        np.testing.assert_array_equal(b.targets, a.targets[:, 2:])
    as_rank(0, 4)
    with pytest.raises(ValueError, match=r"batch_size: 3 parallel streams cannot be split across 4 MPI ranks"):
        Stream(data, 3, 4, shard=True)


def test_mpiexec_without_mpi4py_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(world_module, "_WORLD", None)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    with pytest.raises(
        MPIMissingError,
        match=r"started by mpiexec with 2 ranks, but mpi4py is not installed: "
        r"pip install 'rnnkit\[mpi\]'",
    ):
        world_module.world()


# -- the command line ---------------------------------------------------------------------------
def _cli(args, ranks, timeout=120):
    cmd = [sys.executable, "-m", "rnnkit"] + args
    if ranks > 1:
        cmd = [_mpiexec(), "-n", str(ranks)] + cmd
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


def test_cli_train_on_two_ranks_writes_the_one_process_checkpoints_and_resumes_on_one(tmp_path):
    _mpiexec()
    base = [
        "train",
        "classify",
        "--data",
        "waveforms",
        "--hidden-size",
        "8",
        "--batch-size",
        "7",
        "--dtype",
        "float64",
        "--no-plots",
        "--quiet",
    ]
    one = _cli(base + ["--epochs", "2", "--out", str(tmp_path / "one")], 1)
    two = _cli(base + ["--epochs", "2", "--out", str(tmp_path / "two")], 2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("test accuracy") == 1  # rank 0 alone reports
    for name in ("model.npz", "trainer.npz"):
        a, _ = load_checkpoint(tmp_path / "one" / name)
        b, _ = load_checkpoint(tmp_path / "two" / name)
        assert sorted(a) == sorted(b)
        for k in a:
            np.testing.assert_allclose(b[k], a[k], rtol=0, atol=1e-10, err_msg=f"{name}: {k}")
    # a run trained on 2 ranks continues on 1 (another N) exactly as the 1-process run does
    for run in ("one", "two"):
        r = _cli(["train", "classify", "--resume", str(tmp_path / run), "--epochs", "1", "--no-plots", "--quiet"], 1)
        assert r.returncode == 0, r.stderr
    a, _ = load_checkpoint(tmp_path / "one" / "model.npz")
    b, _ = load_checkpoint(tmp_path / "two" / "model.npz")
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=0, atol=1e-10, err_msg=k)
    metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 3


def test_more_ranks_than_rows_per_batch_is_an_error(as_rank):
    from rnnkit.models._data import rank_batches

    as_rank(0, 4)
    with pytest.raises(ValueError, match=r"batch_size: batches of 3 rows cannot be split across 4 MPI ranks"):
        list(rank_batches(list, [np.arange(3), np.arange(3, 5)]))


def test_cli_more_ranks_than_streams_is_a_one_line_error(tmp_path):
    r = _cli(
        [
            "train",
            "charlm",
            "--preset",
            "quick",
            "--batch-size",
            "1",
            "--epochs",
            "1",
            "--no-plots",
            "--out",
            str(tmp_path / "run"),
        ],
        2,
        timeout=60,
    )
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert lines and "batch_size: 1 parallel streams cannot be split across 2 MPI ranks" in lines[0]


def test_cli_predict_on_ranks_prints_and_writes_what_one_process_does(tmp_path):
    _mpiexec()
    data = ROOT / "src" / "rnnkit" / "data" / "files" / "waveforms_TEST.ts"
    r = _cli(
        [
            "train",
            "classify",
            "--data",
            "waveforms",
            "--epochs",
            "1",
            "--hidden-size",
            "8",
            "--no-plots",
            "--quiet",
            "--out",
            str(tmp_path / "run"),
        ],
        1,
    )
    assert r.returncode == 0, r.stderr
    outs = {}
    for ranks in (1, 3):
        r = _cli(
            ["predict", str(tmp_path / "run"), "--data", str(data), "--out", str(tmp_path / f"p{ranks}.csv")], ranks
        )
        assert r.returncode == 0, r.stderr
        outs[ranks] = (tmp_path / f"p{ranks}.csv").read_text()
    assert outs[1].count("\n") > 50
    assert outs[3] == outs[1]
    printed = _cli(["predict", str(tmp_path / "run"), "--data", str(data)], 3)
    assert printed.stdout == outs[1]  # printed once, by rank 0


def test_cli_experiment_sweep_split_across_ranks_equals_one_process(tmp_path):
    _mpiexec()
    args = ["experiment", "init", "--smoke", "--no-plots", "--quiet"]
    one = _cli(args + ["--out", str(tmp_path / "one")], 1)
    two = _cli(args + ["--out", str(tmp_path / "two")], 2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert two.stdout == one.stdout and one.stdout.count("|") > 20
    a = json.loads((tmp_path / "one" / "init" / "results.json").read_text())
    b = json.loads((tmp_path / "two" / "init" / "results.json").read_text())
    assert (a["rows"], a["curves"]) == (b["rows"], b["curves"])
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["init"]  # the ranks' own folders are gone


def test_a_mid_epoch_checkpoint_of_streams_under_mpiexec_is_refused(as_rank, tmp_path):
    from rnnkit.models.charlm import CharLMNet
    from rnnkit.train import TBPTT, Trainer

    as_rank(0, 2)
    trainer = Trainer(TBPTT(CharLMNet(5, hidden_size=4, embedding_dim=3, rng=np.random.default_rng(0)), 4))
    trainer.batch_in_epoch = 3
    with pytest.raises(ValueError, match=r"under mpiexec a checkpoint inside an epoch \(3 batches in\)"):
        trainer.save(tmp_path / "t.npz")
    trainer.batch_in_epoch = 0
    trainer.save(tmp_path / "t.npz")
    assert (tmp_path / "t.npz").is_file()


def test_divergence_on_two_ranks_is_one_clean_stop(tmp_path):
    """An absurd learning rate under mpiexec: every rank reaches the same stop at the same
    step (no rank left waiting in a collective), rank 0 alone reports it, exit code 3."""
    _mpiexec()
    out = tmp_path / "run"
    r = _cli(
        [
            "train",
            "classify",
            "--preset",
            "tiny",
            "--optimizer",
            "sgd",
            "--lr",
            "1e6",
            "--clip-norm",
            "none",
            "--no-plots",
            "--out",
            str(out),
        ],
        2,
        timeout=90,
    )
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("error: training stopped at step") == 1, r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "stopped: diverged"
    arrays, _ = load_checkpoint(out / "model.npz")  # the last good state, loadable
    assert all(np.isfinite(a).all() for a in arrays.values())


def test_cli_charlm_two_ranks_then_resumed_on_three_equals_one_process(tmp_path):
    _mpiexec()
    base = ["train", "charlm", "--preset", "tiny", "--dtype", "float64", "--no-plots", "--quiet"]
    assert _cli(base + ["--epochs", "2", "--out", str(tmp_path / "one")], 1).returncode == 0
    r = _cli(base + ["--epochs", "1", "--out", str(tmp_path / "many")], 2)
    assert r.returncode == 0, r.stderr
    r = _cli(["train", "charlm", "--resume", str(tmp_path / "many"), "--epochs", "1", "--no-plots", "--quiet"], 3)
    assert r.returncode == 0, r.stderr
    a, _ = load_checkpoint(tmp_path / "one" / "model.npz")
    b, _ = load_checkpoint(tmp_path / "many" / "model.npz")
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=0, atol=1e-10, err_msg=k)


TASKS = ["charlm", "forecast", "classify", "tag", "seq2seq", "generate", "music"]


def _cli_per_rank(args0, args1, timeout=60):
    """Two ranks under one mpiexec, each with its own command line (MPMD)."""
    head = [sys.executable, "-m", "rnnkit"]
    cmd = [_mpiexec(), "-n", "1"] + head + args0 + [":", "-n", "1"] + head + args1
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _one_disagreement(r):
    assert r.returncode == 1, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr  # rank 0 alone says so; no rank aborts the other
    assert lines[0].startswith("error: --data: the ranks disagree on the data (digest "), lines[0]
    assert "on rank 1); hint: every rank must read the same files" in lines[0]
    assert "internal error" not in r.stderr and "MPI_" not in r.stderr
    return lines[0]


def test_cli_charlm_ranks_reading_different_texts_is_a_one_line_error(tmp_path):
    """The vocabularies would differ (and a broadcast of the weights fail inside MPI): the
    data digests are compared right after loading, before anything is built from the data."""
    rng = np.random.default_rng(0)
    for name, letters in (("a.txt", "abcdefgh \n"), ("b.txt", "abcdefxyz \n")):
        (tmp_path / name).write_text("".join(rng.choice(list(letters), size=3000)))
    base = ["train", "charlm", "--preset", "tiny", "--epochs", "1", "--no-plots", "-q", "--out", str(tmp_path / "run")]
    _one_disagreement(
        _cli_per_rank(base + ["--data", str(tmp_path / "a.txt")], base + ["--data", str(tmp_path / "b.txt")])
    )
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


# what rank 0 and rank 1 are given: each task reads another part of its data on rank 1
SPLITS = {task: (["--val-fraction", "0.2"], ["--val-fraction", "0.3"]) for task in TASKS}
SPLITS["music"] = (["--data-size", "2"], ["--data-size", "3"])  # music splits its pieces by name


@pytest.mark.parametrize("task", TASKS)
def test_cli_ranks_reading_different_data_is_a_one_line_error_for_every_task(task, tmp_path):
    base = ["train", task, "--preset", "tiny", "--epochs", "1", "--no-plots", "-q", "--out", str(tmp_path / "run")]
    _one_disagreement(_cli_per_rank(base + SPLITS[task][0], base + SPLITS[task][1]))
