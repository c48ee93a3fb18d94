"""The CLI on the user's own files in every format it reads, and on the user's mistakes.

Fixtures are written by hand here, the way other tools write them (UCR-style numeric class
labels, missing values, variable lengths, a date column), not by rnnkit's own writers.
"""

import json

import numpy as np
import pytest

from rnnkit.cli import CliError, main


def rnnkit(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tiny(task, data, out, *extra):
    return ["train", task, "--preset", "tiny", "--data", data, "--out", out, "--no-plots", "-q", *extra]


def _series(n, rng, f=1):
    t = np.arange(n)
    return np.sin(t / 3.0)[:, None] * np.arange(1, f + 1) + 0.1 * rng.standard_normal((n, f))


# -- every file format -------------------------------------------------------------------
def test_text_file_trains_a_charlm_and_generates(tmp_path, capsys):
    path = tmp_path / "poem.txt"
    path.write_text("the cat sat on the mat. " * 60, encoding="utf-8")
    code, out, _ = rnnkit(capsys, *tiny("charlm", path, tmp_path / "r"))
    assert code == 0 and "nats/char" in out
    code, out, _ = rnnkit(capsys, "generate", tmp_path / "r", "--prime", "the ", "--length", 10, "--seed", 0)
    assert code == 0 and set(out.strip()) <= set("the cat sat on mat.")


def test_series_csv_with_a_date_column_is_forecast(tmp_path, capsys):
    rng = np.random.default_rng(0)
    values = _series(150, rng)[:, 0]
    days = np.datetime64("2024-01-01") + np.arange(150)
    lines = ["day,units"] + [f"{d},{v:.4f}" for d, v in zip(days, values, strict=False)]
    (tmp_path / "sales.csv").write_text("\n".join(lines) + "\n")
    code, out, _ = rnnkit(capsys, *tiny("forecast", tmp_path / "sales.csv", tmp_path / "r"))
    assert code == 0 and "NRMSE" in out and "naive" in out
    code, out, _ = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 4)
    assert code == 0 and len(out.strip().split("\n")) == 5
    # an explicit value column among several, and the error for one that does not exist
    lines = ["date,units,price"] + [f"{d},{v:.3f},{2 * v:.3f}" for d, v in zip(days, values, strict=False)]
    (tmp_path / "two.csv").write_text("\n".join(lines) + "\n")
    code, _, _ = rnnkit(
        capsys,
        *tiny("forecast", tmp_path / "two.csv", tmp_path / "r2", "--value-column", "price", "--date-column", "date"),
    )
    assert code == 0
    code, _, err = rnnkit(capsys, *tiny("forecast", tmp_path / "two.csv", tmp_path / "r3", "--value-column", "revenue"))
    assert code == 1 and err.startswith("error: ") and "'revenue'" in err and "units" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def _ucr_ts(path, rng, n=24, missing=False, multivariate=False):
    """A UCR-style .ts file: numeric class labels "1"/"2", variable lengths."""
    dims = 2 if multivariate else 1
    head = [
        "# written by hand",
        "@problemName Toy",
        "@timeStamps false",
        f"@missing {'true' if missing else 'false'}",
        f"@univariate {'false' if multivariate else 'true'}",
        f"@dimensions {dims}",
        "@equalLength false",
        "@classLabel true 1 2",
        "@data",
    ]
    rows = []
    for i in range(n):
        label = 1 + i % 2
        T = 8 + i % 5
        x = np.cumsum(rng.standard_normal((T, dims)), axis=0) * (1 if label == 1 else -1)
        cells = [[f"{v:.3f}" for v in x[:, d]] for d in range(dims)]
        if missing and i % 3 == 0:
            cells[0][2] = "?"
        rows.append(":".join(",".join(c) for c in cells) + f":{label}")
    path.write_text("\n".join(head + rows) + "\n")


