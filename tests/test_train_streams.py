"""Streams through the Trainer: truncated BPTT on one long sequence, and on documents
of unknown length."""

import numpy as np

from rnnkit.nn import LSTM, Embedding, Linear
from rnnkit.nn.losses import cross_entropy
from rnnkit.nn.module import Module
from rnnkit.train import TrainConfig, Trainer
from rnnkit.train.bptt import TBPTT


class TinyLM(Module):
    def __init__(self, V=4, H=12):
        super().__init__()
        rng = np.random.default_rng(0)
        self.embed = self.add_module("embed", Embedding(V, 6, dtype="float64", rng=rng))
        self.rnn = self.add_module("rnn", LSTM(6, H, dtype="float64", rng=rng))
        self.head = self.add_module("head", Linear(H, V, dtype="float64", rng=rng))

    def init_state(self, B):
        return None

    def chunk_forward(self, x, y, state, loss_mask=None):
        e, ec = self.embed.forward(x)
        o, s, rc = self.rnn.forward(e, state)
        z, hc = self.head.forward(o)
        n = y.size if loss_mask is None else int(loss_mask.sum())
        if n == 0:
            return 0.0, 0, s, (ec, rc, hc, np.zeros_like(z))
        loss, dz = cross_entropy(z, y, mask=loss_mask)
        return loss * n, n, s, (ec, rc, hc, dz * n)

    def chunk_backward(self, cache, scale, dstate):
        ec, rc, hc, dz = cache
        de, ds = self.rnn.backward(self.head.backward(dz * scale, hc), dstate, rc)
        self.embed.backward(de, ec)
        return ds


def test_trainer_drives_truncated_bptt_on_a_stream():
    # a sequence whose next token needs memory beyond one chunk boundary: 0 1 2 3 2 1 0 1 2 3 ...
    period = np.array([0, 1, 2, 3, 2, 1])
    ids = np.tile(period, 120)
    tb = TBPTT(TinyLM(), 6, 12)
    cfg = TrainConfig(epochs=4, lr=0.02, clip_norm=5.0)
    hist = Trainer(tb, cfg).fit(lambda epoch, rng: tb.stream(ids, 8), val=lambda: tb.stream(ids[:240], 2))
    assert hist["val_loss"][-1] < 0.1 * hist["val_loss"][0]
    assert hist.num_steps == 4 * len(tb.stream(ids, 8))


def test_trainer_takes_a_stream_of_documents_of_unknown_length(capsys):
    rng = np.random.default_rng(4)
    docs = [np.tile([0, 1, 2, 3], int(n)) for n in rng.integers(2, 6, 12)]
    tb = TBPTT(TinyLM(), 5)
    hist = Trainer(tb, TrainConfig(epochs=2, lr=0.02, progress=True)).fit(
        lambda epoch, rng: tb.stream(iter(docs), 3), val=lambda: tb.stream(docs[:3], 1)
    )
    assert hist.num_steps > 0 and hist["val_loss"][1] < hist["val_loss"][0]
    err = capsys.readouterr().err
    assert "steps  loss" in err and "ETA" not in err
