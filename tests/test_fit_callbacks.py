"""Every estimator's ``fit`` takes ``callbacks`` and hands them to its Trainer."""

import numpy as np
import pytest

from rnnkit.forecast import Forecaster
from rnnkit.models import (
    CharLM,
    FeedForward,
    MusicModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceRegressor,
    SequenceTagger,
)
from rnnkit.train.callbacks import LambdaCallback


def _fits():
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((int(rng.integers(3, 6)), 2)) for _ in range(8)]
    words = [["a", "b", "c"], ["b", "c"], ["c", "a", "a"], ["b"]]
    tags = [["X", "Y", "Z"], ["Y", "Z"], ["Z", "X", "X"], ["Y"]]
    pieces = [(rng.random((6, 128)) < 0.05).astype(np.float32) for _ in range(3)]
    for p in pieces:
        p[:, 60] = 1.0
    small = dict(hidden_size=4, epochs=2, batch_size=4, seed=0)
    return {
        "SequenceClassifier": lambda cb: SequenceClassifier(**small).fit(X, [0, 1] * 4, callbacks=cb),
        "SequenceRegressor": lambda cb: SequenceRegressor(**small).fit(X, np.arange(8.0), callbacks=cb),
        "SequenceTagger": lambda cb: SequenceTagger(**small).fit(words, tags, callbacks=cb),
        "FeedForward": lambda cb: FeedForward(hidden_sizes=(4,), epochs=2, seed=0).fit(
            rng.standard_normal((10, 3)), np.arange(10.0), callbacks=cb
        ),
        "Forecaster": lambda cb: Forecaster(window=4, epochs=2, patience=None, hidden_size=4, seed=0).fit(
            np.sin(np.arange(60) / 3.0), callbacks=cb
        ),
        "CharLM": lambda cb: CharLM(hidden_size=4, k1=4, epochs=2, batch_size=2, seed=0).fit(
            "abcabcabcabcabcabc", callbacks=cb
        ),
        "Seq2Seq": lambda cb: Seq2Seq(**small).fit(["ab", "ba", "aab"], ["ba", "ab", "baa"], callbacks=cb),
        "SequenceGenerator": lambda cb: SequenceGenerator(**small).fit(["u", "d"], ["ab", "ba"], callbacks=cb),
        "MusicModel": lambda cb: MusicModel(**small).fit(pieces, callbacks=cb),
    }


@pytest.mark.parametrize("name", sorted(_fits()))
def test_fit_passes_callbacks_to_the_trainer(name):
    seen = []
    model = _fits()[name]([LambdaCallback(on_epoch_end=lambda ctx: seen.append(ctx.epoch))])
    assert len(seen) == 2
    assert len(model.history_.epochs) == 2


def test_a_callback_that_is_not_one_is_refused_by_name():
    with pytest.raises(TypeError, match=r"callbacks\[0\]: expected a rnnkit.train.callbacks.Callback"):
        SequenceClassifier(hidden_size=4, epochs=1).fit([[1.0], [2.0]], [0, 1], callbacks=[print])
