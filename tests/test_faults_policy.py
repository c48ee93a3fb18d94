"""The fault policy of training: every non-finite value (forward, backward, optimizer update,
validation) is a clean stop naming step, epoch and batch (from 1), cause and remedy, with the
last good parameters in the model; the divergence guard warns or stops the same way."""

import math

import numpy as np
import pytest
from fault_util import tally
from linreg import LastStepRegressor, LinReg, batches_of, linear_data, params

from rnnkit.models import SequenceRegressor
from rnnkit.nn import RNN, Linear, NonFiniteError
from rnnkit.train import TrainConfig, Trainer, TrainingError
from rnnkit.train.divergence import DivergenceWarning


class ReluRNN(LastStepRegressor):
    """A ReLU RNN regressing the last step: unbounded, so a huge learning rate overflows."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        super().__init__(RNN(2, 8, nonlinearity="relu", dtype="float32", rng=rng), rng)


def seq_batches(n_batches=6, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=(12, 8, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32"))
        for _ in range(n_batches)
    ]


# -- non-finite values in forward and backward --------------------------------------------
@pytest.mark.parametrize("seterr", ["raise", "warn"])
def test_overflow_inside_the_layers_is_a_clean_stop_with_the_last_good_parameters(seterr):
    """With SGD at lr 1e6 and no clipping the ReLU RNN overflows inside forward or backward:
    a layer's input check (or NumPy's floating-point error) becomes the policy's stop."""
    model = ReluRNN()
    snaps = [params(model)]
    trainer = Trainer(model, TrainConfig(epochs=3, optimizer="sgd", lr=1e6))
    orig = trainer._train_step

    def step(batch):
        out = orig(batch)
        snaps.append(params(model))
        return out

    trainer._train_step = step
    with np.errstate(over=seterr, invalid=seterr, divide=seterr), pytest.raises(TrainingError) as err:
        trainer.fit(seq_batches())
    e = err.value
    assert e.kind == "nonfinite" and e.step == trainer.step + 1 and e.good_step == trainer.step
    assert e.epoch == (e.step - 1) // 6 + 1 and e.batch == (e.step - 1) % 6 + 1
    assert "Likely cause" in str(e) and "lower the learning rate" in str(e) and "clip_norm" in str(e)
    for k, v in params(model).items():  # the parameters of the last good step
        np.testing.assert_array_equal(v, snaps[-1][k])
        assert np.isfinite(v).all()


def test_nan_in_the_batch_names_the_data_as_the_cause():
    X, y = linear_data()
    X[20, 1] = np.nan
    model = LinReg()
    before = params(model)
    with pytest.raises(TrainingError, match=r"step 2 \(epoch 1, batch 2\).*data holds NaN or inf") as err:
        Trainer(model, TrainConfig(epochs=1)).fit(batches_of(X, y))
    assert err.value.good_step == 1 and not np.array_equal(params(model)["lin.weight"], before["lin.weight"])


def test_nonfinite_in_the_first_step_keeps_the_initial_parameters_and_saves_them(tmp_path):
    X, y = linear_data()
    X[0, 0] = np.inf
    model = LinReg()
    before = params(model)
    path = tmp_path / "stop.ckpt"
    cfg = TrainConfig(epochs=1, checkpoint_every=100, checkpoint_path=str(path))
    with pytest.raises(TrainingError, match=r"step 1 \(epoch 1, batch 1\).*initial ones\) and saved to") as err:
        Trainer(model, cfg).fit(batches_of(X, y))
    assert err.value.good_step == 0
    fresh = LinReg(seed=5)
    restored = Trainer.load(path, fresh)
    assert restored.step == 0
    for k, v in params(fresh).items():
        np.testing.assert_array_equal(v, before[k])


