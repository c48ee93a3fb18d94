"""Dates as pandas reads them: ISO stamps with offsets, the day/month order, --date-format,
and every frequency (sub-hourly, hourly, daily, business days, anchored weeks, months,
quarters, years) with its season, grid and future dates; pandas is the oracle where installed."""

import re
import warnings

import numpy as np
import pytest

from rnnkit.data._validate import DataFormatError
from rnnkit.data.date_reading import parse_dates, read_dates
from rnnkit.data.series_dates import (
    FREQUENCIES,
    FREQUENCY_NAMES,
    frequency,
    future_dates,
    grid_positions,
    infer_frequency,
    pandas_frequency,
    regularize,
    season_length,
)
from rnnkit.data.series_table import read_series_table
from rnnkit.forecast.covariates import parse_calendar


def _csv(path, dates, values=None):
    values = np.arange(len(dates), dtype=float) if values is None else values
    path.write_text("date,y\n" + "".join(f"{d},{v}\n" for d, v in zip(dates, values, strict=True)))
    return path


def _us_months(n, start="2015-01"):
    months = np.datetime64(start, "M") + np.arange(n)
    return [f"{str(m)[5:7]}/01/{str(m)[:4]}" for m in months]


# -- the day/month order ------------------------------------------------------------------
def test_us_monthly_is_read_month_first_with_period_12_and_a_note(tmp_path):
    s = read_series_table(_csv(tmp_path / "us.csv", _us_months(40)))
    assert s.freq == "M" and season_length(s.freq) == 12
    assert s.dates[0][0] == np.datetime64("2015-01-01") and s.dates[0][-1] == np.datetime64("2018-04-01")
    assert s.notes == ["read 02/01/2015 as month/day/year (monthly); --date-format to change"]


def test_european_dates_with_a_day_over_12_are_read_day_first(tmp_path):
    days = np.datetime64("2015-01-10") + np.arange(30)
    cells = [f"{str(d)[8:10]}/{str(d)[5:7]}/{str(d)[:4]}" for d in days]
    s = read_series_table(_csv(tmp_path / "eu.csv", cells))
    assert s.freq == "D" and season_length("D") == 7
    np.testing.assert_array_equal(s.dates[0], days.astype("datetime64[s]"))
    assert s.notes == ["dates read as day/month/year (13/01/2015 has no other reading)"]


def test_both_orders_regular_reads_month_first_as_pandas_and_names_the_other():
    # month first: Jan 1, 2, 3 (daily); day first: Jan, Feb, Mar (monthly)
    r = read_dates(["01/01/2015", "01/02/2015", "01/03/2015"])
    np.testing.assert_array_equal(r.dates, np.array(["2015-01-01", "2015-01-02", "2015-01-03"], "datetime64[s]"))
    assert r.guessed and r.format == "%m/%d/%Y" and r.other == "%d/%m/%Y"
    assert "day/month/year is regular too: --date-format '%d/%m/%Y'" in r.notes[0]


def test_dot_dates_day_first_when_that_is_the_regular_reading():
    cells = [f"01.{m:02d}.2020" for m in range(1, 13)] + [f"01.{m:02d}.2021" for m in range(1, 13)]
    r = read_dates(cells)  # month first: Jan 1..12 of two years (a gap); day first: monthly
    assert r.format == "%d.%m.%Y" and r.guessed
    assert r.dates[12] == np.datetime64("2021-01-01")
    assert r.notes[0].startswith("read 01.02.2020 as day/month/year (monthly)")


def test_an_ambiguous_irregular_file_names_both_date_formats(tmp_path):
    cells = ["01/02/2015", "03/04/2015", "02/05/2015", "06/01/2015", "11/03/2015", "05/05/2015"]
    with pytest.raises(DataFormatError, match=r"--date-format '%m/%d/%Y' or --date-format '%d/%m/%Y'") as e:
        read_series_table(_csv(tmp_path / "odd.csv", cells))
    assert "neither as month/day/year nor as day/month/year" in str(e.value)


def test_gaps_in_guessed_dates_hint_date_format_not_fill(tmp_path):
    cells = _us_months(30)
    del cells[7]  # one month missing: month first has 1 gap, day first 1000+
    with pytest.raises(DataFormatError) as e:
        read_series_table(_csv(tmp_path / "gap.csv", cells))
    text = str(e.value)
    assert "1 missing step(s)" in text and "--date-format '%m/%d/%Y' or --date-format '%d/%m/%Y'" in text
    assert "--fill" not in text
    # the order said: the dates are unambiguous, the hint is --fill, and --fill fills them
    with pytest.raises(DataFormatError, match="hint: --fill interpolate"):
        read_series_table(tmp_path / "gap.csv", date_format="%m/%d/%Y")
    s = read_series_table(tmp_path / "gap.csv", date_format="%m/%d/%Y", fill="interpolate")
    assert s.freq == "M" and s.n_filled == 1 and len(s.values[0]) == 30
    # --fill without --date-format: the reading with fewer missing steps, and the note says both had gaps
    s = read_series_table(tmp_path / "gap.csv", fill="ffill")
    assert s.freq == "M" and s.n_filled == 1 and s.values[0][7, 0] == s.values[0][6, 0]
    assert s.notes == [
        "read 02/01/2015 as month/day/year (monthly); read either way the dates have gaps, fewer as month/day/year"
    ]


