"""The estimator contract: parameters, cloning, fitted attributes, save/load, bad input."""

import json

import numpy as np
import pytest

from rnnkit.forecast import Forecaster
from rnnkit.models import (
    FeedForward,
    NotFittedError,
    SequenceClassifier,
    SequenceRegressor,
    SequenceTagger,
    Vocab,
    load_model,
)
from rnnkit.models._data import as_sequences, batch_indices
from rnnkit.train.checkpoint import CheckpointError

FAST = {"hidden_size": 4, "epochs": 1, "batch_size": 8, "seed": 0}
ESTIMATORS = [SequenceClassifier, SequenceRegressor, SequenceTagger, Forecaster, FeedForward]


def _tokens(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = [[str(w) for w in rng.choice(list("abcd"), rng.integers(1, 6))] for _ in range(n)]
    return X, ["pos" if "a" in s else "neg" for s in X]


def _floats(n=12, F=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((rng.integers(1, 6), F)) for _ in range(n)]


# -- parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_init_stores_params_and_get_set_round_trip(cls):
    model = cls()
    params = model.get_params()
    assert params and all(getattr(model, k) is v for k, v in params.items())
    twin = type(model)(**model.get_params(deep=False))  # what sklearn.base.clone does
    assert twin.get_params() == params
    assert model.set_params(lr=0.5) is model and model.lr == 0.5
    with pytest.raises(ValueError, match=r"bogus: not a parameter of .*valid parameters: \["):
        model.set_params(bogus=1)


def test_repr_shows_only_changed_params():
    assert repr(SequenceClassifier(hidden_size=7)) == "SequenceClassifier(hidden_size=7)"


def test_bad_hyper_parameters_are_refused_at_fit_listing_the_choices():
    X, y = _tokens()
    with pytest.raises(
        ValueError,
        match=r"cell: expected one of \['lstm', 'gru', 'rnn_tanh', 'rnn_relu', 'ln_lstm', 'ln_gru'\], got 'lsmt'",
    ):
        SequenceClassifier(cell="lsmt").fit(X, y)
    with pytest.raises(ValueError, match="pooling: expected one of"):
        SequenceClassifier(pooling="sum").fit(X, y)
    with pytest.raises(ValueError, match="hidden_size: expected an int >= 1, got 0"):
        SequenceClassifier(hidden_size=0).fit(X, y)
    with pytest.raises(ValueError, match="lr: expected a number > 0, got -1.0"):
        SequenceClassifier(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="strategy: expected one of"):
        Forecaster(strategy="magic").fit(np.arange(50.0))


def test_sklearn_clone_and_grid_search():
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn is optional")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    model = SequenceClassifier(hidden_size=3, epochs=1, seed=0)
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    X, y = _tokens(24)
    search = GridSearchCV(SequenceClassifier(epochs=1, seed=0), {"hidden_size": [2, 3]}, cv=2)
    search.fit(X, np.asarray(y))
    assert search.best_params_["hidden_size"] in (2, 3)
    assert hasattr(search.best_estimator_, "net_") and sklearn.base.is_classifier(search.best_estimator_)


def test_sklearn_pipeline():
    pytest.importorskip("sklearn", reason="scikit-learn is optional")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, (40, 3))
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", FeedForward(hidden_sizes=(4,), epochs=1, seed=0))])
    pipe.set_params(mlp__lr=0.01, mlp__task="regression")
    pipe.fit(X, X.sum(axis=1))
    assert pipe.named_steps["mlp"].lr == 0.01 and pipe.predict(X).shape == (40,)
    seqs, labels = _tokens(16)
    clf = Pipeline([("clf", SequenceClassifier(**FAST))]).fit(seqs, labels)
    assert 0.0 <= clf.score(seqs, labels) <= 1.0


# -- fitted state ----------------------------------------------------------------------------
def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted yet; hint: call fit"):
        SequenceClassifier().predict([["a"]])
    with pytest.raises(NotFittedError):
        Forecaster().predict(np.arange(30.0))


def test_classifier_fitted_attributes_and_original_labels():
    X, y = _tokens()
    clf = SequenceClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == ["neg", "pos"]
    assert isinstance(clf.vocab_, Vocab) and clf.n_features_in_ is None
    pred = clf.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= {"neg", "pos"}
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    assert 0.0 <= clf.score(X, y) <= 1.0
    assert len(clf.history_["loss"]) == 1


# -- save / load -----------------------------------------------------------------------------
def _fitted_models():
    X, y = _tokens()
    Xf = _floats()
    yield SequenceClassifier(**FAST, bidirectional=True, pooling="max").fit(X, y), X
    yield SequenceRegressor(**FAST, cell="gru").fit(Xf, np.arange(12.0)), Xf
    yield SequenceTagger(**FAST, lowercase=True).fit(X, [[w.upper() for w in s] for s in X]), X
    series = np.sin(np.arange(60) / 3.0)
    yield Forecaster(**FAST, window=5, horizon=3, strategy="direct").fit(series), series
    yield FeedForward(hidden_sizes=(3,), epochs=1, seed=0).fit(Xf, [str(i % 3) for i in range(12)]), Xf


@pytest.mark.parametrize("index", range(5))
def test_save_load_round_trip_predicts_the_same(tmp_path, index):
    model, X = list(_fitted_models())[index]
    path = model.save(tmp_path / "model.npz")
    back = type(model).load(path)
    assert type(back) is type(model) and back.get_params() == model.get_params()
    assert not [f for f in tmp_path.iterdir() if f.name != "model.npz"], "no temporary files left"
    a, b = model.predict(X), back.predict(X)
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b], strict=False):
        assert np.array_equal(np.asarray(u), np.asarray(v))
    assert type(load_model(path)) is type(model)


