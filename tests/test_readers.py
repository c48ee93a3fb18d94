"""Readers on small fixture files written into tmp_path, good and bad."""

import sys

import numpy as np
import pytest

from rnnkit.data import (
    DataFormatError,
    corpus,
    read_conllu,
    read_pairs_tsv,
    read_sequences_csv,
    read_sequences_npz,
    read_series_csv,
    read_text,
    read_ts,
    write_conllu,
    write_sequences_npz,
    write_ts,
)


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- text ----------------------------------------------------------------------------------
def test_read_text(tmp_path):
    path = _write(tmp_path, "t.txt", "\ufeffhello\r\nworld\rend\n")
    assert read_text(path) == "hello\nworld\nend\n"
    with pytest.raises(FileNotFoundError, match="nope.txt: file not found"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_text(tmp_path)


def test_read_text_bad_encoding_names_the_line(tmp_path):
    path = _write(tmp_path, "t.txt", "ok\nstill ok\ncaf\u00e9\n", encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"t.txt, line 3: cannot decode byte 0xe9.*latin-1") as info:
        read_text(path)
    assert info.value.line == 3
    assert read_text(path, encoding="latin-1").endswith("caf\u00e9\n")


def test_corpus_unavailable_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)
    corpus._full_corpus.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="pydoc_data.topics is missing.*hint: .*read_text"):
            corpus.python_docs_corpus()
    finally:
        corpus._full_corpus.cache_clear()


def test_read_pairs_tsv(tmp_path):
    path = _write(tmp_path, "p.tsv", "12+3\t15\n\nhello world\tbonjour le monde\n\tempty source\n")
    assert read_pairs_tsv(path) == [("12+3", "15"), ("hello world", "bonjour le monde"), ("", "empty source")]
    bad = _write(tmp_path, "bad.tsv", "a\tb\nc\td\te\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv, line 2: expected 2 tab-separated fields, got 3"):
        read_pairs_tsv(bad)
    one = _write(tmp_path, "one.tsv", "a\tb\nno tab here\n")
    with pytest.raises(DataFormatError, match="line 2: .*got 1"):
        read_pairs_tsv(one)
    with pytest.raises(DataFormatError, match="empty"):
        read_pairs_tsv(_write(tmp_path, "e.tsv", "\n\n"))


# -- CSV -----------------------------------------------------------------------------------
SERIES = "Month,Passengers,Temp\n1949-01,112,3.5\n1949-02,118,4.0\n\n1949-03,132,nan\n"


def test_read_series_csv(tmp_path):
    path = _write(tmp_path, "s.csv", SERIES)
    values, dates = read_series_csv(path, value_column="Passengers", date_column="Month")
    np.testing.assert_array_equal(values, [[112.0], [118.0], [132.0]])
    assert dates == ["1949-01", "1949-02", "1949-03"]
    values, dates = read_series_csv(path, date_column="Month")
    assert values.shape == (3, 2) and np.isnan(values[2, 1]) and dates[0] == "1949-01"
    values, dates = read_series_csv(path, value_column=["Temp", "Passengers"], date_column="Month")
    np.testing.assert_array_equal(values[:2], [[3.5, 112.0], [4.0, 118.0]])
    values, dates = read_series_csv(_write(tmp_path, "n.csv", "x\n1\n2\n"))
    assert values.shape == (2, 1) and dates is None


