"""The Forecaster: baselines, windows and horizons, scaling, many series, errors."""

import numpy as np
import pytest

from rnnkit.forecast import Forecaster, naive_forecast, seasonal_naive_forecast


def _sine(n, period=12.0, phase=0.0):
    return np.sin(2 * np.pi * np.arange(n) / period + phase) + 0.05 * np.arange(n) / n


def test_baselines_on_a_constructed_series():
    x = np.arange(10.0)
    assert naive_forecast(x, 3).tolist() == [9.0, 9.0, 9.0]
    assert seasonal_naive_forecast(x, 5, period=3).tolist() == [7.0, 8.0, 9.0, 7.0, 8.0]
    two = np.stack([x, -x], axis=1)
    assert seasonal_naive_forecast(two, 2, period=4).tolist() == [[6.0, -6.0], [7.0, -7.0]]
    with pytest.raises(ValueError, match="history: expected at least period=12 values"):
        seasonal_naive_forecast(x, 1, period=12)
    with pytest.raises(ValueError, match="horizon: expected an int >= 1, got 0"):
        naive_forecast(x, 0)


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_forecaster_beats_the_naive_baseline_on_a_sine(strategy):
    series = _sine(400)
    fc = Forecaster(
        window=12,
        horizon=4,
        strategy=strategy,
        scaling="global",
        hidden_size=12,
        epochs=8,
        lr=0.01,
        batch_size=32,
        seed=0,
    ).fit(series[:300])
    mean, std = fc.global_
    assert np.isclose(mean[0], series[:300].mean()) and np.isclose(std[0], series[:300].std())
    report = fc.evaluate(series, start=300, stride=3, period=12)
    assert report["horizon"] == 4 and report["n_forecasts"] == len(range(300, 397, 3))
    assert report["model"]["nrmse"] < 0.5 * report["naive"]["nrmse"]
    assert len(report["model"]["rmse_by_step"]) == 4
    assert fc.score(series, start=300, stride=3) > 0.9
    pred = fc.predict(series[:300])
    assert pred.shape == (4,)
    assert np.sqrt(np.mean((pred - series[300:304]) ** 2)) < 0.3


def test_forecaster_windows_horizons_and_errors():
    rng = np.random.default_rng(0)
    two = np.stack([_sine(80), _sine(80, phase=1.0)], axis=1)  # (T, 2)
    fc = Forecaster(window=6, horizon=3, strategy="direct", scaling="global", hidden_size=4, epochs=1, seed=0)
    fc.fit([two, two[:40] + 0.1 * rng.standard_normal((40, 2))], validation_data=two[40:])
    assert fc.n_features_in_ == 2 and len(fc.history_["val_loss"]) == 1
    assert fc.predict(two).shape == (3, 2)
    assert fc.predict(two, horizon=2).shape == (2, 2)
    # past the fitted horizon, blocks of 3 read the blocks before them
    long = fc.predict(two, horizon=7)
    assert long.shape == (7, 2) and np.allclose(long[:3], fc.predict(two))
    assert np.allclose(long[3:6], fc.predict(np.concatenate([two, long[:3]])), atol=1e-5)
    outs = fc.predict([two[:20], two[:30]])
    assert isinstance(outs, list) and [o.shape for o in outs] == [(3, 2), (3, 2)]
    with pytest.raises(ValueError, match="horizon: expected an int >= 1, got 0"):
        fc.predict(two, horizon=0)
    with pytest.raises(ValueError, match="history: expected 2 features per step .as in fit., got 1"):
        fc.predict(two[:, 0])
    with pytest.raises(ValueError, match="history: expected at least window = 6 values, got 4"):
        fc.predict(two[:4])
    with pytest.raises(ValueError, match=r"series: has 8 steps, fewer than window \+ forecast steps = 9"):
        Forecaster(window=6, horizon=3, strategy="direct", epochs=1).fit(np.arange(8.0))
    with pytest.raises(ValueError, match="series: expected at least one series, got an empty list"):
        Forecaster(epochs=1).fit([])
    with pytest.raises(ValueError, match=r"series: contains \d+ NaN \(missing\) value"):
        Forecaster(epochs=1).fit(np.array([1.0, np.nan] * 20))
    with pytest.raises(ValueError, match=r"series\[1\]: has 5 steps, fewer than window"):
        Forecaster(window=6, epochs=1).fit([np.arange(30.0), np.arange(5.0)])
    rec = Forecaster(window=6, hidden_size=4, epochs=1, seed=0).fit(two)
    assert rec.predict(two, horizon=7).shape == (7, 2)  # recursive: any horizon


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_window_scaling_makes_forecasts_shift_with_the_level(strategy):
    series = _sine(120)
    fc = Forecaster(window=8, horizon=3, strategy=strategy, scaling="window", hidden_size=4, epochs=1, seed=0).fit(
        series
    )
    base = fc.predict(series[:50])
    assert np.allclose(fc.predict(series[:50] + 25.0), base + 25.0, atol=1e-4)
    plain = Forecaster(window=8, horizon=3, strategy=strategy, scaling="global", hidden_size=4, epochs=1, seed=0).fit(
        series
    )
    assert not np.allclose(plain.predict(series[:50] + 25.0), plain.predict(series[:50]) + 25.0, atol=1e-2)


@pytest.mark.parametrize("scaling", ["series", "robust", "instance"])
def test_per_series_scalings_are_equivariant_to_an_affine_change(scaling):
    """Statistics from the series itself: scaling the input by 7 and shifting it by 100
    scales and shifts the forecast alike (what per-series scaling is for)."""
    series = _sine(150)
    fc = Forecaster(window=10, horizon=2, scaling=scaling, hidden_size=4, epochs=1, seed=0, dtype="float64").fit(series)
    base = fc.predict(series[:60], horizon=4)
    assert np.allclose(fc.predict(7.0 * series[:60] + 100.0, horizon=4), 7.0 * base + 100.0, atol=1e-8)


