"""The models' own pieces (embedding, pooling, heads, masks, losses) against central
differences in float64, and the pooled classifier network against a PyTorch twin."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.models._data import Batch, pad_features, pad_ids, step_mask
from rnnkit.models.feedforward import MLPNet
from rnnkit.models.network import SequenceNet

T, B, F, H, V, K = 5, 3, 2, 3, 7, 4
LENGTHS = np.array([5, 2, 3])


def _feature_batch(rng, loss, per_step):
    seqs = [rng.standard_normal((n, F)) for n in LENGTHS]
    x, lengths = pad_features(seqs, np.float64)
    if loss == "ce":
        y = rng.integers(0, K, (T, B)) if per_step else rng.integers(0, K, B)
    else:
        y = rng.standard_normal((T, B, K)) if per_step else rng.standard_normal((B, K))
    return Batch(x, lengths, y, step_mask(lengths, T))


def _token_batch(rng, per_step):
    seqs = [rng.integers(2, V, n) for n in LENGTHS]  # 0 is PAD, 1 is UNK
    ids, lengths = pad_ids(seqs)
    y = rng.integers(0, K, (T, B)) if per_step else rng.integers(0, K, B)
    if per_step:
        y = np.where(step_mask(lengths, T), y, -100)  # what the tagger feeds: padding ignored
    return Batch(ids, lengths, y, step_mask(lengths, T))


def _check_net(net, batch, tol=1e-6):
    net.zero_grad()
    net.loss_and_grad(batch)
    analytic = {n: g.copy() for n, g in net.grads.items()}
    count = None

    def f():
        nonlocal count
        s, count = net.evaluate_batch(batch)
        return s / count

    for name, p in net.parameters().items():
        num = numeric_grad(f, p)
        assert rel_error(analytic[name], num) < tol, (name, rel_error(analytic[name], num))
        if np.any(num):
            assert np.any(analytic[name]), name


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "none"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_feature_net_gradients(pooling, bidirectional, loss):
    rng = np.random.default_rng(0)
    net = SequenceNet(
        kind="features",
        input_size=F,
        output_size=K,
        cell="gru",
        hidden_size=H,
        bidirectional=bidirectional,
        pooling=pooling,
        loss=loss,
        dtype="float64",
        rng=np.random.default_rng(1),
    )
    _check_net(net, _feature_batch(rng, loss, pooling == "none"))


@pytest.mark.parametrize("cell", ["lstm", "rnn_tanh"])
@pytest.mark.parametrize("pooling", ["last", "none"])
def test_token_net_gradients_reach_the_embedding(cell, pooling):
    rng = np.random.default_rng(2)
    layers = 2 if cell == "rnn_tanh" else 1  # stacking is the engine's; one cheap case of it here
    net = SequenceNet(
        kind="tokens",
        input_size=V,
        output_size=K,
        cell=cell,
        hidden_size=H,
        num_layers=layers,
        bidirectional=True,
        embedding_dim=3,
        pooling=pooling,
        loss="ce",
        dtype="float64",
        rng=np.random.default_rng(3),
    )
    _check_net(net, _token_batch(rng, pooling == "none"))
    assert not np.any(net.grads["embedding.weight"][0]), "PAD's embedding must get no gradient"


def test_padding_does_not_change_loss_or_gradients():
    """A row's loss and gradients are the same padded in a batch or alone."""
    rng = np.random.default_rng(4)
    net = SequenceNet(
        kind="features",
        input_size=F,
        output_size=K,
        cell="lstm",
        hidden_size=H,
        bidirectional=True,
        pooling="max",
        loss="mse",
        dtype="float64",
        rng=rng,
    )
    batch = _feature_batch(rng, "mse", False)
    net.zero_grad()
    net.loss_and_grad(batch)
    together = {n: g.copy() for n, g in net.grads.items()}
    alone = {n: np.zeros_like(g) for n, g in together.items()}
    for b in range(B):
        n = LENGTHS[b]
        one = Batch(batch.inputs[:n, b : b + 1], np.array([n]), batch.targets[b : b + 1])
        net.zero_grad()
        net.loss_and_grad(one)
        for k, g in net.grads.items():
            alone[k] += g / B  # the batch loss is the mean of the rows' losses
    for k in together:
        assert rel_error(together[k], alone[k]) < 1e-10, k


