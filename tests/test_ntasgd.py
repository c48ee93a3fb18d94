"""NT-ASGD: SGD's updates, AWD-LSTM's non-monotone trigger, the running average of the
iterates, validated, kept after fit, saved and resumed exactly; and the command line."""

import numpy as np
import pytest

from rnnkit.nn import LSTM, Linear
from rnnkit.nn.losses import mse
from rnnkit.nn.module import Module
from rnnkit.optim import OPTIMIZERS, make_optimizer
from rnnkit.optim.averaging import RunningAverage
from rnnkit.train import TrainConfig, Trainer, minibatches
from rnnkit.train.averaging import NonMonotoneAveraging, nonmonotone_trigger
from rnnkit.train.callbacks import Callback
from rnnkit.train.checkpoint import load_checkpoint


class Net(Module):
    """An LSTM regressing on its last step, in float64."""

    def __init__(self):
        super().__init__()
        self.rnn = self.add_module("rnn", LSTM(3, 6, dtype="float64", rng=np.random.default_rng(0)))
        self.head = self.add_module("head", Linear(6, 1, dtype="float64", rng=np.random.default_rng(1)))

    def loss_and_grad(self, batch):
        X, y = batch
        out, _, rc = self.rnn.forward(X)
        pred, hc = self.head.forward(out[-1])
        loss, dpred = mse(pred, y)
        dout = np.zeros_like(out)
        dout[-1] = self.head.backward(dpred, hc)
        self.rnn.backward(dout, None, rc)
        return loss

    def evaluate_batch(self, batch):
        X, y = batch
        out, _, _ = self.rnn.forward(X)
        return mse(self.head.forward(out[-1])[0], y)[0] * y.size, y.size


def _data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(7, 40, 3))
    y = X.sum(axis=(0, 2))[:, None] / 7
    return X, y


def _batches(epoch, rng):
    X, y = _data()
    return [(X[:, i], y[i]) for i in minibatches(40, 8, rng)]


def _params(model):
    return {n: p.copy() for n, p, _ in model.named_parameters()}


# Scripted validation losses: best 3.0 at validation 2; with nonmono=2 validation 5 (3.5) is
# the first worse than the best of those more than 2 before (min(5, 4, 3) = 3): epoch index 5.
SCRIPT = [5.0, 4.0, 3.0, 3.1, 2.9, 3.5, 3.6, 3.7, 3.8]
TRIGGER = 5


class Iterates(Callback):
    """The parameters after every step (the SGD iterate) and at every validation."""

    def __init__(self):
        self.after_step, self.at_val = [], []

    def on_step_end(self, ctx):
        self.after_step.append(_params(ctx.model))


def _fit(epochs, rec, *, trainer=None, max_steps=None, nonmono=2, optimizer="ntasgd"):
    model = Net() if trainer is None else trainer.model
    if trainer is None:
        config = TrainConfig(epochs=epochs, optimizer=optimizer, lr=0.05, nonmono=nonmono, seed=3, clip_norm=None)
        trainer = Trainer(model, config, callbacks=[rec])

    def val():
        rec.at_val.append(_params(model))
        return SCRIPT[len(trainer.history.epochs)]

    trainer.fit(_batches, val=val, epochs=epochs, max_steps=max_steps)
    return trainer


def test_ntasgd_is_registered_and_its_update_is_sgds():
    assert OPTIMIZERS["ntasgd"].name == "ntasgd"
    a, b = Net(), Net()
    for model, name in ((a, "ntasgd"), (b, "sgd")):
        opt = make_optimizer(name, model, lr=0.1, momentum=0.5, weight_decay=1e-3)
        for seed in range(3):
            g = np.random.default_rng(seed)
            for _, _, grad in model.named_parameters():
                grad[...] = g.normal(size=grad.shape)
            opt.step()
    for (n, p, _), (_, q, _) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p, q, err_msg=n)