def test_read_series_csv_errors(tmp_path):
    path = _write(tmp_path, "s.csv", SERIES)
    with pytest.raises(
        DataFormatError,
        match=r"s.csv, line 2, column 'Month': expected a number, "
        r"got '1949-01'; hint: .*date_column='Month'",
    ):
        read_series_csv(path)
    with pytest.raises(
        DataFormatError,
        match=r"no column 'Revenue'; available columns: "
        r"0 'Month', 1 'Passengers', 2 'Temp'",
    ):
        read_series_csv(path, value_column="Revenue", date_column="Month")
    with pytest.raises(DataFormatError, match="no column 'Date'"):
        read_series_csv(path, date_column="Date")
    bad = _write(tmp_path, "bad.csv", "t,x\n1,2\n2,abc\n")
    with pytest.raises(DataFormatError, match=r"bad.csv, line 3, column 'x': expected a number, got 'abc'") as info:
        read_series_csv(bad, date_column="t")
    assert (info.value.line, info.value.column) == (3, "x")
    with pytest.raises(DataFormatError, match="line 3: expected 2 fields as in the header, got 3"):
        read_series_csv(_write(tmp_path, "wide.csv", "a,b\n1,2\n1,2,3\n"))
    with pytest.raises(DataFormatError, match="empty.csv: the file is empty"):
        read_series_csv(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(DataFormatError, match="head.csv: the file has a header but no data rows"):
        read_series_csv(_write(tmp_path, "head.csv", "a,b\n"))


LONG = """seq_id,t,x,y,label
a,1,0.1,1.0,up
b,0,5.0,6.0,down
a,0,0.0,0.5,up
a,2,0.2,1.5,up
b,1,4.0,5.0,down
"""


def test_read_sequences_csv(tmp_path):
    seqs, labels = read_sequences_csv(_write(tmp_path, "l.csv", LONG))
    assert labels == ["up", "down"]
    np.testing.assert_array_equal(seqs[0], [[0.0, 0.5], [0.1, 1.0], [0.2, 1.5]])  # sorted by t
    np.testing.assert_array_equal(seqs[1], [[5.0, 6.0], [4.0, 5.0]])
    no_t = "seq_id,x\ns1,3\ns1,1\ns2,2\n"
    seqs, labels = read_sequences_csv(_write(tmp_path, "n.csv", no_t))
    assert labels is None and [s[:, 0].tolist() for s in seqs] == [[3.0, 1.0], [2.0]]


def test_read_sequences_csv_errors(tmp_path):
    flip = LONG.replace("a,2,0.2,1.5,up", "a,2,0.2,1.5,down")
    with pytest.raises(DataFormatError, match=r"line 5, column 'label': sequence 'a' has label 'down' here but 'up'"):
        read_sequences_csv(_write(tmp_path, "f.csv", flip))
    repeat = LONG.replace("a,2,0.2", "a,1,0.2")
    with pytest.raises(DataFormatError, match=r"column 't': sequence 'a' repeats time 1"):
        read_sequences_csv(_write(tmp_path, "r.csv", repeat))
    with pytest.raises(
        DataFormatError,
        match=r"no column 'seq_id' \(long format\) or 'label' "
        r"\(wide format\); columns: 'id', 'x'; hint: .*--id-column",
    ):
        read_sequences_csv(_write(tmp_path, "i.csv", "id,x\n1,2\n"))
    with pytest.raises(DataFormatError, match=r"line 2, column 'x': expected a number, got 'oops'"):
        read_sequences_csv(_write(tmp_path, "v.csv", "seq_id,x\nq,oops\n"))
    with pytest.raises(DataFormatError, match="no feature columns"):
        read_sequences_csv(_write(tmp_path, "nf.csv", "seq_id,label\nq,1\n"))


# -- npz -----------------------------------------------------------------------------------
def test_sequences_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((T, 3)) for T in (5, 1, 8)]
    path = tmp_path / "s.npz"
    write_sequences_npz(path, seqs, labels=["a", "b", "a"])
    assert path.exists()
    got, labels = read_sequences_npz(path)
    assert labels == ["a", "b", "a"]
    for a, b in zip(seqs, got, strict=False):
        np.testing.assert_array_equal(a, b)
    write_sequences_npz(path, [np.arange(3.0), np.arange(2.0)])
    got, labels = read_sequences_npz(path)
    assert labels is None and got[0].shape == (3, 1)
    np.savez(tmp_path / "by_hand.npz", data=np.arange(6.0).reshape(3, 2), lengths=[2, 1], labels=[0, 1])
    got, labels = read_sequences_npz(tmp_path / "by_hand.npz")
    assert labels == [0, 1] and got[1].tolist() == [[4.0, 5.0]]


def test_sequences_npz_errors(tmp_path):
    np.savez(tmp_path / "x.npz", X_0=np.zeros(3))
    with pytest.raises(DataFormatError, match=r"x.npz: no array 'data'; arrays found: \['X_0'\]"):
        read_sequences_npz(tmp_path / "x.npz")
    np.savez(tmp_path / "sum.npz", data=np.zeros((5, 2)), lengths=[2, 2])
    with pytest.raises(DataFormatError, match="'lengths' sum to 4 but 'data' has 5 rows"):
        read_sequences_npz(tmp_path / "sum.npz")
    np.savez(tmp_path / "lab.npz", data=np.zeros((4, 2)), lengths=[2, 2], labels=[1, 2, 3])
    with pytest.raises(DataFormatError, match=r"'labels' has shape \(3,\), expected \(2,\)"):
        read_sequences_npz(tmp_path / "lab.npz")
    np.savez(tmp_path / "obj.npz", data=np.array([None, 1], dtype=object), lengths=[2])
    with pytest.raises(DataFormatError, match="obj.npz: cannot read without pickle"):
        read_sequences_npz(tmp_path / "obj.npz")
    with pytest.raises(DataFormatError, match="t.npz: not an .npz"):
        read_sequences_npz(_write(tmp_path, "t.npz", "plain text"))
    with pytest.raises(FileNotFoundError):
        read_sequences_npz(tmp_path / "missing.npz")


