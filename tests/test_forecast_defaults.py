"""``rnnkit forecast RUN`` with the defaults a user expects: the trained horizon, a reason
for every plot left out, the exact known-future rows to add, and the interval method named."""

import csv

import numpy as np
import pytest

from rnnkit.cli import main


def rnnkit(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _series_csv(path, series=(("north", 72), ("south", 60)), extra_rows=0, covariate=False):
    """Monthly series (id, date, value[, price]); ``extra_rows`` rows after each series' last
    value with the value cell empty and the price known."""
    rng = np.random.default_rng(0)
    lines = ["unique_id,ds,y" + (",price" if covariate else "")]
    for k, (uid, n) in enumerate(series):
        t = np.arange(n + extra_rows)
        price = np.sin(t / 5.0)
        y = 10 * (k + 1) * (1 + 0.1 * np.sin(2 * np.pi * t / 12)) + price + 0.1 * rng.standard_normal(len(t))
        for i, m in enumerate(np.datetime64("2015-01", "M") + t):
            value = "" if i >= n else f"{y[i]:.4f}"
            lines.append(f"{uid},{m}-01,{value}" + (f",{price[i]:.4f}" if covariate else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(capsys, data, out, *extra):
    code, _, err = rnnkit(
        capsys, "train", "forecast", "--data", data, "--out", out, "--window", 12, "--hidden-size", 4, "--epochs", 1,
        "--ensemble", 1, *extra,
    )  # fmt: skip
    assert code == 0, err
    return err


def test_the_forecast_covers_the_trained_horizon_unless_told(tmp_path, capsys):
    _train(capsys, _series_csv(tmp_path / "s.csv"), tmp_path / "r", "--horizon", 5, "--no-plots")
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r")
    assert code == 0, err
    rows = list(csv.DictReader(out.splitlines()))
    assert [r["unique_id"] for r in rows] == ["north"] * 5 + ["south"] * 5
    assert "forecasting 5 step(s), the horizon the model was trained for" in err
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 7)
    assert len(out.strip().splitlines()) == 1 + 2 * 7 and "the horizon the model was trained for" not in err


def test_the_missing_known_future_rows_are_listed_to_paste(tmp_path, capsys):
    path = _series_csv(tmp_path / "c.csv", extra_rows=3, covariate=True)
    _train(capsys, path, tmp_path / "r", "--future-covariates", "price", "--horizon", 6, "--no-plots")
    code, _, err = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 8)  # 2 direct blocks of 6: 12 rows
    assert code == 1
    lines = err.strip().splitlines()
    assert "reads 12 row(s) of known-future values" in lines[0] and "'north' has 3, 'south' has 3" in lines[0]
    assert lines[1] == "unique_id,ds,y,price"
    # north: 72 values from 2015-01 (to 2020-12), 3 rows known (to 2021-03): 9 to add
    north = [line for line in lines[2:] if line.startswith("north,")]
    assert north[0] == "north,2021-04-01,,<price>" and north[-1] == "north,2021-12-01,,<price>" and len(north) == 9
    assert sum(line.startswith("south,") for line in lines) == 9
    # the rows it asks for are the rows that make it work
    with open(path, "a") as f:
        for line in lines[2:]:
            f.write(line.replace("<price>", "0.5") + "\n")
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--horizon", 8)
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1 + 2 * 8


def test_every_plot_left_out_says_why(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib", reason="the plots need matplotlib")
    four = (("a", 72), ("b", 72), ("c", 72), ("d", 72))
    path = _series_csv(tmp_path / "c.csv", series=four, covariate=True)
    err = _train(capsys, path, tmp_path / "r", "--future-covariates", "price", "--horizon", 12)
    # the test part has 14 steps, the covariates end with the values: one whole block of 12
    assert "the forecast plot of series 'a' shows 12 of 14 step(s)" in err
    assert "whole blocks of 12 steps" in err
    assert "forecast plots drawn for the first 3 series only; not drawn: 1 more" in err
    assert (tmp_path / "r" / "plots" / "forecast_a.png").is_file()
    code, _, err = rnnkit(capsys, "forecast", tmp_path / "r", "--data", _series_csv(tmp_path / "d.csv", four, 12, True),
                          "--plot", tmp_path / "f.png")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "f.png").is_file() and "not drawn: the other 3 series ('b', ...)" in err
    from rnnkit.utils import plots

    monkeypatch.setattr(plots, "available", lambda: False)
    code, _, err = rnnkit(
        capsys, "forecast", tmp_path / "r", "--data", tmp_path / "d.csv", "--plot", tmp_path / "g.png"
    )
    assert code == 0 and f"{tmp_path / 'g.png'} not written" in err and not (tmp_path / "g.png").exists()


def test_the_interval_method_is_chosen_by_what_was_held_out_and_named(tmp_path, capsys, monkeypatch):
    """A test part holding 10 whole horizons: the model's own errors there (no refit). A
    shorter one, or other data: cross-fit. The note, the CSV column and the plot's legend
    say which."""
    path = _series_csv(tmp_path / "s.csv", series=(("north", 150), ("south", 140)))
    _train(capsys, path, tmp_path / "r", "--horizon", 3, "--no-plots")  # test parts: 30 and 28 steps
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--intervals", "80,95")
    assert code == 0, err
    assert "split conformal on the model's own 3-step errors at the last 26 origins" in err
    assert {r["interval_method"] for r in csv.DictReader(out.splitlines())} == {"own-errors"}
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--intervals", "80", "--horizon", 24)
    assert code == 0, err
    assert "cross-fit conformal: 3 copies" in err and "held out of training is too short" in err
    from rnnkit.utils import plots

    drawn = {}
    monkeypatch.setattr(plots, "available", lambda: True)
    monkeypatch.setattr(plots, "forecast_plot", lambda *a, bands=None, **k: drawn.update(bands))
    code, out, err = rnnkit(capsys, "forecast", tmp_path / "r", "--intervals", "80", "--data", path, "--plot", "p.png")
    assert code == 0 and "cross-fit because the data is not the run's own" in err, err
    assert list(drawn) == ["80% (cross-fit)"]
    rows = list(csv.DictReader(out.splitlines()))
    assert {r["interval_method"] for r in rows} == {"cross-fit"}
    for r in rows:
        assert float(r["y_lo_80"]) < float(r["y"]) < float(r["y_hi_80"])
