"""The training loop: config validation, steps, clipping, non-finite steps, schedules,
early stopping, callbacks, train/eval modes, grad-flow recording (progress output:
test_train_progress.py; streams: test_train_streams.py)."""

import math

import numpy as np
import pytest
from linreg import LastStepRegressor, LinReg, batches_of, linear_data, params

from rnnkit.nn import LSTM, Linear
from rnnkit.optim.clip import grad_norm
from rnnkit.train import TrainConfig, Trainer, TrainingError, minibatches
from rnnkit.train.callbacks import Callback, EarlyStopping, LambdaCallback, MetricLog


class SeqReg(LastStepRegressor):
    """Stacked LSTM with dropout and recurrent dropout, regression on the last step; it
    records the mode (train or eval) of every training and validation batch."""

    def __init__(self, seed=0, dropout=0.5, recurrent_dropout=0.3):
        rng = np.random.default_rng(seed)
        super().__init__(
            LSTM(2, 6, 2, dropout=dropout, recurrent_dropout=recurrent_dropout, dtype="float64", rng=rng), rng
        )
        self.modes = []

    def loss_and_grad(self, batch):  # (T, B, 2), (B, 1)
        self.modes.append(("train", self.training))
        return super().loss_and_grad(batch)

    def evaluate_batch(self, batch):
        self.modes.append(("val", self.training))
        return super().evaluate_batch(batch)


