"""Optimizers: step-for-step equality with torch.optim, state-dict resume, input validation."""

import json

import numpy as np
import pytest

from rnnkit.nn.module import Module
from rnnkit.optim import OPTIMIZERS, SGD, Adam, AdamW, make_optimizer

STEPS = 20

# Every optimizer and every hyper-parameter variant; the kwargs are passed unchanged to torch.
CASES = [
    ("sgd", {}),
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.02}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.02, "nesterov": True}),
    ("adagrad", {}),
    ("adagrad", {"lr": 0.1, "eps": 1e-8}),
    ("adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("adagrad", {"lr": 0.1, "weight_decay": 0.01, "lr_decay": 0.01, "initial_accumulator_value": 0.5}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"weight_decay": 0.01}),
    ("rmsprop", {"lr": 3e-3, "momentum": 0.7, "centered": True, "weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.05}),
    ("adam", {"lr": 1e-2, "weight_decay": 0.05, "amsgrad": True}),
    ("adamw", {}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.1}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True, "betas": (0.5, 0.9)}),
]

TORCH_NAMES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


class Child(Module):
    def __init__(self, rng, dtype=np.float64):
        super().__init__()
        self.register_parameter("weight", rng.standard_normal((3, 5)).astype(dtype))
        self.register_parameter("bias", rng.standard_normal(3).astype(dtype))


class Toy(Module):
    """Recurrent-style names and a prefixed child, as a composite model would have."""

    def __init__(self, seed=0, dtype=np.float64):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.register_parameter("weight_ih_l0", rng.standard_normal((8, 3)).astype(dtype))
        self.register_parameter("weight_hh_l0", rng.standard_normal((8, 2)).astype(dtype))
        self.register_parameter("bias_ih_l0", rng.standard_normal(8).astype(dtype))
        self.add_module("head", Child(rng, dtype))


def grad_sequence(model, n, seed=1):
    """``n`` gradient dicts with varying scale, so adaptive optimizers see non-trivial ratios."""
    rng = np.random.default_rng(seed)
    return [
        {name: rng.standard_normal(p.shape) * rng.uniform(0.1, 3.0) for name, p, _ in model.named_parameters()}
        for _ in range(n)
    ]


def run_ours(opt, model, grads):
    for gs in grads:
        for name, _, g in model.named_parameters():
            g[...] = gs[name]
        opt.step()


def case_id(case):
    return case[0] + "-" + ",".join(f"{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_matches_torch_step_for_step(case):
    torch = pytest.importorskip("torch", reason="torch is the reference implementation for optimizer math")
    name, kw = case
    model = Toy()
    names = [n for n, _, _ in model.named_parameters()]
    tparams = {n: torch.nn.Parameter(torch.from_numpy(p.copy())) for n, p, _ in model.named_parameters()}
    topt = getattr(torch.optim, TORCH_NAMES[name])(list(tparams.values()), foreach=False, **kw)
    opt = make_optimizer(name, model, **kw)
    for gs in grad_sequence(model, STEPS):
        for n in names:
            tparams[n].grad = torch.from_numpy(gs[n].copy())
        topt.step()
        run_ours(opt, model, [gs])
        for n, p, _ in model.named_parameters():
            np.testing.assert_allclose(p, tparams[n].detach().numpy(), rtol=1e-10, atol=0, err_msg=n)
    # Same slot names and values as torch's per-parameter state.
    for n, tp in tparams.items():
        tstate = topt.state[tp]
        for slot, arr in opt.state[n].items():
            np.testing.assert_allclose(arr, tstate[slot].numpy(), rtol=1e-10, atol=1e-300, err_msg=f"{n}.{slot}")


def test_lr_written_between_steps_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference implementation for optimizer math")
    model = Toy()
    tparams = [torch.nn.Parameter(torch.from_numpy(p.copy())) for _, p, _ in model.named_parameters()]
    topt = torch.optim.Adam(tparams, lr=1e-2, foreach=False)
    opt = Adam(model, lr=1e-2)
    for i, gs in enumerate(grad_sequence(model, STEPS)):
        lr = 1e-2 * 0.9**i
        opt.lr = lr
        topt.param_groups[0]["lr"] = lr
        for tp, (n, _, _) in zip(tparams, model.named_parameters(), strict=False):
            tp.grad = torch.from_numpy(gs[n].copy())
        topt.step()
        run_ours(opt, model, [gs])
    for tp, (n, p, _) in zip(tparams, model.named_parameters(), strict=False):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-10, atol=0, err_msg=n)


