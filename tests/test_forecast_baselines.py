"""Baselines (naive, seasonal naive, drift, AR(p)) and the forecast error metrics."""

import math

import numpy as np
import pytest

from rnnkit.forecast import metrics as fm
from rnnkit.forecast.baselines import (
    ARForecaster,
    DriftForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    make_baseline,
)


def simulate_ar(coef, c, n, seed, sigma=1.0):
    rng = np.random.default_rng(seed)
    p = len(coef)
    x = np.zeros(n + 200)
    for t in range(p, len(x)):
        x[t] = c + np.dot(coef, x[t - p : t][::-1]) + sigma * rng.normal()
    return x[200:]


# -- metrics, against hand-computed small cases --------------------------------------------
def test_mae_rmse_smape_by_hand():
    y = np.array([1.0, 2.0, 4.0])
    yhat = np.array([2.0, 2.0, 1.0])
    assert fm.mae(y, yhat) == pytest.approx((1 + 0 + 3) / 3)
    assert fm.rmse(y, yhat) == pytest.approx(math.sqrt((1 + 0 + 9) / 3))
    # 2|e| / (|y| + |yhat|): 2/3, 0, 6/5
    assert fm.smape(y, yhat) == pytest.approx(100 * (2 / 3 + 0 + 6 / 5) / 3)


def test_smape_zero_over_zero_counts_zero():
    assert fm.smape([0.0, 2.0], [0.0, 1.0]) == pytest.approx(100 * (0 + 2 / 3) / 2)


def test_mase_by_hand():
    insample = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    # period 1: |3-1|, |2-3|, |5-2|, |4-5| -> mean 7/4; period 2: |2-1|, |5-3|, |4-2| -> 5/3
    assert fm.seasonal_naive_scale(insample, 1) == pytest.approx(7 / 4)
    assert fm.seasonal_naive_scale(insample, 2) == pytest.approx(5 / 3)
    y, yhat = np.array([6.0, 7.0]), np.array([5.0, 5.0])
    assert fm.mase(y, yhat, 7 / 4) == pytest.approx((1 + 2) / 2 / (7 / 4))


def test_mase_one_scale_per_forecast_and_series():
    y = np.zeros((2, 3, 2))
    yhat = np.ones((2, 3, 2))
    scale = np.array([[1.0, 2.0], [4.0, 8.0]])  # (N, F)
    expect = np.mean([1, 1 / 2, 1 / 4, 1 / 8])
    assert fm.mase(y, yhat, scale) == pytest.approx(expect)
    assert fm.mase(y[..., 0], yhat[..., 0], scale[:, 0]) == pytest.approx(np.mean([1, 1 / 4]))


def test_coverage_and_missing_truth():
    y = np.array([1.0, np.nan, 3.0, 10.0])
    lo, hi = np.array([0.0, 0.0, 3.0, 0.0]), np.array([2.0, 2.0, 4.0, 5.0])
    assert fm.coverage(y, lo, hi) == pytest.approx(100 * 2 / 3)  # NaN left out
    assert fm.mae(y, np.zeros(4)) == pytest.approx((1 + 3 + 10) / 3)


def test_by_step():
    y = np.array([[1.0, 2.0], [3.0, 6.0]])
    yhat = np.array([[0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(fm.by_step("mae", y, yhat), [2.0, 4.0])
    np.testing.assert_allclose(fm.by_step("mase", y, yhat, scale=np.array([1.0, 2.0])), [(1 + 1.5) / 2, (2 + 3) / 2])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fm.mae([1.0, 2.0], [1.0]), "yhat: expected the shape"),
        (lambda: fm.mae([np.nan], [1.0]), "every value is missing"),
        (lambda: fm.mae([1.0], [np.nan]), "yhat: contains NaN"),
        (lambda: fm.seasonal_naive_scale([1.0, 2.0], 2), "more than period=2"),
        (lambda: fm.mase([1.0], [2.0], 0.0), "scale: expected positive"),
        (lambda: fm.coverage([1.0], [2.0], [0.0]), "hi >= lo"),
    ],
)
def test_metric_errors_are_one_line(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


# -- the simple baselines ------------------------------------------------------------------
def test_naive_seasonal_naive_drift_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    np.testing.assert_allclose(NaiveForecaster().fit(x).predict(x, 3), [7, 7, 7])
    np.testing.assert_allclose(SeasonalNaiveForecaster(3).fit(x).predict(x, 7), [5, 6, 7, 5, 6, 7, 5])
    np.testing.assert_allclose(DriftForecaster().fit(x).predict(x, 2), [8, 9])
    np.testing.assert_allclose(DriftForecaster().fit(x).predict([1.0, 4.0, 2.0], 2), [2.5, 3.0])


def test_baselines_keep_the_forecaster_shapes():
    x2 = np.column_stack([np.arange(10.0), 10 * np.arange(10.0)])  # (T, F)
    out = NaiveForecaster().fit(x2).predict(x2, 4)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out[:, 1], 90.0)
    outs = SeasonalNaiveForecaster(2).fit(x2).predict([x2, x2[:5]], 3)
    assert isinstance(outs, list) and [o.shape for o in outs] == [(3, 2), (3, 2)]
    np.testing.assert_allclose(outs[1][:, 0], [3, 4, 3])


