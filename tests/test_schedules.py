"""Learning-rate schedules: the lr sequence of torch.optim.lr_scheduler, resume, validation."""

import json
import math

import numpy as np
import pytest

from rnnkit.nn.module import Module
from rnnkit.optim import SGD, Adam
from rnnkit.optim.schedules import SCHEDULES, CosineAnnealingLR, LinearWarmup, ReduceLROnPlateau, StepLR, make_schedule

STEPS = 50
LR0 = 0.1


class One(Module):
    def __init__(self):
        super().__init__()
        self.register_parameter("w", np.ones(3))


def metric_sequence(n=STEPS, seed=0):
    """A loss that improves, stalls on plateaus (with noise below the threshold) and rises."""
    rng = np.random.default_rng(seed)
    base = np.concatenate(
        [
            np.linspace(1.0, 0.5, 10),
            np.full(15, 0.5),
            np.linspace(0.5, 0.3, 5),
            np.full(10, 0.3),
            np.linspace(0.3, 0.6, 10),
        ]
    )[:n]
    return list(base + rng.uniform(0.0, 1e-6, size=n))


# (our name, our kwargs, torch class name, torch kwargs)
CASES = [
    ("step", {"step_size": 7, "gamma": 0.5}, "StepLR", {"step_size": 7, "gamma": 0.5}),
    ("step", {"step_size": 1}, "StepLR", {"step_size": 1}),
    ("exponential", {"gamma": 0.93}, "ExponentialLR", {"gamma": 0.93}),
    ("cosine", {"T_max": 50}, "CosineAnnealingLR", {"T_max": 50}),
    ("cosine", {"T_max": 12, "eta_min": 1e-3}, "CosineAnnealingLR", {"T_max": 12, "eta_min": 1e-3}),
    (
        "linear_warmup",
        {"warmup_steps": 10, "start_factor": 0.1},
        "LinearLR",
        {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 10},
    ),
    ("linear_warmup", {}, "LinearLR", {}),
    ("plateau", {"patience": 3}, "ReduceLROnPlateau", {"patience": 3}),
    (
        "plateau",
        {"patience": 2, "factor": 0.5, "cooldown": 3, "min_lr": 0.02},
        "ReduceLROnPlateau",
        {"patience": 2, "factor": 0.5, "cooldown": 3, "min_lr": 0.02},
    ),
    (
        "plateau",
        {"patience": 1, "threshold": 0.01, "threshold_mode": "abs"},
        "ReduceLROnPlateau",
        {"patience": 1, "threshold": 0.01, "threshold_mode": "abs"},
    ),
    (
        "plateau",
        {"mode": "max", "patience": 2, "factor": 0.7},
        "ReduceLROnPlateau",
        {"mode": "max", "patience": 2, "factor": 0.7},
    ),
]


def drive(opt, sched, metrics, steps):
    """The training-loop order: optimizer step, then schedule step; returns the lr after each."""
    lrs = []
    for i in range(steps):
        opt.step()
        if isinstance(sched, ReduceLROnPlateau):
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append(opt.lr)
    return lrs


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_lr_sequence_matches_torch(case):
    torch = pytest.importorskip("torch", reason="torch.optim.lr_scheduler is the reference lr sequence")
    name, kw, tname, tkw = case
    tparam = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    tparam.grad = torch.zeros(3, dtype=torch.float64)
    topt = torch.optim.SGD([tparam], lr=LR0)
    tsched = getattr(torch.optim.lr_scheduler, tname)(topt, **tkw)
    opt = SGD(One(), lr=LR0)
    sched = make_schedule(name, opt, **kw)
    assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12, abs=0)  # the step-0 value
    metrics = metric_sequence()
    if tname == "ReduceLROnPlateau" and tkw.get("mode") == "max":
        metrics = [-m for m in metrics]
    expected = []
    for i in range(STEPS):
        topt.step()
        tsched.step(metrics[i]) if tname == "ReduceLROnPlateau" else tsched.step()
        expected.append(topt.param_groups[0]["lr"])
    got = drive(opt, sched, metrics, STEPS)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert len(set(np.round(expected, 12))) > 1  # the case really changes the learning rate


