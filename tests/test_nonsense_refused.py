"""Nothing nonsensical passes as success: a run whose score is not finite is a clean stop and
no verdict praises it, ``rnnkit forecast`` prints no NaN rows, values beyond float32's range
and inf are refused alike by every reader naming where, ``--encoding`` reaches every text
format, and a ``.conllu`` file is read as CoNLL-U."""

import json
import math
import warnings
import zipfile

import numpy as np
import pytest
from fault_util import cli, one_line_error

from rnnkit.cli.tasks import TASKS
from rnnkit.cli.tasks.forecast import verdict
from rnnkit.data import DataFormatError, read_conllu, read_sequences_csv, read_sequences_npz, read_ts, read_ucr
from rnnkit.data.series_table import read_series_table


def _series_csv(path, values, encoding="utf-8", name="value"):
    path.write_text(f"{name}\n" + "\n".join(values) + "\n", encoding=encoding)
    return path


def _seasonal(n=120):
    t = np.arange(n)
    return [f"{v:.5f}" for v in np.sin(2 * np.pi * t / 12) + 0.05 * np.cos(t)]


def _train(*argv):
    return cli("train", *argv, "--preset", "tiny", "--no-plots", "-q")


# -- a run whose score is not finite is no success --------------------------------------------
@pytest.fixture
def nan_after_training(monkeypatch):
    """The forecast task's fit, then an output bias of NaN: the recurrent layers compute
    numbers (their checks pass), the forecasts do not. NumPy's warnings are left as the
    command line leaves them (the suite makes them errors)."""
    cls = type(TASKS["forecast"])
    fit = cls.fit

    def poisoned(self, model, data, config, callbacks=()):
        fit(self, model, data, config, callbacks)
        model.net_.parameters()["head.bias"][...] = np.nan

    monkeypatch.setattr(cls, "fit", poisoned)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_a_nan_score_stops_the_run_without_a_verdict_and_forecast_refuses_nan_rows(
    tmp_path, nan_after_training, monkeypatch
):
    data = _series_csv(tmp_path / "s.csv", _seasonal())
    rc, out, err = _train("forecast", "--data", data, "--out", tmp_path / "run", "--epochs", 1)
    line = one_line_error(rc, err, code=3)
    assert "the model's NRMSE (one step) on the test part is nan, not a score" in line
    assert "run.json says 'stopped: non-finite score'" in line and "model.npz" in line
    assert "beats" not in out + err and "nan" not in out
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "stopped: non-finite score" and info["stop"]["kind"] == "nonfinite_score"
    assert not (tmp_path / "run" / "summary.txt").exists()


def test_forecast_refuses_forecasts_that_are_not_finite_rather_than_print_nan_rows(tmp_path, monkeypatch):
    data = _series_csv(tmp_path / "s.csv", _seasonal())
    assert _train("forecast", "--data", data, "--out", tmp_path / "run", "--epochs", 1)[0] == 0
    rc, out, _ = cli("forecast", tmp_path / "run", "--horizon", 3)
    assert rc == 0 and len(out.split()) == 4
    # rnnkit.models loads on use
    from rnnkit.forecast.forecaster import Forecaster

    predict = Forecaster.predict

    def overflowing(self, *args, **kwargs):  # outputs that overflow: the second step is NaN
        out = predict(self, *args, **kwargs)
        out[0][1] = np.nan
        return out

    monkeypatch.setattr(Forecaster, "predict", overflowing)
    rc, out, err = cli("forecast", tmp_path / "run", "--horizon", 3)
    line = one_line_error(rc, err)
    assert "the forecast of series 'value' is nan at step 2 (column 'value')" in line and out == ""


def test_no_verdict_praises_a_score_that_is_not_finite():
    base = {"split": "test", "baselines": {"naive": 0.5, "seasonal naive": 0.7}}
    assert verdict({**base, "model": math.nan}) == "the model's score on the test part is nan: it beats no baseline"
    assert verdict({**base, "model": 0.6}).startswith("the model does NOT beat naive (0.5000")
    nan_baseline = {"split": "test", "baselines": {"naive": math.nan, "seasonal naive": 0.7}, "model": 0.6}
    assert verdict(nan_baseline) == "the model beats seasonal naive on the test part"