def test_one_global_model_over_series_of_different_levels_and_lengths():
    """Per-series scaling lets one model forecast series three orders of magnitude apart."""
    rng = np.random.default_rng(1)
    series = [s * (_sine(n, phase=p) + 2) for s, n, p in ((1.0, 150, 0.0), (1000.0, 120, 1.0), (0.01, 90, 2.0))]
    series = [s + 0.01 * np.abs(s).mean() * rng.standard_normal(len(s)) for s in series]
    fc = Forecaster(
        window=12, horizon=6, strategy="direct", scaling="series", hidden_size=16, epochs=25, lr=0.01, seed=0
    ).fit([s[:-6] for s in series])
    preds = fc.predict([s[:-6] for s in series])
    for s, p in zip(series, preds, strict=False):
        naive = np.abs(s[-7] - s[-6:]).mean()
        assert np.abs(p - s[-6:]).mean() < naive, (p, s[-6:])


def test_parameters_are_checked_at_fit():
    x = _sine(60)
    with pytest.raises(ValueError, match="scaling: expected one of"):
        Forecaster(scaling="minmax").fit(x)
    with pytest.raises(ValueError, match="target_transform: expected 'none' or names"):
        Forecaster(target_transform="sqrt").fit(x)
    with pytest.raises(ValueError, match="target_transform: 'seasonal_diff' needs period"):
        Forecaster(target_transform="seasonal_diff").fit(x)
    with pytest.raises(ValueError, match="quantiles: expected 0.5 among them"):
        Forecaster(loss="quantile", quantiles=(0.1, 0.9)).fit(x)
    with pytest.raises(ValueError, match="series: target_transform 'log' needs values > 0"):
        Forecaster(target_transform="log", epochs=1).fit(x)
    with pytest.raises(ValueError, match=r"validation_fraction: expected a number in \[0, 1\), got 1.5"):
        Forecaster(validation_fraction=1.5).fit(x)


def test_a_deseason_model_needs_two_seasons_of_history_and_says_so():
    from rnnkit.forecast.scaling import history_steps

    assert history_steps(("deseason",), 12, 12) == 24
    assert history_steps(("diff", "deseason", "diff"), 12, 30) == 32  # window + 2 lost
    assert history_steps(("diff", "deseason"), 12, 6) == 25  # 1 lost + 2 seasons
    assert history_steps(("seasonal_diff",), 12, 6) == 18
    fc = Forecaster(window=12, horizon=3, period=12, target_transform="deseason+diff", epochs=1, batch_size=64)
    fc.fit(_sine(80))
    with pytest.raises(
        ValueError,
        match=r"history: expected at least 2 seasons for 'deseason' "
        r"\(window \+ transform steps: 13\) = 24 values, got 20",
    ):
        fc.predict(_sine(20), 3)
    assert fc.predict(_sine(24), 3).shape == (3,)


def test_validation_fraction_holds_out_the_end_of_each_series_in_time_order():
    """Windows whose targets reach the last max(round(f T), D) steps of a series are held
    out: validation targets lie inside that end, training targets before it, and a series
    too short to spare it stays all training."""
    fc = Forecaster(window=8, horizon=3, strategy="direct", validation_fraction=0.25, epochs=1)
    series = [_sine(80), _sine(40) + 1, _sine(12)]
    fc.fit(series)
    prep = fc._prepare([np.asarray(s)[:, None] for s in series], None, None, None, None)
    data = fc._windows(prep, "series")
    train, val = fc._hold_out(data, prep)
    W, D, start = 8, 3, np.array([0, 80, 120])
    for part, in_val in ((train, False), (val, True)):
        _, _, _, _, sid, origin = part
        t = origin - start[sid]
        cut = np.array([80 - 20, 40 - 10, 12])[sid]  # round(0.25 T), or none for T = 12
        assert np.all(t >= cut) if in_val else np.all(t + D <= cut)
    assert set(val[4]) == {0, 1} and 2 in set(train[4])
    assert len(val[5]) == (20 - D + 1) + (10 - D + 1)
    assert len(train[5]) == (60 - W - D + 1) + (30 - W - D + 1) + (12 - W - D + 1)
    # early stopping reads the held-out windows: its history has a validation loss per epoch
    assert np.isfinite(fc.history_.epochs[-1]["val_loss"])


def test_save_and_load_keep_scalers_transforms_and_quantiles(tmp_path):
    x = 5 + _sine(100)
    fc = Forecaster(
        window=8,
        horizon=3,
        strategy="direct",
        loss="quantile",
        target_transform="log+diff",
        scaling="robust",
        hidden_size=4,
        epochs=1,
        seed=0,
    ).fit(x)
    fc.save(tmp_path / "m.npz")
    back = Forecaster.load(tmp_path / "m.npz")
    a, b = fc.predict_intervals(x, 5), back.predict_intervals(x, 5)
    assert a.keys() == b.keys() == {"point", "lo_80", "hi_80", "lo_95", "hi_95"}
    for k in a:
        assert np.allclose(a[k], b[k], atol=1e-6)


def test_inf_in_a_series_is_named_apart_from_missing_values():
    import numpy as np
    import pytest

    from rnnkit.forecast import Forecaster

    y = np.sin(np.arange(60) / 3.0)
    y[[5, 9]], y[12] = np.inf, np.nan
    with pytest.raises(ValueError, match=r"series: contains 1 NaN \(missing\) and 2 inf value\(s\)"):
        Forecaster(window=6, epochs=1).fit(y)