# -- .ts -----------------------------------------------------------------------------------
TS_MULTI = """# A two-dimensional problem
@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
1,2,3:4,5,6:up
1.5,?:2,3:down

7,8,9,10:1,2,3:up
"""


def test_read_ts_multivariate_variable_length_missing(tmp_path):
    seqs, labels = read_ts(_write(tmp_path, "t.ts", TS_MULTI))
    assert labels == ["up", "down", "up"]
    assert [s.shape for s in seqs] == [(3, 2), (2, 2), (4, 2)]
    np.testing.assert_array_equal(seqs[0], [[1, 4], [2, 5], [3, 6]])
    assert seqs[1][0, 0] == 1.5 and np.isnan(seqs[1][1, 0])
    assert np.isnan(seqs[2][3, 1])  # the shorter dimension is padded with NaN


def test_read_ts_univariate_and_regression(tmp_path):
    uni = (
        "@problemName U\n@univariate true\n@equalLength true\n@seriesLength 3\n"
        "@classLabel true 1 2\n@data\n0.1,0.2,0.3:1\n0.4,0.5,0.6:2\n"
    )
    seqs, labels = read_ts(_write(tmp_path, "u.ts", uni))
    assert labels == ["1", "2"] and seqs[1].shape == (3, 1)
    reg = "@problemName R\n@univariate true\n@targetLabel true\n@data\n1,2:0.5\n3:1.25\n"
    seqs, labels = read_ts(_write(tmp_path, "r.ts", reg))
    assert labels == [0.5, 1.25]
    plain = "@problemName P\n@classLabel false\n@data\n1,2,3\n"
    seqs, labels = read_ts(_write(tmp_path, "p.ts", plain))
    assert labels is None and seqs[0][:, 0].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            TS_MULTI.replace("4,5,6:up", "4,5,6:sideways"),
            r"line 10: class label 'sideways' is not declared in @classLabel \['up', 'down'\]",
        ),
        (TS_MULTI.replace("1,2,3:4,5,6:up", "1,2,3:up"), r"line 10: expected 2 dimension\(s\) separated by ':', got 1"),
        (TS_MULTI.replace("1.5,?", "1.5,x"), r"line 11: dimension 1: expected a number or '\?', got 'x'"),
        (TS_MULTI.replace("@data\n", ""), "line 9: expected a header line"),
        ("@problemName X\n", r"no @data line"),
        ("@problemName X\n@data\n\n", "no cases after @data"),
        (
            "@problemName X\n@timeStamps true\n@data\n(1,2),(2,x)\n",
            r"line 4: dimension 1: expected a number or '\?', got 'x'",
        ),
        (
            "@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n",
            "line 6: expected @seriesLength 3 values, got 2",
        ),
        ("@classLabel true a\n@data\n1,2,3\n", "line 3: expected values then ':' and a label"),
    ],
)
def test_read_ts_errors(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        read_ts(_write(tmp_path, "bad.ts", text))


def test_write_ts_round_trip(tmp_path):
    seqs = [np.array([[0.5, 1.0], [np.nan, 2.0]]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])]
    write_ts(tmp_path / "w.ts", seqs, ["b", "a"], problem_name="W")
    got, labels = read_ts(tmp_path / "w.ts")
    assert labels == ["b", "a"]
    for a, b in zip(seqs, got, strict=False):
        np.testing.assert_array_equal(a, b)
    assert "@classLabel true a b" in (tmp_path / "w.ts").read_text()


# -- CoNLL-U -------------------------------------------------------------------------------
CONLLU = """# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
4.1\tknow\t_\t_\t_\t_\t_\t_\t_\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = 2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_"""


def test_read_conllu(tmp_path):
    sentences = read_conllu(_write(tmp_path, "c.conllu", CONLLU))
    assert sentences == [
        [("I", "PRON"), ("do", "AUX"), ("n't", "PART"), ("know", "VERB"), (".", "PUNCT")],
        [("Yes", "INTJ")],
    ]