def test_closed_forms():
    opt = SGD(One(), lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    lrs = [opt.lr] + drive(opt, sched, None, 20)
    assert lrs[0] == 1.0 and lrs[5] == pytest.approx(0.55, abs=1e-15) and lrs[10] == pytest.approx(0.1, abs=1e-15)
    assert lrs[20] == pytest.approx(1.0, abs=1e-15)  # the cosine continues past T_max, as in torch
    opt = SGD(One(), lr=2.0)
    warm = LinearWarmup(opt, warmup_steps=4, start_factor=0.5)
    assert opt.lr == 1.0  # building the schedule applies step 0
    assert drive(opt, warm, None, 6) == [1.25, 1.5, 1.75, 2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "name, kw",
    [
        ("step", {"step_size": 4, "gamma": 0.5}),
        ("exponential", {"gamma": 0.9}),
        ("cosine", {"T_max": 15, "eta_min": 1e-3}),
        ("linear_warmup", {"warmup_steps": 30}),
        ("plateau", {"patience": 2, "cooldown": 2}),
    ],
)
def test_state_dict_resume(name, kw):
    metrics = metric_sequence()
    opt = Adam(One(), lr=LR0)
    straight = drive(opt, make_schedule(name, opt, **kw), metrics, 40)

    opt = Adam(One(), lr=LR0)
    sched = make_schedule(name, opt, **kw)
    first = drive(opt, sched, metrics, 20)
    saved_opt, saved = opt.state_dict(), json.loads(json.dumps(sched.state_dict(), allow_nan=False))

    opt2 = Adam(One(), lr=0.5)
    opt2.load_state_dict(saved_opt)
    sched2 = make_schedule(name, opt2, **kw)  # building it rewrites lr; loading puts it back
    sched2.load_state_dict(saved)
    assert sched2.state_dict() == saved
    assert first + drive(opt2, sched2, metrics[20:], 20) == straight


def test_schedule_loads_its_saved_settings():
    opt = SGD(One(), lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    drive(opt, sched, None, 3)
    other = StepLR(SGD(One(), lr=1.0), step_size=100)
    other.load_state_dict(sched.state_dict())
    assert other.hyper == {"step_size": 2, "gamma": 0.5} and other.last_lr == 0.5


def test_plateau_state_before_any_metric_is_json():
    sched = ReduceLROnPlateau(SGD(One()), mode="max")
    d = json.loads(json.dumps(sched.state_dict(), allow_nan=False))
    assert d["best"] is None
    sched.load_state_dict(d)
    assert sched.best == -math.inf


# -- bad input ----------------------------------------------------------------------------
def test_unknown_name_lists_valid_ones():
    valid = sorted(SCHEDULES)
    with pytest.raises(
        ValueError,
        match=r"name: expected one of \['cosine', 'exponential', 'linear_warmup', 'plateau', 'step'\], got 'cosin'",
    ):
        make_schedule("cosin", SGD(One()))
    assert valid == ["cosine", "exponential", "linear_warmup", "plateau", "step"]


@pytest.mark.parametrize(
    "name, kw, err, msg",
    [
        ("step", {"step_size": 0}, ValueError, r"step_size: expected an int >= 1, got 0"),
        ("step", {"step_size": 2.5}, ValueError, r"step_size: expected an int >= 1, got 2.5"),
        ("exponential", {"gamma": -0.5}, ValueError, r"gamma: expected a finite number > 0, got -0.5"),
        ("cosine", {"T_max": -1}, ValueError, r"T_max: expected an int >= 1, got -1"),
        (
            "cosine",
            {"T_max": 10, "eta_min": float("nan")},
            ValueError,
            r"eta_min: expected a finite number >= 0, got nan",
        ),
        ("linear_warmup", {"start_factor": 0.0}, ValueError, r"start_factor: expected a number in \(0, 1\], got 0.0"),
        ("plateau", {"mode": "lowest"}, ValueError, r"mode: expected 'min' or 'max', got 'lowest'"),
        ("plateau", {"factor": 1.0}, ValueError, r"factor: expected a number in \[0, 1\), got 1.0"),
        ("plateau", {"threshold_mode": "pct"}, ValueError, r"threshold_mode: expected 'rel' or 'abs', got 'pct'"),
        ("exponential", {}, TypeError, r"gamma"),
    ],
)
def test_bad_hyper_parameters(name, kw, err, msg):
    with pytest.raises(err, match=msg):
        make_schedule(name, SGD(One()), **kw)


def test_bad_optimizer_metric_and_state():
    with pytest.raises(TypeError, match=r"optimizer: expected an optimizer with an `lr` attribute, got dict"):
        StepLR({"lr": 0.1}, step_size=2)
    sched = ReduceLROnPlateau(SGD(One()))
    with pytest.raises(TypeError, match=r"metric: expected a number, got str"):
        sched.step("0.5")
    step = StepLR(SGD(One()), step_size=2)
    with pytest.raises(ValueError, match=r"state\['name'\]: expected 'step', got 'plateau'"):
        step.load_state_dict(sched.state_dict())
    bad = {**step.state_dict(), "last_epoch": -3}
    with pytest.raises(ValueError, match=r"state\['last_epoch'\]: expected an int >= 0, got -3"):
        step.load_state_dict(bad)
    bad = {**step.state_dict(), "hyper": {"step_size": 2}}
    with pytest.raises(
        ValueError, match=r"state\['hyper'\]: expected keys \['gamma', 'step_size'\], got \['step_size'\]"
    ):
        step.load_state_dict(bad)
