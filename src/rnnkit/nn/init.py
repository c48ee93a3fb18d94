"""Weight initializers, and ``initialize`` for recurrent layers gate block by gate block.

Every initializer is ``f(shape, *, rng, dtype=float64, **kw) -> ndarray`` with an explicit
``numpy.random.Generator``; the same seed gives the same arrays. Fans follow PyTorch: for a
``(out, in)`` matrix ``fan_in = in`` and ``fan_out = out``.

A recurrent layer stacks its gates: ``weight_ih_l{k}`` is ``(G*H, I)`` with G = 4 blocks
for LSTM (i, f, g, o), 3 for GRU (r, z, n), 1 for a plain RNN. :func:`initialize` draws
each ``(H, in)`` block on its own, so "orthogonal" means orthogonal per gate and fans are
per block, then sets the LSTM forget-gate bias (Jozefowicz et al. 2015).

Shapes: G gates x H hidden units, I input size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..utils.checks import check_number
from .module import Module, check_rng, resolve_dtype

ShapeLike = int | Sequence[int]  # a shape, as NumPy takes it

__all__ = [
    "calculate_gain",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "identity",
    "scaled_normal",
    "uniform_default",
    "zeros",
    "constant",
    "INITIALIZERS",
    "get_initializer",
    "PRESETS",
    "initialize",
]


# -- helpers ---------------------------------------------------------------------------------
def _shape(shape: ShapeLike) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        out = None
    if out is None or any(s < 0 for s in out) or any(isinstance(s, bool) for s in shape):
        raise TypeError(f"shape: expected a tuple of non-negative ints, got {shape!r}")
    return out


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight; dimensions past the second count as receptive field."""
    if len(shape) < 2:
        raise ValueError(
            f"shape: expected at least 2 dimensions to compute fan-in and fan-out, got {shape}; "
            "hint: initialize biases with 'zeros', 'constant' or 'uniform_default'"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str = "linear", param: float | None = None) -> float:
    """PyTorch's recommended gain: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + a^2)) (leaky_relu with slope ``param``, default 0.01), 3/4 (selu)."""
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else check_number("param", param)
        return math.sqrt(2.0 / (1 + a**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    valid = ["identity", "leaky_relu", "linear", "relu", "selu", "sigmoid", "tanh"]
    raise ValueError(f"nonlinearity: expected one of {valid}, got {nonlinearity!r}")


def _kaiming_std(shape: tuple[int, ...], a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


# -- initializers ----------------------------------------------------------------------------
def xavier_uniform(
    shape: ShapeLike, *, rng: np.random.Generator | None, dtype: DTypeLike = np.float64, gain: float = 1.0
) -> np.ndarray:
    r"""Glorot & Bengio 2010: :math:`U(-b, b)`,
    :math:`b = \text{gain}\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`."""
    shape = _shape(shape)
    fan_in, fan_out = _fans(shape)
    b = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return check_rng(rng).uniform(-b, b, size=shape).astype(resolve_dtype(dtype))


def xavier_normal(
    shape: ShapeLike, *, rng: np.random.Generator | None, dtype: DTypeLike = np.float64, gain: float = 1.0
) -> np.ndarray:
    r""":math:`N(0, \sigma^2)`, :math:`\sigma = \text{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`."""
    shape = _shape(shape)
    fan_in, fan_out = _fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return (std * check_rng(rng).standard_normal(shape)).astype(resolve_dtype(dtype))


def kaiming_uniform(
    shape: ShapeLike,
    *,
    rng: np.random.Generator | None,
    dtype: DTypeLike = np.float64,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> np.ndarray:
    r"""He et al. 2015: :math:`U(-b, b)`, :math:`b = \text{gain}\sqrt{3 / \text{fan}}`, gain from
    :func:`calculate_gain` (``leaky_relu`` with slope ``a = 0`` is ReLU's :math:`\sqrt 2`)."""
    shape = _shape(shape)
    b = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return check_rng(rng).uniform(-b, b, size=shape).astype(resolve_dtype(dtype))


def kaiming_normal(
    shape: ShapeLike,
    *,
    rng: np.random.Generator | None,
    dtype: DTypeLike = np.float64,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> np.ndarray:
    r"""He et al. 2015: :math:`N(0, \sigma^2)`, :math:`\sigma = \text{gain} / \sqrt{\text{fan}}`."""
    shape = _shape(shape)
    std = _kaiming_std(shape, a, mode, nonlinearity)
    return (std * check_rng(rng).standard_normal(shape)).astype(resolve_dtype(dtype))


def orthogonal(
    shape: ShapeLike, *, rng: np.random.Generator | None, dtype: DTypeLike = np.float64, gain: float = 1.0
) -> np.ndarray:
    r"""Saxe et al. 2014: ``gain * Q`` from the QR decomposition of a Gaussian matrix, signs
    fixed by ``diag(R)`` so Q is Haar-distributed. Square: :math:`Q^\top Q = I`; wide: the rows
    are orthonormal; tall: the columns are."""
    shape = _shape(shape)
    _fans(shape)  # at least 2-D
    rows, cols = shape[0], math.prod(shape[1:])
    flat = check_rng(rng).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)  # (max, min), (min, min)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(resolve_dtype(dtype))


def identity(
    shape: ShapeLike, *, rng: np.random.Generator | None = None, dtype: DTypeLike = np.float64, gain: float = 1.0
) -> np.ndarray:
    """``gain * I`` (ones on the main diagonal of a possibly non-square matrix); IRNN's
    recurrent weights (Le et al. 2015). Deterministic: ``rng`` is accepted and unused."""
    shape = _shape(shape)
    if len(shape) != 2:
        raise ValueError(f"shape: expected 2 dimensions for identity, got {shape}")
    return (gain * np.eye(*shape)).astype(resolve_dtype(dtype))


def scaled_normal(
    shape: ShapeLike, *, rng: np.random.Generator | None, dtype: DTypeLike = np.float64, std: float = 0.01
) -> np.ndarray:
    """``std * N(0, 1)``; 0.01 is min-char-rnn's ``np.random.randn(...) * 0.01``."""
    std = check_number("std", std, low=0.0)
    return (std * check_rng(rng).standard_normal(_shape(shape))).astype(resolve_dtype(dtype))


def uniform_default(
    shape: ShapeLike, *, rng: np.random.Generator | None, dtype: DTypeLike = np.float64, hidden_size: int | None = None
) -> np.ndarray:
    r"""PyTorch's RNN default :math:`U(-1/\sqrt H, 1/\sqrt H)`; ``H = hidden_size`` or, when
    omitted, ``shape[0]`` (right for one gate block or one gate's bias slice)."""
    shape = _shape(shape)
    H = shape[0] if hidden_size is None else hidden_size
    if isinstance(H, bool) or not isinstance(H, (int, np.integer)) or H < 1:
        raise ValueError(f"hidden_size: expected an int >= 1, got {H!r}")
    b = 1.0 / math.sqrt(H)
    return check_rng(rng).uniform(-b, b, size=shape).astype(resolve_dtype(dtype))


def zeros(shape: ShapeLike, *, rng: np.random.Generator | None = None, dtype: DTypeLike = np.float64) -> np.ndarray:
    return np.zeros(_shape(shape), dtype=resolve_dtype(dtype))


def constant(
    shape: ShapeLike, *, rng: np.random.Generator | None = None, dtype: DTypeLike = np.float64, value: float = 0.0
) -> np.ndarray:
    return np.full(_shape(shape), check_number("value", value), dtype=resolve_dtype(dtype))


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "kaiming_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "orthogonal": orthogonal,
    "identity": identity,
    "scaled_normal": scaled_normal,
    "uniform_default": uniform_default,
    "zeros": zeros,
    "constant": constant,
}


def get_initializer(spec: Any, arg: str = "name") -> tuple[str, Callable[..., np.ndarray], dict]:
    """``spec`` is a registered name or ``(name, kwargs)``; returns ``(name, function, kwargs)``."""
    name, kw = spec if isinstance(spec, (tuple, list)) and len(spec) == 2 else (spec, {})
    if not isinstance(kw, Mapping):
        raise TypeError(f"{arg}: expected (name, kwargs) with a dict of kwargs, got {spec!r}")
    if not isinstance(name, str) or name not in INITIALIZERS:
        raise ValueError(f"{arg}: expected one of {sorted(INITIALIZERS)} or (name, kwargs), got {spec!r}")
    return name, INITIALIZERS[name], dict(kw)


# -- whole-model initialization ---------------------------------------------------------------
PRESETS: dict[str, dict] = {
    # Le, Jaitly & Hinton 2015: ReLU RNN, identity recurrence, zero bias, tiny input weights.
    "irnn": {
        "weight_ih": ("scaled_normal", {"std": 0.001}),
        "weight_hh": "identity",
        "bias": "zeros",
        "forget_bias": None,
        "mode": "RNN_RELU",
    },
    # What torch.nn.RNN/LSTM/GRU do on construction: every parameter U(-1/sqrt(H), 1/sqrt(H)).
    "pytorch": {
        "weight_ih": "uniform_default",
        "weight_hh": "uniform_default",
        "bias": "uniform_default",
        "forget_bias": None,
    },
    # Karpathy's min-char-rnn: randn * 0.01 weights (output layer too), zero biases.
    "min_char_rnn": {
        "weight_ih": ("scaled_normal", {"std": 0.01}),
        "weight_hh": ("scaled_normal", {"std": 0.01}),
        "bias": "zeros",
        "forget_bias": None,
        "linear": ("scaled_normal", {"std": 0.01}),
    },
}

_DEFAULTS: dict[str, Any] = {
    "weight_ih": "xavier_uniform",
    "weight_hh": "orthogonal",
    "bias": "zeros",
    "forget_bias": 1.0,
    "linear": None,
    "mode": None,
}
_UNSET = object()
_RECURRENT = re.compile(
    r"^(?P<prefix>(?:.*\.)?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh)"
    r"_l(?P<layer>\d+)(?P<suffix>_reverse)?$"
)


def _layer_modes(module: Any, prefix: str = "") -> dict[str, str]:
    """``{prefix: mode}`` for every sub-module that declares a recurrent ``mode``.

    Module has no public accessor for its children, hence ``_children``.
    """
    found = {prefix: module.mode} if isinstance(getattr(module, "mode", None), str) else {}
    for name, child in getattr(module, "_children", {}).items():
        found.update(_layer_modes(child, prefix + name + "."))
    return found


def _layer_shapes(params: dict, modes: dict, required_mode: str | None) -> dict[tuple, tuple[int, int]]:
    """``{(prefix, layer, suffix): (G, H)}``, checking every recurrent parameter's shape."""
    layers: dict[tuple, dict] = {}
    for name, p in params.items():
        m = _RECURRENT.match(name)
        if m:
            layers.setdefault((m["prefix"], m["layer"], m["suffix"] or ""), {})[m["kind"]] = (name, p)
    out = {}
    for (prefix, layer, suffix), members in layers.items():
        hh_name = f"{prefix}weight_hh_l{layer}{suffix}"
        if "weight_hh" not in members:
            other = next(iter(members.values()))[0]
            raise ValueError(f"{hh_name}: expected it beside {other} to infer hidden_size, got no such parameter")
        w_hh = members["weight_hh"][1]
        rows, H = w_hh.shape if w_hh.ndim == 2 else (0, 0)
        if H < 1 or rows % H or rows // H not in (1, 3, 4):
            raise ValueError(f"{hh_name}: expected shape (G*H, H) with G in (1, 3, 4) gates, got {w_hh.shape}")
        G = rows // H
        for kind, (name, p) in members.items():
            want_ndim = 2 if kind.startswith("weight") else 1
            if p.ndim != want_ndim or p.shape[0] != G * H:
                want = f"({G * H}, in)" if want_ndim == 2 else f"({G * H},)"
                raise ValueError(f"{name}: expected shape {want} for G={G} gates of H={H}, got {p.shape}")
        mode = modes.get(prefix)
        if required_mode is not None and (G != 1 or (mode is not None and mode != required_mode)):
            raise ValueError(
                f"{hh_name}: expected a {required_mode} layer for this preset, got "
                f"{mode or f'{G} gate blocks'}; hint: build the layer with nonlinearity='relu'"
            )
        out[(prefix, layer, suffix)] = (G, H)
    return out


def initialize(
    module: Module,
    *,
    weight_ih: Any = _UNSET,
    weight_hh: Any = _UNSET,
    bias: Any = _UNSET,
    forget_bias: Any = _UNSET,
    linear: Any = _UNSET,
    preset: str | None = None,
    rng: np.random.Generator | None,
) -> dict[str, str]:
    """Initialize a model's recurrent parameters in place, one gate block at a time.

    For every ``weight_ih_l{k}[_reverse]`` / ``weight_hh_l{k}[_reverse]`` of shape
    ``(G*H, in)``, each ``(H, in)`` gate block gets its own draw of the named initializer
    (fans per block); ``bias_ih``/``bias_hh`` blocks ``(H,)`` use ``bias``. H comes from
    ``weight_hh``'s second dimension and ``G = rows / H``. For LSTM layers (G = 4) the
    forget-gate slice ``[H:2H]`` of ``bias_ih`` is set to ``forget_bias`` and that of
    ``bias_hh`` to 0, so the gate's total bias is ``forget_bias`` (``None`` leaves it).

    Other parameters (a Linear head, an embedding) are left alone unless ``linear`` names
    an initializer: then every other parameter of 2+ dimensions gets ``linear`` and every
    other 1-D one gets ``bias``. A recurrent cell's own parameters (the layer-norm gains and
    biases of ``ln_lstm``, ``ln_gru``) are always left alone.

    Each initializer is a name from :data:`INITIALIZERS` or ``(name, kwargs)``, e.g.
    ``("orthogonal", {"gain": 1.1})``; ``None`` leaves those parameters alone. ``preset``
    (a key of :data:`PRESETS`) supplies the settings and explicit keywords override it.
    Nothing is written unless every parameter validates. Draws follow parameter order,
    so the result depends only on ``rng``'s seed.

    Returns:
        ``{parameter name: initializer name}`` for every parameter written, with
        ``" + forget_bias=v"`` appended on LSTM biases.
    """
    if not hasattr(module, "named_parameters"):
        raise TypeError(f"module: expected a Module, got {type(module).__name__}")
    settings = dict(_DEFAULTS)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
        settings.update(PRESETS[preset])
    explicit = dict(weight_ih=weight_ih, weight_hh=weight_hh, bias=bias, forget_bias=forget_bias, linear=linear)
    settings.update({k: v for k, v in explicit.items() if v is not _UNSET})
    rng = check_rng(rng)
    specs = {
        k: None if settings[k] is None else get_initializer(settings[k], k)
        for k in ("weight_ih", "weight_hh", "bias", "linear")
    }
    fb = settings["forget_bias"]
    fb = None if fb is None else check_number("forget_bias", fb)

    params = {n: p for n, p, _ in module.named_parameters()}
    modes = _layer_modes(module)
    layers = _layer_shapes(params, modes, settings["mode"])
    staged, report = {}, {}
    for name, p in params.items():
        m = _RECURRENT.match(name)
        if m is None:  # not recurrent: only with linear=...
            owner = name.rpartition(".")[0]
            if (owner + "." if owner else "") in modes:
                continue  # a recurrent cell's own parameter (a layer-norm gain) keeps its value
            spec = None if specs["linear"] is None else (specs["linear"] if p.ndim >= 2 else specs["bias"])
            if spec is not None:
                staged[name] = spec[1](p.shape, rng=rng, dtype=p.dtype, **spec[2])
                report[name] = spec[0]
            continue
        kind = m["kind"]
        G, H = layers[(m["prefix"], m["layer"], m["suffix"] or "")]
        spec = specs[kind] if kind.startswith("weight") else specs["bias"]
        value = p.copy()
        if spec is not None:
            _, f, kw = spec
            for gate in range(G):  # each (H, in) block is its own draw, with its own fans
                value[gate * H : (gate + 1) * H] = f((H,) + p.shape[1:], rng=rng, dtype=p.dtype, **kw)
            report[name] = spec[0]
        if G == 4 and fb is not None and kind in ("bias_ih", "bias_hh"):
            has_ih = f"{m['prefix']}bias_ih_l{m['layer']}{m['suffix'] or ''}" in params
            value[H : 2 * H] = fb if kind == "bias_ih" or not has_ih else 0.0
            report[name] = report.get(name, "unchanged") + f" + forget_bias={fb}"
        if spec is not None or name in report:
            staged[name] = value
    for name, value in staged.items():
        params[name][...] = value
    return report
