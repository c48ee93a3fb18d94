"""Rolling-origin backtests: no look-ahead, origins and refits, missing values, the CLI."""

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.forecast import Forecaster
from rnnkit.forecast import metrics as fm
from rnnkit.forecast.backtest import backtest, fill_history, rolling_origins
from rnnkit.forecast.baselines import ARForecaster, SeasonalNaiveForecaster


def seasonal_series(n=160, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 20 + 0.1 * t + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, n)


class Spy:
    """Records every series it is fitted on and every history it forecasts from."""

    def __init__(self):
        self.fits, self.histories = [], []

    def fit(self, series):
        self.fits.append(np.array(series))
        return self

    def predict(self, history, horizon):
        self.histories.append(np.array(history))
        return np.full(horizon, float(np.asarray(history)[-1]))


def test_rolling_origins():
    np.testing.assert_array_equal(rolling_origins(20, 3, n_origins=4, step=2), [11, 13, 15, 17])
    np.testing.assert_array_equal(rolling_origins(20, 3, initial=15), [15, 16, 17])
    np.testing.assert_array_equal(rolling_origins(20, 3), np.arange(10, 18))


def test_models_see_only_the_past_and_refit_on_schedule():
    x = seasonal_series(60)
    spy = Spy()
    result = backtest({"spy": spy}, x, 5, n_origins=10, refit_every=4, baselines=(), levels=())
    origins = result.origins
    np.testing.assert_array_equal(result.fit_origins, origins[[0, 4, 8]])
    assert [len(f) for f in spy.fits] == list(origins[[0, 4, 8]])
    for t, hist in zip(origins, spy.histories, strict=False):
        np.testing.assert_array_equal(hist, x[:t])
    np.testing.assert_allclose(result.forecasts["spy"][:, :, 0], np.repeat(x[origins - 1, None], 5, 1))
    np.testing.assert_allclose(result.truth[:, :, 0], np.stack([x[t : t + 5] for t in origins]))


def test_sliding_window_and_fit_once():
    x = seasonal_series(80)
    spy = Spy()
    result = backtest(
        {"spy": spy}, x, 4, n_origins=6, refit_every=0, window="sliding", window_length=30, baselines=(), levels=()
    )
    assert len(spy.fits) == 1 and len(result.fit_origins) == 1
    for t, hist in zip(result.origins, spy.histories, strict=False):
        np.testing.assert_array_equal(hist, x[t - 30 : t])


def test_perturbing_the_future_leaves_every_forecast_unchanged():
    x = seasonal_series(150)
    kw = dict(n_origins=12, step=3, refit_every=5, period=12, levels=())

    def models():
        return {
            "rnnkit": Forecaster(window=24, hidden_size=8, epochs=2, scaling="window", seed=0, dtype="float64"),
            "ar": ARForecaster(period=12),
        }

    base = backtest(models(), x, 6, **kw)
    cut = base.origins[5]
    y = x.copy()
    y[cut:] = np.random.default_rng(9).normal(0, 100, len(x) - cut)  # a different future
    other = backtest(models(), y, 6, **kw)
    for name in base.forecasts:
        np.testing.assert_array_equal(base.forecasts[name][:6], other.forecasts[name][:6])
        assert not np.allclose(base.forecasts[name][6:], other.forecasts[name][6:])
    np.testing.assert_array_equal(base.scales[:6], other.scales[:6])


def test_missing_values_are_filled_from_the_past_only_and_not_scored():
    x = seasonal_series(100)
    x[70] = np.nan
    spy = Spy()
    result = backtest({"spy": spy}, x, 3, initial=71, baselines=(), levels=(), missing="interpolate")
    first = spy.histories[0]  # origin 71: x[70] is the last value
    assert first[-1] == x[69]  # carried forward, not read from x[71]
    later = spy.histories[1]  # origin 72: interpolated
    assert later[70] == pytest.approx((x[69] + x[71]) / 2)
    assert np.isnan(result.truth).sum() == 0  # the gap is before every target
    y = seasonal_series(100)
    y[90] = np.nan
    r = backtest({}, y, 3, initial=80, baselines=("naive",), levels=(), missing="interpolate")
    assert np.isnan(r.truth).sum() == 3  # x[90] is a target of 3 origins
    assert np.isfinite(r.metrics()["naive"]["mae"])


def test_fill_history():
    np.testing.assert_allclose(fill_history(np.array([np.nan, 1.0, np.nan, 3.0, np.nan])), [1, 1, 2, 3, 3])


