"""Size-like settings, flags and files are bounded by a memory estimate checked before anything
is allocated: each case ends as one line naming the option or the file, fast, never as an
internal error."""

import time

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.data import readers
from rnnkit.data._validate import DataFormatError
from rnnkit.forecast import Forecaster
from rnnkit.models import CharLM, Seq2Seq, SequenceClassifier
from rnnkit.models._memory import estimate_bytes, recurrent_weights
from rnnkit.models.base import BaseEstimator
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rnnkit.utils import memory
from rnnkit.utils.memory import MAX_STEPS, MemoryBoundError, check_fits, format_bytes, machine_memory


def _cli(capsys, argv) -> str:
    start = time.perf_counter()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    assert time.perf_counter() - start < 10, argv
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: ") and "internal error" not in err, err
    return line


def test_machine_memory_is_the_physical_memory_or_none():
    have = machine_memory()
    assert have is None or have > 2**20
    assert format_bytes(512) == "512 bytes" and format_bytes(3 * 2**30) == "3.0 GiB"


def test_check_fits_names_the_option_the_estimate_and_the_machine(monkeypatch):
    monkeypatch.setattr(memory, "machine_memory", lambda: 2**30)
    check_fits("hidden_size", 8, 2**29, "the model")
    with pytest.raises(
        MemoryBoundError, match=r"hidden_size=9: the model need about 2\.0 GiB, this machine has 1\.0 GiB"
    ):
        check_fits("hidden_size", 9, 2**31, "the model")
    monkeypatch.setattr(memory, "machine_memory", lambda: None)
    check_fits("hidden_size", 9, 2**80, "the model")  # no bound where the system does not say


def test_the_estimate_grows_with_every_size_and_stays_an_int():
    base = SequenceClassifier().get_params()
    small = estimate_bytes(base)
    for name, value in [("hidden_size", 640), ("num_layers", 10), ("embedding_dim", 3200), ("batch_size", 3200)]:
        assert estimate_bytes({**base, name: value}) > small, name
    huge = estimate_bytes({**base, "hidden_size": 2**63})
    assert isinstance(huge, int) and huge > 2**126


SEQS = ([[1.0, 2.0], [2.0, 3.0]], [0, 1])


@pytest.mark.parametrize(
    "model, data, option",
    [
        (SequenceClassifier(hidden_size=10**9), SEQS, "hidden_size"),
        (SequenceClassifier(hidden_size=2**63), SEQS, "hidden_size"),
        (SequenceClassifier(embedding_dim=10**9), SEQS, "embedding_dim"),
        (SequenceClassifier(num_layers=10**6), SEQS, "num_layers"),
        (SequenceClassifier(batch_size=10**12), SEQS, "batch_size"),
        (CharLM(hidden_size=10**9), ("hello world " * 20,), "hidden_size"),
        (Forecaster(ensemble=10**9), (np.ones(40),), "ensemble"),
    ],
)
def test_fit_refuses_a_size_beyond_memory_before_building(model, data, option, monkeypatch):
    monkeypatch.setattr(memory, "machine_memory", lambda: 16 * 2**30)  # the same on any machine
    pattern = rf"^{option}=\d+: .* need about .*, this machine has .*; hint: a smaller {option}"
    with pytest.raises(MemoryBoundError, match=pattern):
        model.fit(*data)
    assert getattr(model, "net_", None) is None


def test_seq2seq_counts_the_length_of_its_data_before_building(monkeypatch):
    model = Seq2Seq(hidden_size=8, epochs=1)
    built = []
    monkeypatch.setattr(Seq2Seq, "_build_net", lambda self, rng: built.append(1))
    monkeypatch.setattr(memory, "machine_memory", lambda: 2**30)  # the same on any machine
    with pytest.raises(MemoryBoundError, match=r"\(sequences of 3000002 steps\) need about .*; hint: a smaller"):
        model.fit(["ab", "cd"], ["x" * 3_000_000, "y"])
    assert not built


def test_the_bound_is_the_machines_memory(monkeypatch):
    x, y = [[0.0, 1.0], [1.0, 0.0]], [0, 1]
    SequenceClassifier(hidden_size=4, epochs=1).fit(x, y)
    monkeypatch.setattr(memory, "machine_memory", lambda: 4096)
    with pytest.raises(MemoryBoundError, match="this machine has 4.0 KiB"):
        SequenceClassifier(hidden_size=4, epochs=1).fit(x, y)


