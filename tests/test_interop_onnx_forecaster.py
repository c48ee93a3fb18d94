"""ONNX export of a fitted Forecaster, checked by onnxruntime: the network graph equals
the model's own forward, and a consumer written from the ``rnnkit.forecaster`` metadata
and docs/interop.md alone (transforms, scaling, window normalisation, covariate columns,
the loop, the inverses) reproduces ``Forecaster.predict``.
"""

import json

import numpy as np
import pytest
from interop_util import assert_close
from interop_util import onnx_session as session

from rnnkit.forecast import Forecaster
from rnnkit.interop import to_onnx
from rnnkit.models import NotFittedError

onnx = pytest.importorskip("onnx", reason="ONNX export is checked with the onnx package")
ort = pytest.importorskip("onnxruntime", reason="ONNX export is checked with onnxruntime")

TOL = 1e-5


def close(a, b, tol=TOL):
    assert_close(a, b, tol)


FC_CASES = [
    dict(loss="mse", scaling="window", cell="lstm"),
    dict(loss="quantile", scaling="series", cell="gru", quantiles=(0.1, 0.5, 0.9)),
    dict(loss="gaussian", scaling="window", cell="gru", ensemble=3),
    dict(loss="quantile", scaling="window", cell="lstm", ensemble=3, num_layers=2),
    dict(loss="mse", scaling="series", cell="lstm", ensemble=3, strategy="recursive"),
    dict(loss="gaussian", scaling="series", cell="lstm", covariates=True),
]


def _fc_series(n=160):
    t = np.arange(n, dtype=np.float64)
    return np.stack([np.sin(t / 5) * 3 + 20, np.cos(t / 7) + 0.01 * t], axis=1)


def _net_outputs(net, x):
    """The network's own forward, as the model reads it (an ensemble: the members' mean)."""
    y, _ = net.forward(x)
    return y.mean(axis=0) if y.ndim == 5 else y


@pytest.mark.parametrize("case", range(len(FC_CASES)))
def test_forecaster_network_matches_onnxruntime(case, tmp_path):
    kw = dict(FC_CASES[case])
    covariates = kw.pop("covariates", False)
    kw.setdefault("strategy", "direct")
    series = _fc_series()
    fit_kw = {}
    if covariates:
        rng0 = np.random.default_rng(1)
        fit_kw = dict(
            past_covariates=rng0.normal(size=(160, 2)),
            future_covariates=rng0.normal(size=(160, 1)),
            static_covariates=np.array([[3.0, 1.0]]),
        )
    model = Forecaster(hidden_size=6, window=10, horizon=3, epochs=1, batch_size=32, seed=0, **kw)
    model.fit(series, **fit_kw)
    rng = np.random.default_rng(case)
    for p in model.net_.parameters().values():  # away from the zero-initialised head
        p[...] = rng.normal(scale=0.5, size=p.shape)
    path = to_onnx(model, tmp_path / "f.onnx")
    spec = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["rnnkit.forecaster"])
    T, I = spec["input_steps"], spec["input_size"]
    assert model._input_size() == I and (13 if covariates else 10) == T
    x = rng.standard_normal((T, 5, I)).astype(np.float32)
    (got,) = session(path).run(None, {"inputs": x})
    want = _net_outputs(model.net_, x)
    assert got.shape == (5, spec["steps"], 2, spec["outputs_per_target"]) == want.shape
    close(got, want)
    assert spec["scaling"]["name"] == kw["scaling"] and spec["loss"] == kw["loss"]
    if covariates:
        assert spec["input_columns"] == {
            "target": [0, 2],
            "past": [2, 4],
            "future": [4, 5],
            "calendar": [5, 5],
            "static": [5, 7],
            "decoder_flag": [7, 8],
        }
        assert np.allclose(spec["covariates"]["past"]["mean"], fit_kw["past_covariates"].mean(axis=0))


