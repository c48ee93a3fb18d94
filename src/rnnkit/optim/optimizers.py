"""Optimizers over a whole model: SGD, Adagrad, RMSprop, Adam, AdamW.

One optimizer sees every parameter of the model (never one optimizer per layer), so global
gradient clipping and one learning-rate schedule apply to all of them. It holds references
to the live ``(name, param, grad)`` arrays of :meth:`rnnkit.nn.module.Module.named_parameters`
and updates the parameters *in place*; gradients are read, never modified.

Each update is the single-tensor (non-foreach, non-fused) algorithm of ``torch.optim`` with
the same hyper-parameter names, defaults and per-parameter state names (``exp_avg``,
``momentum_buffer``, ...), so a run matches PyTorch step for step in float64. Below,
``g`` is the gradient, ``p`` the parameter, ``t`` the step count starting at 1, ``lr`` the
current learning rate (schedules in :mod:`rnnkit.optim.schedules` write it between steps).

``state_dict()`` is plain data: ``{"name", "hyper" (JSON-able), "step", "arrays"}`` with
``arrays`` keyed ``"<param name>.<slot>"``; no pickle anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..utils.checks import check_number

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "OPTIMIZERS", "make_optimizer"]


# -- validation helpers -------------------------------------------------------------------
def _check_bool(arg: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{arg}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _check_betas(betas) -> list[float]:
    pair = list(betas) if isinstance(betas, (list, tuple, np.ndarray)) else None
    if pair is None or len(pair) != 2:
        raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}; hint: betas=(0.9, 0.999)")
    b1, b2 = pair
    return [check_number("betas[0]", b1, low=0.0, high=1.0, high_open=True),
            check_number("betas[1]", b2, low=0.0, high=1.0, high_open=True)]


def _collect_params(params) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Accept a Module (anything with ``named_parameters()``) or ``(name, param, grad)`` triples."""
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    if isinstance(params, (Mapping, np.ndarray, str)) or not isinstance(params, Iterable):
        raise TypeError(
            "params: expected a Module or an iterable of (name, param, grad) triples, "
            f"got {type(params).__name__}; hint: pass the model itself"
        )
    out, seen = [], set()
    for i, item in enumerate(params):
        if not (isinstance(item, tuple) and len(item) == 3):
            raise TypeError(f"params[{i}]: expected a (name, param, grad) triple, got {type(item).__name__}")
        name, p, g = item
        if not isinstance(name, str) or not name:
            raise TypeError(f"params[{i}]: expected a non-empty str name, got {name!r}")
        if name in seen:
            raise ValueError(f"params: expected unique names, got {name!r} twice")
        for what, arr in (("param", p), ("grad", g)):
            if not isinstance(arr, np.ndarray) or arr.dtype not in (np.float32, np.float64):
                raise TypeError(
                    f"params[{name!r}]: expected the {what} to be a float32/float64 numpy.ndarray, "
                    f"got {type(arr).__name__} {getattr(arr, 'dtype', '')}"
                )
        if g.shape != p.shape:
            raise ValueError(f"params[{name!r}]: expected grad shape {p.shape}, got {g.shape}")
        seen.add(name)
        out.append((name, p, g))
    if not out:
        raise ValueError("params: expected at least one parameter, got none")
    return out


