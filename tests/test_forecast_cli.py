"""``rnnkit train forecast`` and ``rnnkit forecast`` end to end on the files users bring:
long and wide CSV with dates, intervals, covariates, and each kind of bad input."""

import csv
import inspect

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.forecast import Forecaster
from rnnkit.train.regularizers import REGULARIZERS, honoured
from rnnkit.train.settings import settings_for


def rnnkit(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _months(start, n):
    return np.datetime64(start, "M") + np.arange(n)


def _long_csv(path, extra_rows=0, covariate=False):
    """Three monthly series of different lengths and start dates, rows shuffled."""
    rng = np.random.default_rng(0)
    rows = []
    for uid, start, n, level in (
        ("north", "2015-01", 72, 100.0),
        ("south", "2016-07", 60, 10.0),
        ("east", "2015-04", 66, 1000.0),
    ):
        t = np.arange(n + extra_rows)
        price = np.sin(t / 5.0)
        y = level * (1 + 0.1 * np.sin(2 * np.pi * t / 12) + 0.002 * t) + level * 0.05 * price
        y += level * 0.01 * rng.standard_normal(len(t))
        for k, (m, v, p) in enumerate(zip(_months(start, n + extra_rows), y, price, strict=False)):
            value = "" if k >= n else f"{v:.4f}"
            rows.append(f"{uid},{m}-01,{value}" + (f",{p:.4f}" if covariate else ""))
    rng.shuffle(rows)
    head = "unique_id,ds,y" + (",price" if covariate else "")
    path.write_text(head + "\n" + "\n".join(rows) + "\n")
    return path


def _train(capsys, data, out, *extra):
    return rnnkit(
        capsys,
        "train",
        "forecast",
        "--data",
        data,
        "--out",
        out,
        "--window",
        12,
        "--hidden-size",
        8,
        "--epochs",
        2,
        "--no-plots",
        *extra,
    )


def test_every_forecaster_option_is_a_flag(capsys):
    with pytest.raises(SystemExit):
        main(["train", "forecast", "--help"])
    text = capsys.readouterr().out
    # the training settings the command line does not offer (verbose, schedule, warm_start, ...)
    library_only = {s.name for s in settings_for("estimator")} - {s.name for s in settings_for("cli")}
    # the regularizers every estimator takes and the Forecaster refuses (rnnkit.train.regularizers)
    library_only |= set(REGULARIZERS) - set(honoured(Forecaster))
    names = [p for p in inspect.signature(Forecaster).parameters if p not in library_only]
    flag = {"validation_fraction": "val_fraction"}  # the CLI's split holds out the same end
    missing = [n for n in names if f"--{flag.get(n, n).replace('_', '-')}" not in text]
    assert not missing, missing


def test_long_csv_end_to_end_with_ids_and_future_dates(tmp_path, capsys):
    path = _long_csv(tmp_path / "sales.csv")
    code, out, err = _train(capsys, path, tmp_path / "r")
    assert code == 0, err
    assert "3 series (long layout, ids in 'unique_id')" in err
    assert "season length 12 (monthly dates" in err and "NRMSE (12-step)" in out
    assert "the model beats" in out or "the model does NOT beat" in out
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 5, "--out", tmp_path / "f.csv")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "f.csv").read_text().splitlines()))
    assert list(rows[0]) == ["unique_id", "ds", "y"]
    assert [r["unique_id"] for r in rows] == ["north"] * 5 + ["south"] * 5 + ["east"] * 5
    # each series continues from its own last month
    assert [r["ds"] for r in rows[:2]] == ["2021-01-01", "2021-02-01"]  # north: 72 months from 2015-01
    assert rows[5]["ds"] == "2021-07-01" and rows[10]["ds"] == "2020-10-01"
    levels = {k: np.mean([float(r["y"]) for r in rows if r["unique_id"] == k]) for k in ("north", "south", "east")}
    assert levels["south"] < levels["north"] < levels["east"]  # per-series scaling


def test_verdict_agrees_with_the_numbers(tmp_path, capsys):
    code, out, _ = _train(capsys, _long_csv(tmp_path / "s.csv"), tmp_path / "r", "--epochs", 1)
    lines = out.splitlines()
    model = float(next(line for line in lines if line.strip().startswith("model")).split()[-1])
    seasonal = float(next(line for line in lines if "seasonal naive" in line).split()[-1])
    verdict = lines[-1]
    assert ("does NOT beat seasonal naive" in verdict) == (seasonal <= model), out