def test_read_conllu_errors(tmp_path):
    spaces = CONLLU.replace("1\tYes\tyes\tINTJ", "1 Yes yes INTJ")
    with pytest.raises(
        DataFormatError, match=r"c.conllu, line 12: expected 10 tab-separated fields \(CoNLL-U\), got 7.*not spaces"
    ):
        read_conllu(_write(tmp_path, "c.conllu", spaces))
    with pytest.raises(DataFormatError, match="line 1, column 'ID': expected an integer token ID, got 'x'"):
        read_conllu(_write(tmp_path, "i.conllu", "x" + "\t_" * 9 + "\n"))
    with pytest.raises(DataFormatError, match="no sentences"):
        read_conllu(_write(tmp_path, "e.conllu", "# only a comment\n\n"))


def test_write_conllu_round_trip(tmp_path):
    sentences = [[("The", "DET"), ("dog", "NOUN"), ("ran", "VERB"), (".", "PUNCT")], [("Hi", "INTJ")]]
    write_conllu(tmp_path / "w.conllu", sentences)
    assert read_conllu(tmp_path / "w.conllu") == sentences
    with pytest.raises(ValueError, match=r"sentences\[0\]\[1\]: invalid form 'a b'"):
        write_conllu(tmp_path / "x.conllu", [[("x", "X"), ("a b", "X")]])


# -- what real files do --------------------------------------------------------------------
def test_series_csv_separators_decimal_commas_missing_and_no_header(tmp_path):
    semi = _write(tmp_path, "semi.csv", "date;sales;temp\n2024-01-01;1,5;10\n2024-01-02;;11\n2024-01-03;NA;12,25\n")
    values, dates = read_series_csv(semi, date_column="date")
    assert dates == ["2024-01-01", "2024-01-02", "2024-01-03"]
    np.testing.assert_array_equal(values[:, 1], [10.0, 11.0, 12.25])
    assert values[0, 0] == 1.5 and np.isnan(values[1:, 0]).all()
    tab = _write(tmp_path, "tab.csv", "day\tunits\nmon\t3\ntue\t4\n")
    np.testing.assert_array_equal(read_series_csv(tab, date_column="day")[0], [[3.0], [4.0]])
    quoted = _write(tmp_path, "q.csv", '"d","v"\n"a","1,234.5"\n"b","2"\n')
    np.testing.assert_array_equal(read_series_csv(quoted, date_column="d")[0], [[1234.5], [2.0]])
    bare = _write(tmp_path, "bare.csv", "1.5,7\n2.5,8\n3.5,9\n")  # no header: columns 0, 1
    values, _ = read_series_csv(bare)
    assert values.shape == (3, 2) and values[0, 0] == 1.5
    np.testing.assert_array_equal(read_series_csv(bare, value_column="1")[0][:, 0], [7, 8, 9])
    # a trailing separator, a spreadsheet's unnamed index, a column picked by another case
    odd = _write(tmp_path, "odd.csv", ",Date,Units,\n0,a,1,\n1,b,2,\n")
    values, dates = read_series_csv(odd, date_column="date")
    np.testing.assert_array_equal(values, [[1.0], [2.0]])
    assert dates == ["a", "b"]


def test_interpolate_missing_fills_inside_and_at_the_ends():
    from rnnkit.data import interpolate_missing

    values = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, 3.0], [4.0, np.nan]])
    filled, count = interpolate_missing(values)
    np.testing.assert_array_equal(filled, [[2.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 3.0]])
    assert count == 4 and np.isnan(values).sum() == 4  # the input is left alone
    with pytest.raises(ValueError, match="column 0 has no known value"):
        interpolate_missing(np.array([[np.nan], [np.nan]]))


def test_sequences_csv_wide_and_headerless_layouts(tmp_path):
    wide = _write(tmp_path, "w.csv", "label,t0,t1,t2\nup,1,2,3\ndown,3,2,\n")
    seqs, labels = read_sequences_csv(wide)
    assert labels == ["up", "down"] and [s[:, 0].tolist() for s in seqs] == [[1, 2, 3], [3, 2]]
    ucr = _write(tmp_path, "u.csv", "1,0.5,0.25\n2,1.5,1.25\n")
    seqs, labels = read_sequences_csv(ucr)
    assert labels == ["1", "2"] and seqs[1][:, 0].tolist() == [1.5, 1.25]
    semi = _write(tmp_path, "s.csv", "id;time;class;v\na;1;x;0,5\na;0;x;\n")
    seqs, labels = read_sequences_csv(semi, id_column="id", time_column="time", label_column="class")
    assert labels == ["x"] and np.isnan(seqs[0][0, 0]) and seqs[0][1, 0] == 0.5


