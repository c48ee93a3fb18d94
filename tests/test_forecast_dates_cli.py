"""``rnnkit train forecast`` on dates as users write them: a US-format monthly CSV trains
with period 12 and a note on the date reading; ``--date-format`` reaches the reader;
15-minute stamps in UTC offsets forecast 15-minute steps."""

import csv
import os
import subprocess
import sys

import numpy as np

from rnnkit import load_model
from rnnkit.cli import main


def _us_monthly(path, n=84):
    months = np.datetime64("2015-01", "M") + np.arange(n)
    t = np.arange(n)
    y = 100 + 10 * np.sin(2 * np.pi * t / 12) + 0.3 * t + np.random.default_rng(0).normal(0, 1, n)
    rows = [f"{str(m)[5:7]}/01/{str(m)[:4]},{v:.3f}" for m, v in zip(months, y, strict=True)]
    path.write_text("date,sales\n" + "\n".join(rows) + "\n")
    return path


def test_us_monthly_csv_trains_with_period_12_and_a_note_on_the_dates(tmp_path):
    data, run = _us_monthly(tmp_path / "us.csv"), tmp_path / "run"
    argv = ["train", "forecast", "--data", data, "--out", run, "--epochs", "1", "--hidden-size", "4", "--no-plots"]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-m", "rnnkit", *map(str, argv)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    assert "read 02/01/2015 as month/day/year (monthly)" in text
    assert "season length 12 (monthly dates" in text
    model = load_model(run / "model.npz")
    assert model.freq_ == "M" and model.period_ == 12


def test_date_format_flag_reaches_the_reader(tmp_path, capsys):
    data = _us_monthly(tmp_path / "us.csv")
    # read day first, the file is January 1-12 of each year: gaps, and the order is no longer a guess
    code = main(["train", "forecast", "--data", str(data), "--out", str(tmp_path / "r"), "--date-format", "%d/%m/%Y"])
    err = capsys.readouterr().err
    assert code != 0
    assert "missing step(s)" in err and "hint: --fill interpolate" in err


def test_guessed_order_with_gaps_hints_date_format(tmp_path, capsys):
    data = _us_monthly(tmp_path / "us.csv")
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:10] + lines[11:]) + "\n")  # September 2015 missing
    code = main(["train", "forecast", "--data", str(data), "--out", str(tmp_path / "r"), "--epochs", "1"])
    err = capsys.readouterr().err
    assert code != 0
    assert "--date-format '%m/%d/%Y' or --date-format '%d/%m/%Y'" in err and "--fill" not in err


def test_15_minute_stamps_with_offsets_forecast_15_minute_steps(tmp_path, capsys):
    stamps = np.datetime64("2024-03-01T00:00", "s") + np.arange(480) * np.timedelta64(900, "s")
    t = np.arange(480)
    y = 50 + 5 * np.sin(2 * np.pi * t / 96) + np.random.default_rng(1).normal(0, 0.2, 480)
    # local time at +01:00: 01:00 local is 00:00 UTC
    rows = [f"{str(s + np.timedelta64(1, 'h'))}+01:00,{v:.3f}" for s, v in zip(stamps, y, strict=True)]
    (tmp_path / "load.csv").write_text("timestamp,load\n" + "\n".join(rows) + "\n")
    run = tmp_path / "r"
    argv = ["train", "forecast", "--data", tmp_path / "load.csv", "--out", run, "--epochs", "1", "--hidden-size", "4"]
    code = main([*map(str, argv), "--window", "96", "--no-plots"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "time stamps with UTC offsets (+01:00) converted to UTC" in err
    assert "season length 96 (15-minute dates" in err
    code = main(["forecast", str(run), "--horizon", "3", "--out", str(tmp_path / "f.csv")])
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader((tmp_path / "f.csv").read_text().splitlines()))
    assert [r["timestamp"] for r in rows] == ["2024-03-06", "2024-03-06 00:15:00", "2024-03-06 00:30:00"]


def test_minute_data_gets_a_window_and_horizon_of_at_most_192_steps_with_a_note():
    import dataclasses

    from rnnkit.cli.options import resolve
    from rnnkit.cli.task_configs import ForecastConfig
    from rnnkit.cli.tasks.forecast_data import MAX_DEFAULT_STEPS, infer_settings
    from rnnkit.data.series_table import SeriesSet

    config = dataclasses.replace(resolve(ForecastConfig, "forecast"), target_transform="none")
    minutes = SeriesSet(ids=["a"], values=[np.zeros((3000, 1))], value_names=["y"], freq="1min")
    notes: list[str] = []
    got = infer_settings(minutes, config, notes)
    assert got["period"] == 1440 and got["window"] == got["horizon"] == MAX_DEFAULT_STEPS == 192
    assert any("window 192, shorter than a season of 1440 steps" in n for n in notes), notes
    assert any("horizon 192, shorter than a season of 1440 steps" in n for n in notes), notes
    quarter_hours = dataclasses.replace(minutes, freq="15min")
    got = infer_settings(quarter_hours, config, notes := [])
    assert got["window"] == got["horizon"] == 96 and not any("shorter than a season" in n for n in notes)