# -- config ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"epochs": 0}, ValueError, "epochs: expected an int >= 1, got 0"),
        ({"epochs": 2.0}, TypeError, "epochs: expected an int"),
        ({"optimizer": "adamm"}, ValueError, r"optimizer: expected one of \['adagrad', 'adam', 'adamw'"),
        ({"lr": 0}, ValueError, "lr: expected a number > 0"),
        ({"lr": float("nan")}, TypeError, "lr: expected a finite number"),
        ({"optimizer_kwargs": {"beta": 0.9}}, ValueError, r"optimizer_kwargs: unknown keys \['beta'\].*betas"),
        ({"optimizer_kwargs": {"lr": 0.1}}, ValueError, "TrainConfig fields of their own"),
        ({"schedule": "cos"}, ValueError, r"schedule: expected one of \['cosine'"),
        ({"schedule": "step", "schedule_kwargs": {"size": 2}}, ValueError, "valid keys: .*step_size"),
        ({"schedule_kwargs": {"gamma": 0.5}}, ValueError, "schedule_kwargs: expected {} without a schedule"),
        ({"schedule": "plateau", "schedule_interval": "step"}, ValueError, "expected 'epoch' for the 'plateau'"),
        ({"schedule_interval": "batch"}, ValueError, r"schedule_interval: expected one of \['epoch', 'step'\]"),
        ({"clip_norm": -1.0}, ValueError, "clip_norm: expected a number > 0"),
        ({"clip_value": (1.0, -1.0)}, ValueError, "lo < hi"),
        ({"clip_value": (1.0, 2.0, 3.0)}, ValueError, "a number or an interval"),
        ({"clip_value": 0}, ValueError, "clip_value: expected a number > 0"),
        ({"on_nonfinite": "ignore"}, ValueError, r"on_nonfinite: expected one of \['skip', 'stop'\]"),
        ({"patience": -1}, ValueError, "patience: expected an int >= 0"),
        ({"mode": "up"}, ValueError, "mode: expected one of"),
        ({"seed": -3}, ValueError, "seed: expected an int >= 0"),
        ({"progress": "yes"}, TypeError, "progress: expected None"),
        ({"checkpoint_every": 5}, ValueError, "checkpoint_path: expected a file path"),
        ({"grad_flow_every": -1}, ValueError, "grad_flow_every: expected an int >= 0"),
        ({"shuffle": 1}, TypeError, "shuffle: expected True or False"),
    ],
)
def test_config_refuses_bad_fields_by_name(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TrainConfig(**kwargs)


def test_config_round_trips_through_a_dict():
    cfg = TrainConfig(
        optimizer="sgd",
        optimizer_kwargs={"momentum": 0.9},
        clip_value=(-0.5, 1.0),
        schedule="step",
        schedule_kwargs={"step_size": 2},
        patience=3,
    )
    again = TrainConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.clip_value == (-0.5, 1.0)
    with pytest.raises(ValueError, match=r"unknown TrainConfig fields \['epoch'\]; valid fields: \['epochs'"):
        TrainConfig.from_dict({"epoch": 3})


def test_minibatches_cover_every_example_once():
    parts = minibatches(10, 4, np.random.default_rng(0))
    assert [len(p) for p in parts] == [4, 4, 2]
    assert sorted(np.concatenate(parts)) == list(range(10))
    assert [len(p) for p in minibatches(10, 4, drop_last=True)] == [4, 4]


# -- the step ----------------------------------------------------------------------------
def test_fit_learns_and_records_every_step():
    X, y = linear_data()
    model = LinReg()
    trainer = Trainer(model, TrainConfig(epochs=30, optimizer="sgd", lr=0.1))
    hist = trainer.fit(batches_of(X, y), val=batches_of(X, y))
    assert len(hist) == 30 and hist.num_steps == 30 * 4 == trainer.step
    assert hist["val_loss"][-1] < 1e-3 * hist["val_loss"][0]
    assert all(len(v) == 120 for v in hist.steps.values())
    assert hist.stop_reason == "completed" and not model.training


def test_recorded_norm_is_pre_clip_and_the_update_uses_the_clipped_gradient():
    X, y = linear_data(16)
    model = LinReg()
    before = params(model)
    model.zero_grad()
    model.loss_and_grad((X, y))
    g = {k: v.copy() for k, v in model.grads.items()}
    norm = math.sqrt(sum(float(np.sum(v * v)) for v in g.values()))
    assert norm > 0.05
    Trainer(model, TrainConfig(epochs=1, optimizer="sgd", lr=1.0, clip_norm=0.05)).fit([(X, y)])
    after = params(model)
    for k in g:
        np.testing.assert_allclose(after[k], before[k] - g[k] * 0.05 / (norm + 1e-6), rtol=0, atol=1e-14)


def test_history_keeps_the_pre_clip_norm():
    X, y = linear_data(16)
    model = LinReg()
    model.zero_grad()
    model.loss_and_grad((X, y))
    norm = math.sqrt(sum(float(np.sum(v * v)) for v in model.grads.values()))
    hist = Trainer(model, TrainConfig(epochs=1, clip_norm=1e-3)).fit([(X, y)])
    assert hist.steps["grad_norm"] == [pytest.approx(norm, rel=1e-12)]


@pytest.mark.parametrize("clip_value,lo,hi", [(0.1, -0.1, 0.1), ((-0.05, 0.2), -0.05, 0.2)])
def test_clip_value_symmetric_or_interval(clip_value, lo, hi):
    X, y = linear_data(16)
    model = LinReg()
    before = params(model)
    model.zero_grad()
    model.loss_and_grad((X, y))
    g = {k: v.copy() for k, v in model.grads.items()}
    assert any(np.any((v < lo) | (v > hi)) for v in g.values())
    Trainer(model, TrainConfig(epochs=1, optimizer="sgd", lr=1.0, clip_value=clip_value)).fit([(X, y)])
    for k, v in params(model).items():
        np.testing.assert_allclose(v, before[k] - np.clip(g[k], lo, hi), rtol=0, atol=1e-14)


class Faulty(LinReg):
    """LinReg whose step ``bad_step`` (1-based) goes wrong in the way ``kind`` says."""

    def __init__(self, bad_step, kind):
        super().__init__()
        self.calls, self.bad_step, self.kind = 0, bad_step, kind

    def loss_and_grad(self, batch):
        self.calls += 1
        loss = super().loss_and_grad(batch)
        if self.calls == self.bad_step:
            if self.kind == "loss":
                return float("nan")
            if self.kind == "grad":
                self.lin.grads["bias"][0] = np.inf
            if self.kind == "fpe":
                raise FloatingPointError("overflow encountered in exp")
        return loss


@pytest.mark.parametrize(
    "kind,what",
    [("loss", "loss is nan"), ("grad", r"gradient has NaN/inf in \['lin.bias'\]"), ("fpe", "floating-point error")],
)
def test_nonfinite_step_stops_with_the_parameters_of_the_last_good_step(kind, what):
    X, y = linear_data()
    model = Faulty(3, kind)
    snaps = []
    cb = LambdaCallback(on_step_end=lambda ctx: snaps.append(params(ctx.model)))
    trainer = Trainer(model, TrainConfig(epochs=2), callbacks=[cb])
    with pytest.raises(TrainingError, match=rf"step 3 \(epoch 1, batch 3\): {what}.*on_nonfinite='skip'") as err:
        trainer.fit(batches_of(X, y))
    # epochs and batches are counted from 1, as in metrics.csv
    assert (err.value.step, err.value.epoch, err.value.batch, err.value.good_step) == (3, 1, 3, 2)
    assert err.value.kind == "nonfinite" and trainer.step == 2
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, snaps[-1][k])