@pytest.mark.parametrize("missing, multivariate", [(False, False), (True, True)])
def test_ts_file_is_classified_and_predicted(tmp_path, capsys, missing, multivariate):
    rng = np.random.default_rng(1)
    _ucr_ts(tmp_path / "Toy_TRAIN.ts", rng, missing=missing, multivariate=multivariate)
    _ucr_ts(tmp_path / "Toy_TEST.ts", rng, n=10, missing=missing, multivariate=multivariate)
    code, out, _ = rnnkit(
        capsys, *tiny("classify", tmp_path / "Toy_TRAIN.ts", tmp_path / "r", "--val-data", tmp_path / "Toy_TEST.ts")
    )
    assert code == 0 and "accuracy" in out and "majority class" in out
    results = json.loads((tmp_path / "r" / "metrics.json").read_text())["results"]
    assert results["confusion"]["labels"] == ["1", "2"]  # classes, not regression targets
    code, out, _ = rnnkit(capsys, "predict", tmp_path / "r", "--data", tmp_path / "Toy_TEST.ts")
    lines = out.strip().split("\n")
    assert code == 0 and len(lines) == 11 and {ln.split(",")[1] for ln in lines[1:]} <= {"1", "2"}
    code, out, _ = rnnkit(capsys, "evaluate", tmp_path / "r", "--data", tmp_path / "Toy_TEST.ts")
    assert code == 0 and "accuracy" in out and "on 10 sequences" in out


def test_long_csv_and_npz_sequences_are_classified(tmp_path, capsys):
    rng = np.random.default_rng(2)
    rows = ["seq_id,t,label,x,y"]
    seqs, labels = [], []
    for i in range(20):
        T = 5 + i % 4
        x = rng.standard_normal((T, 2)) + (1 if i % 2 else -1)
        seqs.append(x)
        labels.append("up" if i % 2 else "down")
        rows += [f"s{i},{t},{labels[-1]},{a:.3f},{b:.3f}" for t, (a, b) in enumerate(x)]
    (tmp_path / "seqs.csv").write_text("\n".join(rows) + "\n")
    code, _, _ = rnnkit(capsys, *tiny("classify", tmp_path / "seqs.csv", tmp_path / "r1"))
    assert code == 0
    np.savez(tmp_path / "seqs.npz", data=np.concatenate(seqs), lengths=[len(s) for s in seqs], labels=np.array(labels))
    code, _, _ = rnnkit(capsys, *tiny("classify", tmp_path / "seqs.npz", tmp_path / "r2"))
    assert code == 0
    code, out, _ = rnnkit(capsys, "predict", tmp_path / "r2", "--data", tmp_path / "seqs.npz")
    assert code == 0 and len(out.strip().split("\n")) == 21


def test_tsv_text_and_label_trains_a_text_classifier(tmp_path, capsys):
    rows = [
        ("a great fun film", "pos"),
        ("dull and boring", "neg"),
        ("great acting", "pos"),
        ("boring plot", "neg"),
    ] * 6
    (tmp_path / "reviews.tsv").write_text("".join(f"{t}\t{y}\n" for t, y in rows))
    code, out, _ = rnnkit(capsys, *tiny("classify", tmp_path / "reviews.tsv", tmp_path / "r", "--lowercase"))
    assert code == 0 and "accuracy" in out
    code, out, _ = rnnkit(capsys, "predict", tmp_path / "r", "--text", "Great fun", "--text", "so dull")
    lines = out.strip().split("\n")
    assert code == 0 and len(lines) == 3 and {ln.split(",")[1] for ln in lines[1:]} <= {"pos", "neg"}


def test_numeric_targets_train_a_regressor(tmp_path, capsys):
    code, out, _ = rnnkit(
        capsys,
        "train",
        "classify",
        "--preset",
        "tiny",
        "--data",
        "adding",
        "--set",
        "data_size=60",
        "--out",
        tmp_path / "r",
        "--no-plots",
        "-q",
    )
    assert code == 0 and "MSE" in out and "predict the training mean" in out


def test_conllu_trains_a_tagger(tmp_path, capsys):
    sentence = [
        "# text = the dog runs",
        "1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_",
        "2\tdog\tdog\tNOUN\t_\t_\t3\tnsubj\t_\t_",
        "3\truns\trun\tVERB\t_\t_\t0\troot\t_\t_",
        "",
    ]
    (tmp_path / "t.conllu").write_text("\n".join(sentence * 10))
    code, out, _ = rnnkit(capsys, *tiny("tag", tmp_path / "t.conllu", tmp_path / "r"))
    assert code == 0 and "token accuracy" in out