def test_forecaster_onnx_plus_documented_postprocessing_is_predict(tmp_path):
    """One series, scaling window, no transforms, direct, mse: onnxruntime and the steps of
    docs/interop.md (written from the metadata alone) give Forecaster.predict."""
    t = np.arange(200, dtype=np.float64)
    series = np.sin(t / 6) * 4 + 0.05 * t + 10
    model = Forecaster(
        hidden_size=8, window=16, horizon=5, strategy="direct", scaling="window", loss="mse", epochs=2, seed=0
    ).fit(series)
    path = to_onnx(model, tmp_path / "f.onnx")
    sess = session(path)
    spec = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["rnnkit.forecaster"])
    assert spec["target_transform"]["parts"] == [] and spec["scaling"]["name"] == "window"
    W = spec["window"]
    for end in (60, 137, 200):
        x = series[:end, None]  # (T, F)
        scale = np.diff(x, axis=0).std(axis=0)  # the series scale of "window"
        scale = np.where(scale > 1e-12, scale, 1.0)
        z = x / scale
        win = z[-W:]
        a = win[-1]  # window normalisation: a = z[-1], b = 1
        (out,) = sess.run(None, {"inputs": (win - a)[:, None, :].astype(np.float32)})
        forecast = (out[0, :, :, 0] + a) * scale  # (D, F)
        close(forecast[:, 0], model.predict(series[:end], horizon=5))


def _season(x, m):
    """Seasonal indices as docs/interop.md states them: x minus its centred moving average
    (2 x m, end weights 1/2, for even m), the latest 3 seasons averaged per phase, centred."""
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half, T = len(w) // 2, len(x)
    s = np.zeros((m, x.shape[1]))
    for f in range(x.shape[1]):
        rest = x[half : T - half, f] - np.correlate(x[:, f], w, mode="valid")
        phase = np.arange(half, T - half) % m
        rest, phase = rest[-3 * m :], phase[-3 * m :]  # the latest 3 seasons
        s[:, f] = [rest[phase == j].mean() for j in range(m)]
    return s - s.mean(axis=0)


def _consume(sess, spec, x, h):
    """A consumer of the graph written from rnnkit.forecaster and docs/interop.md alone
    (no covariates): transforms, series scaling, window normalisation, the loop, inverses."""
    parts, period = spec["target_transform"]["parts"], spec["target_transform"]["period"]
    stages, y = [], np.asarray(x, np.float64)
    for p in parts:
        stages.append(y)
        if p == "deseason":
            y = y - _season(y, period)[np.arange(len(y)) % period]
        else:
            y = np.log(y) if p == "log" else (y[1:] - y[:-1] if p == "diff" else y[period:] - y[:-period])
    sc = spec["scaling"]
    name = sc["name"]
    if name == "global":
        loc, scale = np.array(sc["global"]["loc"]), np.array(sc["global"]["scale"])
    elif name == "series":
        loc, scale = y.mean(axis=0), y.std(axis=0)
    elif name == "robust":
        q25, loc, q75 = np.percentile(y, [25, 50, 75], axis=0)
        scale = q75 - q25
    elif name == "window":
        loc, scale = np.zeros(y.shape[1]), np.diff(y, axis=0).std(axis=0)
    else:
        loc, scale = np.zeros(y.shape[1]), np.ones(y.shape[1])
    if name != "global":
        scale = np.where(scale > 1e-12 * (1 + np.abs(loc)), scale, 1.0)
    z = list((y - loc) / scale)
    W = spec["window"]
    start = len(z)
    while len(z) < start + h:
        win = np.array(z[-W:])
        if name == "window":
            a, b = win[-1], np.ones(win.shape[1])
        elif name == "instance":
            a, b = win.mean(axis=0), win.std(axis=0)
            b = np.where(b > 1e-8, b, 1.0)
        else:
            a, b = np.zeros(win.shape[1]), np.ones(win.shape[1])
        (out,) = sess.run(None, {"inputs": ((win - a) / b)[:, None, :].astype(np.float32)})
        out = out[0].astype(np.float64)  # (D, F, P)
        if spec["loss"] == "quantile":
            point = np.sort(out, axis=-1)[..., sorted(spec["quantiles"]).index(0.5)]
        else:
            point = out[..., 0]
        z.extend(point * b + a)
    out = np.array(z[start : start + h]) * scale + loc  # (h, F)
    for p, hist in zip(reversed(parts), reversed(stages), strict=False):
        if p == "log":
            out = np.exp(out)
        elif p == "diff":
            out = hist[-1] + np.cumsum(out, axis=0)
        elif p == "deseason":
            out = out + _season(hist, period)[(len(hist) + np.arange(h)) % period]
        else:
            full = list(hist[-period:])
            for k in range(h):
                full.append(out[k] + full[k])
            out = np.array(full[period:])
    return out


CONSUMER_CASES = [
    dict(scaling="series", target_transform="log", strategy="recursive"),
    dict(scaling="robust", target_transform="diff", strategy="direct", loss="quantile", quantiles=(0.9, 0.5, 0.1)),
    dict(scaling="instance", strategy="direct", loss="gaussian", ensemble=3),
    dict(scaling="global", target_transform="seasonal_diff", period=12, strategy="recursive"),
    dict(scaling="window", target_transform="log+diff", strategy="direct", cell="gru"),
    dict(scaling="series", target_transform="deseason+diff", period=12, strategy="direct"),
]


