"""safetensors under PyTorch's names: torch's own loader reads what rnnkit writes."""

import numpy as np
import pytest
from interop_util import assert_close

import rnnkit
from rnnkit.interop import load_safetensors, save_safetensors, to_torch
from rnnkit.models import NotFittedError, SequenceClassifier

torch = pytest.importorskip("torch", reason="the file is read back by PyTorch itself")
st_torch = pytest.importorskip("safetensors.torch", reason="safetensors is the format under test")


def close(a, b, tol=1e-10):
    assert_close(a, b, tol)


@pytest.mark.parametrize("mode,kw", [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "relu"})])
def test_torch_loads_the_file_into_its_own_module(mode, kw, tmp_path):
    rng = np.random.default_rng(0)
    layer = getattr(rnnkit.nn, mode)(3, 4, num_layers=2, bidirectional=True, dtype="float64", rng=rng, **kw)
    path = save_safetensors(layer, tmp_path / "w.safetensors")
    tm = getattr(torch.nn, mode)(
        3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, **({"nonlinearity": "relu"} if kw else {})
    )
    tm.load_state_dict(st_torch.load_file(str(path)))  # strict: every key, every shape
    x = rng.standard_normal((5, 2, 3))
    out, _, _ = layer.eval().forward(x)
    with torch.no_grad():
        close(tm(torch.from_numpy(x))[0], out)
    # and back into a fresh rnnkit layer
    fresh = getattr(rnnkit.nn, mode)(
        3, 4, num_layers=2, bidirectional=True, dtype="float64", rng=np.random.default_rng(9), **kw
    )
    load_safetensors(path, into=fresh)
    np.testing.assert_array_equal(fresh.eval().forward(x)[0], out)


def test_model_network_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    X = [rng.standard_normal((int(rng.integers(1, 6)), 2)) for _ in range(12)]
    model = SequenceClassifier(hidden_size=4, epochs=1, dtype="float64", seed=0).fit(X, rng.choice([0, 1], 12))
    path = save_safetensors(model, tmp_path / "m.safetensors")
    tm = to_torch(model)
    for p in tm.parameters():
        torch.nn.init.zeros_(p)
    tm.load_state_dict(st_torch.load_file(str(path)))
    x, lengths = np.zeros((12, 5, 2)), np.array([len(s) for s in X])
    for i, s in enumerate(X):
        x[i, : len(s)] = s
    with torch.no_grad():
        close(tm(torch.from_numpy(x), torch.from_numpy(lengths)), model.decision_function(X))
    assert set(load_safetensors(path)) == set(model.net_.state_dict())


def test_refusals(tmp_path):
    with pytest.raises(NotFittedError, match="unfitted SequenceClassifier"):
        save_safetensors(SequenceClassifier(), tmp_path / "m.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_safetensors(rnnkit.nn.GRU(1, 1, rng=np.random.default_rng(0)), tmp_path / "no" / "m.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_safetensors(bad)
    layer = rnnkit.nn.GRU(2, 3, rng=np.random.default_rng(0))
    path = save_safetensors(layer, tmp_path / "g.safetensors")
    with pytest.raises(ValueError, match="keys do not match"):
        load_safetensors(path, into=rnnkit.nn.LSTM(2, 3, num_layers=2, rng=np.random.default_rng(0)))