@pytest.mark.parametrize(
    "task, setting",
    [
        ("classify", "hidden_size=9223372036854775808"),
        ("classify", "hidden_size=1000000000"),
        ("classify", "embedding_dim=1000000000"),
        ("charlm", "num_layers=1000000"),
    ],
)
def test_train_refuses_a_size_by_name_before_the_run_folder(tmp_path, capsys, task, setting, monkeypatch):
    monkeypatch.setattr(memory, "machine_memory", lambda: 16 * 2**30)
    line = _cli(capsys, ["train", task, "--set", setting, "--out", str(tmp_path / "run"), "--quiet"])
    assert line.startswith(f"error: {setting}: ") and "this machine has" in line, line
    assert not (tmp_path / "run").exists()


def test_generate_length_has_a_ceiling(tmp_path, capsys):
    line = _cli(capsys, ["generate", str(tmp_path / "no-run"), "--length", "100000000"])
    expected = f"--length: expected at most {MAX_STEPS} steps (each is one pass of the network), got 100000000"
    assert line == f"error: {expected}; hint: a smaller --length"


@pytest.fixture(scope="module")
def forecast_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fc")
    x = np.sin(np.arange(60) / 3)
    (folder / "s.csv").write_text("value\n" + "".join(f"{v:.4f}\n" for v in x))
    Forecaster(hidden_size=4, window=8, epochs=1, seed=0).fit(x).save(folder / "m.npz")
    return folder


def test_forecast_horizon_has_a_ceiling_and_a_memory_bound(forecast_model, capsys, monkeypatch):
    argv = ["forecast", str(forecast_model / "m.npz"), "--data", str(forecast_model / "s.csv")]
    line = _cli(capsys, [*argv, "--horizon", "1000000000"])
    assert line.startswith(f"error: --horizon: expected at most {MAX_STEPS} steps") and "1000000000" in line
    monkeypatch.setattr(memory, "machine_memory", lambda: 2**20)  # the model fits, 90000 steps do not
    line = _cli(capsys, [*argv, "--horizon", "90000"])
    assert line.startswith("error: --horizon=90000: the forecast values need about") and "has 1.0 MiB" in line
    monkeypatch.undo()
    assert main([*argv, "--horizon", "3"]) == 0


def test_predict_beam_size_and_source_length_are_bounded(tmp_path, capsys, monkeypatch):
    pairs = ["1+2\t3", "2+2\t4", "3+4\t7", "5+1\t6"]
    Seq2Seq(hidden_size=4, embedding_dim=3, epochs=1, seed=0).fit(
        [p.split("\t")[0] for p in pairs], [p.split("\t")[1] for p in pairs]
    ).save(tmp_path / "m.npz")
    monkeypatch.setattr(memory, "machine_memory", lambda: 2**30)
    line = _cli(capsys, ["predict", str(tmp_path / "m.npz"), "--text", "1+2", "--beam-size", "1000000000"])
    assert line.startswith("error: --beam-size: beam_size=1000000000: ") and "1.0 GiB" in line, line
    assert main(["predict", str(tmp_path / "m.npz"), "--text", "1+2", "--beam-size", "2"]) == 0
    (tmp_path / "long.txt").write_text("1" * (readers.MAX_PAIR_CHARS + 1) + "+2\n")
    line = _cli(capsys, ["predict", str(tmp_path / "m.npz"), "--data", str(tmp_path / "long.txt")])
    assert line.startswith(f"error: --data {tmp_path / 'long.txt'}: source 1 has {readers.MAX_PAIR_CHARS + 3} ")
    line = _cli(capsys, ["predict", str(tmp_path / "m.npz"), "--text", "1" * (readers.MAX_PAIR_CHARS + 1)])
    assert line.startswith("error: --text: source 1 has"), line


def test_a_pair_longer_than_the_ceiling_is_refused_by_file_and_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("hi\tsalut\n" + "a" * (readers.MAX_PAIR_CHARS + 1) + "\tb\n")
    with pytest.raises(
        DataFormatError, match=rf"pairs.tsv, line 2: .*at most {readers.MAX_PAIR_CHARS} characters, got"
    ):
        readers.read_pairs_tsv(path)
    path.write_text("hi\tsalut\n" + "a" * readers.MAX_PAIR_CHARS + "\tb\n")
    assert len(readers.read_pairs_tsv(path)) == 2


