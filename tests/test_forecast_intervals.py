"""Quantile and Gaussian heads: interval coverage on a process with known noise; pandas
in, pandas out."""

import numpy as np
import pytest

from rnnkit.forecast import Forecaster


def _ar1(T, seed, sigma=0.5):
    rng = np.random.default_rng(seed)
    x = np.zeros(T)
    for t in range(1, T):
        x[t] = 0.7 * x[t - 1] + sigma * rng.standard_normal()
    return x


@pytest.mark.parametrize(
    "loss, strategy",
    [("quantile", "recursive"), ("gaussian", "recursive"), ("gaussian", "direct"), ("quantile", "direct")],
)
def test_interval_coverage_on_a_process_with_known_noise(loss, strategy):
    """AR(1) with noise 0.5: one-step 80% intervals should cover about 80% of new points
    and be about 2 * 1.2816 * 0.5 = 1.28 wide."""
    x = _ar1(1700, seed=0)
    fc = Forecaster(
        window=5,
        horizon=2 if strategy == "direct" else 1,
        strategy=strategy,
        loss=loss,
        scaling="global",
        hidden_size=8,
        epochs=6,
        lr=0.01,
        seed=0,
        num_samples=400,
    ).fit(x[:1200])
    origins = range(1200, 1698, 2)
    out = fc.predict_intervals([x[:t] for t in origins], 1, levels=(80,))
    lo, hi = np.array(out["lo_80"])[:, 0], np.array(out["hi_80"])[:, 0]
    truth = x[list(origins)]
    coverage = np.mean((truth >= lo) & (truth <= hi))
    assert 0.72 <= coverage <= 0.88, coverage
    assert 1.0 < np.mean(hi - lo) < 1.6, np.mean(hi - lo)


def test_interval_levels_and_errors():
    x = _ar1(300, seed=1)
    fc = Forecaster(window=5, loss="quantile", hidden_size=4, epochs=1, seed=0).fit(x)
    out = fc.predict_intervals(x, 6, levels=(80, 95))
    assert set(out) == {"point", "lo_80", "hi_80", "lo_95", "hi_95"}
    assert np.all(out["lo_95"] <= out["point"]) and np.all(out["point"] <= out["hi_95"])
    with pytest.raises(ValueError, match="intervals: the model has no 0.25 quantile"):
        fc.predict_intervals(x, 3, levels=(50,))
    with pytest.raises(ValueError, match="levels: expected interval levels in .0, 100."):
        fc.predict_intervals(x, 3, levels=(120,))
    point = Forecaster(window=5, hidden_size=4, epochs=1, seed=0).fit(x)
    with pytest.raises(ValueError, match=r"past_covariates: expected 0 column\(s\) \(as in fit\), got 1"):
        point.predict_intervals(x, 3, past_covariates=np.zeros((300, 1)))


def test_gaussian_recursive_bands_widen_with_the_horizon():
    x = _ar1(800, seed=2)
    fc = Forecaster(
        window=5, loss="gaussian", scaling="global", hidden_size=8, epochs=5, lr=0.01, seed=0, num_samples=300
    ).fit(x)
    out = fc.predict_intervals(x, 8, levels=(80,))
    width = out["hi_80"] - out["lo_80"]
    assert width[-3:].mean() > 1.08 * width[0], width


# -- pandas ---------------------------------------------------------------------------------
def test_pandas_series_in_pandas_out_with_future_dates():
    pd = pytest.importorskip("pandas", reason="pandas input needs pandas")
    idx = pd.date_range("2015-01-01", periods=96, freq="MS")
    t = np.arange(96)
    s = pd.Series(100 + t + 10 * np.sin(2 * np.pi * t / 12), index=idx, name="sales")
    fc = Forecaster(window=12, loss="quantile", hidden_size=4, epochs=1, seed=0).fit(s)
    assert fc.freq_ == "M" and fc.period_ == 12
    pred = fc.predict(s, 5)
    assert isinstance(pred, pd.Series) and pred.name == "sales"
    assert list(pred.index) == list(pd.date_range("2023-01-01", periods=5, freq="MS"))
    assert np.allclose(pred.to_numpy(), fc.predict(s.to_numpy(), 5))
    bands = fc.predict_intervals(s, 3, levels=(80,))
    assert list(bands.columns) == ["sales", "sales_lo_80", "sales_hi_80"]
    assert bands.index[0] == pd.Timestamp("2023-01-01")