# -- AR(p) ---------------------------------------------------------------------------------
def test_ar_recovers_known_coefficients_and_order():
    coef, c = np.array([0.6, -0.3, 0.2]), 1.5
    x = simulate_ar(coef, c, 5000, seed=0)
    model = ARForecaster(max_p=8).fit(x)
    # AIC may add a lag or two (it is not a consistent order estimator); those are near 0
    assert 3 <= model.p_ <= 5
    np.testing.assert_allclose(model.coef_[0, 1:4], coef, atol=0.04)
    np.testing.assert_allclose(model.coef_[0, 4:], 0.0, atol=0.04)
    assert model.coef_[0, 0] == pytest.approx(c, abs=0.15)
    assert model.sigma2_[0] == pytest.approx(1.0, abs=0.06)


def test_ar_forecast_is_the_recursion():
    model = ARForecaster(p=2).fit(simulate_ar(np.array([0.5, 0.2]), 0.0, 400, seed=1))
    c, a1, a2 = model.coef_[0]
    hist = np.array([0.3, -1.0, 2.0])
    f1 = c + a1 * 2.0 + a2 * -1.0
    f2 = c + a1 * f1 + a2 * 2.0
    np.testing.assert_allclose(model.predict(hist, 2), [f1, f2])


def test_ar_per_column_and_pooled_list():
    a = simulate_ar(np.array([0.7]), 0.0, 3000, seed=2)
    b = simulate_ar(np.array([-0.5]), 0.0, 3000, seed=3)
    model = ARForecaster(p=1).fit(np.column_stack([a, b]))
    np.testing.assert_allclose(model.coef_[:, 1], [0.7, -0.5], atol=0.04)
    assert model.predict(np.column_stack([a, b]), 5).shape == (5, 2)
    pooled = ARForecaster(p=1).fit([simulate_ar(np.array([0.4]), 0.0, 2000, seed=s) for s in (4, 5)])
    assert pooled.coef_[0, 1] == pytest.approx(0.4, abs=0.04)


def test_ar_order_zero_is_the_mean():
    x = np.array([1.0, 3.0, 2.0, 6.0])
    np.testing.assert_allclose(ARForecaster(p=0).fit(x).predict(x, 2), [3.0, 3.0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: NaiveForecaster().predict([1.0], 1), "call fit"),
        (lambda: NaiveForecaster().fit([1.0, np.nan]), "NaN"),
        (lambda: SeasonalNaiveForecaster(4).fit([1.0]).predict([1.0, 2.0], 2), "at least 4"),
        (lambda: ARForecaster(p=5).fit(np.arange(4.0)), "AR\\(5\\) needs at least 7"),
        (lambda: ARForecaster(p=1).fit(np.arange(9.0)).predict(np.ones((5, 2)), 1), "column"),
        (lambda: NaiveForecaster().fit([1.0]).predict([1.0], 0), "horizon"),
        (lambda: make_baseline("seasonal_naive"), "period"),
        (lambda: make_baseline("theta"), "baseline: expected one of"),
    ],
)
def test_baseline_errors_are_one_line(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


def test_naive_functions_live_in_baselines_and_the_old_path_is_an_alias():
    import rnnkit.forecast
    import rnnkit.forecast.baselines as baselines
    import rnnkit.forecast.naive as old

    assert old is baselines
    assert rnnkit.forecast.naive_forecast is baselines.naive_forecast
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(baselines.naive_forecast(x, 3), [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(baselines.seasonal_naive_forecast(x, 3, 2), [4.0, 5.0, 4.0])
    np.testing.assert_array_equal(
        baselines.seasonal_naive_forecast(x, 3, 2), SeasonalNaiveForecaster(2).fit(x).predict(x, 3)
    )
