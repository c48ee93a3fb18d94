"""Bad input is refused with an error naming the argument, the expected and the received,
and nothing is modified when a call is refused."""

import numpy as np
import pytest

from rnnkit.nn import GRU, LSTM, RNN, Embedding, Linear


def _lstm(**kw):
    return LSTM(3, 4, 2, dtype="float64", rng=np.random.default_rng(0), **kw)


@pytest.mark.parametrize(
    "x,match",
    [
        (np.zeros((5, 3)), r"x: expected a 3-D array, got shape \(5, 3\)"),
        (np.zeros((5, 2, 4)), r"x: expected 3 features .* got shape \(5, 2, 4\)"),
        (np.full((5, 2, 3), np.nan), r"x: contains NaN or inf"),
        (np.array([[[1.0, np.inf, 0.0]]]), r"x: contains NaN or inf \(first at index \(0, 0, 1\)\)"),
        (np.zeros((0, 2, 3)), r"x: expected at least one time step"),
        (np.array([["a", "b", "c"]]), r"x: expected a numeric array"),
    ],
)
def test_bad_input_tensor(x, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _lstm().forward(x)


@pytest.mark.parametrize(
    "state,err,match",
    [
        (np.zeros((2, 2, 4)), TypeError, r"state: expected a tuple \(h, c\)"),
        ((np.zeros((2, 2, 4)), np.zeros((1, 2, 4))), ValueError, r"state\[1\]: expected shape \(2, 2, 4\)"),
        ((np.zeros((2, 3, 4)), np.zeros((2, 3, 4))), ValueError, r"state\[0\]: expected shape \(2, 2, 4\)"),
    ],
)
def test_bad_state(state, err, match):
    with pytest.raises(err, match=match):
        _lstm().forward(np.zeros((5, 2, 3)), state)


def test_bad_state_for_gru():
    layer = GRU(3, 4)
    with pytest.raises(TypeError, match="state: expected one array h"):
        layer.forward(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 2, 4))))


@pytest.mark.parametrize(
    "lengths,err,match",
    [
        ([5], ValueError, r"lengths: expected one length per batch row, shape \(2,\), got shape \(1,\)"),
        ([5, 0], ValueError, r"lengths: expected every length in \[1, 5\]"),
        ([5, 6], ValueError, r"lengths: expected every length in \[1, 5\]"),
        ([2.5, 3], TypeError, r"lengths: expected integers"),
    ],
)
def test_bad_lengths(lengths, err, match):
    with pytest.raises(err, match=match):
        _lstm().forward(np.zeros((5, 2, 3)), lengths=lengths)


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        (dict(input_size=0, hidden_size=3), ValueError, "input_size: expected an int >= 1, got 0"),
        (dict(input_size=2.0, hidden_size=3), TypeError, "input_size: expected an int"),
        (dict(input_size=2, hidden_size=3, num_layers=0), ValueError, "num_layers"),
        (dict(input_size=2, hidden_size=3, dropout=1.0), ValueError, r"dropout: expected a float in \[0, 1\)"),
        (
            dict(input_size=2, hidden_size=3, nonlinearity="sigmoid"),
            ValueError,
            "nonlinearity: expected 'tanh' or 'relu'",
        ),
        (dict(input_size=2, hidden_size=3, dtype="float16"), TypeError, "dtype: expected float32 or float64"),
        (dict(input_size=2, hidden_size=3, rng=0), TypeError, "rng: expected a numpy.random.Generator"),
    ],
)
def test_bad_constructor_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        RNN(**kwargs)


def test_bad_backward_arguments():
    layer = _lstm()
    out, _, cache = layer.forward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"dout: expected shape \(5, 2, 4\)"):
        layer.backward(np.zeros((5, 2, 5)), None, cache)
    with pytest.raises(TypeError, match="cache: expected the cache returned by this layer"):
        layer.backward(out, None, {"not": "a cache"})
    other = _lstm()
    with pytest.raises(TypeError, match="cache: expected the cache returned by this layer"):
        other.backward(out, None, cache)
    with pytest.raises(TypeError, match=r"dstate: expected a tuple \(h, c\)"):
        layer.backward(out, np.zeros((2, 2, 4)), cache)
    assert all(not g.any() for g in layer.grads.values()), "a refused backward accumulates nothing"


def test_bad_state_dict_changes_nothing():
    layer = _lstm()
    before = layer.state_dict()
    good = {k: v + 1 for k, v in before.items()}
    missing = dict(good)
    missing.pop("bias_hh_l1")
    with pytest.raises(ValueError, match=r"missing \['bias_hh_l1'\]"):
        layer.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"unexpected \['weight_xx'\]"):
        layer.load_state_dict({**good, "weight_xx": np.zeros(3)})
    bad_shape = {**good, "weight_hh_l1": np.zeros((16, 5))}
    with pytest.raises(ValueError, match=r"state\['weight_hh_l1'\]: expected shape \(16, 4\), got \(16, 5\)"):
        layer.load_state_dict(bad_shape)
    nan = {**good, "bias_ih_l0": np.full(16, np.nan)}
    with pytest.raises(ValueError, match=r"state\['bias_ih_l0'\]: contains NaN"):
        layer.load_state_dict(nan)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    layer.load_state_dict(good)
    np.testing.assert_array_equal(layer.state_dict()["weight_ih_l0"], good["weight_ih_l0"])


def test_step_bad_input():
    layer = _lstm()
    with pytest.raises(ValueError, match=r"x_t: expected a 2-D array"):
        layer.step(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"x_t: expected 3 features"):
        layer.step(np.zeros((2, 5)))


def test_linear_and_embedding_bad_input():
    lin = Linear(3, 2)
    with pytest.raises(ValueError, match=r"x: expected 3 features in the last axis, got shape \(4, 5\)"):
        lin.forward(np.zeros((4, 5)))
    emb = Embedding(10, 4)
    with pytest.raises(ValueError, match=r"ids: expected ids in \[0, 10\), got min 0 and max 10"):
        emb.forward([0, 10])
    with pytest.raises(TypeError, match="ids: expected integer token ids"):
        emb.forward([0.5])


def test_input_is_not_modified():
    layer = _lstm(batch_first=True)
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    keep = x.copy()
    out, st, cache = layer.forward(x, lengths=[5, 3])
    layer.backward(np.ones_like(out), None, cache)
    np.testing.assert_array_equal(x, keep)
