"""Estimators continue training through visible extension points: ``fit(callbacks=[ResumeFrom(path)])``
for a saved trainer (bit for bit), ``warm_start=True`` for the fitted network."""

import numpy as np
import pytest

from rnnkit.models import CharLM, SequenceClassifier
from rnnkit.train import ResumeFrom
from rnnkit.train.callbacks import CheckpointEvery


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 5, 2))
    return X, (X[:, :, 0].sum(1) > 0).astype(int)


def _params(model):
    return {k: v.copy() for k, v in model.net_.state_dict().items()}


def test_resume_from_a_saved_trainer_equals_one_run_bit_for_bit(tmp_path):
    X, y = _data()
    kw = dict(hidden_size=6, batch_size=8, seed=3, dtype="float64", recurrent_dropout=0.2)
    whole = SequenceClassifier(epochs=3, **kw).fit(X, y)
    path = tmp_path / "trainer.npz"
    SequenceClassifier(epochs=1, **kw).fit(X, y, callbacks=[CheckpointEvery(path, every_epochs=1)])
    resumed = SequenceClassifier(epochs=2, **kw).fit(X, y, callbacks=[ResumeFrom(path)])
    for k, v in _params(whole).items():
        np.testing.assert_array_equal(_params(resumed)[k], v, err_msg=k)
    assert len(resumed.history_.epochs) == 3
    assert resumed.history_.steps["loss"] == whole.history_.steps["loss"]


def test_resume_from_works_through_truncated_bptt(tmp_path):
    text = "the cat sat on the mat; " * 20
    kw = dict(hidden_size=8, k1=8, batch_size=4, seed=1, dtype="float64")
    whole = CharLM(epochs=2, **kw).fit(text)
    path = tmp_path / "t.npz"
    CharLM(epochs=1, **kw).fit(text, callbacks=[CheckpointEvery(path, every_epochs=1)])
    resumed = CharLM(epochs=1, **kw).fit(text, callbacks=[ResumeFrom(path)])
    for k, v in _params(whole).items():
        np.testing.assert_array_equal(_params(resumed)[k], v, err_msg=k)


def test_only_one_resume_from(tmp_path):
    X, y = _data()
    with pytest.raises(ValueError, match="callbacks: expected at most one ResumeFrom, got 2"):
        SequenceClassifier(hidden_size=4, epochs=1).fit(X, y, callbacks=[ResumeFrom("a"), ResumeFrom("b")])


def test_warm_start_continues_from_the_fitted_network():
    X, y = _data()
    model = SequenceClassifier(hidden_size=6, epochs=1, seed=0).fit(X, y)
    net, before = model.net_, _params(model)
    model.set_params(warm_start=True).fit(X, y)
    assert model.net_ is net
    assert any(not np.array_equal(before[k], v) for k, v in _params(model).items())
    cold = SequenceClassifier(hidden_size=6, epochs=1, seed=0).fit(X, y)
    model.set_params(warm_start=False).fit(X, y)
    assert model.net_ is not net
    for k, v in _params(cold).items():  # warm_start=False: a new network, as a fresh estimator's
        np.testing.assert_array_equal(_params(model)[k], v)


def test_warm_start_refuses_data_with_other_classes(tmp_path):
    X, y = _data()
    model = SequenceClassifier(hidden_size=6, epochs=1, seed=0).fit(X, y)
    path = model.save(tmp_path / "m.npz")
    for m in (model, SequenceClassifier.load(path)):
        with pytest.raises(ValueError, match="warm_start: the data gave another fitted state"):
            m.set_params(warm_start=True).fit(X, y + 1)