def test_read_ucr_layouts(tmp_path):
    from rnnkit.data import looks_like_ucr, read_ucr

    tsv = _write(tmp_path, "X_TRAIN.tsv", "1\t0.5\t0.25\tNaN\n2\t1.5\t1.25\t1.0\n")
    txt = _write(tmp_path, "X_TRAIN.txt", "  1.0000000e+00  5.0e-01  2.5e-01\n  2.0e+00  1.5  1.25\n")
    comma = _write(tmp_path, "X_TRAIN", "1,0.5,0.25\n2,1.5,1.25\n")
    for path in (tsv, txt, comma):
        assert looks_like_ucr(path)
        seqs, labels = read_ucr(path)
        assert labels == ["1", "2"] and seqs[0][:, 0].tolist() == [0.5, 0.25]
    assert read_ucr(tsv)[0][1].shape == (3, 1)  # padding NaN trimmed
    assert not looks_like_ucr(_write(tmp_path, "text.tsv", "good film\tpos\n"))


def test_read_ts_time_stamps_and_loose_header(tmp_path):
    text = (
        "# stamps\n@problemName S\n@timeStamps true\n@univariate true\n"
        "@classLabel true a b\n@data\n"
        "(2019-01-01 10:00:00,1.5),(2019-01-01 11:00:00,?),(2019-01-01 12:00:00,3):a\n"
        "(0,4),(1,5):b\n"
    )
    seqs, labels = read_ts(_write(tmp_path, "s.ts", text))
    assert labels == ["a", "b"] and seqs[0][0, 0] == 1.5 and np.isnan(seqs[0][1, 0])
    assert seqs[1][:, 0].tolist() == [4.0, 5.0]
    upper = "@PROBLEMNAME U\r\n@UNIVARIATE TRUE\r\n@CLASSLABEL TRUE 1 2\r\n\r\n@DATA\r\n1, 2 : 1\r\n3,4:2\r\n"
    seqs, labels = read_ts(_write(tmp_path, "u.ts", upper))
    assert labels == ["1", "2"] and seqs[0][:, 0].tolist() == [1.0, 2.0]


def test_sequences_npz_equal_length_layout(tmp_path):
    X = np.arange(12.0).reshape(2, 3, 2)
    X[1, 2] = np.nan  # padding
    np.savez(tmp_path / "x.npz", X=X, y=np.array(["a", "b"]))
    seqs, labels = read_sequences_npz(tmp_path / "x.npz")
    assert labels == ["a", "b"] and seqs[0].shape == (3, 2) and seqs[1].shape == (2, 2)
    np.savez(tmp_path / "x2.npz", x=np.zeros((4, 5)))
    seqs, labels = read_sequences_npz(tmp_path / "x2.npz")
    assert labels is None and len(seqs) == 4 and seqs[0].shape == (5, 1)


def test_pairs_tsv_extra_columns_header_and_quotes(tmp_path):
    tatoeba = _write(tmp_path, "fra.txt", "Go.\tVa !\tCC-BY 2.0 #1\nHi.\tSalut !\tCC-BY 2.0 #2\n")
    assert read_pairs_tsv(tatoeba) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    head = _write(tmp_path, "h.tsv", "source\ttarget\n1+1\t2\n")
    assert read_pairs_tsv(head) == [("1+1", "2")]
    quoted = _write(tmp_path, "q.tsv", 'a\tb\n"x\ty"\tz\n')
    assert read_pairs_tsv(quoted) == [("a", "b"), ("x\ty", "z")]
    with pytest.raises(DataFormatError, match=r"line 2: expected 3 tab-separated fields as on the first line, got 2"):
        read_pairs_tsv(_write(tmp_path, "r.tsv", "a\tb\tc\nd\te\n"))


def test_conllu_variants_and_column_files(tmp_path):
    rows = [
        "# text = I don't",
        "1\tI\tI\tPRON\t_\t_\t0\troot\t_\t_",
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
        "2\tdo\tdo\t_\tVBP\t_\t0\taux\t_\t_\t",  # UPOS '_', a trailing tab
        "3\tn't\tnot\tPART\t_\t_\t2\tadvmod\t_\t_",
        "3.1\tx\t_\t_\t_\t_\t_\t_\t2:dep\t_",
    ]
    path = _write(tmp_path, "w.conllu", "\r\n".join(rows))  # CRLF, no blank line at the end
    assert read_conllu(path) == [[("I", "PRON"), ("do", "VBP"), ("n't", "PART")]]
    spaced = _write(tmp_path, "s.conllu", "1 a a DET _ _ 0 root _ _\n\n")
    assert read_conllu(spaced) == [[("a", "DET")]]
    conll = _write(
        tmp_path, "n.conll", "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"
    )
    assert read_conllu(conll) == [[("EU", "B-ORG"), ("rejects", "O")], [("Peter", "B-PER")]]