def test_running_average_is_the_mean_of_the_iterates():
    model = Net()
    avg = RunningAverage(model)
    g = np.random.default_rng(0)
    seen = []
    for _ in range(7):
        for _, p, _ in model.named_parameters():
            p += g.normal(size=p.shape)
        avg.update()
        seen.append(_params(model))
    for n, a in avg.average.items():
        np.testing.assert_allclose(a, np.mean([s[n] for s in seen], axis=0), rtol=1e-13, atol=1e-13)
    live = _params(model)
    avg.swap()  # the model holds the average, the average the iterate
    for n, p, _ in model.named_parameters():
        np.testing.assert_allclose(p, np.mean([s[n] for s in seen], axis=0), rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(avg.average[n], live[n])
    with pytest.raises(RuntimeError, match="swap"):
        avg.update()
    avg.swap()
    for n, p, _ in model.named_parameters():
        np.testing.assert_array_equal(p, live[n])
    avg.start()
    avg.update()
    for n, p, _ in model.named_parameters():
        np.testing.assert_array_equal(avg.average[n], p)


def test_the_trigger_follows_the_nonmonotone_rule():
    fired = [k for k in range(len(SCRIPT)) if nonmonotone_trigger(SCRIPT[:k], SCRIPT[k], 2)]
    assert fired[0] == TRIGGER
    assert not nonmonotone_trigger([5.0, 4.0, 3.0], 3.5, 2)  # only one validation more than 2 before: 5.0
    assert nonmonotone_trigger([5.0, 4.0, 3.0, 3.1], 5.5, 2)  # worse than min(5.0, 4.0)
    assert not nonmonotone_trigger([5.0, 4.0, 3.0, 3.1], 3.9, 2)
    assert nonmonotone_trigger([0.5, 0.6, 0.7, 0.6], 0.4, 2, mode="max")
    assert not nonmonotone_trigger([1.0] * 9, 1.0, 5)  # equal is not worse


def test_validation_and_the_fitted_model_use_the_average_of_the_iterates_since_the_trigger():
    rec = Iterates()
    trainer = _fit(len(SCRIPT), rec)
    cb = next(c for c in trainer.all_callbacks if isinstance(c, NonMonotoneAveraging))
    assert cb.triggered_epoch == TRIGGER
    steps = 5  # 40 examples in batches of 8
    assert [e["averaged"] for e in trainer.history.epochs] == [0] * (TRIGGER + 1) + [1] * (len(SCRIPT) - TRIGGER - 1)
    for epoch, seen in enumerate(rec.at_val):
        first = (TRIGGER + 1) * steps  # the first step after the trigger
        last = (epoch + 1) * steps
        if epoch <= TRIGGER:  # the iterate itself
            want = rec.after_step[last - 1]
        else:
            want = {n: np.mean([s[n] for s in rec.after_step[first:last]], axis=0) for n in seen}
        for n in seen:
            np.testing.assert_allclose(seen[n], want[n], rtol=1e-12, atol=1e-12, err_msg=f"epoch {epoch} {n}")
    final = rec.at_val[-1]
    for n, p, _ in trainer.model.named_parameters():  # fit ends holding the average
        np.testing.assert_array_equal(p, final[n])
    # evaluate() sees the average: it equals evaluating a fresh model loaded with it
    X, y = _data()
    other = Net()
    other.load_state_dict(trainer.model.state_dict())
    assert trainer.evaluate([(X, y)])["val_loss"] == pytest.approx(other.evaluate_batch((X, y))[0] / y.size, rel=1e-14)
    assert not np.allclose(rec.after_step[-1]["head.weight"], final["head.weight"])  # the iterate differs


def test_without_the_trigger_ntasgd_trains_exactly_as_sgd():
    a, b = Iterates(), Iterates()
    ta = _fit(4, a, nonmono=5)
    tb = _fit(4, b, nonmono=5, optimizer="sgd")
    assert ta.history.steps["loss"] == tb.history.steps["loss"]
    for n, p, _ in ta.model.named_parameters():
        np.testing.assert_array_equal(p, dict((k, q) for k, q, _ in tb.model.named_parameters())[n])


@pytest.mark.parametrize("pause", ["mid_epoch", "epoch_end"])
def test_a_resumed_run_goes_on_exactly(tmp_path, pause):
    whole = _fit(len(SCRIPT), Iterates())
    rec = Iterates()
    # mid_epoch: after the trigger, inside epoch 7; epoch_end: fit ends holding the average,
    # the iterate is in the callback's state
    stop = {"max_steps": (TRIGGER + 2) * 5 + 2} if pause == "mid_epoch" else {}
    first = _fit(len(SCRIPT) if stop else TRIGGER + 2, rec, **stop)
    first.save(tmp_path / "t.npz")
    arrays, _ = load_checkpoint(tmp_path / "t.npz")
    assert any(k.startswith("callbacks.0.") for k in arrays)  # the average (or the iterate) is saved
    if pause == "epoch_end":  # the saved model is the average
        for n, p, _ in first.model.named_parameters():
            np.testing.assert_array_equal(arrays["model." + n], p)
            np.testing.assert_array_equal(p, rec.at_val[-1][n])
    model = Net()
    again = Trainer.load(tmp_path / "t.npz", model, callbacks=[Iterates()])
    _fit(len(SCRIPT), again.callbacks[0], trainer=again)
    cb = next(c for c in again.all_callbacks if isinstance(c, NonMonotoneAveraging))
    assert cb.triggered_epoch == TRIGGER
    assert again.history.steps["loss"] == whole.history.steps["loss"]
    for (n, p, _), (_, q, _) in zip(again.model.named_parameters(), whole.model.named_parameters(), strict=True):
        np.testing.assert_array_equal(p, q, err_msg=n)


def test_nonmono_is_checked():
    with pytest.raises(ValueError, match="nonmono"):
        TrainConfig(optimizer="ntasgd", nonmono=0)


def test_the_command_line_trains_with_ntasgd(tmp_path, capsys):
    from rnnkit.cli import main

    code = main(
        ["train", "charlm", "--preset", "tiny", "--out", str(tmp_path / "r"), "--no-plots", "--epochs", "3"]
        + ["--optimizer", "ntasgd", "--set", "nonmono=1", "--lr", "1.0"]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    import json

    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert [e["averaged"] in (0, 1) for e in metrics["epochs"]] == [True] * 3
    config = (tmp_path / "r" / "config.toml").read_text()
    assert 'optimizer = "ntasgd"' in config and "nonmono = 1" in config
