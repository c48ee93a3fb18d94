"""Linear, Embedding and the losses against central differences and PyTorch."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.nn import Embedding, Linear
from rnnkit.nn.losses import cross_entropy, mse


def test_linear_gradients():
    rng = np.random.default_rng(0)
    lin = Linear(4, 3, dtype="float64", rng=rng)
    x = rng.standard_normal((2, 5, 4))
    R = rng.standard_normal((2, 5, 3))
    y, cache = lin.forward(x)
    dx = lin.backward(R, cache)
    f = lambda: np.sum(lin.forward(x)[0] * R)  # noqa: E731
    assert rel_error(dx, numeric_grad(f, x)) < 1e-8
    for name, p in lin.parameters().items():
        assert rel_error(lin.grads[name], numeric_grad(f, p)) < 1e-8, name


def test_embedding_gradients_with_repeats_and_padding():
    rng = np.random.default_rng(1)
    emb = Embedding(6, 3, padding_idx=0, dtype="float64", rng=rng)
    ids = np.array([[1, 2, 1], [0, 5, 1]])
    R = rng.standard_normal((2, 3, 3))
    vec, cache = emb.forward(ids)
    emb.backward(R, cache)
    expected = np.zeros((6, 3))
    for (b, t), i in np.ndenumerate(ids):
        if i != 0:
            expected[i] += R[b, t]
    np.testing.assert_allclose(emb.grads["weight"], expected)
    assert not emb.parameters()["weight"][0].any()


@pytest.mark.parametrize("with_mask", [False, True])
def test_cross_entropy_gradient(with_mask):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 3, 5))
    y = rng.integers(0, 5, (4, 3))
    y[0, 0] = -100  # ignored
    mask = (rng.random((4, 3)) < 0.7) if with_mask else None
    loss, dz = cross_entropy(z, y, mask)
    f = lambda: cross_entropy(z, y, mask)[0]  # noqa: E731
    assert rel_error(dz, numeric_grad(f, z)) < 1e-8


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    loss, dz = cross_entropy(z, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    np.testing.assert_allclose(loss, np.log(2) / 2, rtol=1e-6)
    loss64, _ = cross_entropy(z.astype(np.float64), np.array([1, 0]))
    np.testing.assert_allclose(loss64, (2e4 + 2e4 + np.log(2)) / 2, rtol=1e-12)


@pytest.mark.parametrize("mask_shape", [None, "rows", "elements"])
def test_mse_gradient(mask_shape):
    rng = np.random.default_rng(3)
    p, t = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 3))
    mask = {None: None, "rows": rng.random((5, 2)) < 0.6, "elements": rng.random((5, 2, 3)) < 0.6}[mask_shape]
    loss, dp = mse(p, t, mask)
    f = lambda: mse(p, t, mask)[0]  # noqa: E731
    assert rel_error(dp, numeric_grad(f, p)) < 1e-8


def test_losses_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the optional test oracle")
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((6, 7)), rng.integers(0, 7, 6)
    tz = torch.tensor(z, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor(y))
    tl.backward()
    loss, dz = cross_entropy(z, y)
    np.testing.assert_allclose(loss, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-10, atol=1e-14)
    p, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    tp = torch.tensor(p, requires_grad=True)
    tl = torch.nn.functional.mse_loss(tp, torch.tensor(t))
    tl.backward()
    loss, dp = mse(p, t)
    np.testing.assert_allclose(loss, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(dp, tp.grad.numpy(), rtol=1e-10)


def test_loss_bad_input():
    with pytest.raises(ValueError, match=r"targets: expected shape \(3,\)"):
        cross_entropy(np.zeros((3, 4)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"targets: expected class ids in \[0, 4\)"):
        cross_entropy(np.zeros((3, 4)), np.array([0, 1, 4]))
    with pytest.raises(TypeError, match="targets: expected integer class ids"):
        cross_entropy(np.zeros((3, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="target: expected the shape of pred"):
        mse(np.zeros((3, 4)), np.zeros((4, 3)))
