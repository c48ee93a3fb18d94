"""Optimizers over a whole model: SGD, NTASGD, Adagrad, RMSprop, Adam, AdamW.

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

from typing import Any

import numpy as np

from ..utils.checks import check_number
from .optimizer import Optimizer, ParamsLike, _check_betas, _check_bool, _lerp_

__all__ = [
    "SGD",
    "NTASGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "OPTIMIZERS",
    "make_optimizer",
    "register_optimizer",
    "unregister_optimizer",
]


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

    def __init__(
        self,
        params: ParamsLike,
        *,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        )

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        out = dict(
            lr=check_number("lr", h["lr"], low=0.0),
            momentum=check_number("momentum", h["momentum"], low=0.0),
            dampening=check_number("dampening", h["dampening"]),
            weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
            nesterov=_check_bool("nesterov", h["nesterov"]),
        )
        if out["nesterov"] and (out["momentum"] <= 0 or out["dampening"] != 0):
            raise ValueError(
                "nesterov: expected momentum > 0 and dampening == 0, got "
                f"momentum={out['momentum']!r}, dampening={out['dampening']!r}; hint: momentum=0.9"
            )
        return out

    @staticmethod
    def _slots(h: dict) -> tuple[str, ...]:
        return ("momentum_buffer",) if h["momentum"] != 0 else ()

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict, t: int) -> None:
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

    def __init__(
        self,
        params: ParamsLike,
        *,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
            ),
        )

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(
            lr=check_number("lr", h["lr"], low=0.0),
            lr_decay=check_number("lr_decay", h["lr_decay"], low=0.0),
            weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
            initial_accumulator_value=check_number(
                "initial_accumulator_value", h["initial_accumulator_value"], low=0.0
            ),
            eps=check_number("eps", h["eps"], low=0.0),
        )

    @staticmethod
    def _slots(h: dict) -> tuple[str, ...]:
        return ("sum",)

    def _slot_init(self, slot: str, p: np.ndarray) -> np.ndarray:
        return np.full_like(p, self.hyper["initial_accumulator_value"])

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict, t: int) -> None:
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

    def __init__(
        self,
        params: ParamsLike,
        *,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        )

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(
            lr=check_number("lr", h["lr"], low=0.0),
            alpha=check_number("alpha", h["alpha"], low=0.0, high=1.0),
            eps=check_number("eps", h["eps"], low=0.0),
            weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
            momentum=check_number("momentum", h["momentum"], low=0.0),
            centered=_check_bool("centered", h["centered"]),
        )

    @staticmethod
    def _slots(h: dict) -> tuple[str, ...]:
        return (
            ("square_avg",)
            + (("momentum_buffer",) if h["momentum"] > 0 else ())
            + (("grad_avg",) if h["centered"] else ())
        )

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict, t: int) -> None:
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

    def __init__(
        self,
        params: ParamsLike,
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    @staticmethod
    def _check_hyper(h: dict) -> dict:
        return dict(
            lr=check_number("lr", h["lr"], low=0.0),
            betas=_check_betas(h["betas"]),
            eps=check_number("eps", h["eps"], low=0.0),
            weight_decay=check_number("weight_decay", h["weight_decay"], low=0.0),
            amsgrad=_check_bool("amsgrad", h["amsgrad"]),
        )

    @staticmethod
    def _slots(h: dict) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if h["amsgrad"] else ())

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict, t: int) -> None:
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

    def __init__(
        self,
        params: ParamsLike,
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class NTASGD(SGD):
    """Non-monotonically triggered averaged SGD (Merity et al. 2017, AWD-LSTM): the updates
    are :class:`SGD`'s; what differs is ``averaging``, which the trainer reads. Once the
    validation loss is worse than the best of the validations more than ``nonmono`` (a
    training setting) before, the trainer keeps the running mean of the parameters after
    each step (:class:`rnnkit.optim.averaging.RunningAverage`), and validation, early
    stopping and the fitted model use that average (:mod:`rnnkit.train.averaging`)."""

    name = "ntasgd"
    averaging = "nonmonotone"


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "ntasgd": NTASGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def register_optimizer(name: str, cls: type) -> type:
    """Register ``cls`` as the optimizer ``name`` (lower case, not taken); returns ``cls``.

    :data:`OPTIMIZERS` is the one list of optimizers: ``make_optimizer``, ``TrainConfig``, the
    estimators' ``optimizer`` check and the command line's choices all read it.
    """
    if not isinstance(name, str) or not name or name != name.lower() or name in OPTIMIZERS:
        raise ValueError(f"name: expected a new lower-case name, got {name!r} (taken: {sorted(OPTIMIZERS)})")
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise TypeError(f"cls: expected an optimizer class, got {cls!r}")
    OPTIMIZERS[name] = cls
    return cls


def unregister_optimizer(name: str) -> None:
    """Remove the optimizer registered as ``name``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"name: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    del OPTIMIZERS[name]


def make_optimizer(name: str, params: ParamsLike, **kwargs: Any) -> Optimizer:
    """Build the optimizer registered as ``name`` (see :data:`OPTIMIZERS`) over ``params``."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"name: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name.lower()](params, **kwargs)