def test_long_files_judge_the_order_per_series(tmp_path):
    rows = [f"a,{c},{k}" for k, c in enumerate(_us_months(14))]
    rows += [f"b,{c},{k}" for k, c in enumerate(_us_months(14, "2016-03"))]
    (tmp_path / "long.csv").write_text("unique_id,date,y\n" + "\n".join(rows) + "\n")
    s = read_series_table(tmp_path / "long.csv")
    assert s.freq == "M" and [len(d) for d in s.dates] == [14, 14]
    assert s.dates[1][0] == np.datetime64("2016-03-01")


# -- --date-format -------------------------------------------------------------------------
def test_date_format_overrides_the_inferred_order(tmp_path):
    path = _csv(tmp_path / "d.csv", ["01/01/2015", "01/02/2015", "01/03/2015"])
    assert read_series_table(path).freq == "D"
    s = read_series_table(path, date_format="%d/%m/%Y")
    assert s.freq == "M" and s.notes == [] and s.dates[0][2] == np.datetime64("2015-03-01")


def test_a_cell_off_the_date_format_names_line_cell_and_format(tmp_path):
    path = _csv(tmp_path / "d.csv", ["2015-01-01 10:00", "2015-01-01 11:00", "2015/01/01 12:00"])
    with pytest.raises(DataFormatError) as e:
        read_series_table(path, date_format="%Y-%m-%d %H:%M")
    assert "line 4: time stamp '2015/01/01 12:00' does not match the date format '%Y-%m-%d %H:%M'" in str(e.value)


def test_date_format_with_offsets_converts_to_utc():
    r = read_dates(["2015-01-01 10:00 +0100", "2015-01-01 11:00 +0100"], date_format="%Y-%m-%d %H:%M %z")
    np.testing.assert_array_equal(r.dates, np.array(["2015-01-01T09:00", "2015-01-01T10:00"], "datetime64[s]"))
    assert r.notes == ["time stamps with UTC offsets (+01:00) converted to UTC"]


# -- ISO stamps and time zones -------------------------------------------------------------
ISO_CASES = [
    ["2015-01-01T00:00:00Z", "2015-01-01T01:00:00Z", "2015-01-01T02:00:00Z"],
    ["2015-03-29T00:00:00+01:00", "2015-03-29T01:00:00+01:00", "2015-03-29T03:00:00+02:00"],
    ["2015-06-01T10:00:00+0100", "2015-06-01 10:15:00+0100", "2015-06-01T10:30:00-0530"],
    ["2015-06-01T10:00:00.000Z", "2015-06-01T10:00:30.000Z", "2015-06-01T10:01:00,000Z"],
    ["2015-06-01 10:00", "2015-06-01 11:00", "2015-06-01T12:00"],
    ["2015-06-01", "2015-06-02", "2015-06-03"],
]


@pytest.mark.parametrize("cells", ISO_CASES)
def test_iso_stamps_equal_pandas_in_utc(cells):
    pd = pytest.importorskip("pandas")
    r = read_dates(cells)
    want = pd.to_datetime([c.replace(",", ".") for c in cells], format="ISO8601", utc=True)
    np.testing.assert_array_equal(r.dates, want.tz_localize(None).to_numpy().astype("datetime64[s]"))
    offsets = any(re.search(r"(Z|[+-]\d\d:?\d\d)$", c) for c in cells)
    assert ("converted to UTC" in " ".join(r.notes)) == offsets


def test_offsets_are_converted_to_utc_without_pandas():
    r = read_dates(["2015-01-01T00:00:00Z", "2015-01-01T00:00:00+01:00", "2015-01-01T00:00:00-0230"])
    np.testing.assert_array_equal(
        r.dates, np.array(["2015-01-01T00:00", "2014-12-31T23:00", "2015-01-01T02:30"], "datetime64[s]")
    )
    assert r.notes == ["time stamps with UTC offsets (+01:00, -02:30, Z) converted to UTC"]


def test_fractional_seconds_are_rounded_and_said():
    r = read_dates(["2015-01-01T00:00:00.6", "2015-01-01T00:00:02.2"])
    np.testing.assert_array_equal(r.dates, np.array(["2015-01-01T00:00:01", "2015-01-01T00:00:02"], "datetime64[s]"))
    assert r.notes == ["fractional seconds rounded to whole seconds"]