# -- values beyond float32's range, and inf, refused alike by every reader ---------------------
def test_a_forecast_csv_near_1e300_is_refused_up_front_naming_column_and_row(tmp_path):
    values = _seasonal()
    values[40] = "1e300"
    data = _series_csv(tmp_path / "big.csv", values, name="sales")
    rc, out, err = _train("forecast", "--data", data, "--out", tmp_path / "run")
    line = one_line_error(rc, err)
    assert "big.csv, line 42, column 'sales': 1e+300 is beyond float32's range" in line and "rescale" in line
    assert not (tmp_path / "run").exists()
    values[40] = "3e38"  # within float32's range: read
    assert read_series_table(_series_csv(tmp_path / "ok.csv", values)).values[0][40, 0] == 3e38


INF_FILES = {
    "forecast.csv": ("value\n1\n2\n1e999\n4\n", "line 4, column 'value': an infinite value (inf)"),
    "long.csv": ("seq_id,t,x,label\na,0,1,u\na,1,-inf,u\n", "line 3, column 'x': an infinite value (-inf)"),
    "wide.csv": ("label,v1,v2\nu,1,2\nd,inf,3\n", "line 3, column 'v1': an infinite value (inf)"),
    "case.ts": ("@classLabel true a b\n@data\n1,2:a\n4,1e999:b\n", "line 4, column 'dimension 1': an infinite"),
    "old_TRAIN": ("1,2,3\n2,inf,4\n", "line 2, column 'value 1': an infinite value (inf)"),
}
READERS = {
    "forecast.csv": read_series_table,
    "long.csv": read_sequences_csv,
    "wide.csv": read_sequences_csv,
    "case.ts": read_ts,
    "old_TRAIN": read_ucr,
}


@pytest.mark.parametrize("name", sorted(INF_FILES))
def test_inf_is_refused_alike_by_every_text_reader(tmp_path, name):
    text, where = INF_FILES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match="; hint: replace or drop the infinite values") as err:
        READERS[name](path)
    assert f"{name}, {where}" in str(err.value)


@pytest.mark.parametrize("layout", ["ragged", "equal"])
def test_inf_and_huge_values_in_a_sequence_npz_are_refused_naming_array_and_index(tmp_path, layout):
    path = tmp_path / "s.npz"
    if layout == "ragged":
        data = np.ones((5, 2))
        data[3, 1] = np.inf
        np.savez(path, data=data, lengths=np.array([2, 3]), labels=np.array([0, 1]))
        where = "array 'data' at index (3, 1): an infinite value (inf)"
    else:
        X = np.ones((2, 4))
        X[1, 2] = -1e300
        np.savez(path, X=X, y=np.array([0, 1]))
        where = "array 'X' at index (1, 2): -1e+300 is beyond float32's range"
    with pytest.raises(DataFormatError, match="hint: ") as err:
        read_sequences_npz(path)
    assert where in str(err.value)
    assert zipfile.is_zipfile(path)


def test_an_inf_in_a_ts_file_fails_classify_training_as_forecast_does(tmp_path):
    path = tmp_path / "x.ts"
    cases = "".join(f"{i},{i + 1},{i + 2}:{'ab'[i % 2]}\n" for i in range(12))
    path.write_text("@classLabel true a b\n@data\n" + cases + "4,1e999,5:b\n", encoding="utf-8")
    rc, _, err = _train("classify", "--data", path, "--out", tmp_path / "run")
    assert "x.ts, line 15, column 'dimension 1': an infinite value (inf)" in one_line_error(rc, err)