@pytest.mark.parametrize("case", range(len(CONSUMER_CASES)))
def test_forecaster_metadata_is_enough_to_reproduce_predict(case, tmp_path):
    t = np.arange(180, dtype=np.float64)
    noise = np.random.default_rng(7).normal(scale=0.1, size=(180, 2))
    series = np.stack([np.sin(2 * np.pi * t / 12) * 3 + 0.04 * t + 20, np.cos(t / 7) + 5], axis=1) + noise
    model = Forecaster(hidden_size=6, window=14, horizon=3, epochs=2, seed=0, **CONSUMER_CASES[case])
    model.fit([series[:150], series[20:]])
    rng = np.random.default_rng(case)
    for p in model.net_.parameters().values():
        p[...] += rng.normal(scale=0.2, size=p.shape)
    path = to_onnx(model, tmp_path / "f.onnx")
    sess = session(path)
    spec = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["rnnkit.forecaster"])
    for end, h in ((90, 5), (180, 7)):
        close(_consume(sess, spec, series[:end], h), model.predict(series[:end], horizon=h))


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_forecaster_covariate_layout_in_metadata_reproduces_predict(strategy, tmp_path):
    """Past, known-future and static covariates assembled from ``input_columns`` and the
    fitted covariate statistics (target: diff, series scaling) give Forecaster.predict."""
    rng = np.random.default_rng(5)
    t = np.arange(150, dtype=np.float64)
    past, fut = rng.normal(size=(150, 2)), rng.normal(size=(160, 1)) + 3
    series = np.sin(t / 6) * 2 + 0.5 * fut[:150, 0] + 0.1 * rng.normal(size=150) + 10
    static = np.array([[2.0]])
    model = Forecaster(
        hidden_size=6,
        window=10,
        horizon=3,
        strategy=strategy,
        scaling="series",
        target_transform="diff",
        loss="gaussian",
        epochs=2,
        seed=0,
    )
    model.fit(series, past_covariates=past, future_covariates=fut[:150], static_covariates=static)
    path = to_onnx(model, tmp_path / "f.onnx")
    sess = session(path)
    spec = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["rnnkit.forecaster"])
    cov, cols = spec["covariates"], spec["input_columns"]
    W, D, L, h = spec["window"], spec["steps"], spec["target_transform"]["lost_steps"], 5

    def std(a, kind):
        return (a - np.array(cov[kind]["mean"])) / np.array(cov[kind]["scale"])

    end = 120
    x = series[:end, None]
    y = x[1:] - x[:-1]  # diff
    loc, scale = y.mean(axis=0), y.std(axis=0)
    z = list((y - loc) / scale)
    n = len(z)
    p_all = std(past[L:end], "past")  # rows of z's steps
    f_all = std(fut[L:], "future")
    s_row = std(static[0], "static")
    while len(z) < n + h:
        k = len(z) - n
        rows = np.zeros((spec["input_steps"], spec["input_size"]))
        win = np.array(z[-W:])
        idx = np.arange(n + k - W, n + k)
        rows[:W, slice(*cols["target"])] = win  # series scaling: a = 0, b = 1
        rows[:W, slice(*cols["past"])] = p_all[np.minimum(idx, n - 1)]  # held past the origin
        rows[:W, slice(*cols["future"])] = f_all[idx]
        rows[W:, slice(*cols["future"])] = f_all[n + k : n + k + D]
        rows[:, slice(*cols["static"])] = s_row
        rows[W:, slice(*cols["decoder_flag"])] = 1.0
        (out,) = sess.run(None, {"inputs": rows[:, None, :].astype(np.float32)})
        z.extend(out[0, :, :, 0].astype(np.float64))
    forecast = x[-1] + np.cumsum(np.array(z[n : n + h]) * scale + loc, axis=0)
    need = -(-h // D) * D
    want = model.predict(
        series[:end],
        horizon=h,
        past_covariates=past[:end],
        future_covariates=fut[: end + need],
        static_covariates=static,
    )
    close(forecast[:, 0], want)


def test_forecaster_unfitted_is_refused(tmp_path):
    with pytest.raises(NotFittedError, match="cannot export an unfitted Forecaster"):
        to_onnx(Forecaster(), tmp_path / "f.onnx")
