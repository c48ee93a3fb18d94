"""Estimators take pandas and polars frames, Series and array-likes, with one-line refusals."""

import numpy as np
import pytest

from rnnkit.models import FeedForward, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger

pd = pytest.importorskip("pandas", reason="frames in: pandas is one of the two frame libraries")
pl = pytest.importorskip("polars", reason="frames in: polars is the other")

TEXTS = ["a good film", "dull and long", "good fun", "so dull", "a fine good story", "long and dull"] * 3
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 3


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_text_column_and_label_column(lib):
    frame = (pd.DataFrame if lib == "pandas" else pl.DataFrame)({"text": TEXTS, "label": LABELS})
    kw = dict(hidden_size=6, epochs=2, seed=0)
    from_frame = SequenceClassifier(**kw).fit(frame, "label")
    from_lists = SequenceClassifier(**kw).fit([t.split() for t in TEXTS], LABELS)
    test = [t.split() for t in ("good film", "dull story")]
    np.testing.assert_array_equal(from_frame.predict_proba(test), from_lists.predict_proba(test))
    np.testing.assert_array_equal(from_frame.predict(frame["text"]), from_lists.predict([t.split() for t in TEXTS]))
    assert from_frame.score(frame, "label") == from_lists.score([t.split() for t in TEXTS], LABELS)
    # a one-column frame and a Series of labels work the same
    twin = SequenceClassifier(**kw).fit(frame[["text"]], frame["label"])
    np.testing.assert_array_equal(twin.predict_proba(test), from_lists.predict_proba(test))


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_tagger_takes_a_column_of_token_lists(lib):
    words = [["the", "dog", "runs"], ["a", "cat"], ["dogs", "run"]] * 4
    tags = [["D", "N", "V"], ["D", "N"], ["N", "V"]] * 4
    frame = (pd.DataFrame if lib == "pandas" else pl.DataFrame)({"tokens": words, "tags": tags})
    kw = dict(hidden_size=5, epochs=2, seed=0)
    a = SequenceTagger(**kw).fit(frame, "tags")
    b = SequenceTagger(**kw).fit(words, tags)
    assert a.predict(frame["tokens"]) == b.predict(words)
    assert a.score(frame, "tags") == b.score(words, tags)


def test_array_likes_and_lists_of_them():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((int(rng.integers(2, 6)), 2)) for _ in range(16)]
    y = rng.normal(size=16)
    kw = dict(hidden_size=4, epochs=2, seed=0)
    a = SequenceRegressor(**kw).fit([pd.DataFrame(s) for s in seqs], pd.Series(y))
    b = SequenceRegressor(**kw).fit(seqs, y)
    np.testing.assert_array_equal(a.predict([pl.DataFrame(s) for s in seqs]), b.predict(seqs))
    X = rng.standard_normal((30, 3))
    t = X @ [1.0, -2.0, 0.5]
    ff = FeedForward(hidden_sizes=(8,), epochs=2, seed=0)
    a = ff.fit(pd.DataFrame(X, columns=["u", "v", "w"]), pl.Series(t)).predict(pl.DataFrame(X))
    np.testing.assert_array_equal(a, FeedForward(hidden_sizes=(8,), epochs=2, seed=0).fit(X, t).predict(X))


def test_seq2seq_series_of_strings():
    src = pd.Series(["ab", "ba", "abc", "cab"] * 4)
    model = Seq2Seq(hidden_size=6, epochs=1, seed=0).fit(src, src.str[::-1])
    assert model.predict(src[:2]) == model.predict(["ab", "ba"])


def test_frames_with_missing_columns_or_values_are_refused_in_one_line():
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS})
    with pytest.raises(ValueError, match=r"y: expected a column of X, got 'labels'; X has columns \['text', 'label'\]"):
        SequenceClassifier().fit(frame, "labels")
    holes = frame.copy()
    holes.loc[3, "text"] = None
    with pytest.raises(ValueError, match=r"X\['text'\]: 1 missing value\(s\) \(None/NaN\), first at row 3"):
        SequenceClassifier().fit(holes, "label")
    nums = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"missing values \(NaN\) in column\(s\) \['a'\], first at row 1"):
        FeedForward().fit(nums, [0, 1, 0])
    with pytest.raises(ValueError, match="y: 1 missing value"):
        FeedForward().fit(nums.fillna(0), pd.Series([1.0, None, 2.0]))
    mixed = pd.DataFrame({"text": ["a b", "c"], "n": [1, 2]})
    with pytest.raises(TypeError, match=r"expected a frame of numeric columns, or one text / token-list column"):
        SequenceClassifier().fit(mixed, [0, 1])
    with pytest.raises(TypeError, match=r"X: expected a list of sequences, a NumPy array, anything with to_numpy"):
        SequenceClassifier().fit({"text": TEXTS}, LABELS)
