"""Bounded by construction, through the command line: special files, expanding parsers, size
bombs in settings and in files, NaN/inf in every reader, format misreads, errors naming the
user's path or option, and ranks reading different data under MPI.

Each case runs ``rnnkit`` in a subprocess limited to 1 GiB of address space and must end, within
5 seconds and 1 GiB of resident memory, in the outcome class it asserts: a one-line ``error:``
naming the file or option (exit code 1), a clean stop (exit code 3), or success with a finite
score. Never a hang, an internal error, an out-of-memory error or exit code 0 with NaN.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from fault_util import cli, tally
from test_distributed import SPLITS, TASKS, _env, _mpiexec
from test_nonsense_refused import INF_FILES, _seasonal, _series_csv
from test_size_bounds import _rewrite
from test_special_files import _long_pause_midi

from rnnkit.models import SequenceClassifier
from rnnkit.utils.memory import MAX_STEPS

resource = pytest.importorskip("resource", reason="limits on a child's memory are POSIX")

LIMIT = 2**30  # address space of each case, and the bar on its resident memory
SECONDS = 5.0  # the bar on each case's wall time
TIMEOUT = 10.0  # a case still running then has hung


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run(argv, cwd, mpmd=None) -> tuple[int, str, float, int]:
    """``rnnkit ARGV`` in a subprocess (or two ranks under mpiexec, rank 1 given ``mpmd``):
    (exit code, stderr, seconds, peak resident bytes of the process and what it waited for).

    The peak is an upper bound: Linux counts the resident size of the forked test process
    before ``exec`` too. The address-space limit bounds what the case itself can take."""
    head = [sys.executable, "-m", "rnnkit"]
    cmd = head + [str(a) for a in argv]
    if mpmd is not None:
        cmd = [_mpiexec(), "-n", "1", *cmd, ":", "-n", "1", *head, *map(str, mpmd)]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=_env(),  # this tree's src first, one BLAS thread, no MPI variables of a parent job
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_limit_memory,
            start_new_session=True,
        )
        while True:  # wait4: the child's own peak memory, not the largest of every child so far
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > TIMEOUT:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                pytest.fail(f"hung: still running after {TIMEOUT:g} s: {' '.join(cmd)}")
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    return proc.returncode, text, seconds, usage.ru_maxrss * 1024


def outcome(category, argv, cwd, *, code=1, names=(), mpmd=None) -> str:
    """Run a case, assert its class (``code``: 1 a one-line error naming every string of
    ``names``, 3 a clean stop, 0 success) and the bars; tally it; return stderr."""
    rc, err, seconds, peak = run(argv, cwd, mpmd)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "internal error" not in err and "Traceback" not in err and "out of memory" not in err, err
    assert rc == code, (rc, err)
    if code != 0:
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        for name in names:
            assert str(name) in lines[0], (name, lines[0])
    assert seconds < SECONDS, (seconds, argv)
    assert peak < LIMIT, (peak, argv)
    tally(category, {0: "finished", 1: "refused", 3: "clean stop"}[code])
    print(f"exit {rc}, {seconds:.2f} s, {peak / 2**20:.0f} MiB: {(lines or [''])[-1][:160]}")  # shown by pytest -rP
    return err


# -- what the cases run on ----------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A charlm and a music run, a forecaster model file, a classifier model file."""
    folder = tmp_path_factory.mktemp("bounds")
    for task, extra in (("charlm", ["--set", "data_size=3000"]), ("music", ["--data-size", "4"])):
        rc, _, err = cli("train", task, "--preset", "tiny", *extra, "--out", folder / task, "--no-plots", "-q")
        assert rc == 0, err
    data = _series_csv(folder / "s.csv", _seasonal())
    rc, _, err = cli("train", "forecast", "--preset", "tiny", "--data", data, "--out", folder / "forecast", "-q")
    assert rc == 0, err
    SequenceClassifier(hidden_size=4, epochs=1, seed=0).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1]).save(folder / "clf.npz")
    return folder


