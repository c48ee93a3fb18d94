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


# -- a fitted point Forecaster's bands ------------------------------------------------------
def test_step_half_widths_grow_with_the_errors_and_pool_the_steps():
    """Residuals whose scale doubles from step 1 to step 4: the bands follow it (the step
    scale times one pooled quantile, about 1.2816 for Gaussian errors at 80%), never narrow
    with k, and grow as sqrt(k) beyond the last step with a residual."""
    from rnnkit.forecast.conformal import step_half_widths

    rng = np.random.default_rng(0)
    sd = np.array([1.0, 1.5, 1.2, 2.0])  # step 3 less than step 2: made non-decreasing
    r = rng.standard_normal((400, 4)) * sd
    w = step_half_widths(r, (80,), horizon=6)[80]
    assert np.allclose(w[:4] / 1.2816, [1.0, 1.5, 1.5, 2.0], rtol=0.1), w
    assert np.allclose(w[4:] / w[3], np.sqrt([5 / 4, 6 / 4]))
    few = rng.standard_normal((3, 8))  # 3 origins alone are too few for 95%; 24 pooled are enough
    assert step_half_widths(few, (95,))[95].shape == (8,)
    with pytest.raises(ValueError, match="95% intervals need at least 19 residuals, got 3"):
        step_half_widths(few[:, :1], (95,))


def _ar1_panel(n, T, seed, phi=0.7):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T + 50))
    for t in range(1, T + 50):
        x[:, t] = phi * x[:, t - 1] + rng.standard_normal(n)
    return x[:, 50:]


def _expected_coverage(bands, x, level, phi=0.7):
    """The probability that each band holds the next values of the AR(1) (unit noise), given
    each series' last value: y_{T+k} ~ N(phi^k x_T, (1 - phi^2k) / (1 - phi^2)), averaged."""
    from math import erf, sqrt

    k = np.arange(1, len(bands["point"][0]) + 1)
    mu, sd = x[:, -1:] * phi**k, np.sqrt((1 - phi ** (2 * k)) / (1 - phi**2))  # (n, h), (h,)
    cdf = np.vectorize(lambda z: 0.5 * (1 + erf(z / sqrt(2))))
    lo, hi = np.array(bands[f"lo_{level}"])[:, :, 0], np.array(bands[f"hi_{level}"])[:, :, 0]
    return float(np.mean(cdf((hi - mu) / sd) - cdf((lo - mu) / sd)))


def test_cross_fit_bands_reach_the_nominal_level_where_own_errors_fall_short():
    """16 short AR(1) series (80 steps, unit noise) and a model that fits them closely: its
    own errors at the last origins, all trained on, are too small, and their bands hold
    the next 4 values with probability well under 80% / 95%; the bands from 3 copies
    refitted on earlier history reach the nominal levels. Coverage is the exact probability
    under the known process, not a count of a few draws."""
    from rnnkit.forecast import Forecaster
    from rnnkit.forecast.conformal import point_intervals

    x = _ar1_panel(16, 80, seed=0)
    series = [s[:, None] for s in x]
    model = Forecaster(
        window=12, horizon=4, strategy="direct", hidden_size=12, epochs=40, lr=0.01, scaling="global", seed=0
    ).fit(series)
    own = point_intervals(model, series, 4, (80, 95), method="own-errors").bands((80, 95))
    cross = point_intervals(model, series, 4, (80, 95), method="cross-fit").bands((80, 95))
    own80, own95 = _expected_coverage(own, x, 80), _expected_coverage(own, x, 95)
    cross80, cross95 = _expected_coverage(cross, x, 80), _expected_coverage(cross, x, 95)
    assert cross80 >= 0.78 and cross95 >= 0.93, (cross80, cross95)
    assert own80 <= 0.74 and own95 <= 0.93, (own80, own95)
    assert cross80 - own80 >= 0.06, (own80, cross80)
    assert np.allclose(own["point"], cross["point"])  # the same forecasts, other bands


class _Recorder:
    """A stand-in Forecaster: forecasts the last value, records what it was fitted on."""

    window, horizon, strategy, parts_, period_, validation_fraction = 4, 2, "direct", (), None, 0.0
    fits: list = []
    reads: list = []  # (steps the copy was fitted on, steps of the history it forecast from)

    def __init__(self, **params):
        self.params, self.n = params, None

    def get_params(self, deep=False):
        return dict(self.params)

    def fit(self, series, **covariates):
        self.n = len(series[0])
        type(self).fits.append(self.n)
        return self

    def predict(self, histories, horizon, **covariates):
        type(self).reads.extend((self.n, len(x)) for x in histories)
        return [np.repeat(np.asarray(x)[-1:], horizon, axis=0) for x in histories]


def test_the_method_follows_what_was_held_out_of_training():
    """'auto': own errors when the held-out end of every series holds MIN_ORIGINS whole
    horizons, else (the origins would reach into trained steps, or nothing is known)
    cross-fit with FOLDS refits, each fitted only on steps before its origins."""
    from rnnkit.forecast.conformal import FOLDS, MIN_ORIGINS, point_intervals

    x = [np.cumsum(np.random.default_rng(0).standard_normal(120))[:, None]]
    h = 2
    _Recorder.fits, _Recorder.reads = [], []
    cal = point_intervals(_Recorder(), x, h, (80,), held_out=[MIN_ORIGINS + h - 1])
    assert cal.method == "own-errors" and cal.refits == 0 and not _Recorder.fits
    assert len(cal.origins[0]) == MIN_ORIGINS and cal.origins[0][0] >= 120 - (MIN_ORIGINS + h - 1)
    for held in ([MIN_ORIGINS + h - 2], None):
        _Recorder.fits, _Recorder.reads = [], []
        cal = point_intervals(_Recorder(), x, h, (80,), held_out=held)
        assert cal.method == "cross-fit" and cal.refits == FOLDS == len(_Recorder.fits)
        assert _Recorder.fits == sorted(_Recorder.fits) and _Recorder.fits[-1] < 120
        copies = [(n, t) for n, t in _Recorder.reads if n is not None]
        assert copies and all(t >= n for n, t in copies)  # no copy forecasts steps it was fitted on
        assert sorted(t for _, t in copies) == cal.origins[0].tolist()
        assert "cross-fit conformal: 3 copies" in cal.describe(h)