def test_updates_in_place_and_reads_grads_only():
    model = Toy()
    before = {n: (p, p.copy()) for n, p, _ in model.named_parameters()}
    grads = grad_sequence(model, 1)[0]
    opt = AdamW(model, lr=0.1)
    run_ours(opt, model, [grads])
    for n, p, g in model.named_parameters():
        assert p is before[n][0]  # same object: references held elsewhere stay valid
        assert not np.array_equal(p, before[n][1])
        np.testing.assert_array_equal(g, grads[n])  # weight decay did not leak into the grads
    opt.zero_grad()
    assert all(not g.any() for _, _, g in model.named_parameters())


def test_triples_and_module_are_equivalent():
    a, b = Toy(), Toy()
    grads = grad_sequence(a, 5)
    opt_a = SGD(a, lr=0.1, momentum=0.9)
    opt_b = SGD(list(b.named_parameters()), lr=0.1, momentum=0.9)
    run_ours(opt_a, a, grads)
    run_ours(opt_b, b, grads)
    for (n, p, _), (_, q, _) in zip(a.named_parameters(), b.named_parameters(), strict=False):
        np.testing.assert_array_equal(p, q, err_msg=n)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_stays_float32(name):
    model = Toy(dtype=np.float32)
    opt = make_optimizer(name, model)
    run_ours(opt, model, grad_sequence(model, 3))
    for n, p, _ in model.named_parameters():
        assert p.dtype == np.float32, n
    assert all(a.dtype == np.float32 for s in opt.state.values() for a in s.values())


