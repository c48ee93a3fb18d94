"""Split-conformal intervals: the order statistics, shapes, and coverage at the nominal level."""

import numpy as np
import pytest

from rnnkit.forecast.backtest import backtest, rolling_residuals
from rnnkit.forecast.baselines import ARForecaster
from rnnkit.forecast.conformal import (
    conformal_intervals,
    conformal_offsets,
    min_residuals,
)


def test_offsets_are_the_conformal_order_statistics():
    r = np.array([-9.0, 1, 2, -3, 4, 5, 6, 7, 8])  # |r| sorted 1..9, n = 9
    # absolute 80%: the ceil(10 * 0.8) = 8th smallest |r|
    assert conformal_offsets(r, 80) == (-8.0, 8.0)
    # signed 80%: lo the floor(10 * 0.1) = 1st smallest r, hi the ceil(10 * 0.9) = 9th
    assert conformal_offsets(r, 80, "signed") == (-9.0, 8.0)
    assert np.isnan(conformal_offsets(r, 95)[0])  # needs 19
    assert conformal_offsets(np.append(r, np.nan), 80) == (-8.0, 8.0)  # NaN skipped


def test_min_residuals():
    assert min_residuals(80) == 4 and min_residuals(95) == 19 and min_residuals(90) == 9
    assert min_residuals(80, "signed") == 9 and min_residuals(95, "signed") == 39
    for level in (50, 80, 90, 95, 99):
        n = min_residuals(level)
        assert not np.isnan(conformal_offsets(np.arange(1.0, n + 1), level)[0])
        assert np.isnan(conformal_offsets(np.arange(1.0, n), level)[0])


def test_intervals_per_step_and_series():
    rng = np.random.default_rng(0)
    res = rng.normal(size=(50, 3, 2)) * np.array([1.0, 2.0, 4.0])[None, :, None]  # (n, h, F)
    point = np.arange(6.0).reshape(3, 2)
    out = conformal_intervals(res, point, levels=(80, 95))
    assert set(out) == {"forecast", "lo_80", "hi_80", "lo_95", "hi_95"}
    width = out["hi_80"] - out["lo_80"]
    assert width.shape == (3, 2)
    assert np.all(width[2] > width[0])  # wider where errors are
    assert np.all(out["hi_95"] >= out["hi_80"]) and np.all(out["lo_95"] <= out["lo_80"])
    for k in range(3):  # each step on its own
        q = np.sort(np.abs(res[:, k, 1]))[int(np.ceil(51 * 0.8)) - 1]
        assert out["hi_80"][k, 1] == pytest.approx(point[k, 1] + q)
    ragged = conformal_intervals([res[:, 0, 0], res[:20, 1, 0]], np.zeros(2), levels=80)
    assert ragged["lo_80"].shape == (2,)


def test_exchangeable_errors_cover_at_the_nominal_level():
    rng = np.random.default_rng(1)
    cover = {80: [], 95: []}
    for _ in range(400):  # fresh calibration each time
        cal = rng.standard_t(5, size=(40, 1))
        new = rng.standard_t(5, size=(200, 1))
        out = conformal_intervals(cal, np.zeros(1), levels=(80, 95))
        for v in cover:
            cover[v].append(np.mean((out[f"lo_{v}"][0] <= new) & (new <= out[f"hi_{v}"][0])))
    # finite-sample guarantee: between L and L + 1 / (n + 1) on average
    assert 80.0 <= 100 * np.mean(cover[80]) <= 80 + 100 / 41 + 1.0
    assert 95.0 - 0.5 <= 100 * np.mean(cover[95]) <= 95 + 100 / 41 + 0.5


def test_backtest_coverage_on_an_ar_process_with_known_noise():
    rng = np.random.default_rng(2)
    x = np.zeros(900)
    for t in range(1, len(x)):
        x[t] = 0.7 * x[t - 1] + rng.normal()
    result = backtest({"ar": ARForecaster(p=1)}, x, 3, n_origins=600, refit_every=50, baselines=(), levels=(80, 95))
    m = result.metrics()["ar"]
    assert abs(m["coverage_80"] - 80.0) <= 5.0, m
    assert abs(m["coverage_95"] - 95.0) <= 3.0, m
    assert result.n_calibrated("ar", 80) > 1500
    # the bands widen with the step as the AR(1) error variance does: 1, 1 + a^2, 1 + a^2 + a^4
    lo, hi = result.intervals["ar"][80]
    width = np.nanmean(hi - lo, axis=(0, 2))
    ratio = np.sqrt(np.array([1, 1 + 0.49, 1 + 0.49 + 0.2401]))
    np.testing.assert_allclose(width / width[0], ratio, rtol=0.12)


def test_rolling_residuals_feed_conformal_intervals():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=300))
    res = rolling_residuals(ARForecaster(p=2), x, 4, n_origins=40)
    assert res.shape == (40, 4)
    model = ARForecaster(p=2).fit(x)
    out = conformal_intervals(res, model.predict(x, 4), levels=(80,))
    assert np.all(out["lo_80"] < out["forecast"]) and np.all(out["forecast"] < out["hi_80"])


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: conformal_intervals(np.ones((3, 2)), np.zeros(2), levels=(95,)),
            "95% intervals need at least 19 residuals per step, got 3 at step 1",
        ),
        (lambda: conformal_intervals(np.ones((30, 2)), np.zeros(3)), "all 3 forecast steps"),
        (lambda: conformal_intervals(np.ones((30, 2, 2)), np.zeros(2)), "expected 1 series"),
        (lambda: conformal_intervals(np.ones((30, 2)), np.zeros(2), levels=(100,)), "between 0 and 100"),
        (lambda: conformal_intervals(np.ones((30, 2)), np.zeros(2), method="normal"), "method"),
    ],
)
def test_conformal_errors_are_one_line(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)
