"""Each model learns a trivially learnable task in a second or two; the tagger's unknown
words and CoNLL-U input. (Forecasting: tests/test_forecast_*.py.)"""

import numpy as np
import pytest

from rnnkit.data import tagged_sentences, write_conllu
from rnnkit.models import (
    FeedForward,
    SequenceClassifier,
    SequenceRegressor,
    SequenceTagger,
    conllu_xy,
)


def _contains_x(n, seed):
    rng = np.random.default_rng(seed)
    X = [[str(c) for c in rng.choice(list("abcx"), rng.integers(2, 8))] for _ in range(n)]
    return X, ["yes" if "x" in s else "no" for s in X]


# -- many-to-one ------------------------------------------------------------------------------
@pytest.mark.parametrize("pooling, bidirectional", [("last", True), ("max", False)])
def test_classifier_learns_whether_a_token_occurs(pooling, bidirectional):
    X, y = _contains_x(240, 0)
    Xt, yt = _contains_x(100, 1)
    clf = SequenceClassifier(
        hidden_size=12, embedding_dim=8, pooling=pooling, bidirectional=bidirectional, epochs=6, lr=0.01, seed=0
    ).fit(X, y)
    loss = clf.history_["loss"]
    assert loss[-1] < 0.3 * loss[0]
    assert clf.score(Xt, yt) >= 0.95


def test_classifier_is_deterministic_given_the_seed():
    X, y = _contains_x(40, 0)
    a = SequenceClassifier(hidden_size=4, epochs=2, seed=3).fit(X, y).predict_proba(X)
    b = SequenceClassifier(hidden_size=4, epochs=2, seed=3).fit(X, y).predict_proba(X)
    c = SequenceClassifier(hidden_size=4, epochs=2, seed=4).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_regressor_learns_a_sum_over_variable_length_sequences():
    rng = np.random.default_rng(0)
    X = [rng.uniform(-1, 1, (rng.integers(2, 8), 2)) for _ in range(240)]
    y = np.array([s[:, 0].sum() for s in X])
    reg = SequenceRegressor(cell="gru", hidden_size=12, epochs=12, lr=0.01, seed=0)
    reg.fit(X[:200], y[:200], validation_data=(X[200:], y[200:]))
    assert len(reg.history_["val_loss"]) == 12
    assert reg.score(X[200:], y[200:]) > 0.9
    assert reg.predict(X[:3]).shape == (3,)


def test_per_step_regressor_learns_the_running_sum():
    from rnnkit.data import running_sum

    X, Y = running_sum(200, 8, seed=0)
    lengths = np.random.default_rng(1).integers(3, 9, 200)
    Xs = [x[:n] for x, n in zip(X, lengths, strict=False)]
    Ys = [t[:n, 0] for t, n in zip(Y, lengths, strict=False)]
    reg = SequenceRegressor(cell="rnn_tanh", hidden_size=8, pooling="none", epochs=20, lr=0.02, seed=0).fit(Xs, Ys)
    pred = reg.predict(Xs[:5])
    assert [p.shape for p in pred] == [(n,) for n in lengths[:5]]
    assert reg.score(Xs, Ys) > 0.95
    with pytest.raises(ValueError, match=r"y\[0\]: expected shape \(3,\) or \(3, K\) to align with X\[0\]"):
        SequenceRegressor(pooling="none", epochs=1).fit([np.zeros((3, 1))], [np.zeros(4)])


# -- many-to-many aligned ---------------------------------------------------------------------
def test_tagger_learns_tags_and_handles_unknown_words(tmp_path):
    sentences = tagged_sentences(260, seed=0)
    X = [[w for w, _ in s] for s in sentences]
    Y = [[t for _, t in s] for s in sentences]
    tagger = SequenceTagger(hidden_size=16, embedding_dim=12, word_dropout=0.1, epochs=12, lr=0.02, seed=0).fit(
        X[:200], Y[:200]
    )
    loss = tagger.history_["loss"]
    assert loss[-1] < 0.3 * loss[0]
    assert tagger.score(X[200:], Y[200:]) > 0.9
    pred = tagger.predict([X[0] + ["qwertyuiop"]])  # an unseen word: UNK, still tagged
    assert len(pred[0]) == len(X[0]) + 1 and pred[0][-1] in tagger.classes_
    probs = tagger.predict_proba(X[:2])
    assert [p.shape for p in probs] == [(len(x), len(tagger.classes_)) for x in X[:2]]

    path = tmp_path / "tiny.conllu"
    write_conllu(path, sentences[:30])
    Xc, Yc = conllu_xy(path)
    assert Xc == X[:30] and Yc == Y[:30]
    fitted = SequenceTagger(hidden_size=4, epochs=1, seed=0).fit_conllu(path, validation_path=path)
    assert set(fitted.classes_) == {t for s in Y[:30] for t in s}
    assert len(fitted.history_["val_loss"]) == 1


def test_tagger_lowercasing_and_errors():
    X, Y = [["The", "dog"], ["the", "cat"]], [["DET", "NOUN"], ["DET", "NOUN"]]
    tagger = SequenceTagger(hidden_size=4, epochs=1, lowercase=True, seed=0).fit(X, Y)
    assert "The" not in tagger.vocab_ and "the" in tagger.vocab_
    with pytest.raises(ValueError, match=r"y\[1\]: expected 2 tags, one per token of X\[1\]"):
        SequenceTagger(epochs=1).fit(X, [["DET", "NOUN"], ["DET"]])
    with pytest.raises(TypeError, match="expected token sequences"):
        SequenceTagger(epochs=1).fit([np.zeros((2, 1))], [["A", "B"]])
    with pytest.raises(ValueError, match=r"validation_data\[1\]\[0\]: expected tags among classes_ .* got 'X'"):
        tagger.fit(X, Y, validation_data=(X, [["DET", "X"], ["DET", "NOUN"]]))


# -- one-to-one -------------------------------------------------------------------------------
def test_feedforward_classifies_vectors_and_regresses_on_windows():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, "same", "differ")  # XOR of signs
    mlp = FeedForward(hidden_sizes=(16,), epochs=30, lr=0.02, seed=0).fit(X[:200], y[:200])
    assert mlp.task_ == "classification" and mlp.score(X[200:], y[200:]) > 0.9
    assert mlp.predict_proba(X[:3]).shape == (3, 2)
    with pytest.raises(ValueError, match="X: X has 3 features, but FeedForward is expecting 2 features"):
        mlp.predict(np.zeros((1, 3)))

    seqs = [rng.uniform(-1, 1, (n, 1)) for n in rng.integers(2, 6, 300)]
    target = np.array([s[-1, 0] - s[-2, 0] for s in seqs])  # needs the last 2 steps only
    reg = FeedForward(hidden_sizes=(16,), window=2, epochs=30, lr=0.02, seed=0).fit(seqs[:200], target[:200])
    assert reg.task_ == "regression" and reg.score(seqs[200:], target[200:]) > 0.9
    with pytest.raises(AttributeError, match="predict_proba: a FeedForward fitted for regression has no"):
        reg.predict_proba(seqs[:1])
    with pytest.raises(TypeError, match="FeedForward takes numeric inputs, got token sequences"):
        FeedForward(epochs=1).fit([["a", "b"]], ["x"])