# The variant with every slot of each optimizer.
RESUME = [
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("adam", {"lr": 1e-2, "amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {"lr": 1e-2, "amsgrad": True, "betas": (0.8, 0.95)}),
]


@pytest.mark.parametrize("case", RESUME, ids=[case_id(c) for c in RESUME])
def test_state_dict_resume_is_bit_identical(case):
    name, kw = case
    grads = grad_sequence(Toy(), 20)
    straight = Toy()
    run_ours(make_optimizer(name, straight, **kw), straight, grads)

    first = Toy()
    opt = make_optimizer(name, first, **kw)
    run_ours(opt, first, grads[:10])
    state = opt.state_dict()
    state["hyper"] = json.loads(json.dumps(state["hyper"]))  # the hyper-parameters are plain JSON
    assert state["step"] == 10 and state["name"] == name

    resumed = Toy(seed=123)  # different values, overwritten below: fresh arrays, fresh optimizer
    resumed.load_state_dict(first.state_dict())
    opt2 = make_optimizer(name, resumed, lr=0.5)  # lr comes back from the state dict
    opt2.load_state_dict(state)
    assert opt2.lr == opt.lr
    run_ours(opt2, resumed, grads[10:])
    for (n, p, _), (_, q, _) in zip(straight.named_parameters(), resumed.named_parameters(), strict=False):
        np.testing.assert_array_equal(p, q, err_msg=n)


def test_state_dict_is_a_copy():
    model = Toy()
    opt = Adam(model)
    run_ours(opt, model, grad_sequence(model, 2))
    state = opt.state_dict()
    for a in state["arrays"].values():
        a.fill(7.0)
    assert not any((a == 7.0).all() for s in opt.state.values() for a in s.values())
    assert set(state["arrays"]) == {
        f"{n}.{s}" for n, _, _ in model.named_parameters() for s in ("exp_avg", "exp_avg_sq")
    }


# -- bad input ----------------------------------------------------------------------------
def test_unknown_name_lists_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"name: expected one of \['adagrad', 'adam', 'adamw', 'ntasgd', 'rmsprop', 'sgd'\], got 'adamx'",
    ):
        make_optimizer("adamx", Toy())


@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")])
def test_bad_lr_names_argument_range_and_value(lr):
    with pytest.raises(ValueError, match=r"lr: expected a finite number >= 0, got " + repr(lr)):
        Adam(Toy(), lr=lr)
    opt = SGD(Toy())
    with pytest.raises(ValueError, match=r"lr: expected a finite number >= 0"):
        opt.lr = lr
    assert opt.lr == 1e-3


@pytest.mark.parametrize(
    "betas, arg, got", [((1.0, 0.999), r"betas\[0\]", "1.0"), ((0.9, -0.1), r"betas\[1\]", "-0.1")]
)
def test_bad_betas(betas, arg, got):
    with pytest.raises(ValueError, match=arg + r": expected a number in \[0, 1\), got " + got):
        AdamW(Toy(), betas=betas)


def test_other_bad_hyper_parameters():
    with pytest.raises(TypeError, match=r"betas: expected a pair \(beta1, beta2\), got 0.9"):
        Adam(Toy(), betas=0.9)
    with pytest.raises(ValueError, match=r"nesterov: expected momentum > 0 and dampening == 0, got momentum=0.0"):
        SGD(Toy(), nesterov=True)
    with pytest.raises(ValueError, match=r"alpha: expected a number in \[0, 1\], got 1.5"):
        make_optimizer("rmsprop", Toy(), alpha=1.5)
    with pytest.raises(TypeError, match=r"amsgrad: expected True or False, got str"):
        Adam(Toy(), amsgrad="yes")
    with pytest.raises(TypeError, match=r"lr: expected a finite number >= 0, got str"):
        SGD(Toy(), lr="0.1")
    with pytest.raises(TypeError):
        Adam(Toy(), momentum=0.9)  # not an Adam hyper-parameter


def test_bad_params():
    with pytest.raises(
        TypeError, match=r"params: expected a Module or an iterable of \(name, param, grad\) triples, got dict"
    ):
        SGD({"w": np.zeros(3)})
    with pytest.raises(ValueError, match=r"params: expected at least one parameter, got none"):
        SGD([])
    with pytest.raises(ValueError, match=r"params\['w'\]: expected grad shape \(3,\), got \(4,\)"):
        SGD([("w", np.zeros(3), np.zeros(4))])
    with pytest.raises(ValueError, match=r"params: expected unique names, got 'w' twice"):
        SGD([("w", np.zeros(3), np.zeros(3))] * 2)
    with pytest.raises(TypeError, match=r"params\['w'\]: expected the param to be a float32/float64"):
        SGD([("w", np.zeros(3, dtype=int), np.zeros(3))])


def test_load_state_dict_validates_before_changing_anything():
    model = Toy()
    opt = Adam(model)
    run_ours(opt, model, grad_sequence(model, 2))
    good = opt.state_dict()

    def broken(**change):
        d = {**good, "arrays": dict(good["arrays"]), "hyper": dict(good["hyper"])}
        d.update(change)
        return d

    bad_shape = broken()
    bad_shape["arrays"]["head.bias.exp_avg"] = np.zeros(4)
    with pytest.raises(
        ValueError, match=r"state\['arrays'\]\['head.bias.exp_avg'\]: expected shape \(3,\), got \(4,\)"
    ):
        opt.load_state_dict(bad_shape)
    missing = broken()
    del missing["arrays"]["weight_hh_l0.exp_avg_sq"]
    with pytest.raises(ValueError, match=r"missing \['weight_hh_l0.exp_avg_sq'\], unexpected none"):
        opt.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"state\['name'\]: expected 'adam', got 'sgd'"):
        opt.load_state_dict(broken(name="sgd"))
    # amsgrad=True needs a max_exp_avg_sq slot that this state does not have.
    with pytest.raises(ValueError, match=r"missing \['bias_ih_l0.max_exp_avg_sq'"):
        opt.load_state_dict(broken(hyper={**good["hyper"], "amsgrad": True}))
    with pytest.raises(ValueError, match=r"betas\[1\]: expected a number in \[0, 1\), got 2"):
        opt.load_state_dict(broken(hyper={**good["hyper"], "betas": [0.9, 2]}))
    with pytest.raises(ValueError, match=r"state\['step'\]: expected an int >= 0, got -1"):
        opt.load_state_dict(broken(step=-1))
    with pytest.raises(ValueError, match=r"state: expected keys"):
        opt.load_state_dict({"name": "adam"})
    with pytest.raises(TypeError, match=r"state: expected a mapping"):
        opt.load_state_dict([1, 2])
    after = opt.state_dict()
    assert after["step"] == good["step"] and after["hyper"] == good["hyper"]
    for k, a in good["arrays"].items():
        np.testing.assert_array_equal(after["arrays"][k], a)