def test_pandas_long_frame_round_trip():
    pd = pytest.importorskip("pandas", reason="pandas input needs pandas")
    rows = []
    for uid, start, n in (("a", "2020-01-06", 60), ("b", "2020-03-02", 45)):
        ds = pd.date_range(start, periods=n, freq="W-MON")
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.sin(np.arange(n) / 3) + 5}))
    df = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=0)  # any row order
    fc = Forecaster(window=8, hidden_size=4, epochs=1, seed=0).fit(df)
    out = fc.predict(df, 4)
    assert list(out.columns) == ["unique_id", "ds", "y"] and len(out) == 8
    assert out["unique_id"].tolist() == ["a"] * 4 + ["b"] * 4
    last_b = pd.Timestamp("2020-03-02") + pd.Timedelta(weeks=44)
    assert out["ds"].iloc[4] == last_b + pd.Timedelta(weeks=1)
    ordered = df.sort_values(["unique_id", "ds"])
    arrays = [ordered[ordered.unique_id == k]["y"].to_numpy() for k in ("a", "b")]
    assert np.allclose(out["y"].to_numpy(), np.concatenate(fc.predict(arrays, 4)))


def test_pandas_frame_errors():
    pd = pytest.importorskip("pandas", reason="pandas input needs pandas")
    df = pd.DataFrame({"y": np.arange(40.0), "label": ["x"] * 40})
    with pytest.raises(TypeError, match="series: column 'label' is not numeric"):
        Forecaster(epochs=1).fit(df)
    dup = pd.DataFrame({"unique_id": ["a"] * 30, "ds": pd.to_datetime(["2020-01-01"] * 30), "y": np.arange(30.0)})
    with pytest.raises(ValueError, match="series 'a' repeats time stamp"):
        Forecaster(epochs=1).fit(dup)


def test_a_point_model_gets_cross_fit_intervals_that_cover():
    """loss='mse': copies refitted on earlier parts of the history forecast the steps after
    each part; their errors give bands that widen with the horizon (never narrow) and, on a
    seasonal series with unit noise, cover about 80% of the points that follow. The model
    itself is not refitted, and the method is stated."""
    rng = np.random.default_rng(1)
    t = np.arange(420)
    y = 10 + 0.02 * t + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, len(t))
    model = Forecaster(window=24, horizon=12, epochs=15, ensemble=1, seed=0).fit(y[:300])
    before = {k: v.copy() for k, v in model.net_.state_dict().items()}
    inside = []
    for origin in range(300, 408, 24):
        bands = model.predict_intervals(y[:origin], 12, levels=(80, 95))
        assert model.interval_method_ == "cross-fit"
        assert set(bands) == {"point", "lo_80", "hi_80", "lo_95", "hi_95"}
        assert np.all(bands["lo_95"] <= bands["lo_80"]) and np.all(bands["hi_80"] <= bands["hi_95"])
        assert np.all(np.diff(bands["hi_80"] - bands["lo_80"]) >= -1e-9)
        truth = y[origin : origin + 12]
        inside.append((truth >= bands["lo_80"]) & (truth <= bands["hi_80"]))
    assert 0.65 <= np.mean(inside) <= 0.98
    assert all(np.array_equal(before[k], v) for k, v in model.net_.state_dict().items())
    many = model.predict_intervals([y[:300], y[:280]], 6, levels=(80,))  # a list in, lists out
    assert len(many["lo_80"]) == 2 and many["lo_80"][1].shape == (6,)


def test_a_point_models_intervals_refuse_what_they_cannot_calibrate():
    y = np.sin(np.arange(80) / 3.0)
    model = Forecaster(window=12, horizon=6, epochs=2, ensemble=1, seed=0).fit(y)
    with pytest.raises(ValueError, match=r"intervals: a series of 15 steps leaves 2 step\(s\) .*hint: .*'quantile'"):
        model.predict_intervals(y[:15], 6, levels=(95,))
    with pytest.raises(ValueError, match="series given as arrays"):
        model.predict_intervals("y", 6, levels=(80,))
    with pytest.raises(TypeError, match=r"unexpected argument 'level'; expected past_covariates"):
        model.predict_intervals(y, 6, level=80)  # levels=, not level=


