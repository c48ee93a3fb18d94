"""The evaluation engine on many series with covariates: hand-computed scores, no look-ahead
(a model that would cheat is caught), per-series against pooled scores, Forecaster.evaluate
through the engine, and ``rnnkit backtest RUN`` on a long CSV with a known-future covariate."""

import math

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.forecast import Forecaster
from rnnkit.forecast.backtest import backtest


def wave(n, level=10.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return level * (1 + 0.2 * np.sin(2 * np.pi * t / 6)) + 0.05 * level * rng.normal(size=n)


class Recorder:
    """Forecasts the last value; records what every fit and predict call was given."""

    def __init__(self):
        self.fits, self.calls = [], []

    def fit(self, series, past_covariates=None, future_covariates=None, static_covariates=None, dates=None):
        self.fits.append(dict(series=series, past=past_covariates, future=future_covariates, static=static_covariates))
        return self

    def predict(
        self, history, horizon, past_covariates=None, future_covariates=None, static_covariates=None, dates=None
    ):
        self.calls.append(
            dict(history=history, past=past_covariates, future=future_covariates, static=static_covariates)
        )
        return np.full(horizon, float(np.asarray(history)[-1]))


class Cheater:
    """Would forecast perfectly from its past covariate (the target itself) if it were given
    the rows at and after the origin; given only the rows before, it repeats the last value."""

    def fit(self, series, past_covariates=None):
        return self

    def predict(self, history, horizon, past_covariates=None):
        ahead = np.asarray(past_covariates)[len(history) : len(history) + horizon, 0]
        return ahead if len(ahead) == horizon else np.full(horizon, float(np.asarray(history)[-1]))


def test_scores_match_a_hand_computation():
    x = np.array([3.0, 5.0, 4.0, 6.0, 8.0, 7.0, 9.0, 12.0, 10.0, 11.0])
    h = 2
    r = backtest({}, x, h, initial=6, baselines=("naive",), levels=())
    np.testing.assert_array_equal(r.origins, [6, 7, 8])
    errs, scaled, sm = [], [], []
    for t in (6, 7, 8):
        scale = np.mean(np.abs(np.diff(x[:t])))  # naive in-sample error of x[:t]
        for k in range(h):
            y, yhat = x[t + k], x[t - 1]
            errs.append(y - yhat)
            scaled.append(abs(y - yhat) / scale)
            sm.append(200 * abs(y - yhat) / (abs(y) + abs(yhat)))
    m = r.metrics()["naive"]
    assert m["mae"] == pytest.approx(np.mean(np.abs(errs)))
    assert m["rmse"] == pytest.approx(math.sqrt(np.mean(np.square(errs))))
    assert m["mase"] == pytest.approx(np.mean(scaled))
    assert m["smape"] == pytest.approx(np.mean(sm))
    assert r.pooled_mase("naive") == m["mase"]


def test_covariates_are_cut_at_each_origin():
    xs = [wave(40, seed=1), wave(30, seed=2)]
    past = [np.arange(40.0)[:, None], np.arange(30.0)[:, None]]  # each row holds its own step
    future = [np.arange(44.0)[:, None], np.arange(34.0)[:, None]]  # 4 known rows past the end
    static = np.array([[1.0], [2.0]])
    rec = Recorder()
    r = backtest(
        rec,
        xs,
        3,
        past_covariates=past,
        future_covariates=future,
        static_covariates=static,
        n_origins=5,
        refit_every=2,
        baselines=(),
        levels=(),
    )
    assert r.n_series == 2 and list(r.ids) == ["0", "1"]
    assert len(rec.fits) == 3  # rounds 0, 2, 4
    for fit in rec.fits:
        for s, p, f in zip(fit["series"], fit["past"], fit["future"], strict=True):
            assert len(p) == len(s) and p[-1, 0] == len(s) - 1  # nothing at or after the origin
            assert len(f) == len(s)  # fitting reads no forecast step
    assert len(rec.calls) == 10  # a model without predicts_lists: one history per call
    for call in rec.calls:
        t = len(call["history"])
        assert call["past"][-1, 0] == t - 1  # nothing at or after the origin
        assert call["future"][-1, 0] == t + 3 - 1  # known-future rows: the 3 forecast steps
        assert call["static"].shape == (1, 1) and call["static"][0, 0] == (1.0 if t > 30 - 3 else 2.0)
    # origins aligned at the ends: each series' last origin is T - h
    assert {int(r.origins[r.series == 0].max()), int(r.origins[r.series == 1].max())} == {37, 27}


def test_a_model_that_would_cheat_is_caught():
    x = wave(60, seed=3)
    r = backtest(
        {"cheater": Cheater()}, x, 4, past_covariates=x[:, None], n_origins=10, baselines=("naive",), levels=()
    )
    np.testing.assert_array_equal(r.forecasts["cheater"], r.forecasts["naive"])  # it saw nothing ahead
    assert r.metrics()["cheater"]["mae"] > 0.1
    # the same model handed the whole covariate would have been perfect: the check has teeth
    peek = Cheater().predict(x[:50], 4, past_covariates=x[:, None])
    np.testing.assert_allclose(peek, x[50:54])


def test_a_changed_future_changes_no_earlier_forecast_of_any_series():
    xs = [wave(80, seed=4), wave(70, level=100.0, seed=5)]
    fut = [np.sin(np.arange(84.0))[:, None], np.cos(np.arange(74.0))[:, None]]
    kw = dict(n_origins=10, step=2, refit_every=3, period=6, levels=(), baselines=("naive", "ar"))

    def model():
        return Forecaster(window=8, hidden_size=4, epochs=2, seed=0, dtype="float64")

    base = backtest(model(), xs, 4, future_covariates=fut, **kw)
    cut = 5  # rounds 0-4 see nothing from round 5's origin on
    ys = [x.copy() for x in xs]
    fs = [f.copy() for f in fut]
    for i in range(2):
        t = int(base.origins[base.series == i][cut])
        ys[i][t:] = np.random.default_rng(i).normal(0, 50, len(ys[i]) - t)
        fs[i][t + 4 :] = 7.0  # covariate rows past the first changed round's forecast steps
    other = backtest(model(), ys, 4, future_covariates=fs, **kw)
    early = np.concatenate([np.flatnonzero(base.series == i)[:cut] for i in range(2)])
    late = np.concatenate([np.flatnonzero(base.series == i)[cut:] for i in range(2)])
    for name in base.forecasts:
        np.testing.assert_array_equal(base.forecasts[name][early], other.forecasts[name][early])
        assert not np.allclose(base.forecasts[name][late], other.forecasts[name][late])


def test_per_series_and_pooled_scores_agree():
    xs = [wave(50, seed=6), wave(64, level=1000.0, seed=7), wave(45, level=0.5, seed=8)]
    r = backtest({}, xs, 3, n_origins=12, period=6, levels=(80,), ids=["a", "b", "c"])
    per = r.per_series()
    assert list(per) == ["a", "b", "c"]
    n = np.array([np.isfinite(r.truth[r.series == s]).sum() for s in range(3)])
    for name in r.forecasts:
        pooled = r.metrics()[name]
        for key in ("mae", "mase", "smape"):
            assert pooled[key] == pytest.approx(np.average([per[s][name][key] for s in per], weights=n))
        rmse2 = np.average([per[s][name]["rmse"] ** 2 for s in per], weights=n)
        assert pooled["rmse"] == pytest.approx(math.sqrt(rmse2))
    # the baselines are local: a series' scores are those of a backtest of it alone
    for s, x in zip("abc", xs, strict=True):
        alone = backtest({}, x, 3, n_origins=12, period=6, levels=(80,)).metrics()
        for name in r.forecasts:
            for key, v in alone[name].items():
                assert per[s][name][key] == pytest.approx(v), (s, name, key)
    csv = r.to_csv().splitlines()
    assert csv[0].startswith("series,model,step,") and len(csv) == 1 + 4 * len(r.forecasts) * (1 + 3)
    assert "all" in r.series_table() and "mase" not in r.series_table()  # headed MASE


def test_too_short_series_are_skipped_and_named():
    r = backtest({}, [wave(40), wave(5)], 4, n_origins=6, baselines=("naive",), levels=(), ids=["long", "tiny"])
    assert r.skipped == ["tiny"] and r.n_series == 1
    with pytest.raises(ValueError, match="no series has room"):
        backtest({}, [wave(4), wave(5)], 4, baselines=("naive",), levels=())


def test_evaluate_is_the_engine_without_refits():
    x = wave(90, seed=9)
    fc = Forecaster(window=8, horizon=3, hidden_size=6, epochs=3, seed=0, dtype="float64").fit(x[:60])
    report = fc.evaluate(x, start=60, stride=4, period=6)
    origins = range(60, 90 - 3 + 1, 4)
    err = np.stack([fc.predict(x[:t], 3) - x[t : t + 3] for t in origins])
    assert report["n_forecasts"] == len(origins)
    assert report["model"]["rmse"] == pytest.approx(math.sqrt(np.mean(err**2)))
    assert report["model"]["nrmse"] == pytest.approx(
        math.sqrt(np.mean(err**2)) / np.stack([x[t : t + 3] for t in origins]).std()
    )
    assert report["model"]["mae"] == pytest.approx(np.mean(np.abs(err)))
    assert set(report) >= {"model", "naive", "seasonal_naive"} and "mase" in report["model"]


def _long_csv(path):
    """Three monthly series of different lengths with a known-future price (12 rows ahead)."""
    rng = np.random.default_rng(0)
    rows = []
    for uid, start, n, level in (
        ("north", "2015-01", 60, 100.0),
        ("south", "2016-07", 48, 10.0),
        ("east", "2015-04", 54, 1000.0),
    ):
        t = np.arange(n + 12)
        price = np.sin(t / 5.0)
        y = (
            level * (1 + 0.1 * np.sin(2 * np.pi * t / 12))
            + level * 0.05 * price
            + level * 0.01 * rng.normal(size=len(t))
        )
        months = np.datetime64(start, "M") + t
        for k in range(len(t)):
            rows.append(f"{uid},{months[k]}-01,{'' if k >= n else f'{y[k]:.4f}'},{price[k]:.4f}")
    path.write_text("unique_id,ds,y,price\n" + "\n".join(rows) + "\n")
    return path


def test_cli_backtest_of_a_run_on_a_long_csv_with_a_future_covariate(tmp_path, capsys):
    data = _long_csv(tmp_path / "stores.csv")
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "forecast",
            "--data",
            str(data),
            "--future-covariates",
            "price",
            "--window",
            "12",
            "--hidden-size",
            "4",
            "--epochs",
            "2",
            "--out",
            str(run),
            "--no-plots",
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    out_csv = tmp_path / "errors.csv"
    code = main(["backtest", str(run), "--origins", "8", "--intervals", "80", "--out", str(out_csv), "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "24 origins in 3 series" in out
    lines = out.splitlines()
    per = {(line.split()[0], line.split()[1]) for line in lines if len(line.split()) > 2}
    for sid in ("north", "south", "east", "all"):
        assert (sid, "rnnkit") in per and (sid, "seasonal_naive") in per
    assert "pooled:" in out and "beat" in lines[-1]
    rows = out_csv.read_text().splitlines()
    assert rows[0] == "series,model,step,mae,rmse,smape,mase,coverage_80"
    assert {r.split(",")[0] for r in rows[1:]} == {"north", "south", "east", "all"}
    assert len(rows) == 1 + 4 * 5 * 13  # (3 series + pooled) x 5 models x (all + 12 steps)
    # the same file read by flags instead of the run's settings: the id column named
    code = main(
        [
            "backtest",
            "baselines",
            "--data",
            str(data),
            "--id-column",
            "unique_id",
            "--origins",
            "8",
            "--intervals",
            "none",
            "--baselines",
            "naive",
            "-q",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "24 origins in 3 series" in out and "expected a number" not in err


def test_a_long_pandas_frame_is_many_series_with_their_ids():
    pd = pytest.importorskip("pandas")
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2020-01-01", periods=n, freq="MS"), "y": wave(n, seed=n)})
        for uid, n in (("a", 40), ("b", 36))
    ]
    r = backtest({}, pd.concat(frames), 3, n_origins=6, period=6, baselines=("naive",), levels=())
    assert r.ids == ["a", "b"] and r.n_series == 2
    alone = backtest({}, wave(36, seed=36), 3, n_origins=6, period=6, baselines=("naive",), levels=())
    assert r.metrics(series="b")["naive"]["mase"] == pytest.approx(alone.metrics()["naive"]["mase"])


class Overflowing:
    """Forecasts the last value, except NaN at the second step of its fifth forecast."""

    def __init__(self):
        self.n = 0

    def fit(self, series):
        return self

    def predict(self, history, horizon):
        self.n += 1
        out = np.full(horizon, float(np.asarray(history)[-1]))
        out[1] = np.nan if self.n == 5 else out[1]
        return out


def test_a_forecast_that_is_not_finite_scores_nan_not_an_error():
    r = backtest({"bad": Overflowing()}, wave(50), 3, n_origins=8, baselines=("naive",), levels=())
    assert all(math.isnan(v) for v in r.metrics()["bad"].values())
    assert np.isnan(r.by_step()["bad"]["mae"]).all() and math.isfinite(r.metrics()["naive"]["mae"])