def test_a_memory_error_anywhere_is_one_line_naming_the_command(monkeypatch, capsys, tmp_path):
    from rnnkit.cli import info

    def boom(*args):
        raise MemoryError("Unable to allocate 30 GiB")

    monkeypatch.setattr(info, "open_model", boom)
    line = _cli(capsys, ["info", str(tmp_path / "m.npz")])
    assert line.startswith("error: out of memory while running 'rnnkit info ") and "30 GiB" in line
    assert "this machine has" in line or machine_memory() is None


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    path = tmp_path_factory.mktemp("clf") / "model.npz"
    SequenceClassifier(hidden_size=4, epochs=1, seed=0).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1]).save(path)
    return path


def _rewrite(src, dst, **params):
    arrays, meta = load_checkpoint(src)
    meta["params"].update(params)
    save_checkpoint(dst, arrays, meta)


def test_a_saved_model_holds_at_least_the_weights_its_params_declare(saved_classifier):
    arrays, meta = load_checkpoint(saved_classifier)
    assert 0 < recurrent_weights(meta["params"]) <= sum(a.size for a in arrays.values())
    assert BaseEstimator.load(saved_classifier).hidden_size == 4


@pytest.mark.parametrize("params", [{"hidden_size": 10**9}, {"num_layers": 10**6}, {"hidden_size": 64}])
def test_a_model_file_declaring_sizes_it_does_not_hold_is_refused_before_building(
    saved_classifier, tmp_path, monkeypatch, params
):
    path = tmp_path / "hostile.npz"
    _rewrite(saved_classifier, path, **params)
    built = []
    monkeypatch.setattr(SequenceClassifier, "_build_net", lambda self, rng: built.append(1))
    with pytest.raises(CheckpointError, match=rf"^{path}: "):
        BaseEstimator.load(path)
    assert not built


def test_a_hostile_model_file_in_the_cli_is_one_line_naming_it(saved_classifier, tmp_path, capsys):
    path = tmp_path / "hostile.npz"
    _rewrite(saved_classifier, path, hidden_size=10**9)
    line = _cli(capsys, ["info", str(path)])
    assert str(path) in line


# -- parsers that expand data: text to token ids, CSV to arrays -----------------------------
def test_a_text_file_is_refused_by_name_when_its_token_ids_would_not_fit(tmp_path, monkeypatch):
    path = tmp_path / "book.txt"
    path.write_text("abcd efgh\n" * 200)  # 2000 characters: about 48000 bytes as token ids
    monkeypatch.setattr(memory, "machine_memory", lambda: 40_000)
    with pytest.raises(MemoryBoundError, match=rf"^{path}: 2000 characters .*need about 46.9 KiB.*has 39.1 KiB"):
        readers.read_text(path)
    monkeypatch.setattr(memory, "machine_memory", lambda: 60_000)
    assert len(readers.read_text(path)) == 2000


def test_charlm_fit_refuses_a_text_whose_token_ids_would_not_fit(monkeypatch):
    text = "hello world " * 100  # 1200 characters
    monkeypatch.setattr(memory, "machine_memory", lambda: 20_000)
    with pytest.raises(MemoryBoundError, match=r"^text=<1200 characters>: its token ids need about"):
        CharLM(hidden_size=4, embedding_dim=2, epochs=1, batch_size=2, k1=8).fit(text)


def test_a_csv_is_refused_by_name_when_its_cells_would_not_fit(tmp_path, monkeypatch):
    from rnnkit.data import read_series_csv

    path = tmp_path / "series.csv"
    path.write_text("a,b,c\n" + "".join(f"{i % 10},{i % 7},{i % 3}\n" for i in range(300)))
    # 301 lines (+1 for the last newline) x 3 fields = 906 cells = 65232 bytes once parsed; the
    # text (1806 characters = 43344 bytes as token ids) fits: the CSV's own check refuses
    monkeypatch.setattr(memory, "machine_memory", lambda: 50_000)
    with pytest.raises(MemoryBoundError, match=rf"^{path}: 906 CSV cells \(lines x fields\) need about 63.7 KiB"):
        read_series_csv(path, ["a", "b", "c"])
    monkeypatch.setattr(memory, "machine_memory", lambda: 70_000)
    assert read_series_csv(path, ["a", "b", "c"])[0].shape == (300, 3)


def test_train_refuses_a_data_file_beyond_memory_by_name(tmp_path, capsys, monkeypatch):
    path = tmp_path / "book.txt"
    path.write_text("the cat sat on the mat.\n" * 100)
    monkeypatch.setattr(memory, "machine_memory", lambda: 30_000)
    line = _cli(capsys, ["train", "charlm", "--data", str(path), "--out", str(tmp_path / "run"), "-q"])
    assert str(path) in line and "2400 characters" in line and "this machine has 29.3 KiB" in line, line
    assert not (tmp_path / "run").exists()
