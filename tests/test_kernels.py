"""The compiled (Numba) path against the NumPy reference path, and both against PyTorch.

Every test that needs Numba skips without it (``pip install rnnkit[fast]``); the engine's
own gradient and parity suites run here on each path explicitly, whichever is the default.
"""

import time

import numpy as np
import pytest
import test_recurrent_gradcheck as gradcheck

from rnnkit import _kernels, bench
from rnnkit.bench._cases import _close
from rnnkit.nn import GRU, LSTM, RNN

PATHS = ["numpy", "numba"]
LAYERS = {
    "rnn_tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k),
    "rnn_relu": lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
    "lstm": LSTM,
    "gru": GRU,
}


def _need(mode):
    if mode == "numba":
        pytest.importorskip("numba", reason="the compiled path needs numba: pip install rnnkit[fast]")


def _run(mode, cell, dtype, *, layers=2, bidi=True, lengths=(7, 3, 5), B=3, T=7, I=5, H=6, seed=0, **kw):
    """Forward and backward on one path; every output, state and gradient by name."""
    rng = np.random.default_rng(seed)
    layer = LAYERS[cell](I, H, layers, bidirectional=bidi, dtype=dtype, rng=np.random.default_rng(seed + 1), **kw)
    D = 2 if bidi else 1
    x = rng.standard_normal((T, B, I)).astype(dtype)
    shape = (layers * D, B, H)
    h0 = rng.standard_normal(shape).astype(dtype)
    state = (h0, rng.standard_normal(shape).astype(dtype)) if cell == "lstm" else h0
    R = rng.standard_normal((T, B, D * H)).astype(dtype)
    S = rng.standard_normal(shape).astype(dtype)
    dstate = (S, 2 * S) if cell == "lstm" else S
    with _kernels.using(mode):
        layer.rng = np.random.default_rng(9)  # the same dropout masks on both paths
        out, st, cache = layer.forward(x, state, None if lengths is None else np.array(lengths))
        dx, dst0 = layer.backward(R, dstate, cache)
    res = {"out": out, "dx": dx}
    for name, a in (("state", st), ("dstate0", dst0)):
        for i, part in enumerate(a if isinstance(a, tuple) else (a,)):
            res[f"{name}[{i}]"] = part
    res.update({f"grad {k}": v for k, v in layer.grads.items()})
    return res


def _max_rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1e-6))


# -- the two paths agree -----------------------------------------------------------------
@pytest.mark.parametrize("cell", list(LAYERS))
@pytest.mark.parametrize("B,lengths", [(3, None), (3, (7, 3, 5)), (6, None)])
def test_numba_equals_numpy_in_float64(cell, B, lengths):
    """Small batches without lengths run whole sequences compiled; the others step by step."""
    _need("numba")
    ref = _run("numpy", cell, "float64", lengths=lengths, B=B)
    got = _run("numba", cell, "float64", lengths=lengths, B=B)
    for k in ref:
        assert _max_rel(got[k], ref[k]) < 1e-11, k


@pytest.mark.parametrize("cell", list(LAYERS))
def test_numba_equals_numpy_in_float32(cell):
    """float32 kernels use a rational tanh within a few ulps, so agreement is to ~1e-5."""
    _need("numba")
    got = _run("numba", cell, "float32", T=30, lengths=(30, 11, 20))
    ref = _run("numpy", cell, "float32", T=30, lengths=(30, 11, 20))
    for k in ref:
        assert _max_rel(got[k], ref[k]) < 2e-5, k


def test_paths_agree_with_dropout_and_recurrent_dropout():
    _need("numba")
    for cell in ("lstm", "gru", "rnn_tanh"):
        ref = _run("numpy", cell, "float64", dropout=0.3, recurrent_dropout=0.4)
        got = _run("numba", cell, "float64", dropout=0.3, recurrent_dropout=0.4)
        for k in ref:
            assert _max_rel(got[k], ref[k]) < 1e-11, (cell, k)


def test_float32_tanh_is_within_a_few_ulps():
    _need("numba")
    with _kernels.using("numba"):
        k = _kernels.active()
    x = np.linspace(-12, 12, 200_001, dtype=np.float32).reshape(1, -1)
    y = x.copy()
    k.tanh_inplace(y)
    exact = np.tanh(x.astype(np.float64))
    assert np.abs(y - exact).max() < 6e-7
    assert np.all(np.abs(y) <= 1)
    z = -x
    k.tanh_inplace(z)
    np.testing.assert_array_equal(z, -y)  # odd, exactly