def test_nonfinite_step_is_skipped_when_asked():
    X, y = linear_data()
    model = Faulty(3, "grad")
    snaps = []
    cb = LambdaCallback(on_step_end=lambda ctx: snaps.append(params(ctx.model)))
    hist = Trainer(model, TrainConfig(epochs=2, on_nonfinite="skip"), callbacks=[cb]).fit(batches_of(X, y))
    assert hist.steps["skipped"] == [False, False, True] + [False] * 5
    assert math.isnan(hist.steps["grad_norm"][2]) and hist.epochs[0]["skipped"] == 1
    for k in snaps[1]:
        np.testing.assert_array_equal(snaps[1][k], snaps[2][k])  # the skipped step changed nothing
    assert hist.epochs[0]["loss"] == pytest.approx(np.mean([hist.steps["loss"][i] for i in (0, 1, 3)]))


# -- schedules ---------------------------------------------------------------------------
def test_schedule_per_epoch_and_per_step():
    X, y = linear_data(32)
    data = batches_of(X, y)  # 2 batches per epoch
    hist = Trainer(
        LinReg(), TrainConfig(epochs=3, lr=0.1, schedule="step", schedule_kwargs={"step_size": 1, "gamma": 0.5})
    ).fit(data)
    np.testing.assert_allclose(hist.steps["lr"], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    hist = Trainer(
        LinReg(),
        TrainConfig(epochs=2, lr=0.1, schedule="exponential", schedule_interval="step", schedule_kwargs={"gamma": 0.5}),
    ).fit(data)
    np.testing.assert_allclose(hist.steps["lr"], 0.1 * 0.5 ** np.arange(4))


def test_plateau_schedule_reads_the_monitored_validation_metric():
    X, y = linear_data(16)
    vals = iter([1.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    cfg = TrainConfig(epochs=6, lr=0.1, schedule="plateau", schedule_kwargs={"patience": 1, "factor": 0.5})
    hist = Trainer(LinReg(), cfg).fit([(X, y)], val=lambda: next(vals))
    # bad epochs after the best (epoch 1): 2 -> 1 bad, 3 -> 2 bad > patience: halve; 4, 5 -> halve again
    np.testing.assert_allclose(hist.steps["lr"], [0.1, 0.1, 0.1, 0.1, 0.05, 0.05])


# -- early stopping and callbacks --------------------------------------------------------
def test_early_stopping_stops_and_restores_the_best_parameters():
    X, y = linear_data(16)
    vals = iter([3.0, 2.0, 1.0, 1.5, 2.5, 3.0, 4.0, 5.0])
    snaps = {}
    cb = LambdaCallback(on_epoch_end=lambda ctx: snaps.__setitem__(ctx.epoch, params(ctx.model)))
    model = LinReg()
    trainer = Trainer(model, TrainConfig(epochs=8, patience=1), callbacks=[cb])
    hist = trainer.fit([(X, y)], val=lambda: {"loss": next(vals)})
    assert len(hist) == 5 and hist.best_epoch == 2 and hist.stop_reason == "early_stopping"
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, snaps[2][k])
    assert not np.array_equal(snaps[4]["lin.weight"], snaps[2]["lin.weight"])


def test_min_delta_ignores_small_improvements():
    X, y = linear_data(16)
    vals = iter([1.0, 0.99, 0.98, 0.97, 0.5])
    cb = EarlyStopping("val_loss", patience=1, min_delta=0.05)
    hist = Trainer(LinReg(), TrainConfig(epochs=5), callbacks=[cb]).fit([(X, y)], val=lambda: next(vals))
    assert len(hist) == 3 and hist.best_epoch == 0


def test_callbacks_see_every_hook_in_order_and_can_stop(tmp_path):
    X, y = linear_data(32)
    seen = []

    class Spy(Callback):
        def on_train_begin(self, ctx):
            seen.append(("begin", ctx.epoch, ctx.step))

        def on_step_end(self, ctx):
            seen.append(("step", ctx.epoch, ctx.step, sorted(ctx.logs)))

        def on_epoch_end(self, ctx):
            seen.append(("epoch", ctx.epoch, ctx.step, "val_loss" in ctx.logs))
            if ctx.epoch == 1:
                ctx.trainer.stop_training = True

        def on_train_end(self, ctx):
            seen.append(("end", ctx.epoch, ctx.step))

    log = tmp_path / "metrics.csv"
    hist = Trainer(LinReg(), TrainConfig(epochs=5), callbacks=[Spy(), MetricLog(log)]).fit(
        batches_of(X, y), val=batches_of(X, y)
    )
    keys = ["grad_norm", "loss", "lr", "skipped"]
    assert seen == [
        ("begin", 0, 0),
        ("step", 0, 1, keys),
        ("step", 0, 2, keys),
        ("epoch", 0, 2, True),
        ("step", 1, 3, keys),
        ("step", 1, 4, keys),
        ("epoch", 1, 4, True),
        ("end", 2, 4),
    ]
    assert hist.stop_reason == "callback"
    lines = log.read_text().splitlines()
    assert lines[0].split(",")[:3] == ["epoch", "loss", "val_loss"] and len(lines) == 3


class StepSpy(Callback):
    """Records every step hook: (hook, ctx.step, what the hook sees)."""

    def __init__(self):
        self.seen = []

    def on_step_begin(self, ctx):
        self.seen.append(("begin", ctx.step, dict(ctx.logs)))

    def on_after_backward(self, ctx):
        # the gradients are in place and not yet clipped: their norm is the step's pre-clip norm
        norm = grad_norm(ctx.model) if ctx.logs["error"] is None else None
        self.seen.append(("backward", ctx.step, ctx.logs["loss"], type(ctx.logs["error"]).__name__, norm))

    def on_step_end(self, ctx):
        self.seen.append(("end", ctx.step, ctx.logs["skipped"]))

    def on_exception(self, ctx):
        self.seen.append(("exception", ctx.step, type(ctx.logs["exception"]).__name__))

    def on_train_end(self, ctx):
        self.seen.append(("train_end", ctx.step))


@pytest.mark.parametrize("kind", ["grad", "fpe"])
def test_step_hooks_run_in_order_on_every_step_skipped_ones_included(kind):
    X, y = linear_data()  # 4 batches: step 3 is not finite and skipped
    spy = StepSpy()
    cfg = TrainConfig(epochs=1, on_nonfinite="skip", clip_norm=1e-3)
    hist = Trainer(Faulty(3, kind), cfg, callbacks=[spy]).fit(batches_of(X, y))
    # ctx.step counts the steps done: in begin and backward the step under way is ctx.step + 1
    order = [(hook, n - (hook != "end")) for n in range(1, 5) for hook in ("begin", "backward", "end")]
    assert [(hook, step) for hook, step, *_ in spy.seen] == [*order, ("train_end", 4)]
    assert [rest for hook, _, *rest in spy.seen if hook == "begin"] == [[{}]] * 4
    assert (
        [rest[0] for hook, _, *rest in spy.seen if hook == "end"]
        == hist.steps["skipped"]
        == [False, False, True, False]
    )
    backward = [rest for hook, _, *rest in spy.seen if hook == "backward"]
    for i in (0, 1, 3):  # the loss, and the gradients before clipping
        loss, error, norm = backward[i]
        assert error == "NoneType" and loss == hist.steps["loss"][i]
        assert norm == pytest.approx(hist.steps["grad_norm"][i], rel=1e-12) and norm > 1e-3
    loss, error, norm = backward[2]
    if kind == "fpe":  # forward/backward raised: the error, a NaN loss
        assert error == "FloatingPointError" and math.isnan(loss) and norm is None
    else:  # a finite loss, an infinite gradient, found after this hook
        assert error == "NoneType" and math.isfinite(loss) and norm == math.inf


def test_on_exception_instead_of_train_end_when_fit_raises():
    X, y = linear_data()
    spy = StepSpy()
    steps = []
    extra = LambdaCallback(on_exception=lambda ctx: steps.append(ctx.trainer.step))
    with pytest.raises(TrainingError):
        Trainer(Faulty(2, "loss"), TrainConfig(epochs=1), callbacks=[spy, extra]).fit(batches_of(X, y))
    (h1, s1, loss, error, _), last = spy.seen[-2:]
    assert (h1, s1, error) == ("backward", 1, "NoneType") and math.isnan(loss)
    assert last == ("exception", 1, "TrainingError") and steps == [1]
    assert "train_end" not in [hook for hook, *_ in spy.seen]


def test_same_seed_same_run_other_seed_other_run():
    X, y = linear_data(48)

    def run(seed):
        model = LinReg()
        cfg = TrainConfig(epochs=3, seed=seed, lr=0.05)
        Trainer(model, cfg).fit(lambda epoch, rng: [(X[i], y[i]) for i in minibatches(48, 8, rng)])
        return model.state_dict()["lin.weight"]

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


def test_shuffle_visits_a_list_in_a_new_order_each_epoch():
    order = []

    class Recorder(LinReg):
        def loss_and_grad(self, batch):
            order.append(batch[2])
            return super().loss_and_grad(batch[:2])

    X, y = linear_data(16)
    data = [(X[i : i + 2], y[i : i + 2], i) for i in range(0, 16, 2)]
    Trainer(Recorder(), TrainConfig(epochs=2, shuffle=True)).fit(data)
    assert sorted(order[:8]) == sorted(order[8:]) == list(range(0, 16, 2))
    assert order[:8] != order[8:] and order[:8] != list(range(0, 16, 2))


# -- modes and dropout -------------------------------------------------------------------
def seq_batches(n=24, T=5, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, n, 2))
    y = X.sum(axis=(0, 2))[:, None] / T
    return [(X[:, i : i + 8], y[i : i + 8]) for i in range(0, n, 8)]


def test_fit_trains_in_train_mode_and_validates_in_eval_mode():
    model = SeqReg()
    data = seq_batches()
    Trainer(model, TrainConfig(epochs=2)).fit(data, val=data[:1])
    assert model.modes == [("train", True)] * 3 + [("val", False)] + [("train", True)] * 3 + [("val", False)]
    assert not model.training


def test_eval_output_has_no_dropout():
    model = SeqReg(dropout=0.5, recurrent_dropout=0.5)
    data = seq_batches()
    Trainer(model, TrainConfig(epochs=1)).fit(data)
    X = data[0][0]
    plain = SeqReg(dropout=0.0, recurrent_dropout=0.0)
    plain.load_state_dict(model.state_dict())
    out1, out2 = model.predict(X), model.predict(X)
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_allclose(out1, plain.predict(X), rtol=0, atol=1e-14)
    model.train()
    assert not np.allclose(model.predict(X), out1)  # dropout is on in train mode


# -- gradient flow -----------------------------------------------------------------------
def test_grad_flow_is_recorded_every_n_steps_and_off_by_default():
    data = seq_batches()
    model = SeqReg()
    hist = Trainer(model, TrainConfig(epochs=2)).fit(data)
    assert hist.grad_flow == [] and model.rnn.grad_flow == {} and not model.rnn.record_grad_flow
    hist = Trainer(model, TrainConfig(epochs=2, grad_flow_every=2)).fit(data)
    steps = sorted({g["step"] for g in hist.grad_flow})
    assert steps == [2, 4, 6]
    keys = sorted(g["key"] for g in hist.grad_flow if g["step"] == 2)
    assert keys == ["c_l0", "c_l1", "h_l0", "h_l1"]
    assert all(g["layer"] == "rnn" and len(g["norms"]) == 5 for g in hist.grad_flow)
    flow = [g["norms"] for g in hist.grad_flow if g["key"] == "h_l1"][0]
    assert flow[-1] > 0 and not model.rnn.record_grad_flow


# -- errors ------------------------------------------------------------------------------
def test_trainer_refuses_bad_arguments_clearly():
    with pytest.raises(TypeError, match=r"model: expected a Module with loss_and_grad.*lacking \['loss_and_grad'\]"):
        Trainer(Linear(2, 1))
    with pytest.raises(TypeError, match="config: expected a TrainConfig, got dict"):
        Trainer(LinReg(), {"epochs": 2})
    with pytest.raises(TypeError, match=r"callbacks\[0\]: expected a rnnkit.train.callbacks.Callback"):
        Trainer(LinReg(), callbacks=[print])
    X, y = linear_data(16)
    trainer = Trainer(LinReg(), TrainConfig(epochs=1))
    with pytest.raises(TypeError, match="train_batches: expected a list or a function.*iterator"):
        trainer.fit(iter([(X, y)]))
    with pytest.raises(TypeError, match=r"val: expected a list of batches, got a tuple of 2 arrays.*val=\[\(X, y\)\]"):
        trainer.fit([(X, y)], val=(X, y))
    with pytest.raises(ValueError, match="epoch 0 yielded no batches"):
        trainer.fit([])
    with pytest.raises(TypeError, match="val: expected the function to return"):
        trainer.fit([(X, y)], val=lambda: None)
    with pytest.raises(KeyError, match="epoch metrics have no 'val_acc'"):
        Trainer(LinReg(), TrainConfig(epochs=2, patience=1, monitor="val_acc")).fit([(X, y)], val=[(X, y)])


def test_plateau_follows_the_configured_mode():
    X, y = linear_data(16)
    vals = iter([0.5, 0.6, 0.7, 0.8])
    cfg = TrainConfig(
        epochs=4, lr=0.1, schedule="plateau", schedule_kwargs={"patience": 0}, mode="max", monitor="val_acc"
    )
    hist = Trainer(LinReg(), cfg).fit([(X, y)], val=lambda: {"acc": next(vals)})
    assert hist.steps["lr"] == [0.1] * 4