def _lerp_(a: np.ndarray, b: np.ndarray, w: float) -> None:
    """``a <- a + w (b - a)`` in place, in the two-branch form PyTorch's CPU kernel uses."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1.0 - w)


# -- the base class ----------------------------------------------------------------------
class Optimizer:
    """Shared machinery: parameter references, per-parameter slots, step count, state dict.

    A subclass sets ``name``, implements ``_check_hyper`` (validate and normalise the
    hyper-parameters), ``_slots`` (state arrays per parameter for those hyper-parameters)
    and ``_update`` (one in-place step of one parameter).
    """

    name = ""

    def __init__(self, params, hyper: dict) -> None:
        self._params = _collect_params(params)
        self.hyper = self._check_hyper(hyper)
        self.step_count = 0
        self.state = self._fresh_state()

    # -- subclass hooks ------------------------------------------------------------------
    @staticmethod
    def _check_hyper(h: dict) -> dict:  # pragma: no cover - always overridden
        raise NotImplementedError

    @staticmethod
    def _slots(h: dict) -> tuple[str, ...]:
        """Names of the per-parameter state arrays these hyper-parameters need."""
        return ()

    def _slot_init(self, slot: str, p: np.ndarray) -> np.ndarray:
        return np.zeros_like(p)

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict, t: int) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- public API ----------------------------------------------------------------------
    @property
    def lr(self) -> float:
        return self.hyper["lr"]

    @lr.setter
    def lr(self, value) -> None:
        self.hyper["lr"] = check_number("lr", value, low=0.0)

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        self.step_count += 1
        for name, p, g in self._params:
            self._update(p, g, self.state[name], self.step_count)

    def zero_grad(self) -> None:
        for _, _, g in self._params:
            g.fill(0)

    def state_dict(self) -> dict:
        """Plain-data snapshot: hyper-parameters, step count and copies of every slot."""
        hyper = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in self.hyper.items()}
        arrays = {f"{n}.{slot}": a.copy() for n, s in self.state.items() for slot, a in s.items()}
        return {"name": self.name, "hyper": hyper, "step": self.step_count, "arrays": arrays}

    def load_state_dict(self, d: Mapping) -> None:
        """Restore a :meth:`state_dict`, checking the name, hyper-parameters, every array key,
        shape and value first; nothing changes unless all of it is valid."""
        if not isinstance(d, Mapping):
            raise TypeError(f"state: expected a mapping from Optimizer.state_dict(), got {type(d).__name__}")
        keys = {"name", "hyper", "step", "arrays"}
        if set(d) != keys:
            raise ValueError(f"state: expected keys {sorted(keys)}, got {sorted(d)}")
        if d["name"] != self.name:
            raise ValueError(
                f"state['name']: expected {self.name!r}, got {d['name']!r}; "
                f"hint: load it into make_optimizer({d['name']!r}, ...)"
            )
        hyper = d["hyper"]
        if not isinstance(hyper, Mapping) or set(hyper) != set(self.hyper):
            got = sorted(hyper) if isinstance(hyper, Mapping) else type(hyper).__name__
            raise ValueError(f"state['hyper']: expected keys {sorted(self.hyper)}, got {got}")
        hyper = self._check_hyper(dict(hyper))
        step = d["step"]
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"state['step']: expected an int >= 0, got {step!r}")
        arrays = d["arrays"]
        if not isinstance(arrays, Mapping):
            raise TypeError(f"state['arrays']: expected a mapping, got {type(arrays).__name__}")
        state = self._check_arrays(arrays, self._slots(hyper))
        self.hyper, self.step_count, self.state = hyper, int(step), state

    def _check_arrays(self, arrays: Mapping, slots: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
        """Copies of the saved slot arrays, after checking every key, shape and value."""
        want = {f"{n}.{s}": (n, s, p) for n, p, _ in self._params for s in slots}
        missing, extra = sorted(set(want) - set(arrays)), sorted(set(arrays) - set(want))
        if missing or extra:
            raise ValueError(
                "state['arrays']: keys do not match this optimizer's parameters; "
                f"missing {missing or 'none'}, unexpected {extra or 'none'}"
            )
        state = {n: {} for n, _, _ in self._params}
        for key, (n, s, p) in want.items():
            a = np.asarray(arrays[key])
            if a.shape != p.shape:
                raise ValueError(f"state['arrays'][{key!r}]: expected shape {p.shape}, got {a.shape}")
            if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)):
                raise ValueError(f"state['arrays'][{key!r}]: expected finite floats, got dtype {a.dtype}")
            state[n][s] = a.astype(p.dtype, copy=True)
        return state

    def _fresh_state(self) -> dict[str, dict[str, np.ndarray]]:
        return {n: {s: self._slot_init(s, p) for s in self._slots(self.hyper)} for n, p, _ in self._params}

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({len(self._params)} tensors, {hyper})"


# -- the algorithms ----------------------------------------------------------------------
class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum (PyTorch's formulation).

    .. math::
        g &\leftarrow g + \lambda p \\
        b_1 = g,\quad b_t &= \mu b_{t-1} + (1 - \tau) g \\
        g &\leftarrow g + \mu b_t \ \text{(nesterov)}\quad \text{else}\ g \leftarrow b_t \\
        p &\leftarrow p - \mathrm{lr}\, g

    with momentum :math:`\mu`, dampening :math:`\tau`, weight decay :math:`\lambda`. Note
    the first buffer is the raw gradient (no dampening), as in PyTorch.
    """

    name = "sgd"

    def __init__(self, params, *, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    @staticmethod
    def _check_hyper(h):
        out = dict(lr=check_number("lr", h["lr"], low=0.0),
                   momentum=check_number("momentum", h["momentum"], low=0.0),
                   dampening=check_number("dampening", h["dampening"]),
                   weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
                   nesterov=_check_bool("nesterov", h["nesterov"]))
        if out["nesterov"] and (out["momentum"] <= 0 or out["dampening"] != 0):
            raise ValueError(
                "nesterov: expected momentum > 0 and dampening == 0, got "
                f"momentum={out['momentum']!r}, dampening={out['dampening']!r}; hint: momentum=0.9"
            )
        return out

    @staticmethod
    def _slots(h):
        return ("momentum_buffer",) if h["momentum"] != 0 else ()

    def _update(self, p, g, s, t):
        h = self.hyper
        if h["weight_decay"] != 0:
            g = g + h["weight_decay"] * p
        if h["momentum"] != 0:
            buf = s["momentum_buffer"]
            if t == 1:
                buf[...] = g
            else:
                buf *= h["momentum"]
                buf += (1.0 - h["dampening"]) * g
            g = g + h["momentum"] * buf if h["nesterov"] else buf
        p += -h["lr"] * g


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al. 2011), the optimizer of min-char-rnn.

    .. math::
        g \leftarrow g + \lambda p,\quad
        \eta_t = \frac{\mathrm{lr}}{1 + (t-1)\,\delta},\quad
        S \leftarrow S + g^2,\quad
        p \leftarrow p - \eta_t \frac{g}{\sqrt{S} + \epsilon}

    with ``S`` starting at ``initial_accumulator_value`` and learning-rate decay
    :math:`\delta` (``lr_decay``). PyTorch's form: min-char-rnn puts ``eps`` inside the
    square root (``sqrt(S + 1e-8)``), which differs only while ``S`` is tiny.
    """

    name = "adagrad"

    def __init__(self, params, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    @staticmethod
    def _check_hyper(h):
        return dict(lr=check_number("lr", h["lr"], low=0.0),
                    lr_decay=check_number("lr_decay", h["lr_decay"], low=0.0),
                    weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
                    initial_accumulator_value=check_number(
                        "initial_accumulator_value", h["initial_accumulator_value"], low=0.0),
                    eps=check_number("eps", h["eps"], low=0.0))

    @staticmethod
    def _slots(h):
        return ("sum",)

    def _slot_init(self, slot, p):
        return np.full_like(p, self.hyper["initial_accumulator_value"])

    def _update(self, p, g, s, t):
        h = self.hyper
        if h["weight_decay"] != 0:
            g = g + h["weight_decay"] * p
        clr = h["lr"] / (1 + (t - 1) * h["lr_decay"])
        s["sum"] += g * g
        std = np.sqrt(s["sum"]) + h["eps"]
        p += -clr * g / std


class RMSprop(Optimizer):
    r"""RMSprop (Hinton 2012), optionally centred (Graves 2013) and with momentum.

    .. math::
        g &\leftarrow g + \lambda p,\qquad v \leftarrow \alpha v + (1-\alpha) g^2 \\
        \bar g &\leftarrow \alpha \bar g + (1-\alpha) g,\quad
        d = \sqrt{v - \bar g^2} + \epsilon\ \text{(centered)}\quad\text{else}\ d = \sqrt{v} + \epsilon \\
        b &\leftarrow \mu b + g / d,\quad p \leftarrow p - \mathrm{lr}\, b
        \quad\text{(momentum } \mu > 0\text{; else } p \leftarrow p - \mathrm{lr}\, g / d)
    """

    name = "rmsprop"

    def __init__(self, params, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    @staticmethod
    def _check_hyper(h):
        return dict(lr=check_number("lr", h["lr"], low=0.0),
                    alpha=check_number("alpha", h["alpha"], low=0.0, high=1.0),
                    eps=check_number("eps", h["eps"], low=0.0),
                    weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
                    momentum=check_number("momentum", h["momentum"], low=0.0),
                    centered=_check_bool("centered", h["centered"]))

    @staticmethod
    def _slots(h):
        return (("square_avg",) + (("momentum_buffer",) if h["momentum"] > 0 else ())
                + (("grad_avg",) if h["centered"] else ()))

    def _update(self, p, g, s, t):
        h = self.hyper
        if h["weight_decay"] != 0:
            g = g + h["weight_decay"] * p
        v = s["square_avg"]
        v *= h["alpha"]
        v += (1.0 - h["alpha"]) * g * g
        if h["centered"]:
            _lerp_(s["grad_avg"], g, 1.0 - h["alpha"])
            avg = np.sqrt(v - s["grad_avg"] * s["grad_avg"])
        else:
            avg = np.sqrt(v)
        avg += h["eps"]
        if h["momentum"] > 0:
            buf = s["momentum_buffer"]
            buf *= h["momentum"]
            buf += g / avg
            p += -h["lr"] * buf
        else:
            p += -h["lr"] * g / avg


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015), optionally AMSGrad (Reddi et al. 2018).

    .. math::
        g &\leftarrow g + \lambda p \quad(\text{AdamW instead: } p \leftarrow p (1 - \mathrm{lr}\,\lambda)) \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g,\qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        \hat v &= \max(\hat v, v)\ \text{(amsgrad)}\quad\text{else}\ \hat v = v \\
        p &\leftarrow p - \frac{\mathrm{lr}}{1-\beta_1^t}\,
            \frac{m}{\sqrt{\hat v} / \sqrt{1-\beta_2^t} + \epsilon}
    """

    name = "adam"
    _decoupled = False

    def __init__(self, params, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    @staticmethod
    def _check_hyper(h):
        return dict(lr=check_number("lr", h["lr"], low=0.0),
                    betas=_check_betas(h["betas"]),
                    eps=check_number("eps", h["eps"], low=0.0),
                    weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
                    amsgrad=_check_bool("amsgrad", h["amsgrad"]))

    @staticmethod
    def _slots(h):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if h["amsgrad"] else ())

    def _update(self, p, g, s, t):
        h = self.hyper
        lr, (b1, b2), wd = h["lr"], h["betas"], h["weight_decay"]
        if wd != 0:
            if self._decoupled:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        m, v = s["exp_avg"], s["exp_avg_sq"]
        _lerp_(m, g, 1 - b1)
        v *= b2
        v += (1 - b2) * g * g
        step_size = lr / (1 - b1**t)
        bias_correction2_sqrt = (1 - b2**t) ** 0.5
        if h["amsgrad"]:
            np.maximum(s["max_exp_avg_sq"], v, out=s["max_exp_avg_sq"])
            v = s["max_exp_avg_sq"]
        denom = np.sqrt(v) / bias_correction2_sqrt + h["eps"]
        p += -step_size * m / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019):
    :math:`p \leftarrow p (1 - \mathrm{lr}\,\lambda)` before the Adam step, so the decay
    never enters the moment estimates. Default ``weight_decay=1e-2`` as in PyTorch."""

    name = "adamw"
    _decoupled = True

    def __init__(self, params, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
}


def make_optimizer(name: str, params, **kwargs) -> Optimizer:
    """Build the optimizer registered as ``name`` (see :data:`OPTIMIZERS`) over ``params``."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"name: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name.lower()](params, **kwargs)