def test_a_nonfinite_layer_input_is_a_value_error_subclass():
    lin = Linear(2, 1, rng=np.random.default_rng(0))
    with pytest.raises(NonFiniteError, match=r"x: contains NaN or inf \(first at index \(1, 0\)\)"):
        lin.forward(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    assert issubclass(NonFiniteError, ValueError)


# -- the optimizer update -----------------------------------------------------------------
@pytest.mark.parametrize("seterr", ["raise", "ignore"])
def test_an_update_that_makes_parameters_nonfinite_is_undone(seterr):
    """Finite gradients, but lr x gradient overflows float64: the update is undone."""
    X, y = linear_data()
    X, y = 100 * X, 100 * y  # gradients near 1e4: 1e306 x 1e4 overflows
    model = LinReg()
    before = params(model)
    trainer = Trainer(model, TrainConfig(epochs=1, optimizer="sgd", lr=1e306, clip_norm=None))
    with (
        np.errstate(over=seterr, invalid=seterr),
        pytest.raises(TrainingError, match=r"step 1 \(epoch 1, batch 1\): .*optimizer update") as err,
    ):
        trainer.fit(batches_of(X, y))
    assert err.value.good_step == 0 and trainer.step == 0 and trainer.optimizer.step_count == 0
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, before[k])


def test_an_undone_update_is_skipped_when_asked():
    X, y = linear_data()
    model = LinReg()
    before = params(model)
    hist = Trainer(model, TrainConfig(epochs=1, optimizer="sgd", lr=1e306, clip_norm=None, on_nonfinite="skip")).fit(
        batches_of(100 * X, 100 * y)
    )
    assert hist.steps["skipped"] == [True] * 4
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, before[k])


# -- validation ---------------------------------------------------------------------------
def test_a_nonfinite_validation_loss_stops():
    X, y = linear_data()
    with pytest.raises(TrainingError, match=r"step 4 \(epoch 1, batch 4\): the validation loss is inf"):
        Trainer(LinReg(), TrainConfig(epochs=2)).fit(batches_of(X, y), val=lambda: math.inf)
    hist = Trainer(LinReg(), TrainConfig(epochs=2, on_nonfinite="skip")).fit(batches_of(X, y), val=lambda: math.inf)
    assert hist.epochs[1]["val_loss"] == math.inf


# -- the divergence guard -----------------------------------------------------------------
class Scripted(LinReg):
    """LinReg whose reported loss follows a script (the gradients stay LinReg's)."""

    def __init__(self, losses):
        super().__init__()
        self.losses = list(losses)

    def loss_and_grad(self, batch):
        super().loss_and_grad(batch)
        return self.losses.pop(0)


def run_script(losses, **cfg):
    X, y = linear_data(16 * len(losses))
    model = Scripted(losses)
    trainer = Trainer(model, TrainConfig(epochs=1, lr=1e-3, **cfg))
    return model, trainer, batches_of(X, y)


def test_divergence_guard_warns_after_the_configured_steps():
    losses = [2.0, 1.0, 0.5] + [60.0] * 4 + [0.4] * 3
    _, trainer, data = run_script(losses, divergence_steps=4)
    with pytest.warns(DivergenceWarning, match=r"step 7 \(epoch 1\): the loss diverged: 60 after 4 steps"):
        trainer.fit(data)
    assert trainer.step == 10  # a warning: training went on


def test_divergence_guard_stops_and_restores_the_parameters_of_the_best_loss():
    losses = [2.0, 1.0, 0.5, 0.7] + [60.0] * 6
    model, trainer, data = run_script(losses, divergence_steps=3, on_divergence="stop")
    snaps = []
    orig = trainer._train_step
    trainer._train_step = lambda b: (snaps.append(params(model)), orig(b))[1]
    with pytest.raises(TrainingError, match=r"step 7 \(epoch 1, batch 7\): the loss diverged") as err:
        trainer.fit(data)
    e = err.value
    assert e.kind == "diverged" and e.good_step == 2  # step 3 had the best loss: the weights before it
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, snaps[2][k])


@pytest.mark.parametrize(
    "losses",
    [
        [2.0, 1.0, 0.01] + [0.9] * 8,  # far above the best but below the first loss: not divergence
        [2.0, 1.0, 0.5] + [40.0] * 8,  # above the first, but under 100 x the best
        [2.0, 1.0] + [300.0, 0.5] * 5,  # spikes that do not last
    ],
)
def test_divergence_guard_is_quiet_on_runs_that_do_not_diverge(losses):
    _, trainer, data = run_script(losses, divergence_steps=3, on_divergence="stop")
    trainer.fit(data)
    assert trainer.step == len(losses)


def test_divergence_guard_ignores_a_rise_from_a_first_loss_of_about_zero():
    """A series that is almost exactly predictable starts near 1e-28: a rise to 1.8e-5 is
    far above 100 x the best, yet below the absolute floor (100 x 1e-6): not divergence."""
    losses = [1e-28, 1e-30] + [1.8e-5] * 30
    _, trainer, data = run_script(losses, on_divergence="stop")
    trainer.fit(data)
    assert trainer.step == len(losses)
    tally("training: divergence guard from a loss of about zero", "not stopped")


