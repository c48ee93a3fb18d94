"""The layer-normalized cells in PyTorch: the torch bridge's twins built from torch
primitives (``rnnkit.interop._torch_ln``) compute rnnkit's outputs and states to 1e-10 in
float64, both ways, for layers and for a whole network."""

import numpy as np
import pytest
from interop_util import assert_close

from rnnkit.interop import from_torch, to_torch
from rnnkit.models import CharLM, SequenceClassifier
from rnnkit.models._data import pad_inputs
from rnnkit.nn import Recurrent

torch = pytest.importorskip("torch", reason="the LN twins are checked in PyTorch itself")

LN_CELLS = ("ln_lstm", "ln_gru")
TWIN = {"ln_lstm": "LNLSTM", "ln_gru": "LNGRU"}


def _layer(cell, num_layers, bidirectional, batch_first, bias, seed=0):
    """An LN layer whose layer-norm gains and biases are not the ones and zeros they start as."""
    rng = np.random.default_rng(seed)
    layer = Recurrent(
        cell, 3, 4, num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional, dtype="float64"
    )
    for name, p in layer.parameters().items():
        if name.startswith("ln_"):
            p += 0.3 * rng.standard_normal(p.shape)
    return layer.eval()


def _states(s):
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("cell", LN_CELLS)
@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first,bias",
    [(1, False, False, True), (2, True, True, True), (2, False, True, False)],
)
def test_an_ln_layer_in_torch_matches_rnnkit_to_1e_10(cell, num_layers, bidirectional, batch_first, bias):
    layer = _layer(cell, num_layers, bidirectional, batch_first, bias)
    tm = to_torch(layer)
    assert type(tm).__name__ == TWIN[cell] and next(tm.parameters()).dtype == torch.float64
    assert set(tm.state_dict()) == set(layer.state_dict())
    rng = np.random.default_rng(1)
    B, T = 4, 6
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    D = 2 if bidirectional else 1
    h0 = [rng.standard_normal((num_layers * D, B, 4)) for _ in range(2 if cell == "ln_lstm" else 1)]
    init = tuple(h0) if cell == "ln_lstm" else h0[0]
    out, state, _ = layer.forward(x, init)
    with torch.no_grad():
        tinit = tuple(torch.from_numpy(h) for h in h0) if cell == "ln_lstm" else torch.from_numpy(h0[0])
        tout, tstate = tm(torch.from_numpy(x), tinit)
    assert_close(tout, out, 1e-10)
    for a, b in zip(_states(tstate), _states(state), strict=True):
        assert_close(a, b, 1e-10)


@pytest.mark.parametrize("cell", LN_CELLS)
def test_with_lengths_packed_sequences_match_and_come_back(cell):
    layer = _layer(cell, 2, True, True, True, seed=3)
    tm = to_torch(layer)
    rng = np.random.default_rng(2)
    x, lengths = rng.standard_normal((4, 7, 3)), np.array([7, 3, 1, 5])
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        tout, tstate = tm(packed)
    tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True, total_length=7)
    out, state, _ = layer.forward(x, lengths=lengths)
    assert_close(tout, out, 1e-10)
    for a, b in zip(_states(tstate), _states(state), strict=True):
        assert_close(a, b, 1e-10)
    back = from_torch(tm)  # and back: the same cell, parameters and outputs
    assert back.mode == layer.mode and back.bidirectional and back.num_layers == 2 and back.batch_first
    for name, p in layer.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[name], p)
    np.testing.assert_array_equal(back.eval().forward(x, lengths=lengths)[0], out)


def test_a_classifier_and_a_charlm_with_ln_cells_export_to_torch():
    rng = np.random.default_rng(2)
    X = [rng.standard_normal((int(rng.integers(1, 8)), 2)) for _ in range(20)]
    model = SequenceClassifier(
        cell="ln_lstm", hidden_size=5, num_layers=2, bidirectional=True, epochs=1, dtype="float64", seed=0
    ).fit(X, rng.choice([0, 1], 20))
    tm = to_torch(model)
    assert set(tm.state_dict()) == set(model.net_.state_dict())
    x, lengths = pad_inputs(model.input_kind_, X, np.float64)
    with torch.no_grad():
        got = tm(torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2))), torch.from_numpy(lengths))
    assert_close(got, model.decision_function(X), 1e-10)
    lm = CharLM(cell="ln_gru", hidden_size=6, num_layers=2, k1=8, batch_size=2, epochs=1, dtype="float64", seed=0)
    lm.fit("abcabd" * 10)
    tm = to_torch(lm)
    state, tstate = lm.net_.init_state(1), None
    for c in lm.vocab_.encode("abcab"):
        want, state = lm.net_.step(np.array([c]), state)
        with torch.no_grad():
            got, tstate = tm(torch.tensor([c]), tstate)
        assert_close(got, want, 1e-10)