def test_tagger_spelling_features_from_the_command_line(tmp_path, capsys):
    from rnnkit.models import load_model

    sentence = ["1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_", "2\twalking\twalk\tVERB\t_\t_\t0\troot\t_\t_", ""]
    (tmp_path / "t.conllu").write_text("\n".join(sentence * 10))
    code, out, _ = rnnkit(
        capsys,
        *tiny(
            "tag", tmp_path / "t.conllu", tmp_path / "r", "--affix-length", "2", "--word-shape", "--feature-dim", "4"
        ),
    )
    assert code == 0 and "token accuracy" in out
    model = load_model(tmp_path / "r" / "model.npz")
    assert model.features_.affix_length == 2 and model.features_.shape
    assert "features.weight" in model.net_.parameters()
    code, out, _ = rnnkit(capsys, "predict", tmp_path / "r", "--text", "A jumping")
    assert code == 0 and len(out.strip().split("\n")) == 2
    code, _, err = rnnkit(capsys, *tiny("tag", tmp_path / "t.conllu", tmp_path / "r2", "--affix-length", "-1"))
    assert code == 2 and err.startswith("error: --affix-length: expected a value >= 0")


def test_tsv_pairs_train_seq2seq_and_a_generator(tmp_path, capsys):
    pairs = [f"{a}+{b}\t{a + b}" for a in range(6) for b in range(6)]
    (tmp_path / "add.tsv").write_text("\n".join(pairs) + "\n")
    code, out, _ = rnnkit(capsys, *tiny("seq2seq", tmp_path / "add.tsv", tmp_path / "r"))
    assert code == 0 and "exact match" in out
    labelled = [f"{'pos' if i % 2 else 'neg'}\t{'good fun' if i % 2 else 'dull film'}" for i in range(20)]
    (tmp_path / "cond.tsv").write_text("\n".join(labelled) + "\n")
    code, out, _ = rnnkit(capsys, *tiny("generate", tmp_path / "cond.tsv", tmp_path / "g"))
    assert code == 0 and "nats/token" in out and "unigram" in out
    code, out, _ = rnnkit(capsys, "generate", tmp_path / "g", "--condition", "pos", "--seed", 0, "--length", 4)
    assert code == 0 and out.startswith("pos\t")


def test_format_flag_overrides_the_extension(tmp_path, capsys):
    path = tmp_path / "pairs.lst"
    path.write_text("ab\tba\ncd\tdc\nef\tfe\ngh\thg\n")
    code, _, err = rnnkit(capsys, *tiny("seq2seq", path, tmp_path / "r1"))
    assert code == 1 and "cannot tell the format" in err and "--format" in err
    code, _, _ = rnnkit(capsys, *tiny("seq2seq", path, tmp_path / "r2", "--format", "tsv"))
    assert code == 0


# -- mistakes: one error line, the right exit code, no traceback -------------------------
@pytest.mark.parametrize(
    "argv, code, words",
    [
        (["train", "nope"], 2, ["invalid choice: 'nope'", "charlm"]),
        (["train", "tag", "--hiden-size", "3"], 2, ["unrecognized arguments: --hiden-size"]),
        (
            ["train", "tag", "--set", "hiden_size=3"],
            2,
            ["unknown key 'hiden_size'", "did you mean 'hidden_size'", "valid keys"],
        ),
        (["train", "tag", "--hidden-size", "big"], 2, ["--hidden-size", "expected an integer", "'big'"]),
        (["train", "tag", "--cell", "lsmt"], 2, ["expected one of lstm, gru", "did you mean 'lstm'"]),
        (["train", "tag", "--dropout", "2"], 2, ["dropout", "<= 0.95"]),
        (["train", "tag", "--preset", "huge"], 2, ["no preset 'huge'", "tiny"]),
        (["train", "tag", "--data", "missing.conllu"], 1, ["missing.conllu", "file not found"]),
        (["train", "tag", "--data", "tiny-poss"], 1, ["no such data set", "did you mean 'tiny-pos'"]),
        (["train", "charlm", "--k1", "8", "--k2", "4"], 2, ["k2", ">= k1"]),
        (["train"], 2, ["expected a task"]),
        (["generate", "no/such/run"], 1, ["no such run folder"]),
        (["gradcheck", "--lengths", "3,x"], 2, ["--lengths", "comma-separated integers"]),
    ],
)
def test_user_mistakes_give_one_clear_line(capsys, tmp_path, monkeypatch, argv, code, words):
    monkeypatch.chdir(tmp_path)
    got, out, err = rnnkit(capsys, *argv)
    assert got == code
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "runs").exists() or argv[0] != "train" or code == 0


