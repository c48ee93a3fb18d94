"""The per-step product through MKL: packed and plain sgemm equal NumPy's, the measured
dispatch and RNNKIT_GEMM, the errors without MKL, and bf16 mixed precision's error bounds."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit.nn as nn
from rnnkit._kernels import gemm, mkl

CELLS = ["rnn_tanh", "lstm", "gru", "ln_lstm", "ln_gru"]


@pytest.fixture
def need_mkl():
    # MKL is in the test extra: a skip only where libmkl_rt is installed but cannot load
    try:
        mkl.library()
    except ImportError as exc:
        pytest.skip(f"MKL did not load: {exc}")


@pytest.fixture
def no_mkl(monkeypatch):
    """A machine without MKL: the loader finds nothing."""
    monkeypatch.setattr(mkl, "_lib", None)
    monkeypatch.setattr(mkl, "_error", "OSError: libmkl_rt.so: cannot open shared object file")


def _run(mode, backend, monkeypatch, dtype="float32", precision="fp32", **kw):
    """One layer's forward and backward with ``RNNKIT_GEMM=backend``; the same weights, data,
    masks and weight-drop draw for every backend."""
    monkeypatch.setenv("RNNKIT_GEMM", backend)
    layer = nn.Recurrent(mode, 5, 16, num_layers=2, dtype=dtype, rng=np.random.default_rng(3), **kw)
    layer.precision = precision
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 6, 5)).astype(dtype)  # (T, B, I): B > 4, the per-step loop
    out, _, cache = layer.forward(x, lengths=[7, 7, 5, 7, 3, 6])
    dx, _ = layer.backward(rng.standard_normal(out.shape).astype(dtype), None, cache)
    return out, dx, {k: g.copy() for k, g in layer.grads.items()}


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _close(got, want, tol):
    """Every array within ``tol`` in relative norm (float32 sums in another order differ by ~1e-7
    per product; a wrong step or a transposed weight by O(1))."""
    out, dx, grads = got
    assert _rel(out, want[0]) < tol and _rel(dx, want[1]) < tol
    for name, g in grads.items():
        assert _rel(g, want[2][name]) < tol, name


# -- the products ---------------------------------------------------------------------------------
def test_mkl_products_equal_numpys(need_mkl):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((9, 40)).astype(np.float32)[:, 3:35]  # strided rows (lda 40)
    b = rng.standard_normal((32, 48)).astype(np.float32)
    want = a @ b
    np.testing.assert_allclose(mkl.sgemm(a, b, np.empty((9, 48), np.float32)), want, rtol=1e-5, atol=1e-5)
    packed = mkl.PackedWeight(b, 9)
    np.testing.assert_allclose(packed.matmul(a, np.empty((9, 48), np.float32)), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"a: expected \(9, 32\)"):
        packed.matmul(a[:4], np.empty((4, 48), np.float32))


def test_bf16_rounds_to_nearest_even_and_products_sum_in_fp32(need_mkl):
    x = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-9), np.inf, np.nan], np.float32)
    back = mkl.from_bf16(mkl.to_bf16(x))
    np.testing.assert_array_equal(back[:5], [1.0, 1.0, 1 + 2**-6, -1.0, np.inf])  # ties to the even neighbour
    assert np.isnan(back[5])
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((16, 256)).astype(np.float32), rng.standard_normal((256, 64)).astype(np.float32)
    exact = mkl.from_bf16(mkl.to_bf16(a)).astype(np.float64) @ mkl.from_bf16(mkl.to_bf16(b))
    got = mkl.BF16PackedWeight(b, 16).matmul(a, np.empty((16, 64), np.float32))
    np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-4)  # only the fp32 sum's rounding left
    rel = np.linalg.norm(got - a @ b) / np.linalg.norm(a @ b)
    assert 1e-4 < rel < 6e-3  # bf16 inputs: ~2e-3, not float32's ~1e-7


# -- whole layers, every backend ----------------------------------------------------------------
@pytest.mark.parametrize("mode", CELLS)
@pytest.mark.parametrize("backend", ["packed", "mkl"])
def test_a_layer_through_mkl_equals_the_openblas_path(mode, backend, monkeypatch, need_mkl):
    kw = dict(bidirectional=True)
    want = _run(mode, "openblas", monkeypatch, **kw)
    _close(_run(mode, backend, monkeypatch, **kw), want, 1e-5)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_packed_with_weight_drop_in_training_equals_openblas(mode, monkeypatch, need_mkl):
    want = _run(mode, "openblas", monkeypatch, weight_drop=0.3, dropout=0.2)
    _close(_run(mode, "packed", monkeypatch, weight_drop=0.3, dropout=0.2), want, 1e-5)


def test_float64_never_leaves_numpy(monkeypatch, need_mkl):
    monkeypatch.setenv("RNNKIT_GEMM", "packed")
    w = np.ones((4, 8))
    assert gemm.recurrent_operand(w, 3, 10, "forward") is w
    assert gemm.recurrent_operand(w, 3, 10, "forward", "bf16-mixed") is w
    assert isinstance(gemm.recurrent_operand(w.astype(np.float32), 3, 10, "forward"), mkl.PackedWeight)


# -- the dispatch -------------------------------------------------------------------------------
def test_the_dispatch_measures_once_per_shape_and_reports(monkeypatch, need_mkl):
    monkeypatch.setattr(gemm, "_chosen", {})
    monkeypatch.delenv("RNNKIT_GEMM", raising=False)
    calls = []
    measure = gemm._measure
    monkeypatch.setattr(gemm, "_measure", lambda w, m, steps: calls.append(m) or measure(w, m, steps))
    _run("lstm", "auto", monkeypatch)
    _run("lstm", "auto", monkeypatch)
    chosen = gemm.chosen()
    assert (6, 16, 64, "forward") in chosen and (6, 64, 16, "backward") in chosen
    assert set(chosen.values()) <= set(gemm.BACKENDS)
    assert len(calls) == len(chosen)  # the second run measured nothing


def test_an_unknown_backend_is_refused(monkeypatch):
    monkeypatch.setenv("RNNKIT_GEMM", "cublas")
    with pytest.raises(ValueError, match=r"RNNKIT_GEMM: expected one of auto, openblas, mkl, packed, got 'cublas'"):
        _run("gru", "cublas", monkeypatch)


@pytest.mark.parametrize("backend", ["mkl", "packed"])
def test_forcing_mkl_without_it_names_the_extra(backend, monkeypatch, no_mkl):
    with pytest.raises(ImportError, match=r"Intel MKL is not available .*pip install rnnkit\[mkl\]"):
        _run("lstm", backend, monkeypatch)


def test_without_mkl_the_weight_itself_is_the_operand(monkeypatch, no_mkl):
    monkeypatch.delenv("RNNKIT_GEMM", raising=False)
    w = np.ones((4, 8), np.float32)
    assert gemm.recurrent_operand(w, 3, 10, "forward") is w
    out, dx, _ = _run("gru", "auto", monkeypatch)
    assert np.isfinite(out).all() and np.isfinite(dx).all()


# -- bf16 mixed precision -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", CELLS)
def test_bf16_mixed_stays_close_to_float32(mode, monkeypatch, need_mkl):
    ref = _run(mode, "openblas", monkeypatch)
    got = _run(mode, "openblas", monkeypatch, precision="bf16-mixed")
    # measured (2 layers, H=16, T=7): outputs 4e-4 (LSTM) to 6e-3 (LN-LSTM) in relative norm, gradients
    # 6e-4 to 1.8e-2 (LN-LSTM's weight gradients: the normalization divides by a small spread)
    assert _rel(got[0], ref[0]) < 1e-2
    _close(got, ref, 4e-2)
    assert _rel(got[0], ref[0]) > 1e-4  # bf16 did run: more than float32's differences


def test_bf16_mixed_trains(need_mkl):
    from rnnkit.models import SequenceRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6, 2)).astype(np.float32)
    y = X[:, :, 0].sum(axis=1)
    model = SequenceRegressor(hidden_size=16, epochs=8, lr=0.02, batch_size=16, seed=0, precision="bf16-mixed")
    loss = model.fit(X, y).history_["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert model.net_.rnn.precision == "fp32"  # only during fit


def test_bf16_mixed_is_refused_where_it_cannot_run(monkeypatch, no_mkl):
    from rnnkit.models import SequenceRegressor

    X, y = np.zeros((8, 3, 2), np.float32), np.zeros(8)
    monkeypatch.setattr(gemm, "cpu_flags", lambda: {"avx2", "avx512f"})
    with pytest.raises(RuntimeError, match="needs a CPU with AMX or AVX512-BF16"):
        SequenceRegressor(hidden_size=4, epochs=1, precision="bf16-mixed").fit(X, y)
    monkeypatch.setattr(gemm, "cpu_flags", lambda: {"avx512_bf16"})
    with pytest.raises(ImportError, match=r"needs Intel MKL.*pip install rnnkit\[mkl\]"):
        SequenceRegressor(hidden_size=4, epochs=1, precision="bf16-mixed").fit(X, y)
    with pytest.raises(ValueError, match="'bf16-mixed' needs dtype float32, got float64"):
        SequenceRegressor(hidden_size=4, epochs=1, precision="bf16-mixed", dtype="float64").fit(X, y)


def test_bf16_mixed_leaves_the_compiled_sequence_kernels_out(need_mkl):
    # B <= 4 runs the whole sequence in fp32 kernels with numba; bf16-mixed takes the step loop
    layer = nn.LSTM(3, 32, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((6, 2, 3)).astype(np.float32)
    ref, _, cache = layer.forward(x)
    dx_ref, _ = layer.backward(np.ones_like(ref), None, cache)
    layer.precision = "bf16-mixed"
    got, _, cache = layer.forward(x)
    dx, _ = layer.backward(np.ones_like(got), None, cache)
    assert 1e-4 < _rel(got, ref) < 1e-2 and 1e-4 < _rel(dx, dx_ref) < 4e-2
