"""Target transforms and scalers are undone exactly (float64, 1e-12), and the forecast
losses' gradients match central differences."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.forecast.net import ForecastNet, gaussian_nll, pinball_loss, squared_error
from rnnkit.forecast.scaling import (
    SCALINGS,
    SeriesScaler,
    global_stats,
    parse_transform,
    seasonal_indices,
    transform_forward,
    transform_inverse,
    window_stats,
)

TRANSFORMS = [
    (),
    ("log",),
    ("diff",),
    ("seasonal_diff",),
    ("log", "diff"),
    ("log", "seasonal_diff"),
    ("seasonal_diff", "diff"),
    ("log", "seasonal_diff", "diff"),
]


def _positive_series(T=90, F=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None]
    return 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 7 + np.arange(F)) + rng.standard_normal((T, F))


@pytest.mark.parametrize("parts", TRANSFORMS)
def test_transforms_invert_exactly_on_the_future(parts):
    """Transform the whole series, keep the last h transformed values as 'forecasts', and
    invert them from the history alone: the original future comes back."""
    x = _positive_series()
    m, t, h = 7, 70, 20  # h > m: seasonal inversion reads its own output
    _, y_full = transform_forward(x, parts, m)
    stages, y_hist = transform_forward(x[:t], parts, m)
    future_y = y_full[len(y_hist) : len(y_hist) + h]
    back = transform_inverse(future_y, stages, parts, m)
    assert np.max(np.abs(back - x[t : t + h])) < 1e-12 * np.abs(x).max()
    # leading axes (quantiles, samples) invert alike
    stacked = transform_inverse(np.stack([future_y, future_y]), stages, parts, m)
    assert np.allclose(stacked[1], x[t : t + h], rtol=0, atol=1e-12 * np.abs(x).max())


@pytest.mark.parametrize(
    "parts", [("deseason",), ("deseason", "diff"), ("log", "deseason", "diff"), ("deseason", "seasonal_diff")]
)
@pytest.mark.parametrize("m", [7, 12])
def test_deseason_inverts_exactly_with_the_history_indices(parts, m):
    """deseason's indices come from the history alone (phase counted on past its end).
    Forecasts inverted from the history, joined to it and taken forward again through the
    same steps with the history's indices give the forecasts back exactly."""
    x = _positive_series(T=70)
    h = 20  # h > m: the indices wrap around
    stages, y_hist = transform_forward(x, parts, m)
    k = parts.index("deseason")
    s = seasonal_indices(stages[k], m)
    y_hat = y_hist[-1:] + np.linspace(0.0, 1.0, h)[:, None]  # any forecasts
    back = transform_inverse(y_hat, stages, parts, m)
    _, pre = transform_forward(np.concatenate([x, back]), parts[:k], m)
    _, y_again = transform_forward(pre - s[np.arange(len(pre)) % m], parts[k + 1 :], m)
    assert np.max(np.abs(y_again[-h:] - y_hat)) < 1e-10 * np.abs(y_hat).max()


def test_seasonal_indices_recover_an_exact_season():
    t = np.arange(96)[:, None]
    season = np.array([3.0, -1.0, 0.5, -2.5])  # sums to 0
    x = 10 + 0.2 * t + season[t[:, 0] % 4][:, None]
    assert np.allclose(seasonal_indices(x, 4), season[:, None], atol=1e-12)
    x12 = np.tile(np.arange(12.0) - 5.5, 8)[:, None] + 0.1 * np.arange(96)[:, None]
    assert np.allclose(seasonal_indices(x12, 12)[:, 0], np.arange(12.0) - 5.5, atol=1e-12)


def test_deseason_needs_a_period_and_two_seasons():
    with pytest.raises(ValueError, match="'deseason' needs period"):
        parse_transform("deseason", None)
    with pytest.raises(ValueError, match=r"at least 2 seasons of history \(24 steps\), got 20"):
        transform_forward(np.ones((20, 1)), ("deseason",), 12)


@pytest.mark.parametrize("scaling", SCALINGS)
@pytest.mark.parametrize("parts", [(), ("log", "seasonal_diff")])
def test_series_scaler_round_trip(scaling, parts):
    x = _positive_series()
    t, h, m = 70, 15, 7
    g = global_stats([transform_forward(x, parts, m)[1]])
    sc = SeriesScaler(parts, scaling, m, g)
    z_hist = sc.prepare(x[:t])
    _, y_full = transform_forward(x, parts, m)
    z_future = (y_full[len(z_hist) : len(z_hist) + h] - sc.loc) / sc.scale
    back = sc.invert(z_future)
    assert np.max(np.abs(back - x[t : t + h])) < 1e-12 * np.abs(x).max()
    assert np.all(sc.scale > 0)


@pytest.mark.parametrize("scaling", SCALINGS)
def test_window_stats_round_trip(scaling):
    win = np.random.default_rng(3).standard_normal((5, 12, 2)) * 4 + 9
    a, b = window_stats(win, scaling)
    assert a.shape == b.shape == (5, 1, 2) and np.all(b > 0)
    assert np.max(np.abs(((win - a) / b) * b + a - win)) < 1e-12 * np.abs(win).max()


def test_constant_series_scale_falls_back_to_one():
    sc = SeriesScaler((), "series", None, None)
    z = sc.prepare(np.full((20, 1), 3.0))
    assert np.all(sc.scale == 1.0) and np.allclose(z, 0.0)