def test_float64_tanh_is_within_an_ulp_or_two():
    _need("numba")
    with _kernels.using("numba"):
        k = _kernels.active()
    x = np.concatenate(
        [np.linspace(-25, 25, 400_001), np.logspace(-300, 1.4, 20_000), -np.logspace(-300, 1.4, 20_000), [0.0]]
    ).reshape(1, -1)
    y = x.copy()
    k.tanh_inplace(y)
    exact = np.tanh(x)
    assert np.max(np.abs(y - exact) / np.maximum(np.abs(exact), 1e-300)) < 5e-16
    assert np.all(np.abs(y) <= 1)


# -- the engine's own suites, on each path ----------------------------------------------
@pytest.mark.parametrize("mode", PATHS)
@pytest.mark.parametrize("seed", range(0, 48, 3))
def test_torch_parity_on_each_path(mode, seed):
    _need(mode)
    parity = pytest.importorskip("test_torch_parity", reason="PyTorch is the optional test oracle")
    with _kernels.using(mode):
        parity.test_matches_pytorch(seed)


@pytest.mark.parametrize("mode", PATHS)
@pytest.mark.parametrize(
    "cfg",
    [
        ("lstm", 1, True, True, False),
        ("gru", 2, False, True, True),
        ("rnn_tanh", 1, False, True, False),
        ("rnn_relu", 1, True, False, False),
    ],
)
def test_central_differences_on_each_path(mode, cfg):
    _need(mode)
    with _kernels.using(mode):
        gradcheck._check_all(*gradcheck._problem(*cfg))


# -- the online step ---------------------------------------------------------------------
@pytest.mark.parametrize("cell", list(LAYERS))
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 2e-6)])
def test_compiled_step_equals_numpy_step_and_forward(cell, dtype, tol):
    _need("numba")
    rng = np.random.default_rng(3)
    layer = LAYERS[cell](4, 5, 2, dtype=dtype, rng=rng)
    xs = rng.standard_normal((6, 2, 4)).astype(dtype)
    states = {}
    for mode in ("numpy", "numba"):
        with _kernels.using(mode):
            state = None
            for x in xs:
                state = layer.step(x, state)
        states[mode] = state if isinstance(state, tuple) else (state,)
    with _kernels.using("numba"):
        _, whole, _ = layer.eval().forward(xs)
    whole = whole if isinstance(whole, tuple) else (whole,)
    for a, b, w in zip(states["numba"], states["numpy"], whole, strict=False):
        assert _max_rel(a, b) < tol and _max_rel(a, w) < tol


@pytest.mark.parametrize("cell", list(LAYERS))
def test_compiled_step_without_bias_sees_weight_updates_and_never_aliases(cell):
    _need("numba")
    rng = np.random.default_rng(4)
    layer = LAYERS[cell](3, 6, 2, bias=False, dtype="float64", rng=rng)
    x = rng.standard_normal((3, 3))
    with _kernels.using("numba"):
        s1 = layer.step(x)
        parts = s1 if isinstance(s1, tuple) else (s1,)
        kept = [a.copy() for a in parts]
        s2 = layer.step(x, s1)
        for a, b in zip(parts, s2 if isinstance(s2, tuple) else (s2,), strict=False):
            assert not np.shares_memory(a, b)
        for a, b in zip(parts, kept, strict=False):
            np.testing.assert_array_equal(a, b)  # the old state is untouched
        layer.parameters()["weight_hh_l1"] *= 0.5  # an optimizer's in-place update
        fast = layer.step(x, s1)
    with _kernels.using("numpy"):
        ref = layer.step(x, s1)
    for a, b in zip(
        fast if isinstance(fast, tuple) else (fast,), ref if isinstance(ref, tuple) else (ref,), strict=False
    ):
        assert _max_rel(a, b) < 1e-12


def test_compiled_step_still_names_bad_input():
    _need("numba")
    layer = LSTM(3, 4, rng=np.random.default_rng(0))
    x = np.ones((1, 3), np.float32)
    with _kernels.using("numba"):
        state = layer.step(x)
        bad = x.copy()
        bad[0, 1] = np.nan
        with pytest.raises(ValueError, match="x_t"):
            layer.step(bad, state)
        h, c = state
        c = c.copy()
        c[0, 0, 2] = np.inf
        with pytest.raises(ValueError, match=r"state\[1\]"):
            layer.step(x, (h, c))
        with pytest.raises(ValueError, match="x_t"):
            layer.step(np.ones((1, 2), np.float32), state)


