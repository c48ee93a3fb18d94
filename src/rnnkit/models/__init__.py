"""Estimators for the classic sequence setups, with scikit-learn's conventions.

one-to-one     :class:`FeedForward` (the non-recurrent baseline)
many-to-one    :class:`SequenceClassifier`, :class:`SequenceRegressor`
many-to-many   :class:`SequenceTagger` (aligned), :class:`Forecaster` (windows of series)

Each has ``fit``/``predict``/``score``, ``get_params``/``set_params``, ``save``/``load``.
"""

from .base import CELLS, BaseEstimator, NotFittedError, make_recurrent
from .vocab import Vocab

__all__ = ["BaseEstimator", "NotFittedError", "CELLS", "make_recurrent", "Vocab", "load_model"]


def load_model(path):
    """Load any model saved with ``model.save(path)``; the class is read from the file."""
    return BaseEstimator.load(path)
