"""Estimators for the classic sequence setups, with scikit-learn's conventions.

one-to-one      :class:`FeedForward` (the non-recurrent baseline)
many-to-one     :class:`SequenceClassifier`, :class:`SequenceRegressor`
many-to-many    :class:`SequenceTagger` (aligned); forecasting series: :mod:`rnnkit.forecast`
one-to-many     :class:`SequenceGenerator`, :class:`MusicModel` (piano rolls, melodies)
encoder-decoder :class:`Seq2Seq`
language model  :class:`CharLM`

Each has ``fit``/``predict``/``score``, ``get_params``/``set_params``, ``save``/``load``;
:func:`load_model` reads any of them back from its file.
"""

import os

from .base import CELLS, BaseEstimator, NotFittedError, make_recurrent
from .charlm import CharLM
from .classifier import SequenceClassifier, SequenceRegressor
from .feedforward import FeedForward
from .generator import SequenceGenerator
from .music_model import MusicModel
from .seq2seq import Seq2Seq
from .tagger import SequenceTagger, conllu_xy
from .vocab import Vocab

__all__ = [
    "BaseEstimator",
    "NotFittedError",
    "CELLS",
    "make_recurrent",
    "Vocab",
    "load_model",
    "FeedForward",
    "SequenceClassifier",
    "SequenceRegressor",
    "SequenceTagger",
    "conllu_xy",
    "SequenceGenerator",
    "Seq2Seq",
    "CharLM",
    "MusicModel",
]


def load_model(path: str | os.PathLike[str]) -> BaseEstimator:
    """Load a model saved with ``model.save(path)``; the class is read from the file.

    A class must be imported to be known: :func:`rnnkit.load_model` also knows the
    :class:`rnnkit.forecast.Forecaster`."""
    return BaseEstimator.load(path)
