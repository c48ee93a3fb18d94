"""The fault battery, data files: every reader the CLI uses (CSV sequences and series, .ts,
CoNLL-U, TSV pairs, text, .npz) given damaged or hostile input either reads it (and what it
returns is finite and well formed) or refuses it with one clear error (a ValueError, TypeError,
OSError or CliError, which the CLI prints as one ``error:`` line); never another exception."""

import io

import numpy as np
import pytest
from fault_util import cli, damage, fuzz, one_line_error, tally
from hypothesis import given
from hypothesis import strategies as st

from rnnkit.cli._base import CliError
from rnnkit.cli.sources import read_file
from rnnkit.cli.tasks import TASKS
from rnnkit.data import shipped_path


def _sequences_csv() -> str:
    rng = np.random.default_rng(0)
    rows = ["seq_id,t,x,y,label"]
    for s in range(8):
        for t in range(6):
            rows.append(f"s{s},{t},{rng.normal():.4g},{rng.normal():.4g},{'up' if s % 2 else 'down'}")
    return "\n".join(rows) + "\n"


def _series_csv() -> str:
    return "date,value\n" + "".join(f"2024-01-{d:02d},{np.sin(d / 3):.5f}\n" for d in range(1, 29))


def _head(path, n_lines: int) -> str:
    with open(path, encoding="utf-8") as fh:
        return "".join(fh.readlines()[:n_lines])


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, data=np.arange(24.0).reshape(12, 2), lengths=np.array([5, 7]), labels=np.array(["a", "b"]))
    return buf.getvalue()


SAMPLES = {  # (task, format, suffix): a valid file's content
    ("classify", "csv", ".csv"): _sequences_csv(),
    ("forecast", "csv", ".csv"): _series_csv(),
    ("classify", "ts", ".ts"): _head(shipped_path("waveforms_TRAIN.ts"), 16),
    ("tag", "conllu", ".conllu"): _head(shipped_path("tiny-pos-ud-train.conllu"), 60),
    ("seq2seq", "tsv", ".tsv"): "".join(f"{a}+{b}\t{a + b}\n" for a, b in [(12, 7), (3, 40), (99, 1), (5, 5)] * 3),
    ("classify", "tsv", ".tsv"): "".join(
        f"{t}\t{lab}\n" for t, lab in [("a good film", "pos"), ("so bad", "neg"), ("great fun here", "pos")] * 3
    ),
    ("charlm", "text", ".txt"): "def f(x):\n    return x + 1\n\nclass A:\n    pass\n" * 6,
    ("classify", "npz", ".npz"): _npz(),
}
KINDS = sorted(SAMPLES)
HOSTILE = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-1e400",
    "1,5",
    "0x1F",
    "\u0669",
    "\x00",
    "@data",
    "@classLabel",
    "#",
    ":",
    "\t",
    ",",
    ";",
    '"',
    "'",
    "?",
    "é",
    "\ufeff",
    "\u2028",
    "1_000",
    "x" * 300,
    "@problemName",
    "@seriesLength -1",
    "@dimensions 0",
    "@timeStamps true",
    "0\t_\t_",
    "-",
    "1-2",
    "1.2.3",
]


def outcome(task, fmt, path) -> str:
    """Read like the CLI does: "read" (then check what came back) or "refused" (one line)."""
    notes = []
    try:
        data = read_file(TASKS[task], path, fmt, TASKS[task].config_class(), notes)
    except (ValueError, TypeError, OSError, CliError) as exc:
        assert not isinstance(exc, (KeyError, IndexError)), repr(exc)
        assert str(exc).strip(), repr(exc)
        return "refused"
    if isinstance(data, tuple) and isinstance(data[0], list) and data[0] and isinstance(data[0][0], np.ndarray):
        assert all(s.ndim == 2 and np.isfinite(s).all() for s in data[0]), "sequences must come back finite"
        assert len(data[0]) == len(data[1])
    elif isinstance(data, np.ndarray):
        assert data.ndim == 2 and np.isfinite(data).all()
    elif hasattr(data, "ids") and hasattr(data, "values"):  # a forecast SeriesSet: one array per series
        assert len(data.ids) == len(data.values) >= 1
        assert all(v.ndim == 2 and len(v) and np.isfinite(v).all() for v in data.values), "series must come back finite"
    else:
        assert isinstance(data, (str, list, tuple))
    return "read"


def _write(tmp_path, kind, content) -> object:
    path = tmp_path / f"data{kind[2]}"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


@pytest.mark.parametrize("kind", KINDS, ids=["-".join(k[:2]) for k in KINDS])
def test_every_sample_reads(tmp_path, kind):
    assert outcome(kind[0], kind[1], _write(tmp_path, kind, SAMPLES[kind])) == "read"