# -- special files: refused by name before any read ----------------------------------------
SPECIAL = ["fifo", "dev-zero", "link-to-dev-zero", "folder"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero are POSIX")
@pytest.mark.parametrize("command", [["info"], ["predict", "--text", "a b"], ["forecast", "--horizon", "3"]])
@pytest.mark.parametrize("kind", SPECIAL)
def test_special_files_are_refused_by_name(tmp_path, kind, command):
    path = Path("/dev/zero") if kind == "dev-zero" else tmp_path / "model.npz"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    expected = {"fifo": "FIFO", "folder": "run folder"}.get(kind, "character device")
    outcome("bounds: special files as model files", [command[0], path, *command[1:]], tmp_path, names=[path, expected])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize(
    "task, name",
    [("charlm", "a.txt"), ("classify", "a.tsv"), ("tag", "a.conllu"), ("forecast", "a.csv"), ("music", "a.mid")],
)
def test_a_fifo_as_data_is_refused_by_name(tmp_path, task, name):
    os.mkfifo(tmp_path / name)
    argv = ["train", task, "--preset", "tiny", "--data", tmp_path / name, "--out", tmp_path / "run", "-q"]
    outcome("bounds: special files as data", argv, tmp_path, names=[name, "FIFO"])
    assert not (tmp_path / "run").exists()


# -- parsers that expand their input -------------------------------------------------------
def test_a_100_byte_midi_with_maximal_pauses_is_refused_before_it_expands(tmp_path):
    pytest.importorskip("mido", reason="reading MIDI needs mido")
    (tmp_path / "pause.mid").write_bytes(_long_pause_midi())
    argv = ["train", "music", "--preset", "tiny", "--data", tmp_path / "pause.mid", "--out", tmp_path / "run", "-q"]
    outcome("bounds: expanding parsers", argv, tmp_path, names=["pause.mid", "accepted"])


def test_a_seq2seq_pair_of_one_megabyte_is_refused_by_line(tmp_path):
    (tmp_path / "pairs.tsv").write_text("hi\tsalut\n" * 20 + "a" * 2**20 + "\tb\n")
    argv = ["train", "seq2seq", "--preset", "tiny", "--data", tmp_path / "pairs.tsv", "--out", tmp_path / "run", "-q"]
    outcome("bounds: expanding parsers", argv, tmp_path, names=["pairs.tsv, line 21"])


# -- size bombs in settings and flags ------------------------------------------------------
SETTINGS = [
    ("classify", "hidden_size=1000000000"),
    ("charlm", "hidden_size=1000000000"),
    ("classify", "embedding_dim=1000000000"),
    ("charlm", "num_layers=1000000"),
    ("classify", "hidden_size=9223372036854775808"),
    ("classify", "batch_size=1000000000000"),
]


@pytest.mark.parametrize("task, setting", SETTINGS)
def test_a_size_setting_beyond_memory_is_refused_by_name(tmp_path, task, setting):
    argv = ["train", task, "--preset", "tiny", "--set", setting, "--out", tmp_path / "run", "-q"]
    outcome("bounds: size bombs in settings", argv, tmp_path, names=[setting, "this machine has"])
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv, option",
    [
        (["forecast", "{run}/forecast", "--horizon", "1000000000"], "--horizon"),
        (["generate", "{run}/charlm", "--length", "100000000"], "--length"),
        (["generate", "{run}/music", "--length", "100000000", "--out", "{run}/x.mid"], "--length"),
    ],
)
def test_a_size_flag_beyond_its_ceiling_is_refused_by_name(runs, argv, option):
    argv = [a.format(run=runs) for a in argv]
    outcome("bounds: size bombs in settings", argv, runs, names=[option, f"at most {MAX_STEPS}"])


@pytest.mark.parametrize("params", [{"hidden_size": 10**9}, {"num_layers": 10**6}, {"hidden_size": 1e9}])
@pytest.mark.parametrize("command", ["info", "predict"])
def test_a_model_file_declaring_a_huge_size_is_refused_before_allocating(runs, tmp_path, params, command):
    path = tmp_path / "hostile.npz"
    _rewrite(runs / "clf.npz", path, **params)
    argv = [command, path] + (["--data", runs / "s.csv"] if command == "predict" else [])
    outcome("bounds: size bombs in model files", argv, tmp_path, names=[path])


# -- NaN and inf in every reader, values beyond float32 --------------------------------------
READER_TASK = {"forecast.csv": "forecast", "long.csv": "classify", "wide.csv": "classify", "case.ts": "classify"}


@pytest.mark.parametrize("name", sorted(READER_TASK))
def test_inf_is_refused_by_every_reader_through_train(tmp_path, name):
    text, where = INF_FILES[name]
    (tmp_path / name).write_text(text)
    argv = ["train", READER_TASK[name], "--preset", "tiny", "--data", tmp_path / name, "--out", tmp_path / "run", "-q"]
    outcome("bounds: NaN/inf in readers", argv, tmp_path, names=[name, where])


def test_a_forecast_csv_near_1e300_is_refused_naming_column_and_row(tmp_path):
    values = _seasonal()
    values[40] = "1e300"
    data = _series_csv(tmp_path / "big.csv", values, name="sales")
    argv = ["train", "forecast", "--preset", "tiny", "--data", data, "--out", tmp_path / "run", "-q"]
    outcome("bounds: NaN/inf in readers", argv, tmp_path, names=["big.csv, line 42, column 'sales'", "float32"])


def test_a_ts_file_with_1e999_is_refused_by_classify(tmp_path):
    cases = "".join(f"{i},{i + 1},{i + 2}:{'ab'[i % 2]}\n" for i in range(12))
    (tmp_path / "x.ts").write_text("@classLabel true a b\n@data\n" + cases + "4,1e999,5:b\n")
    argv = ["train", "classify", "--preset", "tiny", "--data", tmp_path / "x.ts", "--out", tmp_path / "run", "-q"]
    outcome("bounds: NaN/inf in readers", argv, tmp_path, names=["x.ts, line 15", "infinite"])