# -- choosing the path --------------------------------------------------------------------
def test_use_refuses_unknown_modes_and_using_restores():
    with pytest.raises(ValueError, match="mode: expected one of auto, numpy, numba"):
        _kernels.use("fast")
    before = _kernels.describe()
    with _kernels.using("numpy"):
        assert _kernels.active() is None and _kernels.describe().startswith("numpy")
    assert _kernels.describe() == before


# -- the benchmark ----------------------------------------------------------------------
def test_quick_benchmark_runs_every_section():
    lines = []
    res = bench.run(quick=True, threads=1, echo=lines.append)
    assert {"train", "inference", "streaming", "charlm", "memory", "precision"} <= set(res)
    assert res["env"]["threads"]["openblas"] in (1, None) and res["gemm_gflops"] > 0
    for row in res["train"]:
        assert row["ours_s"] > 0 and row["flops"] > 0
        if "ratio" in row:  # torch installed: checked before timed
            assert row["max_rel_err"] < 1e-3 and row["ratio"] > 0 and isinstance(row["met"], bool)
        assert row["backend"] in ("openblas", "mkl", "packed", "kernel") or "/" in row["backend"]
    assert res["memory"]["growth"] > 0
    text = "\n".join(lines)
    assert "training step" in text and "truncated BPTT peak memory" in text and "backend" in text
    if "bf16" in res:  # a CPU with AMX or AVX512-BF16, and MKL: rnnkit bf16-mixed against PyTorch
        assert res["bf16"][0]["bf16_rel_err"] < 2e-2 and res["bf16"][0]["torch_autocast_over_bf16"] > 0
    else:
        assert "bf16 section skipped" in text


def test_benchmark_refuses_to_time_different_numbers():
    with pytest.raises(bench.BenchmarkError, match="output: rnnkit and PyTorch differ"):
        _close("output", np.ones(3), np.array([1.0, 1.0, 1.1]), 1e-3)
    assert _close("output", np.ones(3), np.ones(3), 1e-3) == 0.0


def test_flop_count_of_a_step():
    # LSTM, one layer: 2 T B 4H (I + H) forward, three times that with the backward
    assert bench.step_flops("LSTM", 10, 2, 3, 4) == 3 * 2 * 10 * 2 * 16 * 7
    # a second bidirectional layer reads 2H features
    two = bench.step_flops("GRU", 1, 1, 3, 4, layers=2, directions=2, train=False)
    assert two == 2 * 2 * 12 * (3 + 4) + 2 * 2 * 12 * (8 + 4)


def test_verdict_takes_the_lower_of_the_ratio_goal_and_the_gemm_bound():
    from rnnkit.bench._cases import _judge
    from rnnkit.bench._report import format_readme, format_train

    def row(cell, flops, theirs_s, ratio, best):
        return {
            "cell": cell,
            "T": 1,
            "B": 1,
            "I": 1,
            "H": 1,
            "layers": 1,
            "bidirectional": False,
            "flops": flops,
            "ours_s": theirs_s / ratio,
            "theirs_s": theirs_s,
            "ratio": ratio,
            "best_ratio": best,
            "ours_spread_pct": 1.0,
            "theirs_spread_pct": 1.0,
        }

    # torch at 50 GFLOP/s on a 100 GFLOP/s machine: 90% of the rate is a ratio of 1.8
    big = _judge(row("LSTM", 50e9, 1.0, 1.5, 1.6), gemm_gflops=100.0)
    assert big["gemm_bound"] == pytest.approx(1.8) and big["target"] == 1.25 and big["verdict"] == "MET"
    # torch at 80 GFLOP/s: the bound, 1.125, is below the goal of 2 and binds
    gemm = _judge(row("GRU", 80e9, 1.0, 1.1, 1.2), gemm_gflops=100.0)
    assert gemm["target"] == pytest.approx(1.125) and gemm["binding"] == "GEMM"
    assert gemm["verdict"] == "MET(best)" and not gemm["met"] and gemm["met_best"]
    small = _judge(row("RNN", 1e6, 1e-3, 1.9, 1.95), gemm_gflops=100.0)
    assert small["target"] == 2.0 and small["verdict"] == "NOT MET"
    text = format_train([big, gemm, small])
    assert "NOT MET" in text and "MET(best)" in text and "90%GEMM" in text
    table = format_readme({"train": [big, gemm, small]})
    assert table.count("| LSTM training |") == 1 and "1.12 (90% GEMM; goal 2.00)" in table