def test_wrong_task_model_and_corrupted_checkpoint(tmp_path, capsys):
    run = tmp_path / "f"
    assert rnnkit(capsys, "train", "forecast", "--preset", "tiny", "--out", run, "--no-plots", "-q")[0] == 0
    code, _, err = rnnkit(capsys, "predict", run, "--text", "x")
    assert code == 1 and "is a forecast run" in err and "rnnkit forecast" in err
    code, _, err = rnnkit(capsys, "generate", run / "model.npz")
    assert code == 1 and "Forecaster" in err and "rnnkit forecast" in err
    data = (run / "model.npz").read_bytes()
    (run / "model.npz").write_bytes(data[: len(data) // 2])
    code, _, err = rnnkit(capsys, "forecast", run)
    assert code == 1 and err.startswith("error: ") and "model.npz" in err and err.count("\n") == 1
    with pytest.raises(CliError, match="model.npz: not a readable zip archive"):
        main(["forecast", str(run), "--debug"])  # --debug lets the traceback through


def test_out_folder_that_exists_is_refused(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    code, _, err = rnnkit(capsys, "train", "tag", "--preset", "tiny", "--out", tmp_path / "taken")
    assert code == 1 and "not an empty folder" in err and "--resume" in err


# -- the awkward files real data comes in ---------------------------------------------------
def _ucr_lines(rng, sep, n=24, T=12):
    return [
        sep.join(
            [str(k % 2 + 1)]
            + [f"{v:.3f}" for v in np.sin(np.arange(T) * (k % 2 + 1) / 3) + 0.1 * rng.standard_normal(T)]
        )
        for k in range(n)
    ]


@pytest.mark.parametrize(
    "task, name, make, note",
    [
        (
            "forecast",
            "semi.csv",
            lambda r: (
                "Datum;Umsatz\n"
                + "\n".join(
                    f"{np.datetime64('2024-01-01') + i};{'' if i == 7 else f'{v:.3f}'.replace('.', ',')}"
                    for i, v in enumerate(np.sin(np.arange(120) / 3))
                )
            ),
            "1 missing value(s) filled by linear interpolation",
        ),
        ("forecast", "bare.csv", lambda r: "\n".join(f"{v:.3f}" for v in np.sin(np.arange(120) / 3)), None),
        ("classify", "Synth_TRAIN.tsv", lambda r: "\n".join(_ucr_lines(r, "\t")), None),
        ("classify", "Synth_TRAIN", lambda r: "\n".join(_ucr_lines(r, ",")), None),
        (
            "classify",
            "wide.csv",
            lambda r: "label,a,b,c\n" + "\n".join(f"{'xy'[k % 2]},{k},{k + 1}," for k in range(20)),
            None,
        ),
        (
            "classify",
            "labels_first.tsv",
            lambda r: "\n".join(
                f"{'neg' if k % 2 else 'pos'}\tvery {'bad' if k % 2 else 'good'} film {k % 3}" for k in range(20)
            ),
            "read as label<TAB>text",
        ),
        (
            "tag",
            "ner.conll",
            lambda r: (
                "-DOCSTART- -X- O\n\n" + "\n\n".join(f"EU NNP B-ORG\nrejects VBZ O\nit{k} PRP O" for k in range(12))
            ),
            None,
        ),
        ("seq2seq", "fra.txt", lambda r: "\n".join(f"Go {k}.\tVa {k} !\tCC-BY 2.0 #{k}" for k in range(30)), None),
    ],
)
def test_awkward_user_files_train(tmp_path, capsys, task, name, make, note):
    path = tmp_path / name
    path.write_text(make(np.random.default_rng(0)) + "\n", encoding="utf-8")
    code, _, err = (
        main(
            [str(a) for a in ["train", task, "--preset", "tiny", "--data", path, "--out", tmp_path / "r", "--no-plots"]]
        ),
        *capsys.readouterr(),
    )
    assert code == 0, err
    assert (tmp_path / "r" / "model.npz").is_file()
    if note:
        assert note in err


def test_text_files_with_bom_crlf_and_non_ascii(tmp_path, capsys):
    text = "Grüße aus München, naïve café.\n" * 40
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    code, out, _ = rnnkit(capsys, *tiny("charlm", tmp_path / "a.txt", tmp_path / "r"))
    assert code == 0
    code, out, _ = rnnkit(capsys, "generate", tmp_path / "r", "--prime", "Grü", "--length", 5, "--seed", 0)
    assert code == 0 and "\r" not in out and "\ufeff" not in out