def test_a_cell_no_format_reads_is_named_with_its_line():
    with pytest.raises(ValueError, match=r"dates, line 3: .* got 'soon'; .*--date-format"):
        parse_dates(["2015-01-01", "2015-01-02", "soon"])


# -- frequencies ---------------------------------------------------------------------------
def _stamps(start, n, step_s):
    return np.datetime64(start, "s") + np.arange(n) * np.timedelta64(step_s, "s")


def test_15_minute_series_season_grid_and_future(tmp_path):
    d = _stamps("2020-03-01T00:00", 200, 900)
    cells = [str(x).replace("T", " ") for x in d]
    s = read_series_table(_csv(tmp_path / "q.csv", cells))
    assert s.freq == "15min" and season_length("15min") == 96 and FREQUENCY_NAMES["15min"] == "15-minute"
    fut = future_dates(s.dates[0], s.freq, 5)
    np.testing.assert_array_equal(fut, _stamps("2020-03-03T02:00", 5, 900))
    assert infer_frequency(_stamps("2020-01-01", 10, 30)) == "30s"
    assert infer_frequency(_stamps("2020-01-01", 10, 60)) == "1min" and season_length("1min") == 1440
    assert infer_frequency(_stamps("2020-01-01", 10, 3 * 3600)) == "3H" and season_length("3H") == 8
    with pytest.raises(ValueError, match="7 minutes"):
        infer_frequency(_stamps("2020-01-01", 10, 420))


def test_business_days_skip_weekends_and_weekends_are_not_gaps():
    days = np.busday_offset("2024-01-05", np.arange(15), roll="forward").astype("datetime64[s]")  # Fri ...
    assert infer_frequency(days) == "B" and season_length("B") == 5
    np.testing.assert_array_equal(grid_positions(days, "B"), np.arange(15))
    d, v, filled = regularize(days, np.ones((15, 1)), "B")
    assert filled == 0 and len(d) == 15
    fut = future_dates(days, "B", 3)  # the last is Thu 2024-01-25
    np.testing.assert_array_equal(fut, np.array(["2024-01-26", "2024-01-29", "2024-01-30"], "datetime64[s]"))
    gap = np.delete(days, 6)  # a missing Monday is a gap
    with pytest.raises(ValueError, match="1 missing step"):
        regularize(gap, np.ones((14, 1)), "B")
    saturday = np.append(days, np.datetime64("2024-01-27", "s"))
    assert grid_positions(saturday, "B")[-1] == -1
    assert infer_frequency(days[:4]) == "B"  # Fri, Mon, Tue, Wed: crosses a weekend
    assert infer_frequency(days[1:5]) == "D"  # Mon to Thu: nothing tells business days from days


def test_weeks_keep_their_weekday():
    mondays = _stamps("2024-01-01", 20, 7 * 86400)
    assert infer_frequency(mondays) == "W-MON" and FREQUENCY_NAMES["W-MON"] == "weekly (Mon)"
    fut = future_dates(mondays, "W-MON", 3)
    assert list((fut.astype("datetime64[D]").astype(np.int64) + 3) % 7) == [0, 0, 0]
    assert infer_frequency(mondays + np.timedelta64(6, "D")) == "W-SUN"
    assert grid_positions(mondays, "W-SUN")[0] == -1  # a Monday is off a Sunday grid
    assert season_length("W") == 52 and grid_positions(mondays, "W")[-1] == 19  # saved models' code


@pytest.mark.parametrize(
    "cells", [["2015Q1", "2015Q2", "2015Q3", "2015Q4", "2016Q1"], ["2015-Q3", "2015-Q4", "2016-Q1"]]
)
def test_quarters(cells):
    d = parse_dates(cells)
    assert infer_frequency(d) == "Q" and season_length("Q") == 4
    nxt = future_dates(d, "Q", 2)
    assert [str(x)[:7] for x in nxt] == ["2016-04", "2016-07"]


def test_month_ends_and_years():
    ends = np.array(["2015-01-31", "2015-02-28", "2015-03-31", "2015-04-30"], "datetime64[s]")
    assert infer_frequency(ends) == "M"
    assert [str(x)[:10] for x in future_dates(ends, "M", 2)] == ["2015-05-31", "2015-06-30"]
    years = parse_dates(["1871", "1872", "1873"])
    assert infer_frequency(years) == "Y" and season_length("Y") is None


def test_frequency_codes_are_checked_and_looked_up_alike():
    assert "W-FRI" in FREQUENCIES and FREQUENCIES["20min"].season == 72 and "B" in list(FREQUENCIES)
    for bad in ("7min", "60min", "2D", "X"):
        assert bad not in FREQUENCIES
        with pytest.raises(ValueError, match="freq: expected a frequency"):
            frequency(bad)