def test_divergence_guard_still_stops_a_blow_up_from_a_first_loss_of_about_zero():
    losses = [1e-28, 1e-30] + [1e6] * 30  # far above the floor: stops after 20 steps, as before
    _, trainer, data = run_script(losses, on_divergence="stop")
    with pytest.raises(TrainingError, match=r"step 22 \(epoch 1, batch 22\): the loss diverged: 1e\+06 after 20"):
        trainer.fit(data)
    tally("training: divergence guard from a loss of about zero", "stopped")


def test_a_trainer_whose_loss_starts_at_about_zero_is_not_stopped():
    """End to end: exact weights fit the first batch to ~1e-30; the next batches carry noise
    of 4e-3 (loss ~1.6e-5), a hundred-thousand-billion-fold rise that is no runaway."""
    X, y = linear_data(16 * 30)
    y[16:] += np.random.default_rng(2).normal(scale=4e-3, size=y[16:].shape)
    model = LinReg()
    p = {name: value for name, value, _ in model.named_parameters()}
    p["lin.weight"][...], p["lin.bias"][...] = [[1.5, -2.0, 0.5]], 0.3
    trainer = Trainer(model, TrainConfig(epochs=1, optimizer="sgd", lr=1e-3, on_divergence="stop"))
    hist = trainer.fit(batches_of(X, y))
    assert hist.steps["loss"][0] < 1e-25 and min(hist.steps["loss"][1:]) > 1e-6
    assert trainer.step == 30
    tally("training: divergence guard from a loss of about zero", "not stopped")


def test_divergence_guard_catches_a_short_run_at_the_end_of_its_epoch():
    _, trainer, data = run_script([1.0, 500.0, 800.0, 900.0], on_divergence="stop")  # 20 steps: never reached
    with pytest.raises(TrainingError, match=r"step 4 \(epoch 1, batch 4\): the loss diverged: 900 after 3 steps"):
        trainer.fit(data)


def test_divergence_guard_off():
    _, trainer, data = run_script([1.0] + [1e9] * 30, on_divergence="off", divergence_steps=2)
    trainer.fit(data)
    assert trainer.step == 31


@pytest.mark.parametrize(
    "kw,exc,match",
    [
        ({"on_divergence": "halt"}, ValueError, "on_divergence: expected one of"),
        ({"divergence_factor": 1.0}, ValueError, "divergence_factor: expected a number > 1"),
        ({"divergence_factor": math.inf}, TypeError, "divergence_factor: expected a finite number"),
        ({"divergence_steps": 0}, ValueError, "divergence_steps: expected an int >= 1"),
        ({"divergence_steps": 2.5}, TypeError, "divergence_steps: expected an int"),
    ],
)
def test_divergence_options_are_validated(kw, exc, match):
    with pytest.raises(exc, match=match):
        TrainConfig(**kw)


# -- estimators ---------------------------------------------------------------------------
def test_estimator_fit_raises_training_error_not_a_raw_value_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 10, 2)).astype("float32")
    y = X.sum(axis=(1, 2))
    model = SequenceRegressor(
        cell="rnn_relu", hidden_size=8, optimizer="sgd", lr=1e6, clip_norm=None, epochs=2, batch_size=16, seed=0
    )
    with pytest.raises(TrainingError, match=r"step \d+ \(epoch 1, batch \d+\)"):
        model.fit(X, y)


def test_complex_input_to_a_layer_is_refused():
    lin = Linear(2, 1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"x: expected a real array, got complex dtype complex128"):
        lin.forward(np.ones((3, 2), dtype=complex))
    rnn = RNN(2, 3, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="x: expected a real array"):
        rnn.forward(np.ones((4, 1, 2), dtype=np.complex64))


# -- a non-finite stop after the loss ran away: the weights kept are the best ones -------------
class Blowup(Scripted):
    """Scripted, with gradients that are not finite at the last step."""

    def loss_and_grad(self, batch):
        value = super().loss_and_grad(batch)
        if not self.losses:
            grads = {name: g for name, _, g in self.named_parameters()}
            grads["lin.bias"][...] = np.inf
        return value