class SineKnower:
    """A 'fitted' point model that knows the noise-free signal 10 sin(t / 5): its errors are
    the noise alone. It records what each forecast was allowed to read."""

    window, parts_, period_, strategy, horizon = 8, (), None, "direct", 4

    def __init__(self):
        self.seen = []

    def predict(
        self, histories, horizon, past_covariates=None, future_covariates=None, static_covariates=None, dates=None
    ):
        out = []
        for i, x in enumerate(histories):
            t = len(x)
            self.seen.append(
                (
                    t,
                    None if past_covariates is None else len(past_covariates[i]),
                    None if future_covariates is None else len(future_covariates[i]),
                )
            )
            out.append(10 * np.sin(np.arange(t, t + horizon) / 5.0)[:, None])
        return out


def test_own_error_intervals_read_only_the_past_and_match_the_noise():
    """Bands from a model's own errors at the last origins: with errors that are N(0, 1)
    noise the 80% half-width is near 1.2816 (200 origins), each calibration forecast reads
    the history and past covariates only up to its origin and the known-future rows up to
    its blocks, and a series without room for enough origins is refused."""
    from rnnkit.forecast.conformal import point_intervals

    rng = np.random.default_rng(0)
    T, h = 400, 6
    x = (10 * np.sin(np.arange(T) / 5.0) + rng.standard_normal(T))[:, None]
    past, fut = np.zeros((T, 1)), np.zeros((T + 8, 1))
    model = SineKnower()
    cal = point_intervals(
        model, [x], h, (80,), method="own-errors", n_origins=200, past_covariates=[past], future_covariates=[fut]
    )
    assert cal.method == "own-errors" and [len(o) for o in cal.origins] == [200]
    out = cal.bands((80,))
    half = (out["hi_80"][0] - out["lo_80"][0]) / 2  # (h, 1)
    assert np.all(np.abs(half - 1.2816) < 0.2), half
    for t, p, f in model.seen[1:]:  # [0]: the forecast itself
        assert p == t and f == t + 8  # 2 direct blocks of 4
    assert {t for t, _, _ in model.seen[1:]} == set(range(T - h - 199, T - h + 1))
    with pytest.raises(ValueError, match=r"a series of 10 steps leaves room for 0 calibration origin\(s\)"):
        point_intervals(model, [x, x[:10]], h, (80,), method="own-errors")


def test_adaptive_bands_follow_errors_that_grow():
    """Noise whose scale triples over the calibration origins: split conformal takes the
    80% quantile of all errors, adaptive conformal (gamma 0.1, ``rnnkit forecast --adapt``)
    raises the level after the recent misses and gives a wider final band; both bands are
    centred on the forecast."""
    from types import SimpleNamespace

    from rnnkit.cli.forecast import _adaptive
    from rnnkit.forecast.conformal import point_intervals

    rng = np.random.default_rng(1)
    T, h = 300, 1
    scale = np.r_[np.ones(T - 100), np.linspace(1.0, 3.0, 100)]
    x = (10 * np.sin(np.arange(T) / 5.0) + scale * rng.standard_normal(T))[:, None]
    cal = point_intervals(SineKnower(), [x], h, (80,), method="own-errors", n_origins=100)
    split = cal.bands((80,))
    aci = _adaptive(cal, (80,), 0.1, SimpleNamespace(ids=["x"], values=[x]))
    w_split = float(split["hi_80"][0][0, 0] - split["lo_80"][0][0, 0])
    w_aci = float(aci["hi_80"][0][0, 0] - aci["lo_80"][0][0, 0])
    assert w_aci > 1.1 * w_split, (w_split, w_aci)
    for out in (split, aci):
        mid = (out["hi_80"][0] + out["lo_80"][0]) / 2
        assert np.allclose(mid, out["point"][0])