def test_load_refuses_another_model_class_and_other_files(tmp_path):
    X, y = _tokens()
    path = SequenceClassifier(**FAST).fit(X, y).save(tmp_path / "clf.npz")
    with pytest.raises(CheckpointError, match="holds a SequenceClassifier, not a Forecaster; hint: use"):
        Forecaster.load(path)
    from rnnkit.train.checkpoint import save_checkpoint

    other = save_checkpoint(tmp_path / "other.npz", {"w": np.zeros(2)}, {"step": 1})
    with pytest.raises(CheckpointError, match="expected a saved rnnkit model"):
        load_model(other)


def test_saved_metadata_is_plain_json(tmp_path):
    import zipfile

    X, y = _tokens()
    path = SequenceClassifier(**FAST).fit(X, y).save(tmp_path / "clf.npz")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("meta.json"))
    meta = manifest["meta"]
    assert meta["model"] == "SequenceClassifier" and meta["params"]["hidden_size"] == 4
    assert meta["fitted"]["targets"]["classes"]["values"] == ["neg", "pos"]


# -- Vocab -----------------------------------------------------------------------------------
def test_vocab_specials_counts_and_unknowns(tmp_path):
    v = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], min_freq=2)
    assert v.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    ids = v.encode(["a", "c", "b"], add_bos=True, add_eos=True)
    assert ids.tolist() == [2, 5, 1, 4, 3]
    assert v.decode(ids) == ["a", "<unk>", "b"]
    assert v.decode([4, 3, 5]) == ["b"]  # stops at EOS
    with pytest.raises(ValueError, match=r"1 unseen: 'c'; hint: unknown='unk'"):
        v.encode(["c"], unknown="error")
    assert Vocab.load(v.save(tmp_path / "v.json")) == v
    assert Vocab.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    chars = Vocab.build(["hello"])
    assert chars.decode(chars.encode("hello")) == list("hello")
    ints = Vocab.build([[10, 20, 10]])
    assert Vocab.from_dict(json.loads(json.dumps(ints.to_dict()))).encode([20]).tolist() == [5]
    with pytest.raises(TypeError, match=r"sequences\[0\]: expected a token \(str or int\), got float"):
        Vocab.build([[1.5]])
    with pytest.raises(ValueError, match="min_freq: expected an int >= 1"):
        Vocab.build([["a"]], min_freq=0)


# -- input recognition and batching ----------------------------------------------------------
def test_as_sequences_rules():
    kind, seqs = as_sequences([np.zeros((3, 2)), np.ones((1, 2))])
    assert kind == "features" and [s.shape for s in seqs] == [(3, 2), (1, 2)]
    assert as_sequences([[1.0, 2.0]])[1][0].shape == (2, 1)
    assert as_sequences([["a", "b"], ["c"]])[0] == "tokens"
    assert as_sequences(np.array([[1, 2], [3, 4]]))[0] == "tokens"
    assert as_sequences(np.zeros((4, 3)))[1][0].shape == (3, 1)
    assert as_sequences(np.zeros((4, 3, 2)))[1][0].shape == (3, 2)


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "X: expected at least one sequence, got an empty list"),
        ("abc", TypeError, "X: expected a list of sequences"),
        (["a good film"], TypeError, r"X\[0\]: expected a sequence of tokens .* hint: split text"),
        ([np.zeros((0, 2))], ValueError, r"X\[0\]: expected at least one time step"),
        ([np.zeros((2, 2)), np.zeros((2, 3))], ValueError, "same number of features, got \\[2, 3\\]"),
        ([np.zeros((2, 2, 2))], ValueError, r"X\[0\]: expected a sequence of shape \(T, F\)"),
        ([["a"], np.zeros((2, 2))], TypeError, "all token lists, got both"),
        ([np.array([1.0, np.nan])], ValueError, "contains NaN"),
    ],
)
def test_bad_inputs_name_the_argument(X, error, match):
    with pytest.raises(error, match=match):
        as_sequences(X)


def test_bucketed_batches_cover_every_row_once():
    lengths = np.random.default_rng(0).integers(1, 50, 200)
    batches = batch_indices(200, 16, np.random.default_rng(1), lengths)
    assert sorted(np.concatenate(batches).tolist()) == list(range(200))
    assert all(len(b) <= 16 for b in batches)


def test_classifier_errors_at_fit_and_predict():
    X, y = _tokens()
    with pytest.raises(ValueError, match="y: expected 12 labels .* got 11"):
        SequenceClassifier(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 distinct classes"):
        SequenceClassifier(**FAST).fit(X, ["a"] * 12)
    clf = SequenceClassifier(**FAST).fit(X, y)
    with pytest.raises(TypeError, match="X: expected tokens like the data seen in fit, got features"):
        clf.predict(_floats(2))
    with pytest.raises(ValueError, match=r"validation_data\[1\]: expected labels among classes_"):
        SequenceClassifier(**FAST).fit(X, y, validation_data=(X[:2], ["pos", "maybe"]))
    reg = SequenceRegressor(**FAST).fit(_floats(), np.arange(12.0))
    with pytest.raises(ValueError, match="X: expected 2 features per step .as in fit., got 3"):
        reg.predict(_floats(2, F=3))


def test_unseen_tokens_map_to_unk_at_predict():
    X, y = _tokens()
    clf = SequenceClassifier(**FAST).fit(X, y)
    assert clf.vocab_.encode(["zebra"]).tolist() == [clf.vocab_.unk_id]
    p1 = clf.predict_proba([["zebra", "a"]])
    p2 = clf.predict_proba([["<unk>", "a"]])
    assert np.array_equal(p1, p2)