def test_intervals_from_a_quantile_model_and_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib")
    path = _long_csv(tmp_path / "sales.csv")
    code, _, err = _train(capsys, path, tmp_path / "q", "--loss", "quantile")
    assert code == 0, err
    code, _, err = rnnkit(
        capsys,
        "forecast",
        tmp_path / "q",
        "--horizon",
        14,
        "--intervals",
        "80,95",
        "--out",
        tmp_path / "f.csv",
        "--plot",
        tmp_path / "f.png",
    )
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "f.csv").read_text().splitlines()))
    assert list(rows[0]) == ["unique_id", "ds", "y", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95", "interval_method"]
    assert {r["interval_method"] for r in rows} == {"quantile"}
    for r in rows:
        v = {k: float(r[k]) for k in ("y", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")}
        assert v["y_lo_95"] <= v["y_lo_80"] <= v["y"] <= v["y_hi_80"] <= v["y_hi_95"]
    assert (tmp_path / "f.png").stat().st_size > 1000
    # a point model (the default loss) gets conformal bands; the test parts (12-14 steps) hold
    # too few whole 6-step horizons, so they come from refitted copies
    code, _, err = _train(capsys, path, tmp_path / "p")
    code, _, err = rnnkit(
        capsys, "forecast", tmp_path / "p", "--horizon", 6, "--intervals", "80,95", "--out", tmp_path / "g.csv"
    )
    assert code == 0 and "cross-fit conformal: 3 copies of the model refitted" in err, err
    rows = list(csv.DictReader((tmp_path / "g.csv").read_text().splitlines()))
    assert list(rows[0]) == ["unique_id", "ds", "y", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95", "interval_method"]
    assert {r["interval_method"] for r in rows} == {"cross-fit"}
    for r in rows:
        v = {k: float(r[k]) for k in ("y", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95")}
        assert v["y_lo_95"] <= v["y_lo_80"] < v["y"] < v["y_hi_80"] <= v["y_hi_95"]
    code, _, err = rnnkit(capsys, "forecast", tmp_path / "p", "--horizon", 6, "--intervals", "80", "--adapt", 0.1)
    assert code == 0 and "adaptive conformal (gamma 0.1)" in err, err
    code, _, err = rnnkit(capsys, "forecast", tmp_path / "q", "--intervals", "80", "--adapt", 0.1)
    assert code == 2 and "--adapt: expected --intervals and a point model" in err, err
    code, _, err = rnnkit(capsys, "forecast", tmp_path / "p", "--horizon", 100, "--intervals", "95")
    assert code == 0 and "beyond it the bands grow as sqrt(k)" in err, err


def test_wide_csv_one_column_per_series(tmp_path, capsys):
    t = np.arange(80)
    lines = ["week,a,b"] + [
        f"{np.datetime64('2020-01-06') + 7 * int(i)},{np.sin(i / 4):.3f},"
        + ("" if i < 10 else f"{5 + np.cos(i / 4):.3f}")
        for i in t
    ]
    (tmp_path / "w.csv").write_text("\n".join(lines) + "\n")
    code, out, err = _train(capsys, tmp_path / "w.csv", tmp_path / "r", "--period", 8, "--horizon", 4)
    assert code == 0, err
    assert "2 series (wide layout)" in err and "season length" not in err
    code, out, _ = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 2)
    rows = list(csv.DictReader(out.splitlines()))
    assert [(r["id"], r["week"]) for r in rows] == [
        ("a", "2021-07-19"),
        ("a", "2021-07-26"),
        ("b", "2021-07-19"),
        ("b", "2021-07-26"),
    ]


def test_known_future_covariates_from_rows_after_the_last_value(tmp_path, capsys):
    path = _long_csv(tmp_path / "c.csv", extra_rows=12, covariate=True)
    code, _, err = _train(capsys, path, tmp_path / "r", "--future-covariates", "price", "--calendar", "auto")
    assert code == 0, err
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 9)
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1 + 3 * 9
    code, _, err = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 14)
    assert code == 1 and "reads 24 row(s) of known-future values" in err, err
    assert "blocks of 12 steps" in err and "north,2022-01-01,,<price>" in err


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "name, text, extra, words",
    [
        (
            "gap.csv",
            "date,y\n" + "".join(f"{d}-01,{i}\n" for i, d in enumerate(_months("2020-01", 40)) if i != 17),
            (),
            ["a gap after 2021-05-01", "first 2021-06-01", "--fill interpolate"],
        ),
        (
            "dup.csv",
            "date,y\n" + "".join(f"{d}-01,{i}\n" for i, d in enumerate(_months("2020-01", 40))) + "2020-03-01,5\n",
            (),
            ["2020-03-01 appears more than once"],
        ),
        (
            "short.csv",
            "unique_id,ds,y\n"
            + "".join(f"a,{d}-01,{i}\n" for i, d in enumerate(_months("2020-01", 60)))
            + "".join(f"tiny,{d}-01,{i}\n" for i, d in enumerate(_months("2020-01", 20))),
            (),
            ["series 'tiny' has 20 steps", "--window"],
        ),
        (
            "text.csv",
            "date,y\n" + "".join(f"{d}-01,{'abc' if i == 9 else i}\n" for i, d in enumerate(_months("2020-01", 40))),
            (),
            ["line 11", "expected a number, got 'abc'"],
        ),
        (
            "nan_cov.csv",
            "date,y,x\n" + "".join(f"{d}-01,{i},{'' if i == 5 else i}\n" for i, d in enumerate(_months("2020-01", 40))),
            ("--past-covariates", "x"),
            ["covariate 'x' is missing at step 5"],
        ),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_run(tmp_path, capsys, name, text, extra, words):
    path = _write(tmp_path / name, text)
    code, _, err = rnnkit(
        capsys,
        "train",
        "forecast",
        "--data",
        path,
        "--out",
        tmp_path / "r",
        "--window",
        12,
        "--epochs",
        1,
        "--no-plots",
        *extra,
    )
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "r").exists()


def test_fill_interpolates_missing_dates(tmp_path, capsys):
    path = _write(
        tmp_path / "gap.csv",
        "date,y\n" + "".join(f"{d}-01,{np.sin(i / 2):.3f}\n" for i, d in enumerate(_months("2020-01", 60)) if i != 17),
    )
    code, _, err = _train(capsys, path, tmp_path / "r", "--fill", "interpolate")
    assert code == 0 and "1 missing date(s) filled (interpolate)" in err, err


def test_series_that_wander_get_first_differences_by_default():
    """Without a season the default target transform follows the data: a random walk or a
    trend (changes far smaller than the level's spread) is differenced, noise is not."""
    import numpy as np

    from rnnkit.cli.task_configs import ForecastConfig
    from rnnkit.cli.tasks.forecast_data import infer_settings, wanders

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=400))
    noise = rng.normal(size=400)
    ar = np.zeros(400)
    for t in range(1, 400):
        ar[t] = 0.5 * ar[t - 1] + rng.normal()
    assert wanders([walk]) and wanders([np.arange(100.0)])
    assert not wanders([noise]) and not wanders([ar]) and not wanders([])

    class S:
        freq, values = None, [walk[:, None]]

    notes = []
    assert infer_settings(S, ForecastConfig(), notes)["target_transform"] == "diff"
    assert "target transform diff (first differences: the series wander" in notes[-1]
    S.values = [noise[:, None]]
    assert infer_settings(S, ForecastConfig(), [])["target_transform"] == "none"


def test_seasonal_series_are_deseasonalized_and_differenced_when_they_trend():
    """With a period the default takes the average season out (deseason); a trend left
    after it adds diff; a series too short for 2 seasons falls back to seasonal_diff."""
    import numpy as np

    from rnnkit.cli.task_configs import ForecastConfig
    from rnnkit.cli.tasks.forecast_data import auto_transform

    rng = np.random.default_rng(1)
    t = np.arange(240.0)
    season = 10 * np.sin(2 * np.pi * t / 12)
    stationary = season + rng.normal(size=240)
    trending = season + 0.5 * t + rng.normal(size=240)
    assert auto_transform([stationary[:, None]], 12) == "deseason"
    assert auto_transform([trending[:, None]], 12) == "deseason+diff"
    assert auto_transform([trending[:20, None]], 12) == "seasonal_diff"
    assert auto_transform([rng.normal(size=(240, 1))], None) == "none"

    class S:
        freq, values = None, [trending[:, None]]

    cfg, notes = ForecastConfig(period=12), []
    assert infer_settings_transform(cfg, S, notes) == "deseason+diff"
    assert "target transform deseason+diff" in notes[-1]


def infer_settings_transform(cfg, s, notes):
    from rnnkit.cli.tasks.forecast_data import infer_settings

    return infer_settings(s, cfg, notes)["target_transform"]


def test_the_clis_model_on_plain_arrays_is_the_one_training_builds():
    """ForecastTask.model_for_arrays (what rnnkit backtest and the benchmark fit): the
    transform the data asks for, and the validation part training holds out."""
    import numpy as np

    from rnnkit.cli.task_configs import ForecastConfig
    from rnnkit.cli.tasks import TASKS

    t = np.arange(240.0)
    trending = (10 * np.sin(2 * np.pi * t / 12) + 0.5 * t)[:, None]
    model = TASKS["forecast"].model_for_arrays(ForecastConfig(period=12, val_fraction=0.15), [trending])
    p = model.get_params()
    assert p["target_transform"] == "deseason+diff" and p["window"] == 24 and p["horizon"] == 12
    assert p["validation_fraction"] == 0.15
    model = TASKS["forecast"].model_for_arrays(ForecastConfig(val_data="v.csv"), [trending])
    assert model.get_params()["validation_fraction"] == 0.0  # a separate file validates instead


def test_auto_transform_is_decided_on_the_training_part_alone(tmp_path, capsys):
    """31 months: 24 before the test part, 21 before the validation part too, fewer than the
    2 seasons deseason needs, so the default falls back to seasonal_diff and trains."""
    import numpy as np

    rows = ["date,y"] + [f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{10 + np.sin(i / 2):.3f}" for i in range(31)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    code, _, err = rnnkit(
        capsys,
        "train",
        "forecast",
        "--data",
        tmp_path / "s.csv",
        "--out",
        tmp_path / "r",
        "--window",
        4,
        "--horizon",
        2,
        "--hidden-size",
        4,
        "--epochs",
        1,
        "--no-plots",
    )
    assert code == 0 and "target transform seasonal_diff" in err, err
