"""The base class of every optimizer: parameter references, per-parameter slots, the step
count and a plain-data state dict; and the checks of hyper-parameters they share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np

from ..utils.checks import check_number

__all__ = ["Optimizer"]


class HasParameters(Protocol):
    """Anything with ``named_parameters()``: a Module, or a wrapper such as ``TBPTT``."""

    def named_parameters(self, prefix: str = ...) -> Iterable[tuple[str, np.ndarray, np.ndarray]]: ...


#: what an optimizer or a clip function reads parameters from: a model, or (name, param, grad) triples
ParamsLike = HasParameters | Iterable[tuple[str, np.ndarray, np.ndarray]]


# -- validation helpers -------------------------------------------------------------------
def _check_bool(arg: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{arg}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _check_betas(betas: Any) -> list[float]:
    pair = list(betas) if isinstance(betas, (list, tuple, np.ndarray)) else None
    if pair is None or len(pair) != 2:
        raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}; hint: betas=(0.9, 0.999)")
    b1, b2 = pair
    return [
        check_number("betas[0]", b1, low=0.0, high=1.0, high_open=True),
        check_number("betas[1]", b2, low=0.0, high=1.0, high_open=True),
    ]


def _collect_params(params: ParamsLike) -> list[tuple[str, np.ndarray, np.ndarray]]:
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

    def __init__(self, params: ParamsLike, hyper: dict) -> None:
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
    def lr(self, value: float) -> None:
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
        state: dict[str, dict[str, np.ndarray]] = {n: {} for n, _, _ in self._params}
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
