"""Collect diagnostics during training, every N steps, and warn as problems appear.

A training loop calls three hooks per step; on steps that are not due they do almost
nothing (one integer test, one ``math.isfinite`` on the loss), and the engine's own
recording flag stays False, so a monitor that is not due costs nothing measurable:

    mon = DiagnosticsMonitor(model, every=10)
    for step, batch in enumerate(batches):
        mon.before_step(step)                    # due? switch recording on, watch forward
        loss = model.loss_and_grad(batch)        # forward + backward
        mon.after_backward(step, loss)           # read ||dL/dh_t||, gates, gradient norms
        clip_grad_norm(model, 1.0); opt.step()
        mon.after_update(step)                   # update norms; switch recording off
    mon.write_report("report/")

:class:`rnnkit.train.Trainer` calls them from its step hooks through :meth:`DiagnosticsMonitor.callback`;
a loop of your own calls them as above, or trains the wrapper :func:`rnnkit.diagnostics.attach` returns.

On a due step, ``before_step`` also registers the monitor as an observer of each recurrent
layer (``layer.observe``, see :mod:`rnnkit.nn.observers`), which keeps the step's caches
(gate activations for the saturation numbers) and the engine's per-step norms of every
backward call (truncated BPTT runs several per update); ``after_backward`` removes it again.
Nothing is set on the layers. Gradient norms are read before clipping, so they show what the
recurrence produced, not what the clipper let through.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..nn.observers import LayerObserver
from ._layers import find_module_with_layers, gate_activations, qualified, recurrent_layers
from .callback import DiagnosticsCallback
from .flow import GradFlow, set_recording
from .health import gate_saturation, grad_norms, headline_radius, memory_horizon, recurrent_weight_health, update_norms
from .report import summarize
from .report import write_report as write_report_files
from .warnings import Finding, Thresholds, diagnose, warn

if TYPE_CHECKING:
    from ..nn.recurrent import RecurrentCache, _Recurrent


class _StepObserver(LayerObserver):
    """Keeps one layer's forward caches and the gradient flow of each backward call of a due step."""

    def __init__(self, caches: list, flows: list) -> None:
        self.caches, self.flows = caches, flows

    def after_forward(self, layer: _Recurrent, cache: RecurrentCache) -> None:
        self.caches.append(cache)

    def after_backward(self, layer: _Recurrent, cache: RecurrentCache, grad_flow: dict[str, np.ndarray]) -> None:
        self.flows.append({k: np.array(v, dtype=np.float64) for k, v in grad_flow.items()})


@dataclass
class DiagnosticsRecord:
    """Everything a monitor saw: per recorded step unless said otherwise."""

    modes: dict = field(default_factory=dict)  # layer prefix -> mode
    steps: list = field(default_factory=list)  # recorded training steps
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)  # global, pre-clip
    flow: GradFlow = field(default_factory=GradFlow)  # series -> (S, T)
    horizon: dict = field(default_factory=dict)  # series -> [steps back]
    weights: dict = field(
        default_factory=dict
    )  # W_hh name -> {"spectral_radius": [..], "max_singular": [..], "blocks": {gate: [..]}}
    saturation: dict = field(default_factory=dict)  # layer key -> gate -> [saturated fraction]
    grad_norms: dict = field(default_factory=dict)  # parameter -> [||dL/dp||]
    update_ratios: dict = field(default_factory=dict)  # parameter -> [||dp|| / ||p||]
    all_steps: list = field(default_factory=list)  # every step: its loss (cheap)
    all_loss: list = field(default_factory=list)
    norm_steps: list = field(default_factory=list)  # every step the loop reported its global
    all_grad_norm: list = field(default_factory=list)  # pre-clip gradient norm (Trainer callback)
    findings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {
            k: getattr(self, k)
            for k in (
                "modes",
                "steps",
                "loss",
                "grad_norm",
                "horizon",
                "weights",
                "saturation",
                "grad_norms",
                "update_ratios",
                "all_steps",
                "all_loss",
                "norm_steps",
                "all_grad_norm",
            )
        }
        d["flow"] = self.flow.to_dict()
        d["findings"] = [f.to_dict() for f in self.findings]
        return d


def _check_every(every: int) -> int:
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"every: expected an int >= 1 (record every N training steps), got {every!r}")
    return int(every)


