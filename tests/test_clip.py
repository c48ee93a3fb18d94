"""Gradient clipping: torch.nn.utils.clip_grad_norm_/clip_grad_value_ as the oracle."""

import math

import numpy as np
import pytest

from rnnkit.nn.module import Module
from rnnkit.optim.clip import all_finite, clip_grad_norm, clip_grad_value, grad_norm


class Toy(Module):
    def __init__(self, scale=1.0, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        for name, shape in [("weight_ih_l0", (12, 4)), ("weight_hh_l0", (12, 3)), ("bias_ih_l0", (12,))]:
            self.register_parameter(name, rng.standard_normal(shape))
            self._grads[name][...] = rng.standard_normal(shape) * scale


def torch_twin(torch, model):
    params = []
    for _, p, g in model.named_parameters():
        tp = torch.nn.Parameter(torch.from_numpy(p.copy()))
        tp.grad = torch.from_numpy(g.copy())
        params.append(tp)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch", reason="torch.nn.utils.clip_grad_norm_ is the reference")
    model = Toy()
    tparams = torch_twin(torch, model)
    before = {n: g.copy() for n, _, g in model.named_parameters()}
    expected = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type, foreach=False).item()
    got = clip_grad_norm(model, max_norm, norm_type=norm_type)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-12, abs=0)
    for tp, (n, _, g) in zip(tparams, model.named_parameters(), strict=False):
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-12, atol=0, err_msg=n)
    if max_norm > got:  # below the limit: untouched, bit for bit
        for n, _, g in model.named_parameters():
            np.testing.assert_array_equal(g, before[n])
    else:  # above: the new global norm is max_norm (up to the 1e-6 guard)
        assert grad_norm(model, norm_type) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_accepts_dict_list_and_array():
    for make in (lambda m: m.grads, lambda m: list(m.grads.values())):
        a, b = Toy(), Toy()
        n_a = clip_grad_norm(a, 1.0)
        n_b = clip_grad_norm(make(b), 1.0)
        assert n_a == n_b
        for (n, _, ga), (_, _, gb) in zip(a.named_parameters(), b.named_parameters(), strict=False):
            np.testing.assert_array_equal(ga, gb, err_msg=n)
    g = np.full((3, 4), 2.0)  # one array is one tensor, not an iterable of rows
    assert clip_grad_norm(g, 1.0) == pytest.approx(np.sqrt(48.0))
    assert np.linalg.norm(g) == pytest.approx(1.0, rel=1e-5)


def test_grad_norm_is_the_norm_of_the_concatenation():
    model = Toy(scale=3.0)
    flat = np.concatenate([g.ravel() for _, _, g in model.named_parameters()])
    for p in (1.0, 2.0, 2.5, math.inf):
        assert grad_norm(model, p) == pytest.approx(np.linalg.norm(flat, ord=p), rel=1e-12)
    assert grad_norm(model, "inf") == np.abs(flat).max()
    assert grad_norm([]) == 0.0 and clip_grad_norm([], 1.0) == 0.0
    f32 = [np.array([3.0, 4.0], dtype=np.float32)]
    assert grad_norm(f32) == 5.0


def test_nonfinite_norm_leaves_grads_alone_or_raises():
    model = Toy()
    model.grads["bias_ih_l0"][3] = np.nan
    before = {n: g.copy() for n, _, g in model.named_parameters()}
    assert math.isnan(clip_grad_norm(model, 1.0))
    for n, _, g in model.named_parameters():
        np.testing.assert_array_equal(g, before[n])
    assert not all_finite(model)
    with pytest.raises(ValueError, match=r"grads: expected a finite gradient norm, got nan"):
        clip_grad_norm(model, 1.0, error_if_nonfinite=True)
    model.grads["bias_ih_l0"][3] = np.inf
    assert clip_grad_norm(model, 1.0) == math.inf and not all_finite(model.grads)
    model.grads["bias_ih_l0"][3] = 0.0
    assert all_finite(model) and all_finite([]) and all_finite(np.zeros(2))


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch", reason="torch.nn.utils.clip_grad_value_ is the reference")
    model = Toy(scale=2.0)
    tparams = torch_twin(torch, model)
    torch.nn.utils.clip_grad_value_(tparams, 0.7, foreach=False)
    assert clip_grad_value(model, 0.7) is None
    for tp, (n, _, g) in zip(tparams, model.named_parameters(), strict=False):
        np.testing.assert_array_equal(g, tp.grad.numpy(), err_msg=n)
    assert max(np.abs(g).max() for _, _, g in model.named_parameters()) == 0.7


def test_clip_grad_value_interval():
    g = np.linspace(-3.0, 3.0, 13)
    expected = np.clip(g, -0.5, 2.0)
    clip_grad_value({"w": g}, interval=(-0.5, 2.0))
    np.testing.assert_array_equal(g, expected)
    assert g.min() == -0.5 and g.max() == 2.0


@pytest.mark.parametrize(
    "call, err, msg",
    [
        (lambda g: clip_grad_norm(g, -1.0), ValueError, r"max_norm: expected a finite number >= 0, got -1.0"),
        (lambda g: clip_grad_norm(g, 1.0, norm_type=0), ValueError, r"norm_type: expected a number > 0 or inf, got 0"),
        (lambda g: grad_norm(g, norm_type="two"), ValueError, r"norm_type: expected a number > 0 or inf, got 'two'"),
        (lambda g: clip_grad_value(g), TypeError, r"clip_value, interval: expected exactly one of them"),
        (lambda g: clip_grad_value(g, 1.0, interval=(0, 1)), TypeError, r"expected exactly one of them"),
        (lambda g: clip_grad_value(g, -1.0), ValueError, r"clip_value: expected a finite number >= 0, got -1.0"),
        (
            lambda g: clip_grad_value(g, interval=(2.0, 1.0)),
            ValueError,
            r"interval: expected lo <= hi, got \(2.0, 1.0\)",
        ),
        (lambda g: clip_grad_value(g, interval=3.0), TypeError, r"interval: expected a pair \(lo, hi\), got 3.0"),
        (
            lambda g: clip_grad_norm([[1.0, 2.0]], 1.0),
            TypeError,
            r"grads\[0\]: expected a floating-point numpy.ndarray, got list",
        ),
        (
            lambda g: grad_norm(5.0),
            TypeError,
            r"grads: expected a Module, a dict of name -> array or an iterable of arrays, got float",
        ),
    ],
)
def test_bad_input(call, err, msg):
    with pytest.raises(err, match=msg):
        call(Toy())
