"""The layers against PyTorch in float64: outputs, states and every gradient, same weights."""

import numpy as np
import pytest

from rnnkit.nn import GRU, LSTM, RNN

torch = pytest.importorskip("torch", reason="PyTorch is the optional test oracle; install rnnkit[test]")


def _build(cell, I, H, L, bidi, batch_first, bias, seed):
    kw = dict(num_layers=L, bidirectional=bidi, batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(seed)
    if cell.startswith("rnn"):
        nl = cell.split("_")[1]
        ours = RNN(I, H, nonlinearity=nl, dtype="float64", rng=rng, **kw)
        theirs = torch.nn.RNN(I, H, nonlinearity=nl, dtype=torch.float64, **kw)
    else:
        ours = {"lstm": LSTM, "gru": GRU}[cell](I, H, dtype="float64", rng=rng, **kw)
        theirs = getattr(torch.nn, cell.upper())(I, H, dtype=torch.float64, **kw)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def _random_config(seed):
    r = np.random.default_rng(seed)
    cell = ["rnn_tanh", "rnn_relu", "lstm", "gru"][seed % 4]
    T, B = int(r.integers(1, 7)), int(r.integers(1, 5))
    I, H, L = int(r.integers(1, 6)), int(r.integers(1, 6)), int(r.integers(1, 4))
    bidi, batch_first = bool(r.integers(2)), bool(r.integers(2))
    bias = bool(r.integers(4))  # mostly with bias
    lengths = r.integers(1, T + 1, B) if r.integers(3) else None
    if lengths is not None:
        lengths[r.integers(B)] = T  # packed sequences pad to the longest row
    return cell, T, B, I, H, L, bidi, batch_first, bias, lengths


@pytest.mark.parametrize("seed", range(48))
def test_matches_pytorch(seed):
    cell, T, B, I, H, L, bidi, batch_first, bias, lengths = _random_config(seed)
    ours, theirs = _build(cell, I, H, L, bidi, batch_first, bias, seed)
    D = 2 if bidi else 1
    r = np.random.default_rng(1000 + seed)
    x = r.standard_normal((B, T, I) if batch_first else (T, B, I))
    sshape = (L * D, B, H)
    h0 = r.standard_normal(sshape)
    c0 = r.standard_normal(sshape)
    R = r.standard_normal((B, T, D * H) if batch_first else (T, B, D * H))
    Sh, Sc = r.standard_normal(sshape), r.standard_normal(sshape)
    lstm = cell == "lstm"

    # ours
    state = (h0, c0) if lstm else h0
    out, st, cache = ours.forward(x, state, lengths)
    dx, dst0 = ours.backward(R, (Sh, Sc) if lstm else Sh, cache)

    # theirs, through packed sequences when lengths are given
    tx = torch.tensor(x, requires_grad=True)
    th0, tc0 = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    tin = tx
    if lengths is not None:
        tin = torch.nn.utils.rnn.pack_padded_sequence(
            tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
        )
    tout, tst = theirs(tin, (th0, tc0) if lstm else th0)
    if lengths is not None:
        tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=batch_first, total_length=T)
    th, tc = tst if lstm else (tst, None)
    loss = (tout * torch.tensor(R)).sum() + (th * torch.tensor(Sh)).sum()
    if lstm:
        loss = loss + (tc * torch.tensor(Sc)).sum()
    loss.backward()

    def close(a, b, what):
        b = b.detach().numpy() if hasattr(b, "detach") else b
        scale = max(np.abs(b).max(), 1e-3) if b.size else 1.0
        err = np.abs(a - b).max() / scale if b.size else 0.0
        assert err < 1e-10, f"{what}: relative error {err:.2e} ({cell}, T={T} B={B} L={L} bidi={bidi})"

    close(out, tout, "output")
    close(st[0] if lstm else st, th, "h_n")
    if lstm:
        close(st[1], tc, "c_n")
        close(dst0[0], th0.grad, "dh0")
        close(dst0[1], tc0.grad, "dc0")
    else:
        close(dst0, th0.grad, "dh0")
    close(dx, tx.grad, "dx")
    for name, p in theirs.named_parameters():
        close(ours.grads[name], p.grad, f"grad {name}")


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_state_dict_moves_both_ways(cell):
    ours, theirs = _build(cell, 3, 4, 2, True, False, True, 0)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape)
    # torch -> ours
    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(0.5)
    ours.load_state_dict(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k], v.numpy())


def test_float32_matches_pytorch_float32():
    ours = LSTM(8, 16, 2, rng=np.random.default_rng(0))
    theirs = torch.nn.LSTM(8, 16, 2)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((20, 4, 8)).astype(np.float32)
    out, _, _ = ours.forward(x)
    np.testing.assert_allclose(out, theirs(torch.from_numpy(x))[0].detach().numpy(), atol=2e-6)