def test_word_dropout_trains_the_unk_embedding():
    rng = np.random.default_rng(5)
    net = SequenceNet(
        kind="tokens",
        input_size=V,
        output_size=K,
        hidden_size=H,
        embedding_dim=3,
        pooling="none",
        loss="ce",
        word_dropout=0.5,
        unk_id=1,
        dtype="float64",
        rng=rng,
    )
    batch = _token_batch(rng, True)
    assert not np.any(batch.inputs == 1)
    net.train()
    net.zero_grad()
    net.loss_and_grad(batch)
    assert np.any(net.grads["embedding.weight"][1])
    net.eval()  # no word dropout outside training
    net.zero_grad()
    net.loss_and_grad(batch)
    assert not np.any(net.grads["embedding.weight"][1])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_mlp_gradients(activation, loss):
    rng = np.random.default_rng(6)
    net = MLPNet(4, (5, 3), K, activation, loss, dtype="float64", rng=rng)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, K, 6) if loss == "ce" else rng.standard_normal((6, K))
    _check_net(net, (x, y))


def test_pooled_classifier_net_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for this test")
    rng = np.random.default_rng(7)
    net = SequenceNet(
        kind="features",
        input_size=F,
        output_size=K,
        cell="lstm",
        hidden_size=H,
        bidirectional=True,
        pooling="last",
        loss="ce",
        dtype="float64",
        rng=rng,
    )
    batch = _feature_batch(rng, "ce", False)
    for pooling in ("last", "mean", "max"):
        net.pooling = pooling
        net.zero_grad()
        loss = net.loss_and_grad(batch)

        lstm = torch.nn.LSTM(F, H, bidirectional=True, dtype=torch.float64)
        head = torch.nn.Linear(2 * H, K, dtype=torch.float64)
        sd = net.state_dict()
        lstm.load_state_dict({k[4:]: torch.tensor(v) for k, v in sd.items() if k.startswith("rnn.")})
        head.load_state_dict({k[5:]: torch.tensor(v) for k, v in sd.items() if k.startswith("head.")})
        pooled = []
        for b in range(B):  # each row alone: no padding for PyTorch to handle
            out, _ = lstm(torch.tensor(batch.inputs[: LENGTHS[b], b : b + 1]))  # (n, 1, 2H)
            out = out[:, 0]
            if pooling == "last":
                pooled.append(torch.cat([out[-1, :H], out[0, H:]]))
            elif pooling == "mean":
                pooled.append(out.mean(0))
            else:
                pooled.append(out.max(0).values)
        tloss = torch.nn.functional.cross_entropy(head(torch.stack(pooled)), torch.tensor(batch.targets))
        tloss.backward()
        assert abs(loss - tloss.item()) < 1e-12
        tgrads = {"rnn." + n: p.grad for n, p in lstm.named_parameters()}
        tgrads.update({"head." + n: p.grad for n, p in head.named_parameters()})
        for name, g in net.grads.items():
            assert rel_error(g, tgrads[name].numpy()) < 1e-10, (pooling, name)


def test_gradients_on_the_batches_the_estimators_build():
    """The estimators' own batching (padding, PAD ids, ignored tag positions) feeds a
    network whose loss_and_grad still matches central differences."""
    from rnnkit.models import SequenceClassifier, SequenceTagger

    X = [["a", "b", "c"], ["b"], ["c", "a"]]
    tagger = SequenceTagger(hidden_size=2, embedding_dim=2, epochs=1, dtype="float64", seed=0)
    tagger.fit(X, [["N", "V", "N"], ["V"], ["N", "N"]])
    inputs = tagger._encode_inputs(X, fit=False)
    targets = tagger._encode_targets([["N", "V", "N"], ["V"], ["N", "N"]], inputs, fit=False)
    batch = tagger._batch(inputs, np.arange(3), targets)
    assert (batch.targets == -100).sum() == 3 and batch.inputs.dtype == np.int64
    _check_net(tagger.net_, batch)

    clf = SequenceClassifier(hidden_size=2, embedding_dim=2, pooling="mean", epochs=1, dtype="float64", seed=0)
    clf.fit(X, ["x", "y", "x"])
    inputs = clf._encode_inputs(X, fit=False)
    _check_net(clf.net_, clf._batch(inputs, np.arange(3), clf._encode_targets(["x", "y", "x"], inputs, fit=False)))