# -- format misreads and flags that were ignored ---------------------------------------------
def _conllu(path, columns=10, upos=True):
    """Ten sentences of CoNLL-U, or of its columns FORM, LEMMA, UPOS[, XPOS] alone, or with
    every UPOS '_'."""
    tags = ("DET", "NOUN") if upos else ("_", "_")
    rows = [
        ["1", "A", "a", tags[0], "_", "_", "0", "root", "_", "_"],
        ["2", "cat", "cat", tags[1], "_", "_", "1", "nsubj", "_", "_"],
    ]
    rows = [r if columns == 10 else r[1 : 1 + columns] for r in rows]
    path.write_text(("".join("\t".join(r) + "\n" for r in rows) + "\n") * 10)
    return path


@pytest.mark.parametrize("columns, upos, says", [(3, True, "got 3"), (4, True, "got 4"), (10, False, "'UPOS'")])
def test_a_conllu_file_that_is_not_conllu_is_refused(tmp_path, columns, upos, says):
    data = _conllu(tmp_path / "w.conllu", columns, upos)
    argv = ["train", "tag", "--preset", "tiny", "--data", data, "--out", tmp_path / "run", "-q"]
    err = outcome("bounds: format misreads", argv, tmp_path, names=["w.conllu", says])
    assert "classes_" not in err


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_encoding_is_honoured_for_a_forecast_csv(tmp_path, encoding):
    path = tmp_path / "s.csv"
    path.write_text("caf\u00e9\n" + "\n".join(_seasonal()) + "\n", encoding=encoding)
    argv = ["train", "forecast", "--preset", "tiny", "--data", path, "--out", tmp_path / "run", "-q", "--no-plots"]
    outcome("bounds: format misreads", argv, tmp_path, names=["s.csv", "--encoding"])
    outcome("bounds: format misreads", [*argv, "--encoding", encoding], tmp_path, code=0)
    score = json.loads((tmp_path / "run" / "metrics.json").read_text())["results"]["model"]
    assert math.isfinite(score)


def test_a_series_predictable_to_zero_loss_finishes_with_a_finite_score(tmp_path):
    """The target after seasonal differencing is exactly 0: a loss of 0 is no divergence."""
    t = np.arange(240)
    _series_csv(tmp_path / "s.csv", [f"{v:.6f}" for v in np.sin(2 * np.pi * t / 12)])
    argv = ["train", "forecast", "--preset", "tiny", "--data", tmp_path / "s.csv", "--period", "12"]
    argv += ["--target-transform", "seasonal_diff", "--out", tmp_path / "run", "-q", "--no-plots"]
    outcome("bounds: near-zero loss", argv, tmp_path, code=0)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    results = json.loads((tmp_path / "run" / "metrics.json").read_text())["results"]
    assert info["status"] == "finished" and math.isfinite(results["model"])


# -- errors name the user's path --------------------------------------------------------------
@pytest.mark.parametrize("target", ["proc", "folder", "below-a-file"])
def test_generate_out_names_the_users_path(runs, tmp_path, target):
    (tmp_path / "plain").write_text("x")
    out = {"proc": Path("/proc/x.mid"), "folder": tmp_path, "below-a-file": tmp_path / "plain" / "x.mid"}[target]
    err = outcome(
        "bounds: errors name the user's path",
        ["generate", runs / "music", "--out", out, "--length", "4"],
        tmp_path,
        names=[f"error: {out}: cannot write it"],
    )
    assert ".tmp" not in err


# -- MPI: ranks reading different data ------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_ranks_reading_different_data_is_a_one_line_error(tmp_path, task):
    base = ["train", task, "--preset", "tiny", "--epochs", "1", "--no-plots", "-q", "--out", tmp_path / "run"]
    err = outcome(
        "bounds: MPI data mismatch",
        base + SPLITS[task][0],
        tmp_path,
        mpmd=base + SPLITS[task][1],
        names=["--data: the ranks disagree on the data"],
    )
    assert "MPI_" not in err
    assert not (tmp_path / "run").exists()


def test_ranks_reading_different_texts_is_a_one_line_error(tmp_path):
    rng = np.random.default_rng(0)
    for name, letters in (("a.txt", "abcdefgh \n"), ("b.txt", "abcdefxyz \n")):
        (tmp_path / name).write_text("".join(rng.choice(list(letters), size=3000)))
    base = ["train", "charlm", "--preset", "tiny", "--epochs", "1", "--no-plots", "-q", "--out", tmp_path / "run"]
    outcome(
        "bounds: MPI data mismatch",
        base + ["--data", tmp_path / "a.txt"],
        tmp_path,
        mpmd=base + ["--data", tmp_path / "b.txt"],
        names=["--data: the ranks disagree on the data"],
    )