class DiagnosticsMonitor:
    """Records gradient flow and health every ``every`` steps; warns once per problem and place.

    Args:
        model: a Module (or a fitted estimator with ``net_``) containing RNN/LSTM/GRU layers.
        every: record on steps where ``step % every == 0``.
        first: also record the first step seen (the network as initialized).
        eps: saturation distance for :func:`gate_saturation`.
        thresholds: :class:`Thresholds` for the warning rules.
        warn: emit :class:`GradientWarning` (once per kind and place); findings are kept
            in ``record.findings`` either way.
    """

    def __init__(
        self,
        model: object,
        *,
        every: int = 10,
        first: bool = True,
        eps: float = 0.05,
        thresholds: Thresholds | None = None,
        warn: bool = True,
    ) -> None:
        self.module = find_module_with_layers(model)
        self.layers = recurrent_layers(self.module)
        if not self.layers:
            raise ValueError("model: expected at least one RNN/LSTM/GRU layer to diagnose, found none")
        self.every = _check_every(every)
        self.eps = float(eps)
        self.thresholds = thresholds or Thresholds()
        self.warn = bool(warn)
        self.record = DiagnosticsRecord(modes={p: layer.mode for p, layer in self.layers.items()})
        self._armed: int | None = None
        self._snapshot: dict[str, np.ndarray] | None = None
        self._caches: dict = {}
        self._flows: dict = {}
        self._handles: list = []  # observer handles on the layers while armed
        self._warned: set = set()
        self._first = bool(first)

    def due(self, step: int) -> bool:
        return step % self.every == 0 or (self._first and not self.record.steps)

    # -- hooks ----------------------------------------------------------------------------
    def before_step(self, step: int) -> bool:
        """Arm recording if ``step`` is due; returns whether it is."""
        if not self.due(step):
            return False
        self._unwatch()  # armed twice without reading back: observe once
        self._armed = step
        set_recording(self.module, True)
        self._snapshot = self.module.state_dict()
        self._caches, self._flows = {}, {}
        for prefix, layer in self.layers.items():
            self._watch(prefix, layer)
        return True

    def _watch(self, prefix: str, layer: _Recurrent) -> None:
        observer = _StepObserver(self._caches.setdefault(prefix, []), self._flows.setdefault(prefix, []))
        self._handles.append(layer.observe(observer))

    def _unwatch(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _step_flows(self) -> dict:
        """This step's ||dL/dh_t|| per series. Several backward calls of one layer in one step
        (truncated BPTT over sub-chunks) are consecutive chunks of one sequence, run last
        chunk first as BPTT does, so their arrays are joined in reverse call order."""
        out = {}
        for prefix, calls in self._flows.items():
            for key in calls[-1] if calls else ():
                parts = [c[key] for c in reversed(calls) if key in c]
                out[qualified(prefix, key)] = np.concatenate(parts)
        return out

    def _step_saturation(self) -> dict:
        """Gate saturation over every forward of this step, weighted by valid positions
        (none for a layer whose cell declares no gate activations in its spec)."""
        out = {}
        for prefix, caches in self._caches.items():
            if gate_activations(self.layers[prefix]) is None:
                continue
            total: dict = {}
            for cache in caches:
                n = cache.T * cache.B if cache.mask is None else int(cache.mask.sum())
                for key, gates in gate_saturation(self.layers[prefix], cache, self.eps).items():
                    acc = total.setdefault(qualified(prefix, key), {})
                    for gate, frac in gates.items():
                        a = acc.setdefault(gate, {"low": 0.0, "high": 0.0, "total": 0.0, "n": 0})
                        for side in ("low", "high", "total"):
                            a[side] += frac[side] * n
                        a["n"] += n
            for key, gates in total.items():
                out[key] = {g: {side: a[side] / a["n"] for side in ("low", "high", "total")} for g, a in gates.items()}
        return out

    def observe(self, step: int, loss: float) -> list[Finding]:
        """Every step, recorded or not: keep the loss, flag a NaN/inf one. Costs a float test."""
        loss = float(loss)
        self.record.all_steps.append(int(step))
        self.record.all_loss.append(loss)
        if math.isfinite(loss):
            return []
        found = diagnose(loss=loss, step=step, thresholds=self.thresholds)
        self._emit(found)
        return found

    def observe_grad_norm(self, step: int, grad_norm: float) -> list[Finding]:
        """Every step, when the loop computes it anyway: the global pre-clip gradient norm.

        Runs the spike rule (a norm ``norm_growth`` x its recent median) on these.
        """
        self.record.norm_steps.append(int(step))
        self.record.all_grad_norm.append(float(grad_norm))
        found = diagnose(grad_norm_history=self.record.all_grad_norm[-21:], step=step, thresholds=self.thresholds)
        self._emit(found)
        return found

    def after_backward(self, step: int, loss: float, grad_norm: float | None = None) -> list[Finding]:
        """Read what the backward just recorded (before clipping and the update).

        Calls :meth:`observe`; on a recorded step also reads the per-step gradient norms,
        W_hh health, gate saturation and per-parameter gradient norms. ``grad_norm``: the
        global pre-clip norm if the loop has it (computed here otherwise). Returns the
        findings of this step.
        """
        rec = self.record
        found = self.observe(step, loss)
        loss = float(loss)
        if self._armed != step:
            return found
        self._unwatch()
        gnorms = grad_norms(self.module)
        if grad_norm is None:
            grad_norm = (
                math.sqrt(sum(v * v for v in gnorms.values())) if all(map(math.isfinite, gnorms.values())) else math.inf
            )
        flows = self._step_flows()
        health = recurrent_weight_health(self.module)
        sat = self._step_saturation()
        self._caches, self._flows = {}, {}

        rec.steps.append(int(step))
        rec.loss.append(loss)
        rec.grad_norm.append(float(grad_norm))
        rec.flow.add(int(step), flows)
        for key, norms in flows.items():
            h = memory_horizon(norms, self.thresholds.horizon_fraction, key) if norms.size > 1 else math.nan
            rec.horizon.setdefault(key, []).append(h)
        for name, entry in health.items():
            w = rec.weights.setdefault(name, {"spectral_radius": [], "max_singular": [], "blocks": {}})
            w["spectral_radius"].append(headline_radius(entry))
            w["max_singular"].append(entry["max_singular"])
            for gate, b in entry["blocks"].items():
                w["blocks"].setdefault(gate, []).append(b["spectral_radius"])
        for key, gates in sat.items():
            for gate, frac in gates.items():
                rec.saturation.setdefault(key, {}).setdefault(gate, []).append(frac["total"])
        for name, v in gnorms.items():
            rec.grad_norms.setdefault(name, []).append(v)
        new = diagnose(
            flow=flows,
            modes=rec.modes,
            health=health,
            saturation=sat,
            grad_norm_history=[] if rec.norm_steps else rec.grad_norm,
            step=step,
            thresholds=self.thresholds,
        )
        self._emit(new)
        return found + new

    def after_update(self, step: int) -> None:
        """Update norms of a recorded step; switches recording off again."""
        if self._armed != step:
            return
        assert self._snapshot is not None  # taken when the step was armed
        for name, u in update_norms(self._snapshot, self.module).items():
            self.record.update_ratios.setdefault(name, []).append(u["ratio"])
        self.disarm()

    def disarm(self) -> None:
        """Switch recording off and stop observing the layers (also safe when not armed)."""
        self._unwatch()
        set_recording(self.module, False)
        self._armed, self._snapshot, self._caches, self._flows = None, None, {}, {}

    def _emit(self, found: list[Finding]) -> None:
        self.record.findings.extend(found)
        fresh = [f for f in found if (f.kind, f.where) not in self._warned]
        self._warned.update((f.kind, f.where) for f in fresh)
        if self.warn and fresh:
            warn(fresh, stacklevel=3)

    def callback(self) -> DiagnosticsCallback:
        """This monitor as a :class:`rnnkit.train.callbacks.Callback` for :class:`rnnkit.train.Trainer`.

        Steps are the trainer's (1 for the first step), so ``every=N`` records the steps
        that ``TrainConfig(grad_flow_every=N)`` would. The callback arms the monitor in the
        trainer's ``on_step_begin`` hook and reads it in ``on_after_backward``, so the
        gradients are read before the trainer clips them.
        """
        return DiagnosticsCallback(self)

    # -- results ----------------------------------------------------------------------------
    def summary(self) -> dict:

        return summarize(self.record)

    def write_report(
        self,
        folder: str | os.PathLike[str],
        *,
        title: str = "rnnkit diagnostics",
        plots: bool = True,
        extra: dict | None = None,
        notes: Sequence[str] = (),
    ) -> Path:
        """Write a report folder (see :mod:`rnnkit.diagnostics.report`); returns its path."""
        return write_report_files(folder, self.record, title=title, plots=plots, extra=extra, notes=notes)