# -- losses ---------------------------------------------------------------------------------
def _check_loss(fn, pred, *args):
    loss, grad = fn(pred, *args)
    num = numeric_grad(lambda: fn(pred, *args)[0], pred)
    assert rel_error(grad, num) < 1e-7, rel_error(grad, num)
    return loss


def test_pinball_loss_and_gradient():
    rng = np.random.default_rng(0)
    q = np.array([0.1, 0.5, 0.9])
    pred = rng.standard_normal((4, 3, 2, 3))
    target = rng.standard_normal((4, 3, 2))
    loss = _check_loss(pinball_loss, pred, target, q)
    diff = target[..., None] - pred
    by_hand = np.mean(np.sum(np.where(diff > 0, q * diff, (q - 1) * diff), axis=-1))
    assert np.isclose(loss, by_hand, rtol=1e-14)


def test_gaussian_nll_and_gradient():
    rng = np.random.default_rng(1)
    pred = rng.standard_normal((4, 3, 2, 2))
    target = rng.standard_normal((4, 3, 2))
    loss = _check_loss(gaussian_nll, pred, target)
    sigma = np.log1p(np.exp(pred[..., 1])) + 1e-3
    by_hand = np.mean(0.5 * np.log(2 * np.pi * sigma**2) + (target - pred[..., 0]) ** 2 / (2 * sigma**2))
    assert np.isclose(loss, by_hand, rtol=1e-12)


def test_squared_error_and_gradient():
    rng = np.random.default_rng(2)
    _check_loss(squared_error, rng.standard_normal((5, 2, 1, 1)), rng.standard_normal((5, 2, 1)))


@pytest.mark.parametrize("loss", ["mse", "quantile", "gaussian"])
def test_forecast_net_gradients_match_central_differences(loss):
    from rnnkit.models._data import Batch

    rng = np.random.default_rng(4)
    net = ForecastNet(
        input_size=3, steps=2, features=2, loss=loss, quantiles=(0.2, 0.5, 0.8), hidden_size=5, dtype="float64", rng=rng
    )
    x = rng.standard_normal((6, 4, 3))
    batch = Batch(x, np.full(4, 6), rng.standard_normal((4, 2, 2)))
    net.zero_grad()
    net.loss_and_grad(batch)
    for name, param, grad in net.named_parameters():
        num = numeric_grad(lambda: net.evaluate_batch(batch)[0] / 4, param)
        assert rel_error(grad, num) < 1e-6, (name, rel_error(grad, num))


def test_ensemble_members_learn_from_their_own_loss_and_forecasts_are_their_mean():
    from rnnkit.forecast import Forecaster
    from rnnkit.forecast.net import ForecastEnsemble
    from rnnkit.models._data import Batch

    rng = np.random.default_rng(5)
    members = [
        ForecastNet(input_size=2, steps=1, features=1, loss="gaussian", hidden_size=3, dtype="float64", rng=rng)
        for _ in range(3)
    ]
    for m in members:  # away from the zero head, so every gradient is alive
        for p in m.parameters().values():
            p[...] = rng.standard_normal(p.shape) * 0.5
    ens = ForecastEnsemble(members)
    batch = Batch(rng.standard_normal((4, 5, 2)), np.full(5, 4), rng.standard_normal((5, 1, 1)))
    ens.zero_grad()
    ens.loss_and_grad(batch)
    for name, param, grad in ens.named_parameters():
        num = numeric_grad(lambda: ens.evaluate_batch(batch)[0] / 5, param)
        assert rel_error(grad, num) < 1e-6, name
    x = np.sin(np.arange(80) / 3)
    fc = Forecaster(window=6, ensemble=3, hidden_size=4, epochs=2, seed=0, dtype="float64").fit(x)
    single = []
    for j in range(3):
        one = Forecaster(window=6, hidden_size=4, epochs=1, seed=0, dtype="float64").fit(x)
        one.net_ = fc.net_.members[j]
        single.append(one.predict(x, 4))
    assert np.allclose(fc.predict(x, 1), np.mean([s[:1] for s in single], axis=0), atol=1e-12)


def test_losses_match_pytorch():
    torch = pytest.importorskip("torch", reason="the PyTorch twin needs torch")
    rng = np.random.default_rng(6)
    pred = rng.standard_normal((5, 3, 2))
    target = rng.standard_normal((5, 3))
    p = torch.tensor(pred, requires_grad=True)
    sigma = torch.nn.functional.softplus(p[..., 1]) + 1e-3
    nll = -torch.distributions.Normal(p[..., 0], sigma).log_prob(torch.tensor(target)).mean()
    nll.backward()
    loss, grad = gaussian_nll(pred, target)
    assert np.isclose(loss, nll.item(), rtol=1e-12) and np.allclose(grad, p.grad.numpy(), rtol=1e-10)
    q = np.array([0.1, 0.5, 0.9])
    pq = torch.tensor(rng.standard_normal((5, 3, 3)), requires_grad=True)
    diff = torch.tensor(target)[..., None] - pq
    tq = torch.tensor(q)
    pin = torch.maximum(tq * diff, (tq - 1) * diff).sum(-1).mean()
    pin.backward()
    loss, grad = pinball_loss(pq.detach().numpy(), target, q)
    assert np.isclose(loss, pin.item(), rtol=1e-12) and np.allclose(grad, pq.grad.numpy(), rtol=1e-10)