@fuzz(12)
@given(data=st.data())
@pytest.mark.parametrize("kind", KINDS, ids=["-".join(k[:2]) for k in KINDS])
def test_damaged_bytes(tmp_path, kind, data):
    """Truncation and bit flips anywhere in the file."""
    raw = SAMPLES[kind] if isinstance(SAMPLES[kind], bytes) else SAMPLES[kind].encode()
    result = outcome(kind[0], kind[1], _write(tmp_path, kind, damage(data, raw, max_flips=4)))
    tally(f"readers: damaged bytes ({kind[1]})", result)


TEXT_KINDS = [k for k in KINDS if k[1] != "npz"]


@fuzz(15)
@given(data=st.data())
@pytest.mark.parametrize("kind", TEXT_KINDS, ids=["-".join(k[:2]) for k in TEXT_KINDS])
def test_hostile_edits(tmp_path, kind, data):
    """Lines deleted, duplicated or inserted; fields replaced by hostile tokens or random text."""
    lines = SAMPLES[kind].split("\n")
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        action = data.draw(st.sampled_from(["delete", "duplicate", "insert", "field", "field"]), label="action")
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)), label="line")
        if action == "delete" and lines:
            del lines[i]
        elif action == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif action == "insert":
            lines.insert(i, data.draw(st.text(max_size=40) | st.sampled_from(HOSTILE), label="new line"))
        elif lines:
            sep = data.draw(st.sampled_from([",", "\t", ":", " "]), label="sep")
            fields = lines[i].split(sep)
            j = data.draw(st.integers(0, len(fields) - 1), label="field")
            fields[j] = data.draw(st.sampled_from(HOSTILE) | st.text(max_size=12), label="token")
            lines[i] = sep.join(fields)
    result = outcome(kind[0], kind[1], _write(tmp_path, kind, "\n".join(lines)))
    tally(f"readers: hostile edits ({kind[1]})", result)


@pytest.mark.parametrize(
    "task,suffix,content",
    [
        ("classify", ".csv", "seq_id,t,x,label\n" + "a,0,1,up\na,1,inf,up\nb,0,2,down\nb,1,nan,down\n" * 3),
        ("classify", ".ts", "@problemName x\n@classLabel true a b\n@data\n1,2,3:a\n4,5:b\n:a\n"),
        ("tag", ".conllu", "1\tword\n\n"),
        ("seq2seq", ".tsv", "\t\n\t\n"),
        ("forecast", ".csv", "date,value\nmon,x\ntue,y\n"),
        ("charlm", ".txt", "\x00\x00"),
    ],
)
def test_hostile_files_through_the_cli(tmp_path, task, suffix, content):
    """Through `rnnkit train`: success, or one `error:` line with exit code 1."""
    path = tmp_path / f"data{suffix}"
    path.write_text(content, encoding="utf-8")
    rc, _, err = cli(
        "train",
        task,
        "--preset",
        "tiny",
        "--data",
        path,
        "--val-fraction",
        "0",
        "--out",
        tmp_path / "run",
        "--no-plots",
        "-q",
    )
    if rc != 0:
        one_line_error(rc, err)
    tally("readers: hostile files through the CLI", "read" if rc == 0 else "refused")


CLI_KINDS = [k for k in TEXT_KINDS if k[:2] != ("forecast", "csv")] + [("forecast", "csv", ".csv")]


@fuzz(8)
@given(data=st.data())
@pytest.mark.parametrize("kind", CLI_KINDS, ids=["-".join(k[:2]) for k in CLI_KINDS])
def test_hostile_edits_through_the_cli(tmp_path, kind, data):
    """Edited files all the way through `rnnkit train`: success, one `error:` line (exit code
    1), or a clean stop (exit code 3) when odd but valid data makes training diverge."""
    lines = SAMPLES[kind].split("\n")
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        sep = data.draw(st.sampled_from([",", "\t", ":", " "]), label="sep")
        fields = lines[i].split(sep)
        j = data.draw(st.integers(0, len(fields) - 1), label="field")
        fields[j] = data.draw(st.sampled_from(HOSTILE), label="token")
        lines[i] = sep.join(fields)
    path = _write(tmp_path, kind, "\n".join(lines))
    out = tmp_path / f"run{data.draw(st.integers(0, 10**9), label='name')}"
    rc, _, err = cli(
        "train",
        kind[0],
        "--preset",
        "tiny",
        "--data",
        path,
        "--format",
        kind[1],
        "--set",
        "sample_length=0" if kind[0] == "charlm" else "seed=0",
        "--out",
        out,
        "--no-plots",
        "-q",
    )
    if rc != 0:
        one_line_error(rc, err, code=rc if rc == 3 else 1)
    tally("readers: hostile edits through the CLI", {0: "trained", 1: "refused", 3: "clean stop"}[rc])