@pytest.mark.parametrize("loss", [math.nan, 1e20])  # NaN from the forward pass; a finite loss, bad gradients
def test_a_nonfinite_stop_after_a_runaway_keeps_the_weights_of_the_best_loss(loss):
    model = Blowup([2.0, 1.0, 1.5, 1e6, 1e12, loss])
    X, y = linear_data(16 * 6)
    trainer = Trainer(model, TrainConfig(epochs=1, lr=1e-3, on_divergence="stop"))
    snaps = []
    orig = trainer._train_step
    trainer._train_step = lambda b: (snaps.append(params(model)), orig(b))[1]
    with pytest.raises(TrainingError, match=r"step 6 .*gave a loss of .*restored to those after step 1, which") as err:
        trainer.fit(batches_of(X, y))
    e = err.value
    assert e.kind == "nonfinite" and e.good_step == 1 and e.resumable and trainer.step == 5
    for k, v in params(model).items():  # those before step 2, whose loss was the best
        np.testing.assert_array_equal(v, snaps[1][k])
    tally("training: the weights a stop keeps", "the best loss's")


def test_a_nonfinite_stop_after_a_runaway_without_a_copy_says_to_start_again():
    """Under on_divergence='warn' no copy of the best weights is kept: the last finite ones
    stay, and the stop says they cannot be continued from."""
    model = Scripted([2.0, 1.0, 1e6, 1e12, math.nan])
    X, y = linear_data(16 * 5)
    trainer = Trainer(model, TrainConfig(epochs=1, lr=1e-3, divergence_steps=50))
    with pytest.raises(TrainingError, match=r"step 5 .*after step 4; they gave a loss of nan.*start again") as err:
        trainer.fit(batches_of(X, y))
    assert err.value.good_step == 4 and not err.value.resumable
    tally("training: the weights a stop keeps", "says to start again")


def test_a_nonfinite_stop_with_a_sane_loss_keeps_the_last_weights():
    model = Scripted([2.0, 1.0, 0.5, 0.7, 1e20])  # 1e20 > 100 x best, but one step: no divergence stop
    X, y = linear_data(16 * 5)
    X[70, 0] = np.nan  # step 5's batch: the data's fault, the weights are sane
    trainer = Trainer(model, TrainConfig(epochs=1, lr=1e-3, on_divergence="stop"))
    with pytest.raises(TrainingError, match="data holds NaN") as err:
        trainer.fit(batches_of(X, y))
    assert err.value.good_step == 4 and err.value.resumable
    tally("training: the weights a stop keeps", "the last sane ones")


def test_a_nonfinite_stop_whose_loss_is_sane_keeps_the_last_weights():
    model = Blowup([2.0, 1.0, 0.5, 0.7, 0.6])  # step 5: a sane loss, gradients not finite
    X, y = linear_data(16 * 5)
    trainer = Trainer(model, TrainConfig(epochs=1, lr=1e-3, on_divergence="stop"))
    with pytest.raises(TrainingError, match=r"step 5 .*gradient has NaN/inf.*those after step 4\. Hint") as err:
        trainer.fit(batches_of(X, y))
    assert err.value.good_step == 4 and err.value.resumable
    tally("training: the weights a stop keeps", "the last sane ones")


def test_a_divergence_stop_restores_the_optimizer_state_of_the_best_loss():
    """The momentum of a runaway would throw the restored parameters far again at the next
    step: the optimizer's state (and step count) are those before the best step too."""
    losses = [2.0, 1.0, 0.5, 0.7] + [60.0] * 6
    model, trainer, data = run_script(
        losses, divergence_steps=3, on_divergence="stop", optimizer="sgd", optimizer_kwargs={"momentum": 0.9}
    )
    snaps = []

    def step(batch):
        snaps.append({k: {s: a.copy() for s, a in v.items()} for k, v in trainer.optimizer.state.items()})
        return orig(batch)

    orig, trainer._train_step = trainer._train_step, step
    with pytest.raises(TrainingError, match="the loss diverged") as err:
        trainer.fit(data)
    assert err.value.good_step == 2 and trainer.optimizer.step_count == 2
    state = trainer.optimizer.state
    assert any(np.abs(a).max() > 0 for v in snaps[2].values() for a in v.values())
    for k, v in state.items():
        for s, a in v.items():
            np.testing.assert_array_equal(a, snaps[2][k][s])
    tally("training: the weights a stop keeps", "the best loss's")
