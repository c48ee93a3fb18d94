"""Spelling features of the tagger (affixes, word shape): extraction, the network's
gradients (central differences in float64, and a PyTorch twin), fitting, save/load."""

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.models import SequenceTagger
from rnnkit.models._data import Batch, step_mask
from rnnkit.models.vocab import Vocab
from rnnkit.models.word_features import FeatureTaggerNet, WordFeatures, spelling_features, word_shape

T, B, H, V, A, NF, K = 5, 3, 3, 7, 9, 3, 4
LENGTHS = np.array([5, 2, 3])


# -- extraction ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "word, shape",
    [
        ("Apple", "Xx"),
        ("USA", "X"),
        ("1,000", "d,d"),
        ("e-mail", "x-x"),
        ("McDonald's", "XxXx'x"),
        (".", "."),
        ("Zürich", "Xx"),
    ],
)
def test_word_shape(word, shape):
    assert word_shape(word) == shape


def test_spelling_features_lowercase_affixes_and_keep_case_in_the_shape():
    assert spelling_features("Running", 3, True) == ["p1:r", "p2:ru", "p3:run", "s1:g", "s2:ng", "s3:ing", "shape:Xx"]
    # a word shorter than k contributes itself, so every word has F = 2 L (+1) features
    assert spelling_features("a", 2, False) == ["p1:a", "p2:a", "s1:a", "s2:a"]


def test_unseen_features_map_to_unk_and_rare_ones_too():
    feats = WordFeatures.build([["walking", "talking"], ["walked"]], affix_length=3, shape=False, min_freq=2)
    ids = feats.encode(["jumping", "zzz"])  # (2, 6)
    assert ids.shape == (2, 6)
    unk = Vocab.unk_id
    # "jumping": prefixes unseen -> UNK; suffixes -g, -ng, -ing seen twice -> known
    assert np.all(ids[0, :3] == unk) and np.all(ids[0, 3:] > unk)
    assert np.all(ids[1] == unk)
    # "walked"'s -ed suffixes were seen once: below min_freq, UNK as well
    assert np.all(feats.encode(["walked"])[0, 3:] == unk)
    assert feats.encode(["walked"])[0, 2] > unk  # "wal" is in two words


# -- the network's gradients --------------------------------------------------------------
def _feature_batch(rng):
    rows = [np.concatenate([rng.integers(1, V, (n, 1)), rng.integers(1, A, (n, NF))], axis=1) for n in LENGTHS]
    x = np.zeros((T, B, 1 + NF), np.int64)
    for b, r in enumerate(rows):
        x[: len(r), b] = r
    y = np.where(step_mask(LENGTHS, T), rng.integers(0, K, (T, B)), -100)
    return Batch(x, LENGTHS, y, step_mask(LENGTHS, T))


def _net(cell="lstm", bidirectional=True, seed=1):
    return FeatureTaggerNet(
        vocab_size=V,
        feature_vocab_size=A,
        n_features=NF,
        output_size=K,
        cell=cell,
        hidden_size=H,
        bidirectional=bidirectional,
        embedding_dim=2,
        feature_dim=3,
        dtype="float64",
        rng=np.random.default_rng(seed),
    )


@pytest.mark.parametrize("cell, bidirectional", [("lstm", True), ("gru", False)])
def test_feature_net_gradients_match_central_differences(cell, bidirectional):
    net = _net(cell, bidirectional)
    batch = _feature_batch(np.random.default_rng(0))
    net.zero_grad()
    net.loss_and_grad(batch)
    analytic = {n: g.copy() for n, g in net.grads.items()}
    assert set(analytic) >= {"embedding.weight", "features.weight", "head.weight"}

    def f():
        s, count = net.evaluate_batch(batch)
        return s / count

    for name, p in net.parameters().items():
        num = numeric_grad(f, p)
        assert rel_error(analytic[name], num) < 1e-6, (name, rel_error(analytic[name], num))
        if np.any(num):
            assert np.any(analytic[name]), name
    assert not np.any(analytic["features.weight"][0]), "PAD's feature row must get no gradient"


def test_feature_net_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for this test")
    net = _net()
    batch = _feature_batch(np.random.default_rng(2))
    net.zero_grad()
    loss = net.loss_and_grad(batch)

    sd = {k: torch.tensor(v, requires_grad=True) for k, v in net.state_dict().items()}
    lstm = torch.nn.LSTM(2 + 3, H, bidirectional=True, dtype=torch.float64)
    lstm.load_state_dict({k[4:]: v.detach() for k, v in sd.items() if k.startswith("rnn.")})
    logits = []
    for b in range(B):  # each row alone: no padding for PyTorch to handle
        ids = torch.tensor(batch.inputs[: LENGTHS[b], b])  # (n, 1 + F)
        x = torch.cat([sd["embedding.weight"][ids[:, 0]], sd["features.weight"][ids[:, 1:]].sum(1)], -1)
        out, _ = lstm(x[:, None])  # (n, 1, 2H)
        logits.append(out[:, 0] @ sd["head.weight"].T + sd["head.bias"])
    targets = torch.tensor(np.concatenate([batch.targets[:n, b] for b, n in enumerate(LENGTHS)]))
    tloss = torch.nn.functional.cross_entropy(torch.cat(logits), targets)
    tloss.backward()
    assert abs(loss - tloss.item()) < 1e-12
    grads = {k: v.grad for k, v in sd.items() if v.grad is not None}
    grads.update({"rnn." + n: p.grad for n, p in lstm.named_parameters()})
    for name, g in net.grads.items():
        assert rel_error(g, grads[name].numpy()) < 1e-10, name