def test_metrics_match_the_formulas_and_baselines_are_added():
    x = seasonal_series(120)
    r = backtest({}, x, 12, n_origins=30, period=12, levels=(80,))
    assert set(r.forecasts) == {"naive", "seasonal_naive", "drift", "ar"}
    snaive = np.stack([SeasonalNaiveForecaster(12).fit(x[:t]).predict(x[:t], 12) for t in r.origins])
    np.testing.assert_allclose(r.forecasts["seasonal_naive"][..., 0], snaive)
    scales = np.array([fm.seasonal_naive_scale(x[:t], 12) for t in r.origins])
    m = r.metrics()["seasonal_naive"]
    expect = np.mean(np.abs(x[r.origins[:, None] + np.arange(12)] - snaive) / scales[:, None])
    assert m["mase"] == pytest.approx(expect)
    assert m["mae"] == pytest.approx(fm.mae(r.truth[..., 0], snaive))
    assert r.by_step()["seasonal_naive"]["mae"].shape == (12,)
    assert m["mase"] < r.metrics()["naive"]["mase"]  # the season is there to be used
    text = r.table()
    assert "seasonal_naive" in text and "MASE" in text and "cover80%" in text
    assert r.to_csv().splitlines()[0] == "series,model,step,mae,rmse,smape,mase,coverage_80"


def test_many_series_score_per_column():
    x = seasonal_series(120)
    xs = np.column_stack([x, 100 * x])
    r = backtest({}, xs, 6, n_origins=20, period=12, levels=(), columns=["a", "b"])
    a, b = r.metrics("a")["naive"], r.metrics("b")["naive"]
    assert b["mae"] == pytest.approx(100 * a["mae"])
    assert b["mase"] == pytest.approx(a["mase"])  # scale-free
    assert r.metrics()["naive"]["mase"] == pytest.approx(a["mase"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(horizon=60), "horizon: expected fewer steps than the series' 50 values, got 60"),
        (dict(horizon=5, n_origins=100), "n_origins: a series of 50 values has room for 45 origin"),
        (dict(horizon=5, initial=48), "initial: expected a first origin <= T - horizon = 45"),
        (dict(horizon=5, n_origins=10, levels=(95,)), "levels: 95% intervals need more than 19 origins"),
        (dict(horizon=5, window="sliding"), "window_length"),
        (dict(horizon=5, window="rolling"), "window: expected one of expanding, sliding"),
        (dict(horizon=5, n_origins=5, refit_every=-1), "refit_every"),
        (dict(horizon=5, n_origins=30, adapt=1.5), "adapt: expected a step size gamma in \\(0, 1\\)"),
    ],
)
def test_bad_input_is_a_one_line_error(kwargs, match):
    x = seasonal_series(50)
    horizon = kwargs.pop("horizon")
    with pytest.raises(ValueError, match=match) as err:
        backtest({}, x, horizon, baselines=("naive",), **kwargs)
    assert "\n" not in str(err.value)


class Zero:
    """Forecasts 0: the residuals are the series itself."""

    def fit(self, x):
        return self

    def predict(self, x, horizon):
        return np.zeros(horizon)


def test_adaptive_conformal_holds_coverage_when_the_errors_grow():
    """Noise whose scale grows 4x over the series: split-conformal bands, calibrated on the
    calmer past, cover less than 80% of the later points; adaptive conformal inference
    (gamma 0.05) widens them after misses and its long-run coverage is near 80%, within the
    bound (1 - alpha + gamma) / (gamma n) of Gibbs and Candes (2021) plus the band's
    rounding. recalibrate gives the same bands as a backtest run with the same settings."""
    rng = np.random.default_rng(0)
    n = 1200
    x = rng.normal(size=n) * np.linspace(1.0, 4.0, n)
    split = backtest({"zero": Zero()}, x, 1, n_origins=1000, baselines=(), levels=(80,))
    aci = split.recalibrate((80,), adapt=0.05)
    cov_split, cov_aci = split.metrics()["zero"]["coverage_80"], aci.metrics()["zero"]["coverage_80"]
    bound = 100 * (0.8 + 0.05) / (0.05 * aci.n_calibrated("zero", 80))
    assert cov_split < 76 and abs(cov_aci - 80) < bound + 1, (cov_split, cov_aci, bound)
    again = backtest({"zero": Zero()}, x, 1, n_origins=1000, baselines=(), levels=(80,), adapt=0.05)
    for a, b in zip(again.intervals["zero"][80], aci.intervals["zero"][80], strict=False):
        assert np.array_equal(a, b, equal_nan=True)
    same = split.recalibrate((80,))
    assert np.array_equal(same.intervals["zero"][80][0], split.intervals["zero"][80][0], equal_nan=True)


def test_missing_values_need_an_explicit_fill():
    x = seasonal_series(50)
    x[[7, 9]] = np.nan
    with pytest.raises(ValueError, match="value missing at index 7 \\(2 missing in all\\)"):
        backtest({}, x, 3)


def test_a_model_failure_names_the_model_and_origin():
    with pytest.raises(
        ValueError, match="model 'rnn' at origin 30 \\(history of 30 values\\): .*window \\+ forecast steps = 41"
    ):
        backtest({"rnn": Forecaster(window=40, epochs=1)}, seasonal_series(50), 5, initial=30, baselines=(), levels=())


