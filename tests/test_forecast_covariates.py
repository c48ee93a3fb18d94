"""Covariates never leak the future; known-future ones are read, never forecast; errors."""

import numpy as np
import pytest

from rnnkit.forecast import Forecaster
from rnnkit.forecast.covariates import calendar_features


def _data(T=160, seed=0):
    rng = np.random.default_rng(seed)
    past = rng.standard_normal((T, 2))  # e.g. a sensor read with y
    future = rng.standard_normal((T + 30, 1))  # e.g. a planned price
    y = np.zeros(T)
    for t in range(1, T):
        y[t] = 0.5 * y[t - 1] + 0.8 * past[t - 1, 0] + 1.5 * future[t, 0] + 0.1 * rng.standard_normal()
    return y, past, future


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_shuffling_past_covariates_after_the_origin_changes_nothing(strategy):
    y, past, future = _data()
    fc = Forecaster(window=10, horizon=4, strategy=strategy, hidden_size=8, epochs=2, seed=0, dtype="float64").fit(
        y[:120], past_covariates=past[:120], future_covariates=future[:120]
    )
    t, h = 100, 8
    base = fc.predict(y[:t], h, past_covariates=past, future_covariates=future[: t + h + 4])
    shuffled = past.copy()
    shuffled[t:] = np.random.default_rng(5).permutation(shuffled[t:])
    again = fc.predict(y[:t], h, past_covariates=shuffled, future_covariates=future[: t + h + 4])
    assert np.array_equal(base, again)
    # ... while the past before the origin, and the known future, are read
    before = past.copy()
    before[t - 3] += 5.0
    assert not np.allclose(fc.predict(y[:t], h, past_covariates=before, future_covariates=future[: t + h + 4]), base)
    later = future[: t + h + 4].copy()
    later[t + 2] += 5.0
    changed = fc.predict(y[:t], h, past_covariates=past, future_covariates=later)
    assert not np.allclose(changed, base)
    if strategy == "recursive":  # step t+2 is the third forecast: the two before it stay
        assert np.array_equal(changed[:2], base[:2])


def test_known_future_covariates_help_and_are_required_for_the_horizon():
    y, past, future = _data(T=400, seed=1)
    kw = dict(window=8, hidden_size=16, epochs=15, lr=0.01, seed=0)
    with_cov = Forecaster(**kw).fit(y[:300], future_covariates=future[:300])
    without = Forecaster(**kw).fit(y[:300])
    err_with = np.abs(with_cov.predict(y[:300], 1, future_covariates=future[:301]) - y[300])
    rep_with = [
        abs(with_cov.predict(y[:t], 1, future_covariates=future[: t + 1])[0] - y[t]) for t in range(300, 400, 5)
    ]
    rep_without = [abs(without.predict(y[:t], 1)[0] - y[t]) for t in range(300, 400, 5)]
    assert np.mean(rep_with) < 0.6 * np.mean(rep_without), (np.mean(rep_with), np.mean(rep_without))
    assert err_with.shape == (1,)
    with pytest.raises(ValueError, match="known-future covariates stop 3 step.s. before the end of the horizon"):
        with_cov.predict(y[:300], 5, future_covariates=future[:302])
    with pytest.raises(ValueError, match="future_covariates: expected 1 column.s. .as in fit., got 0"):
        with_cov.predict(y[:300], 1)


def test_covariate_errors():
    y, past, future = _data()
    bad = past[:120].copy()
    bad[17, 1] = np.nan
    with pytest.raises(ValueError, match="past_covariates: NaN or inf at step 17"):
        Forecaster(epochs=1).fit(y[:120], past_covariates=bad)
    with pytest.raises(ValueError, match="past_covariates: expected at least 120 rows"):
        Forecaster(epochs=1).fit(y[:120], past_covariates=past[:100])
    with pytest.raises(ValueError, match="past_covariates: expected one array per series .2., got 1"):
        Forecaster(epochs=1).fit([y[:120], y[:100]], past_covariates=[past[:120]])
    with pytest.raises(ValueError, match="static_covariates: expected 2 finite row"):
        Forecaster(epochs=1).fit([y[:120], y[:100]], static_covariates=[[1.0, 2.0, 3.0]])


def test_static_covariates_tell_series_apart():
    """Noise around a level that a window of 1 step can only guess, but the static value
    gives away: with it the one-step error is close to the noise alone."""
    rng = np.random.default_rng(0)
    levels = np.array([-1.0, -0.3, 0.3, 1.0])
    series = [m + rng.standard_normal(300) for m in levels]
    kw = dict(window=1, hidden_size=8, epochs=8, lr=0.01, scaling="none", seed=0)
    with_static = Forecaster(**kw).fit([s[:250] for s in series], static_covariates=levels[:, None])
    without = Forecaster(**kw).fit([s[:250] for s in series])
    assert with_static.n_static_ == 1 and with_static._input_size() == 2

    def error(fc, **cov):
        hist = [s[:t] for s in series for t in range(250, 299)]
        truth = np.array([s[t] for s in series for t in range(250, 299)])
        static = np.repeat(levels, 49)[:, None] if cov else None
        pred = np.array(fc.predict(hist, 1, static_covariates=static))[:, 0]
        return np.mean((pred - truth) ** 2)

    assert error(with_static, static=True) < 1.0 < error(without)


def test_calendar_features_from_dates():
    dates = np.arange("2024-01", "2026-01", dtype="datetime64[M]").astype("datetime64[s]")
    cal = calendar_features(dates, ("month", "quarter"))
    assert cal.shape == (24, 4)
    assert np.allclose(cal[:12], cal[12:])  # yearly cycle
    assert np.allclose(cal[0, :2], [0.0, 1.0]) and np.allclose(cal[3, 2:], [1.0, 0.0], atol=1e-12)
    hours = np.arange("2024-03-04T00", "2024-03-06T00", dtype="datetime64[h]").astype("datetime64[s]")
    hc = calendar_features(hours, ("hour", "dayofweek"))
    assert np.allclose(hc[:24, :2], hc[24:, :2]) and not np.allclose(hc[:24, 2:], hc[24:, 2:])
    assert np.allclose(hc[0, 2:], [0.0, 1.0])  # 2024-03-04 was a Monday


def test_calendar_auto_uses_the_dates_and_needs_them():
    dates = np.arange("2010-01", "2020-01", dtype="datetime64[M]")
    t = np.arange(len(dates))
    y = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    fc = Forecaster(window=6, calendar="auto", hidden_size=4, epochs=1, seed=0).fit(y, dates=dates)
    assert fc.calendar_ == ("month",) and fc.freq_ == "M" and fc.period_ == 12
    assert fc.predict(y, 14, dates=dates).shape == (14,)
    with pytest.raises(ValueError, match="dates: the model reads calendar features"):
        fc.predict(y, 3)
