"""Estimators for the classic sequence setups, with scikit-learn's conventions.

one-to-one      :class:`FeedForward` (the non-recurrent baseline)
many-to-one     :class:`SequenceClassifier`, :class:`SequenceRegressor`
many-to-many    :class:`SequenceTagger` (aligned), :class:`Forecaster` (windows of series)
one-to-many     :class:`SequenceGenerator`
encoder-decoder :class:`Seq2Seq`
language model  :class:`CharLM`

Each has ``fit``/``predict``/``score``, ``get_params``/``set_params``, ``save``/``load``;
:func:`load_model` reads any of them back from its file.
"""

from importlib.util import find_spec as _find_spec

from .base import CELLS, BaseEstimator, NotFittedError, make_recurrent
from .classifier import SequenceClassifier, SequenceRegressor
from .feedforward import FeedForward
from .forecaster import Forecaster, naive_forecast, seasonal_naive_forecast
from .tagger import SequenceTagger, conllu_xy
from .vocab import Vocab

__all__ = [
    "BaseEstimator", "NotFittedError", "CELLS", "make_recurrent", "Vocab", "load_model",
    "FeedForward", "SequenceClassifier", "SequenceRegressor", "SequenceTagger", "conllu_xy",
    "Forecaster", "naive_forecast", "seasonal_naive_forecast",
]

# The one-to-many, encoder-decoder and language models live in their own files.
for _module, _name in (("generator", "SequenceGenerator"), ("seq2seq", "Seq2Seq"), ("charlm", "CharLM")):
    if _find_spec(f"{__name__}.{_module}") is not None:
        globals()[_name] = getattr(__import__(f"{__name__}.{_module}", fromlist=[_name]), _name)
        __all__.append(_name)


def load_model(path):
    """Load any model saved with ``model.save(path)``; the class is read from the file."""
    return BaseEstimator.load(path)
