"""scikit-learn's own estimator checks, and its NotFittedError, on rnnkit's estimators."""

import subprocess
import sys

import numpy as np
import pytest

from rnnkit.models import FeedForward, NotFittedError, SequenceClassifier, SequenceRegressor

pytest.importorskip("sklearn", reason="the checks are scikit-learn's own")
from sklearn.exceptions import NotFittedError as SkNotFittedError  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402


# scikit-learn warns that FeedForward does not inherit its BaseEstimator (rnnkit does not
# import scikit-learn); the checks themselves decide.
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_feedforward_passes_check_estimator(task):
    results = check_estimator(FeedForward(task=task, epochs=3, seed=0), on_fail=None)
    failed = {r["check_name"]: str(r["exception"]).split("\n")[0] for r in results if r["status"] == "failed"}
    assert failed == {}
    assert len([r for r in results if r["status"] == "passed"]) >= 45


def test_not_fitted_is_also_sklearns_error():
    for model in (FeedForward(), SequenceClassifier(), SequenceRegressor()):
        with pytest.raises(SkNotFittedError, match="not fitted yet"):
            model.predict(np.zeros((2, 3)))
        with pytest.raises(NotFittedError):
            model.predict(np.zeros((2, 3)))


def test_rnnkit_does_not_import_sklearn_or_any_optional_package():
    code = (
        "import rnnkit.models, rnnkit.interop, rnnkit.cli, sys; m = rnnkit.models.FeedForward()\n"
        "try: m.predict([[1.0]])\nexcept rnnkit.models.NotFittedError: pass\n"
        "print(sorted(p for p in ('sklearn', 'onnx', 'onnxruntime', 'torch', 'safetensors', 'pandas', "
        "'polars') if p in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_predict_proba_only_where_it_makes_sense():
    X = np.random.default_rng(0).standard_normal((20, 3))
    reg = FeedForward(epochs=1, seed=0).fit(X, X[:, 0])
    assert not hasattr(reg, "predict_proba") and not hasattr(SequenceRegressor(), "predict_proba")
    clf = FeedForward(epochs=1, seed=0).fit(X, X[:, 0] > 0)
    assert clf.predict_proba(X).shape == (20, 2)
    assert hasattr(FeedForward(task="auto"), "predict_proba")  # unknown until fit: the method is there
    assert not hasattr(FeedForward(task="regression"), "predict_proba")