def test_auto_calendar_follows_the_frequency_family():
    assert parse_calendar("auto", "15min") == ("hour", "dayofweek")
    assert parse_calendar("auto", "W-MON") == ("dayofyear",) and parse_calendar("auto", "B") == (
        "dayofweek",
        "dayofyear",
    )


REGULAR = [
    ("2015-01-01", "MS"),
    ("2015-01-31", "ME"),
    ("2015-01-01", "QS"),
    ("2015-03-31", "QE"),
    ("2015-02-01", "QS-FEB"),
    ("2015-01-01", "YS"),
    ("2015-12-31", "YE"),
    ("2015-01-05", "W-MON"),
    ("2015-01-04", "W-SUN"),
    ("2015-01-05", "B"),
    ("2015-01-05", "D"),
    ("2015-01-05 00:07", "15min"),
    ("2015-01-05", "5min"),
    ("2015-01-05", "30s"),
    ("2015-01-05", "h"),
    ("2015-01-05", "3h"),
]


def _pandas_code(code):
    """pandas' spellings before 2.2 -> those of 2.2 and later."""
    if code is None:
        return None
    old = {"H": "h", "M": "ME", "T": "min", "S": "s", "A-DEC": "YE-DEC", "AS-JAN": "YS-JAN"}
    code = old.get(code, code)
    for a, b in (("Q-", "QE-"), ("A-", "YE-"), ("AS-", "YS-"), ("BA-", "BYE-")):
        code = b + code[len(a) :] if code.startswith(a) else code
    return code.replace("T", "min") if code.endswith("T") else code.replace("H", "h")


@pytest.mark.parametrize(("start", "code"), REGULAR)
def test_frequencies_agree_with_pandas_infer_freq(start, code):
    pd = pytest.importorskip("pandas")
    try:
        index = pd.date_range(start, periods=40, freq=code)
    except ValueError:  # pandas before 2.2 spells some of them otherwise
        pytest.skip(f"this pandas has no frequency {code!r}")
    d = index.to_numpy().astype("datetime64[s]")
    ours = infer_frequency(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 says infer_freq will return an offset
        theirs = pd.infer_freq(index)
    assert pandas_frequency(ours, d) == _pandas_code(getattr(theirs, "freqstr", theirs))
    # and the grid, the future and the text round trip agree with pandas' own
    np.testing.assert_array_equal(grid_positions(d, ours), np.arange(40))
    np.testing.assert_array_equal(future_dates(d[:30], ours, 10), d[30:])
    again = parse_dates([str(x) for x in index])
    np.testing.assert_array_equal(again, d)


# -- pandas objects given to the Forecaster -------------------------------------------------
def _round_trip(obj, h=3):
    from rnnkit.forecast.inputs import from_pandas, to_pandas

    _, _, dates, meta = from_pandas(obj, None, "series")
    meta.update(dates=dates, freq=infer_frequency(dates[0]))
    return dates[0], meta, to_pandas(meta, {"": np.zeros((1, h, 1))})


def test_pandas_zone_aware_hours_step_in_utc_and_come_back_in_their_zone():
    pd = pytest.importorskip("pandas")
    index = pd.date_range("2024-03-31 00:00", periods=6, freq="h", tz="Europe/Berlin")  # crosses 02:00 -> 03:00
    dates, meta, out = _round_trip(pd.Series(np.arange(6.0), index=index))
    assert meta["freq"] == "H" and str(out.index.tz) == "Europe/Berlin"
    want = pd.date_range(index[-1], periods=4, freq="h")[1:]
    assert list(out.index) == list(want)


def test_pandas_zone_aware_days_stay_calendar_days():
    pd = pytest.importorskip("pandas")
    index = pd.date_range("2024-03-28", periods=6, freq="D", tz="Europe/Berlin")  # 23-hour day on 03-31
    frame = pd.DataFrame({"unique_id": "a", "ds": index, "y": np.arange(6.0)})
    dates, meta, out = _round_trip(frame)
    assert meta["freq"] == "D"
    assert list(out["ds"]) == list(pd.date_range("2024-04-03", periods=3, freq="D", tz="Europe/Berlin"))


def test_pandas_text_dates_are_read_like_csv_ones():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"unique_id": "a", "ds": _us_months(14), "y": np.arange(14.0)})
    dates, meta, _ = _round_trip(frame)
    assert meta["freq"] == "M" and dates[1] == np.datetime64("2015-02-01")
    labels = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"])  # labels that are no dates: no dates
    from rnnkit.forecast.inputs import from_pandas

    assert from_pandas(labels, None, "series")[2] is None
    with pytest.raises(ValueError, match=r"series\['ds'\], line 2: .* got 'later'"):
        from_pandas(pd.DataFrame({"unique_id": "a", "ds": ["2015-01-01", "later"], "y": [1.0, 2.0]}), None, "series")