def test_word_dropout_keeps_the_features():
    net = FeatureTaggerNet(
        vocab_size=V,
        feature_vocab_size=A,
        n_features=NF,
        output_size=K,
        hidden_size=H,
        embedding_dim=2,
        feature_dim=3,
        word_dropout=0.99,
        dtype="float64",
        rng=np.random.default_rng(3),
    )
    batch = _feature_batch(np.random.default_rng(4))
    net.zero_grad()
    net.loss_and_grad(batch)
    g = net.grads
    assert np.any(g["embedding.weight"][Vocab.unk_id])  # words became UNK...
    used = np.unique(batch.inputs[..., 1:][step_mask(LENGTHS, T)])
    assert np.all(np.any(g["features.weight"][used], axis=1))  # ...their features still learn


# -- the estimator ------------------------------------------------------------------------
def _suffix_data(seed, n):
    """Made-up stems; the tag is in the suffix alone (-ing VERB, -ly ADV, -ness NOUN)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("bcdfgkmprstvz"))
    tags = {"ing": "VERB", "ly": "ADV", "ness": "NOUN"}
    X, y = [], []
    for _ in range(n):
        suffixes = rng.choice(list(tags), size=rng.integers(2, 5))
        X.append(["".join(rng.choice(letters, 4)) + s for s in suffixes])
        y.append([tags[s] for s in suffixes])
    return X, y


def test_spelling_features_tag_unseen_words():
    X, y = _suffix_data(0, 150)
    Xt, yt = _suffix_data(1, 40)  # new stems: every test word is unseen
    assert not {w for s in Xt for w in s} & {w for s in X for w in s}
    kw = dict(hidden_size=8, embedding_dim=8, epochs=8, lr=0.02, batch_size=16, seed=0)
    plain = SequenceTagger(**kw).fit(X, y)
    rich = SequenceTagger(affix_length=3, feature_dim=8, **kw).fit(X, y)
    assert rich.score(Xt, yt) > 0.95
    assert plain.score(Xt, yt) < 0.6  # word ids alone: all UNK, no way to tell


def test_save_load_keeps_the_feature_vocabulary(tmp_path):
    X, y = _suffix_data(2, 30)
    tagger = SequenceTagger(
        hidden_size=4, embedding_dim=4, affix_length=2, word_shape=True, feature_dim=4, lowercase=True, epochs=1, seed=0
    ).fit(X, y)
    assert tagger.get_params()["affix_length"] == 2 and tagger.get_params()["word_shape"] is True
    Xt = [["Unseen", "qqqly", "x"]]
    loaded = SequenceTagger.load(tagger.save(tmp_path / "tagger.rnnkit"))
    assert loaded.features_.vocab == tagger.features_.vocab
    assert loaded.features_.n_features == 5
    for a, b in zip(tagger.predict_proba(Xt), loaded.predict_proba(Xt), strict=False):
        np.testing.assert_array_equal(a, b)
    # set_params after fit changes the next fit, not how the fitted model reads its inputs
    loaded.set_params(affix_length=0, word_shape=False)
    assert len(loaded.predict(Xt)[0]) == 3


def test_a_tagger_without_features_is_unchanged(tmp_path):
    X, y = _suffix_data(3, 10)
    tagger = SequenceTagger(hidden_size=4, embedding_dim=4, epochs=1, seed=0).fit(X, y)
    assert tagger.features_ is None and "features.weight" not in tagger.net_.parameters()
    loaded = SequenceTagger.load(tagger.save(tmp_path / "plain.rnnkit"))
    assert loaded.features_ is None and loaded.predict(X) == tagger.predict(X)


@pytest.mark.parametrize(
    "params, exc, words",
    [
        (dict(affix_length=-1), ValueError, "affix_length"),
        (dict(affix_length=1.5), TypeError, "affix_length"),
        (dict(word_shape="yes"), ValueError, "word_shape"),
        (dict(word_shape=True, feature_dim=0), ValueError, "feature_dim"),
    ],
)
def test_bad_feature_parameters(params, exc, words):
    with pytest.raises(exc, match=words):
        SequenceTagger(epochs=1, **params).fit([["a", "b"]], [["X", "Y"]])


def test_spelling_features_need_str_words():
    with pytest.raises(TypeError, match="str words"):
        SequenceTagger(affix_length=2, epochs=1).fit([[3, 4]], [["X", "Y"]])