def test_benchmark_gives_the_thread_counts_back():
    from rnnkit.bench._timing import current_threads

    before = current_threads()
    bench.run(quick=True, threads=1, sections=("memory",), torch_side=False, echo=lambda s: None)
    assert current_threads() == before


def test_set_threads_refuses_nonsense():
    with pytest.raises(ValueError, match="threads: expected an int >= 1"):
        bench.set_threads(0)


def test_cli_bench_smoke(tmp_path, capsys):
    from rnnkit.cli import main

    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--sections", "memory", "--no-torch", "--threads", "1", "--json", str(out)]) == 0
    assert "truncated BPTT peak memory" in capsys.readouterr().out
    import json

    assert json.loads(out.read_text())["memory"]["length_ratio"] == 10
    assert main(["bench", "--sections", "nope"]) == 1


def test_without_numba_the_numpy_path_runs(monkeypatch):
    """What a machine without the fast extra sees: the reference path, and a clear refusal."""
    monkeypatch.setattr(_kernels, "_loaded", "ImportError: No module named 'numba'")
    monkeypatch.setattr(_kernels, "_mode", "auto")
    assert _kernels.active() is None and _kernels.warm_up() is None
    assert "pip install rnnkit[fast]" in _kernels.describe()
    with pytest.raises(ImportError, match=r"hint: pip install rnnkit\[fast\]"):
        _kernels.use("numba")
    layer = LSTM(3, 4, rng=np.random.default_rng(0))
    out, _, cache = layer.forward(np.ones((5, 2, 3), np.float32))
    dx, _ = layer.backward(np.ones_like(out), None, cache)
    assert np.all(np.isfinite(dx)) and layer.step(np.ones((1, 3), np.float32))[0].shape == (1, 1, 4)


def test_benchmark_can_pin_the_numpy_path():
    res = bench.run(
        quick=True, threads=1, sections=("streaming",), torch_side=False, kernels="numpy", echo=lambda s: None
    )
    assert res["env"]["kernels"].startswith("numpy") and res["streaming"]["ours_us"] > 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reused_workspace_never_overwrites_live_results(cell):
    """Arrays are recycled across calls only when nothing refers to them any more."""
    rng = np.random.default_rng(5)
    layer = LAYERS[cell](3, 4, 2, bidirectional=True, dtype="float64", rng=rng)
    x1, x2 = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 2, 3))
    R = rng.standard_normal((6, 2, 8))
    out1, _, cache1 = layer.forward(x1)
    keep = out1.copy()
    dx1, _ = layer.backward(R, None, cache1)
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    for _ in range(3):  # other calls in between, while out1, cache1 and dx1 are alive
        layer.zero_grad()
        out2, _, cache2 = layer.forward(x2)
        layer.backward(R, None, cache2)
    np.testing.assert_array_equal(out1, keep)
    layer.zero_grad()
    dx1_again, _ = layer.backward(R, None, cache1)
    np.testing.assert_array_equal(dx1_again, dx1)
    for k in g1:
        np.testing.assert_array_equal(layer.grads[k], g1[k])
    del out2, cache2  # now free: the next call may recycle them, with the same results
    out3, _, _ = layer.forward(x1)
    np.testing.assert_array_equal(out3, keep)


def test_interleaved_pauses_between_the_two_sides_and_not_on_the_budget():
    from rnnkit.bench._timing import interleaved

    stamps = []  # (start, end) of every call, in order

    def side():
        t0 = time.perf_counter()
        time.sleep(0.002)
        stamps.append((t0, time.perf_counter()))

    t = interleaved(side, side, rounds=4, budget_s=0.001, warmup=0, settle_s=0.03)
    assert len(t.ours) == len(t.theirs) == 3  # the budget stops it after 3 rounds, pauses not counted
    gaps = [b[0] - a[1] for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 0.03
    stamps.clear()
    interleaved(side, rounds=3, budget_s=1.0, warmup=0, settle_s=0.03)  # one side: nothing to settle
    assert max(b[0] - a[1] for a, b in zip(stamps, stamps[1:], strict=False)) < 0.03
