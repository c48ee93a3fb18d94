"""Every gradient of the recurrent layers against float64 central differences."""

import itertools

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.nn import GRU, LSTM, RNN

CELLS = {
    "rnn_tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k),
    "rnn_relu": lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
    "lstm": LSTM,
    "gru": GRU,
}
CONFIGS = [
    (cell, layers, bidi, with_lengths, batch_first)
    for cell, layers, bidi, with_lengths in itertools.product(CELLS, (1, 2, 3), (False, True), (False, True))
    for batch_first in ((False, True) if layers == 2 else (layers == 3,))
]


def _problem(cell, layers, bidi, with_lengths, batch_first, seed=0, **kw):
    rng = np.random.default_rng(seed)
    T, B, I, H = 4, 3, 3, 3 if layers < 3 else 2
    layer = CELLS[cell](
        I,
        H,
        layers,
        batch_first=batch_first,
        bidirectional=bidi,
        dtype="float64",
        rng=np.random.default_rng(seed + 1),
        **kw,
    )
    D = 2 if bidi else 1
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    lengths = np.array([4, 2, 1]) if with_lengths else None
    shape = (layers * D, B, H)
    h0 = 0.5 * rng.standard_normal(shape)
    state = (h0, 0.5 * rng.standard_normal(shape)) if cell == "lstm" else h0
    out_shape = (B, T, D * H) if batch_first else (T, B, D * H)
    R = rng.standard_normal(out_shape)
    S = [rng.standard_normal(shape) for _ in range(2)]
    return layer, x, lengths, state, R, S


def _loss(layer, x, lengths, state, R, S, reseed=None):
    if reseed is not None:  # the same dropout masks on every call
        layer.rng = np.random.default_rng(reseed)
    out, st, _ = layer.forward(x, state, lengths)
    parts = st if isinstance(st, tuple) else (st,)
    return np.sum(out * R) + sum(np.sum(p * s) for p, s in zip(parts, S, strict=False))


def _analytic(layer, x, lengths, state, R, S, reseed=None):
    if reseed is not None:
        layer.rng = np.random.default_rng(reseed)
    layer.zero_grad()
    out, st, cache = layer.forward(x, state, lengths)
    dstate = (S[0], S[1]) if isinstance(st, tuple) else S[0]
    return layer.backward(R, dstate, cache)


def _check_all(layer, x, lengths, state, R, S, reseed=None, tol=1e-6):
    dx, dstate0 = _analytic(layer, x, lengths, state, R, S, reseed)
    f = lambda: _loss(layer, x, lengths, state, R, S, reseed)  # noqa: E731
    errors = {}
    for name, p in layer.parameters().items():
        errors[name] = rel_error(layer.grads[name], numeric_grad(f, p))
    errors["x"] = rel_error(dx, numeric_grad(f, x))
    states = state if isinstance(state, tuple) else (state,)
    dstates = dstate0 if isinstance(dstate0, tuple) else (dstate0,)
    for i, (s, ds) in enumerate(zip(states, dstates, strict=False)):
        errors[f"state[{i}]"] = rel_error(ds, numeric_grad(f, s))
    worst = max(errors, key=errors.get)
    assert errors[worst] < tol, f"worst relative error {errors[worst]:.2e} in {worst}: {errors}"
    return errors


@pytest.mark.parametrize("cell,layers,bidi,with_lengths,batch_first", CONFIGS)
def test_gradients_match_central_differences(cell, layers, bidi, with_lengths, batch_first):
    _check_all(*_problem(cell, layers, bidi, with_lengths, batch_first))


@pytest.mark.parametrize("cell", list(CELLS))
def test_gradients_without_bias(cell):
    _check_all(*_problem(cell, 2, True, True, False, bias=False))


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_gradients_with_fixed_dropout_masks(cell):
    """Dropout between layers and variational recurrent dropout, masks held fixed."""
    problem = _problem(cell, 2, True, True, False, dropout=0.3, recurrent_dropout=0.4)
    layer = problem[0]
    layer.train()
    _check_all(*problem, reseed=7)
    # the masks really were applied: the training output differs from evaluation
    x, lengths, state = problem[1], problem[2], problem[3]
    layer.rng = np.random.default_rng(7)
    out_train = layer.forward(x, state, lengths)[0]
    out_eval = layer.eval().forward(x, state, lengths)[0]
    assert not np.allclose(out_train, out_eval)


def test_gradients_accumulate_across_backward_calls():
    layer, x, lengths, state, R, S = _problem("lstm", 1, False, False, False)
    _analytic(layer, x, lengths, state, R, S)
    once = {k: v.copy() for k, v in layer.grads.items()}
    out, st, cache = layer.forward(x, state, lengths)
    layer.backward(R, (S[0], S[1]), cache)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k], rtol=1e-12)
    layer.zero_grad()
    assert all(not g.any() for g in layer.grads.values())
