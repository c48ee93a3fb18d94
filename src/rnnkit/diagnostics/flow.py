"""Gradient flow through time, collected over training: ||dL/dh_t|| per time step.

Shape legend
    T  time steps of one backward pass       S  training steps at which flow was recorded

The engine does the measuring: with ``layer.record_grad_flow = True`` a layer's backward
fills ``layer.grad_flow`` with one (T,) array per layer and direction,

    h_l{k}[t]          = || dL/dh_t ||       (Frobenius norm over the batch and hidden units)
    h_l{k}_reverse[t]  = the same for the reverse direction
    c_l{k}[t]          = || dL/dc_t ||       (LSTM: the full gradient of the cell state,
                                              through h_t = o_t tanh(c_t) and through c_{t+1})

where dL/dh_t counts every path from h_t to the loss: the output at step t and the
recurrence into step t+1. When the flag is off the engine tests one boolean per direction
and does nothing else, so recording costs nothing on the steps it is not wanted.

This module switches the flag on for chosen steps and stacks the arrays into a
(S, T) matrix per series: the raw material of the time-step x training-step heatmap.

Series keys are the layer's parameter prefix and the engine's key: ``"rnn.h_l0"`` for a
layer registered as ``rnn`` in a model, plain ``"h_l0"`` for a bare layer. When a layer
runs backward several times in one training step (truncated BPTT chunks, a decoder stepped
by hand), the engine keeps the last backward's arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..nn.module import Module
from ..train.callbacks import History
from ..utils.atomic import from_json_float, jsonable
from ._layers import qualified, recurrent_layers


def set_recording(module: Module, on: bool = True) -> list[str]:
    """Switch per-step gradient-norm recording on or off for every recurrent layer in ``module``.

    Returns the prefixes of the layers switched (empty when the model has none).
    """
    layers = recurrent_layers(module)
    for layer in layers.values():
        layer.record_grad_flow = bool(on)
        if not on:
            layer.grad_flow = {}
    return list(layers)


def read_grad_flow(module: Module) -> dict[str, np.ndarray]:
    """Copies of what the last backward recorded, keyed ``"<layer prefix>.<engine key>"``.

    Returns: dict of (T,) float64 arrays; empty if nothing was recorded.
    """
    out = {}
    for prefix, layer in recurrent_layers(module).items():
        for key, norms in layer.grad_flow.items():
            out[qualified(prefix, key)] = np.array(norms, dtype=np.float64)
    return out


def is_reverse(key: str) -> bool:
    """True for a reverse-direction series: its loss end is t = 0, not t = T - 1."""
    return key.endswith("_reverse")


def steps_back(norms: ArrayLike, key: str = "") -> np.ndarray:
    """The series ordered by distance from the loss end: index k is k steps back.

    For a forward direction that is ``norms[::-1]`` (the last step is nearest the loss);
    a reverse direction runs backward in time, so its loss end is t = 0 and it stays as is.
    """
    norms = np.asarray(norms, dtype=np.float64)
    return norms if is_reverse(key) else norms[::-1]


class GradFlow:
    """Per-time-step gradient norms over training: for each series, a (S, T) matrix.

    >>> flow = GradFlow()
    >>> flow.add(step, read_grad_flow(model))          # after a recorded backward
    >>> steps, M = flow.matrix("rnn.h_l0")              # (S,), (S, T)

    Sequences of different lengths across steps are allowed; :meth:`matrix` pads the
    shorter rows with NaN on the right.
    """

    def __init__(self) -> None:
        self._steps: dict[str, list[int]] = {}
        self._rows: dict[str, list[np.ndarray]] = {}

    def add(self, step: int, flows: Mapping[str, np.ndarray]) -> None:
        """Append one training step's arrays (as returned by :func:`read_grad_flow`)."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step: expected an int >= 0 (the training step), got {step!r}")
        if not isinstance(flows, Mapping):
            raise TypeError(f"flows: expected a mapping of series key -> (T,) array, got {type(flows).__name__}")
        for key, norms in flows.items():
            row = np.array(norms, dtype=np.float64)
            if row.ndim != 1 or row.size == 0:
                raise ValueError(f"flows[{key!r}]: expected a non-empty (T,) array, got shape {row.shape}")
            steps = self._steps.setdefault(key, [])
            if steps and step <= steps[-1]:
                raise ValueError(f"step: expected steps in increasing order for {key!r}; got {step} after {steps[-1]}")
            steps.append(int(step))
            self._rows.setdefault(key, []).append(row)

    def keys(self) -> list[str]:
        return list(self._rows)

    def __iter__(self) -> Iterator[str]:
        """The recorded keys (``"layer.h_t"`` names), as :meth:`keys`."""
        return iter(list(self._rows))

    def __len__(self) -> int:
        """The number of training steps recorded for the longest series."""
        return max((len(s) for s in self._steps.values()), default=0)

    def _check_key(self, key: str) -> None:
        if key not in self._rows:
            raise KeyError(f"key: expected one of {self.keys() or '(nothing recorded yet)'}, got {key!r}")

    def steps(self, key: str) -> np.ndarray:
        """(S,) the training steps at which ``key`` was recorded."""
        self._check_key(key)
        return np.array(self._steps[key], dtype=np.int64)

    def matrix(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps (S,), norms (S, T_max)); rows shorter than T_max are NaN-padded on the right."""
        self._check_key(key)
        rows = self._rows[key]
        T = max(r.size for r in rows)
        M = np.full((len(rows), T), np.nan)
        for s, r in enumerate(rows):
            M[s, : r.size] = r
        return self.steps(key), M

    def lengths(self, key: str) -> np.ndarray:
        """(S,) the sequence length T of each recorded row (the rest of a matrix row is padding)."""
        self._check_key(key)
        return np.array([r.size for r in self._rows[key]], dtype=np.int64)

    def latest(self, key: str) -> np.ndarray:
        """(T,) the most recent row of ``key``."""
        self._check_key(key)
        return self._rows[key][-1].copy()

    def first(self, key: str) -> np.ndarray:
        self._check_key(key)
        return self._rows[key][0].copy()

    @classmethod
    def from_history(cls, history: History) -> GradFlow:
        """The per-step norms a :class:`rnnkit.train.Trainer` recorded with
        ``TrainConfig(grad_flow_every=N)`` (``history.grad_flow``), keyed as here."""
        entries = getattr(history, "grad_flow", None)
        if not isinstance(entries, list):
            raise TypeError(
                f"history: expected a rnnkit.train.callbacks.History (with grad_flow), got {type(history).__name__}"
            )
        flow = cls()
        for e in entries:
            flow.add(int(e["step"]), {qualified(e["layer"], e["key"]): np.asarray(e["norms"], dtype=np.float64)})
        return flow

    # -- plain data ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: ``{"series": {key: {"steps": [...], "norms": [[...], ...]}}}``."""
        return {"series": {k: {"steps": list(self._steps[k]), "norms": jsonable(self._rows[k])} for k in self._rows}}

    @classmethod
    def from_dict(cls, d: Mapping) -> GradFlow:
        if not isinstance(d, Mapping) or not isinstance(d.get("series"), Mapping):
            raise ValueError("d: expected a dict from GradFlow.to_dict() with a 'series' mapping")
        flow = cls()
        for key, s in d["series"].items():
            steps, norms = s.get("steps"), s.get("norms")
            if not isinstance(steps, list) or not isinstance(norms, list) or len(steps) != len(norms):
                raise ValueError(f"d['series'][{key!r}]: expected equal-length 'steps' and 'norms' lists")
            for step, row in zip(steps, norms, strict=False):
                flow.add(int(step), {key: np.array([from_json_float(v) for v in row])})
        return flow