# -- --encoding reaches every text format -----------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_encoding_is_honoured_by_forecast_csv_classify_tsv_and_conllu(tmp_path, encoding):
    values = _seasonal()
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("Umsatz (€)\n" if encoding == "utf-16" else "caf\u00e9\n", encoding=encoding)
    with open(csv_path, "a", encoding=encoding) as fh:
        fh.write("\n".join(values) + "\n")
    rc, _, err = _train("forecast", "--data", csv_path, "--out", tmp_path / "f")
    assert rc == 1 and "--encoding" in err  # read as utf-8 it does not decode
    rc, out, err = _train("forecast", "--data", csv_path, "--out", tmp_path / "f2", "--encoding", encoding)
    assert rc == 0, err
    tsv = tmp_path / "t.tsv"
    rows = [("tr\u00e8s bon film", "pos"), ("mauvais caf\u00e9", "neg")] * 6
    tsv.write_text("".join(f"{a}\t{b}\n" for a, b in rows), encoding=encoding)
    rc, out, err = _train("classify", "--data", tsv, "--out", tmp_path / "c", "--encoding", encoding)
    assert rc == 0, err
    conllu = tmp_path / "t.conllu"
    sentence = "1\tCaf\u00e9\tcaf\u00e9\tNOUN\t_\t_\t0\troot\t_\t_\n2\tchaud\tchaud\tADJ\t_\t_\t1\tamod\t_\t_\n\n"
    conllu.write_text(sentence * 8, encoding=encoding)
    assert read_conllu(conllu, encoding)[0] == [("Caf\u00e9", "NOUN"), ("chaud", "ADJ")]
    rc, out, err = _train("tag", "--data", conllu, "--out", tmp_path / "g", "--encoding", encoding)
    assert rc == 0, err
    rc, _, err = _train("tag", "--data", conllu, "--out", tmp_path / "g2")
    assert rc == 1 and "--encoding" in err


# -- a .conllu file is CoNLL-U ----------------------------------------------------------------
@pytest.mark.parametrize("columns", [3, 4])
def test_a_conllu_file_of_3_or_4_columns_is_an_error_naming_line_and_count(tmp_path, columns):
    rows = ["The\tDT\tB-NP\tO", "cat\tNN\tI-NP\tO"]
    text = "\n".join("\t".join(r.split("\t")[:columns]) for r in rows) + "\n\n"
    path = tmp_path / "w.conllu"
    path.write_text("# a comment\n" + text * 6)
    with pytest.raises(DataFormatError) as err:
        read_conllu(path)
    message = str(err.value)
    assert f"w.conllu, line 2: expected 10 tab-separated fields (CoNLL-U), got {columns}" in message
    assert "WORD ... TAG columns is read as such from a .conll, .iob or .bio file" in message
    rc, _, err_text = _train("tag", "--data", path, "--out", tmp_path / "run")
    assert f"line 2: expected 10 tab-separated fields (CoNLL-U), got {columns}" in one_line_error(rc, err_text)
    assert not (tmp_path / "run").exists()
    conll = tmp_path / "w.conll"  # the column files have their own extensions
    conll.write_text(text)
    tags = [r.split("\t")[columns - 1] for r in rows]  # the last column
    assert read_conllu(conll) == [[("The", tags[0]), ("cat", tags[1])]]


def test_a_conllu_file_whose_every_upos_is_underscore_is_an_error_naming_the_column(tmp_path):
    sentence = "1\tA\ta\t_\t_\t_\t0\troot\t_\t_\n2\tcat\tcat\t_\t_\t_\t1\tnsubj\t_\t_\n\n"
    path = tmp_path / "u.conllu"
    path.write_text(sentence * 10, encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"u.conllu, column 'UPOS': every token's tag is '_'"):
        read_conllu(path)
    assert read_conllu(path, tagged=False)[0] == [("A", "_"), ("cat", "_")]  # words to tag
    rc, _, err = _train("tag", "--data", path, "--out", tmp_path / "run")
    assert "column 'UPOS': every token's tag is '_'" in one_line_error(rc, err)
    partly = sentence.replace("\tcat\tcat\t_", "\tcat\tcat\tNOUN")
    path.write_text(partly * 10, encoding="utf-8")
    assert read_conllu(path)[0] == [("A", "_"), ("cat", "NOUN")]