def _monthly_csv(path, x, value):
    """``x`` as a monthly CSV from 2000-01 (columns date, sales), each value written by
    ``value``, an empty cell where x is NaN."""
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}-01" for i in range(len(x))]
    cells = ("" if np.isnan(v) else value(v) for v in x)
    path.write_text("date,sales\n" + "\n".join(f"{d},{c}" for d, c in zip(months, cells, strict=True)) + "\n")
    return path


def test_cli_backtest_end_to_end(tmp_path, capsys):
    x = seasonal_series(140)
    x[100] = np.nan
    data = _monthly_csv(tmp_path / "sales.csv", x, lambda v: f"{v:.4f}")
    config = tmp_path / "fc.toml"
    config.write_text("window = 12\nhorizon = 6\nperiod = 12\nepochs = 2\nhidden_size = 8\n")
    out, plot = tmp_path / "errors.csv", tmp_path / "mase.png"
    code = main(
        [
            "backtest",
            str(config),
            "--data",
            str(data),
            "--origins",
            "25",
            "--refit-every",
            "10",
            "--out",
            str(out),
            "--plot",
            str(plot),
            "-q",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "25 origins" in captured.out and "3 fit(s)" in captured.out
    for name in ("rnnkit", "naive", "seasonal_naive", "drift", "ar"):
        assert name in captured.out
    assert "beat" in captured.out.splitlines()[-1]
    rows = out.read_text().splitlines()
    assert rows[0] == "series,model,step,mae,rmse,smape,mase,coverage_80,coverage_95"
    assert len(rows) == 1 + 5 * 7 and all(r.startswith("sales,") for r in rows[1:])
    assert plot.stat().st_size > 0


def test_cli_backtest_errors(tmp_path, capsys):
    data = tmp_path / "s.csv"
    data.write_text("y\n" + "\n".join(str(v) for v in range(1, 11)) + "\n")
    assert main(["backtest", "baselines", "--data", str(data), "--horizon", "20", "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: horizon: expected fewer steps") and "\n" not in err
    assert (
        main(
            ["backtest", "baselines", "--data", str(data), "--horizon", "2", "--adapt", "2", "--intervals", "50", "-q"]
        )
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: adapt: expected a step size gamma in (0, 1)") and "\n" not in err
    assert main(["backtest", "nowhere", "--data", str(data)]) == 1
    assert "no such run folder or config file" in capsys.readouterr().err
    assert main(["backtest", "baselines", "--data", str(data), "--baselines", "theta"]) == 2
    assert "--baselines: expected names" in capsys.readouterr().err
    assert main(["backtest", "baselines", "--data", str(data), "--horizon", "2", "--origins", "5"]) == 2
    err = capsys.readouterr().err  # named in the command line's terms, not the API's
    assert "--origins: 95% intervals need more than 19 origins to calibrate on, got 5; hint: --origins 20" in err


def test_cli_backtest_of_a_run_folder_rebuilds_the_model_from_its_settings(tmp_path, capsys):
    x = seasonal_series(120)
    data = tmp_path / "s.csv"
    data.write_text("value\n" + "\n".join(f"{v:.4f}" for v in x) + "\n")
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "forecast",
                "--preset",
                "tiny",
                "--data",
                str(data),
                "--window",
                "12",
                "--period",
                "12",
                "--out",
                str(run),
                "--no-plots",
                "-q",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "backtest",
                str(run),
                "--data",
                str(data),
                "--horizon",
                "4",
                "--origins",
                "25",
                "--intervals",
                "80",
                "--baselines",
                "naive,seasonal_naive",
                "-q",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "25 origins" in out and "cover80%" in out and "cover95%" not in out
    assert {"rnnkit", "naive", "seasonal_naive"} <= {line.split()[0] for line in out.splitlines()[2:5]}
    # the rebuilt model holds out the validation part training held out, for early stopping
    from rnnkit.cli.backtest import _config

    config, model, _ = _config(str(run), str(data))
    assert config.val_fraction > 0 and model.validation_fraction == config.val_fraction


def test_cli_backtest_fills_a_gap_from_each_origins_past_as_the_api_does(tmp_path, capsys):
    x = seasonal_series(120)
    x[100] = np.nan  # a target of the origins 95..100, and read by the later origins
    data = _monthly_csv(tmp_path / "gap.csv", x, lambda v: repr(float(v)))  # every digit, as the API sees it
    out = tmp_path / "errors.csv"
    args = ["backtest", "baselines", "--data", str(data), "--horizon", "6", "--period", "12"]
    code = main([*args, "--origins", "30", "--baselines", "naive", "--intervals", "none", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "filled from each origin's history alone, left out of the scores" in err
    api = backtest({}, x, 6, n_origins=30, period=12, baselines=("naive",), levels=(), missing="interpolate")
    rows = [r.split(",") for r in out.read_text().splitlines()]
    mae = {int(r[2]): float(r[3]) for r in rows[1:] if r[0] == "sales" and r[1] == "naive" and r[2].isdigit()}
    np.testing.assert_allclose([mae[k] for k in sorted(mae)], api.by_step()["naive"]["mae"], rtol=1e-5)
