"""Smaller faults, each a clear outcome: stray temporary files of killed saves, `rnnkit info`'s
result, `predict` on a folder, `--encoding`, unknown characters in `diagnose --cells`, inf in
data refused where NaN is filled."""

import os
import subprocess
import sys

import numpy as np
import pytest
from fault_util import cli, one_line_error

from rnnkit.cli.sources import nonfinite_note, read_file
from rnnkit.cli.tasks import TASKS
from rnnkit.data import DataFormatError, read_text
from rnnkit.train.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.utils.atomic import clean_stale_temps


# -- temporary files of killed saves ---------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("then", ["save", "load"])
def test_stray_temporary_files_of_killed_saves_are_removed_by_the_next_save_or_load(tmp_path, then):
    path = save_checkpoint(tmp_path / "trainer.npz", {"w": np.ones(3)}, {})
    legacy = tmp_path / ".trainer.npz.0123abcd4567.tmp"  # older rnnkit: no pid
    dead = tmp_path / f".trainer.npz.{_dead_pid()}-0123abcd4567.tmp"  # its writer is gone
    live = tmp_path / f".trainer.npz.{os.getpid()}-89abcdef0123.tmp"  # a save in progress
    other = tmp_path / f".model.npz.{_dead_pid()}-0123abcd4567.tmp"  # another file's
    for p in (legacy, dead, live, other):
        p.write_bytes(b"partial")
    if then == "save":
        save_checkpoint(path, {"w": np.zeros(3)}, {})
    else:
        load_checkpoint(path)
    assert not legacy.exists() and not dead.exists()
    assert live.exists() and other.exists()
    assert clean_stale_temps(tmp_path / "model.npz") == [other]


# -- the CLI ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def charlm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "charlm"
    rc, _, err = cli(
        "train",
        "charlm",
        "--preset",
        "tiny",
        "--set",
        "data_size=4000",
        "--set",
        "sample_length=0",
        "--out",
        out,
        "--no-plots",
        "-q",
    )
    assert rc == 0, err
    return out


def test_info_prints_the_result_with_its_value(charlm_run):
    rc, out, _ = cli("info", charlm_run)
    assert rc == 0
    lines = out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("result: "))
    assert "nats/char" in lines[i] and lines[i + 1].split()[0] == "model"
    float(lines[i + 1].split()[1])  # the model's value is printed


def test_predict_on_an_empty_folder_says_so(tmp_path, charlm_run):
    rc, _, err = cli("train", "classify", "--preset", "tiny", "--out", tmp_path / "c", "--no-plots", "-q")
    assert rc == 0, err
    (tmp_path / "empty").mkdir()
    line = one_line_error(*cli("predict", tmp_path / "c", "--data", tmp_path / "empty")[::2])
    assert "the folder has no files" in line


def test_encoding_flag_reads_a_latin1_file(tmp_path):
    text = ("Un café près de la forêt, déjà vu. " * 120).encode("latin-1")
    path = tmp_path / "fr.txt"
    path.write_bytes(text)
    line = one_line_error(
        *cli("train", "charlm", "--preset", "tiny", "--data", path, "--out", tmp_path / "a", "--no-plots", "-q")[::2]
    )
    assert "cannot decode byte 0xe9 as utf-8" in line and "--encoding latin-1" in line
    rc, _, err = cli(
        "train",
        "charlm",
        "--preset",
        "tiny",
        "--data",
        path,
        "--encoding",
        "latin-1",
        "--set",
        "sample_length=0",
        "--out",
        tmp_path / "b",
        "--no-plots",
        "-q",
    )
    assert rc == 0, err
    line = one_line_error(
        *cli(
            "train",
            "charlm",
            "--preset",
            "tiny",
            "--data",
            path,
            "--encoding",
            "klingon",
            "--out",
            tmp_path / "c",
            "--no-plots",
            "-q",
        )[::2]
    )
    assert "encoding: unknown text encoding 'klingon'" in line
    assert "encoding" in {f for task in TASKS.values() for f in task.config_class.__dataclass_fields__}


def test_diagnose_cells_skips_or_replaces_unknown_characters(tmp_path, charlm_run):
    text_file = tmp_path / "t.txt"
    text_file.write_text("def f(x):\n    return x \u2603 1\n", encoding="utf-8")
    base = ("diagnose", "--cells", charlm_run, "--text-file", text_file, "--top", "2")
    line = one_line_error(*cli(*base, "--out", tmp_path / "e")[::2])
    assert "never saw: '\u2603'" in line and "--unknown skip" in line
    for mode in ("skip", "replace"):
        rc, out, err = cli(*base, "--unknown", mode, "--out", tmp_path / mode)
        assert rc == 0, err
        assert out.count("cell ") == 2
    line = one_line_error(
        *cli(*base, "--unknown", "replace", "--replace-char", "\u2603", "--out", tmp_path / "r")[::2], code=2
    )
    assert "--replace-char: expected one character the model knows" in line


# -- inf in data: refused where it is read, NaN (missing) filled -----------------------------
def test_inf_in_sequences_is_refused_naming_its_line_and_column_while_nan_is_filled(tmp_path):
    rows = ["seq_id,t,x,label"]
    for s in range(6):
        for t in range(5):
            v = "nan" if (s, t) == (1, 2) else "inf" if (s, t) == (3, 4) else f"{s + t}"
            rows.append(f"{s},{t},{v},{'ab'[s % 2]}")
    path = tmp_path / "seqs.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"seqs.csv, line 21, column 'x': an infinite value \(inf\)"):
        read_file(TASKS["classify"], path, "csv", TASKS["classify"].config_class(), [])
    path.write_text("\n".join(rows).replace("inf", "4") + "\n", encoding="utf-8")
    notes = []
    seqs, labels = read_file(TASKS["classify"], path, "csv", TASKS["classify"].config_class(), notes)
    assert notes == ["1 missing value(s) filled with the value before them"]
    assert all(np.isfinite(s).all() for s in seqs)


def test_inf_in_a_series_is_refused_naming_its_line_and_column_while_nan_is_filled(tmp_path):
    values = ["1.0", "2.0", "3.0", "4.0", "", "6.0", "-inf", "8.0"] * 4
    path = tmp_path / "series.csv"
    rows = [f"{np.datetime64('2024-01-01') + i},{v}" for i, v in enumerate(values)]
    path.write_text("day,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"series.csv, line 8, column 'value': an infinite value \(-inf\)"):
        read_file(TASKS["forecast"], path, "csv", TASKS["forecast"].config_class(), [])
    path.write_text("day,value\n" + "\n".join(rows).replace("-inf", "7.0") + "\n", encoding="utf-8")
    notes = []
    series = read_file(TASKS["forecast"], path, "csv", TASKS["forecast"].config_class(), notes)
    assert notes[-1] == "4 missing value(s) filled by linear interpolation"
    assert all(np.isfinite(v).all() for v in series.values)
    assert nonfinite_note([np.ones(3)], "x") is None


def test_a_bad_encoding_name_is_a_value_error(tmp_path):
    (tmp_path / "a.txt").write_text("abc", encoding="utf-8")
    with pytest.raises(ValueError, match="encoding: unknown text encoding 'nope'"):
        read_text(tmp_path / "a.txt", "nope")
    (tmp_path / "b.txt").write_bytes(b"caf\xe9")
    with pytest.raises(DataFormatError, match="--encoding latin-1"):
        read_text(tmp_path / "b.txt")
