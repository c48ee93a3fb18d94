"""The base class every layer and model derives from.

A module owns named parameter arrays and one gradient array per parameter, of the same
name, shape and dtype. Gradients are *accumulated* by ``backward`` (``+=``) and cleared by
``zero_grad``. Both kinds of array are allocated once and only ever updated in place, so
an optimizer may hold references to them for the whole of training.

Names follow PyTorch: a child's parameters are prefixed with the child's name and a dot
(``encoder.weight_ih_l0``), so a ``state_dict`` moves between rnnkit and PyTorch unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Self, TypeVar

import numpy as np
from numpy.typing import DTypeLike

DTYPES = {"float32": np.float32, "float64": np.float64}


def resolve_dtype(dtype: DTypeLike) -> np.dtype:
    """Accept float32/float64 as a NumPy dtype or a name; refuse anything else."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in (np.float32, np.float64):
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}")
    return dt


def check_rng(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng`` is an explicit ``numpy.random.Generator``; None means a fresh, unseeded one."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng: expected a numpy.random.Generator, got {type(rng).__name__}; hint: rng=numpy.random.default_rng(0)"
        )
    return rng


_M = TypeVar("_M", bound="Module")


class Module:
    """Parameters, their gradients, children, and the train/eval switch."""

    def __init__(self) -> None:
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._children: dict[str, Module] = {}
        self.training = True

    # -- construction ---------------------------------------------------------------
    def register_parameter(self, name: str, value: np.ndarray) -> np.ndarray:
        """Own ``value`` as parameter ``name``; allocate its zero gradient."""
        assert name not in self._params and "." not in name, name
        value = np.ascontiguousarray(value)
        self._params[name] = value
        self._grads[name] = np.zeros_like(value)
        return value

    def add_module(self, name: str, module: _M) -> _M:
        assert name not in self._children and "." not in name, name
        self._children[name] = module
        return module

    # -- access -----------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, parameter, gradient)`` for this module and its children."""
        for name, value in self._params.items():
            yield prefix + name, value, self._grads[name]
        for cname, child in self._children.items():
            yield from child.named_parameters(prefix + cname + ".")

    def parameters(self) -> dict[str, np.ndarray]:
        """Live parameter arrays by name (updating them updates the model)."""
        return {n: p for n, p, _ in self.named_parameters()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Live gradient arrays by name: the same keys as :meth:`state_dict`."""
        return {n: g for n, _, g in self.named_parameters()}

    def num_parameters(self) -> int:
        return sum(p.size for _, p, _ in self.named_parameters())

    def zero_grad(self) -> None:
        for _, _, g in self.named_parameters():
            g.fill(0)

    def train(self, mode: bool = True) -> Self:
        self.training = bool(mode)
        for child in self._children.values():
            child.train(mode)
        return self

    def eval(self) -> Self:
        return self.train(False)

    # -- state -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, keyed by PyTorch-style names."""
        return {n: p.copy() for n, p, _ in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Copy ``state`` into the parameters in place, after checking every key and shape.

        Accepts NumPy arrays or anything ``numpy.asarray`` understands (PyTorch tensors via
        ``.detach().numpy()``). Nothing is modified unless every entry is valid.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state: expected a mapping of name -> array, got {type(state).__name__}")
        own = {n: p for n, p, _ in self.named_parameters()}
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(
                f"state: keys do not match the model; missing {missing or 'none'}, unexpected {extra or 'none'}"
            )
        staged = {}
        for name, target in own.items():
            value = state[name]
            if hasattr(value, "detach"):  # a torch tensor; read it without importing torch
                value = value.detach().cpu().numpy()
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"state[{name!r}]: expected shape {target.shape}, got {value.shape}")
            if not np.issubdtype(value.dtype, np.number):
                raise TypeError(f"state[{name!r}]: expected a numeric array, got dtype {value.dtype}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"state[{name!r}]: contains NaN or inf")
            staged[name] = value
        for name, value in staged.items():
            np.copyto(own[name], value, casting="unsafe")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""
