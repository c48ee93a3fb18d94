"""The base of every tracker: a :class:`~rnnkit.train.callbacks.Callback` that sends what
training records to an experiment-tracking tool.

What a tracker sends, and when (the trainer's hooks; see :mod:`rnnkit.train.callbacks`)::

    on_train_begin      the settings, as parameters (and as text)
    on_after_backward   the gradient norm of each layer, read before clipping
    on_step_end         step/loss, step/grad_norm, step/lr, grad_norm/<layer> (every log_every steps);
                        the diagnostics a monitor recorded on this step, when one runs
    on_epoch_end        epoch/loss, epoch/val_loss (every validation metric), epoch/lr,
                        epoch/time; a histogram of every weight
    on_train_end        flush; close unless close_on_train_end=False
    on_exception        close, marking the run failed
    finish(folder, results, texts=, model=, export=)
                        the final scores, the texts (a sample), the figures (PNG) and
                        texts of a run folder, the folder itself and the model file with
                        its exports where the tool keeps artifacts; then close

A subclass implements ``_open``, ``_scalars``, ``_histogram``, ``_text``, ``_params``,
``_image``, ``_artifacts``, ``_model`` and ``_close`` for its tool, and imports the tool inside
``_open`` (the tools are optional extras). Under ``mpiexec`` rank 0 alone sends.

Epoch values are numbered by epoch (1 for the first), step values by step (1 for the first).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..callbacks import Callback, Context

__all__ = ["Export", "Tracker", "layer_of", "scalar_params"]

#: writes exports of a model (ONNX) into the folder it is given; returns the files written
Export = Callable[[Path], Sequence[Path]]

_LAYER_SUFFIX = re.compile(r"_(l\d+(?:_reverse)?)$")


def layer_of(name: str) -> str:
    """The layer a parameter belongs to: ``rnn.weight_hh_l1`` -> ``rnn.l1``, ``head.bias`` -> ``head``."""
    module, _, leaf = name.rpartition(".")
    match = _LAYER_SUFFIX.search(leaf)
    suffix = match.group(1) if match else ""
    return ".".join(p for p in (module, suffix) if p) or leaf


def scalar_params(params: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """``params`` with every value a bool, number or string (None as ``"none"``, sequences joined by commas)."""
    out: dict[str, bool | int | float | str] = {}
    for key, value in params.items():
        if value is None:
            out[key] = "none"
        elif isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, (tuple, list)):
            out[key] = ",".join(map(str, value))
        elif isinstance(value, Mapping):
            out.update(scalar_params({f"{key}.{k}": v for k, v in value.items()}))
        else:
            out[key] = str(value)
    return out


class Tracker(Callback):
    """Sends a run to a tracking tool; see the module docstring.

    Args:
        params: the settings to record (a run's configuration); default: the trainer's
            :class:`~rnnkit.train.config.TrainConfig` and the model's class.
        log_every: send the step values every this many steps.
        histograms: send a histogram of every weight at the end of each epoch.
        layer_grad_norms: send the gradient norm of each layer with the step values.
        close_on_train_end: close when training ends; False keeps the tracker open for
            :meth:`finish` (what ``rnnkit train`` does, to send the scores and figures it
            writes after training).
    """

    name: ClassVar[str] = ""  # the name of --track
    extra: ClassVar[str] = ""  # the optional extra that installs the tool

    def __init__(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        log_every: int = 1,
        histograms: bool = True,
        layer_grad_norms: bool = True,
        close_on_train_end: bool = True,
    ) -> None:
        if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 1:
            raise ValueError(f"log_every: expected an int >= 1 (send every N steps), got {log_every!r}")
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"params: expected a dict of settings or None, got {type(params).__name__}")
        self.params = dict(params) if params is not None else None
        self.log_every, self.histograms, self.layer_grad_norms = log_every, bool(histograms), bool(layer_grad_norms)
        self.close_on_train_end = bool(close_on_train_end)
        self.is_open = False
        self._layer_norms: dict[str, float] = {}
        self._diagnosed = 0  # monitor records already sent
        self._last_step = 0
        self._on = True  # False on ranks other than 0

    @classmethod
    def require(cls) -> None:
        """Raise an ImportError naming the extra when the tool is not installed."""

    @classmethod
    def for_run(cls, folder: Path, *, uri: str | None, run_name: str, **options: Any) -> Tracker:
        """This tracker for the run folder ``folder`` (``uri``: where the tool keeps runs, if given)."""
        raise NotImplementedError

    # -- what a tool implements -----------------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _scalars(self, values: Mapping[str, float], step: int) -> None:
        raise NotImplementedError

    def _histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        pass

    def _text(self, tag: str, text: str, step: int) -> None:
        pass

    def _params(self, params: dict[str, bool | int | float | str]) -> None:
        pass

    def _image(self, tag: str, path: Path, step: int) -> None:
        pass

    def _artifacts(self, folder: Path) -> None:
        pass

    def _model(self, model: Path, export: Export | None) -> None:
        pass

    def _close(self, failed: bool) -> None:
        pass

    # -- opening and closing ----------------------------------------------------------------
    def open(self) -> None:
        """Start the tool's run (done by ``on_train_begin``; call it to send before training)."""
        if not self.is_open:
            self._open()
            self.is_open = True

    def close(self, failed: bool = False) -> None:
        """End the tool's run (``failed``: marked so where the tool has a status); safe to repeat."""
        if self.is_open:
            self.is_open = False
            self._close(failed)

    def finish(
        self,
        folder: str | os.PathLike[str] | None = None,
        results: Mapping[str, Any] | None = None,
        *,
        texts: Mapping[str, str] | None = None,
        model: str | os.PathLike[str] | None = None,
        export: Export | None = None,
    ) -> None:
        """Send what a run ends with, then close.

        Args:
            folder: a run folder: its PNG figures (as images), its ``.txt`` files (as texts)
                and the folder itself (as artifacts, where the tool keeps them).
            results: the final scores (numbers as ``result/<key>``, baselines as
                ``result/baseline/<name>``) and texts (a multi-line value, or ``sample``).
            texts: more texts, ``name -> text``, sent as ``result/<name>`` (what a text model
                generates); a name also among ``results`` replaces it.
            model: the saved model file, kept by a tool that keeps artifacts (MLflow: under
                ``model/``).
            export: called, by a tool that keeps the model, with a temporary folder to write
                exports of the model into (``model.onnx``); the files it returns are kept
                beside the model.
        """
        if not self._on:
            return
        self.open()
        step = max(self._last_step, 0)
        shown: dict[str, str] = {}
        if results:
            scores: dict[str, float] = {}
            for key, value in results.items():
                if key == "baselines" and isinstance(value, Mapping):
                    scores.update({f"result/baseline/{k}": float(v) for k, v in value.items() if _number(v)})
                elif _number(value):
                    scores[f"result/{key}"] = float(value)
                elif isinstance(value, str) and ("\n" in value or key == "sample"):
                    shown[key] = value
            if scores:
                self._scalars(scores, step)
        shown.update(texts or {})
        for key, text in shown.items():
            self._text(f"result/{key}", str(text), step)
        if folder is not None:
            root = Path(folder)
            for png in sorted(root.rglob("*.png")):
                self._image(png.relative_to(root).with_suffix("").as_posix(), png, step)
            for txt in sorted(root.glob("*.txt")):
                self._text(txt.stem, txt.read_text(encoding="utf-8", errors="replace"), step)
            self._artifacts(root)
        if model is not None:
            self._model(Path(model), export)
        self.close()

    # -- the hooks ------------------------------------------------------------------------
    def on_train_begin(self, ctx: Context) -> None:
        world = getattr(ctx.trainer, "world", None)
        self._on = world is None or bool(world.is_root)
        if not self._on:
            return
        self.open()
        params = self.params if self.params is not None else _trainer_params(ctx)
        flat = scalar_params(params)
        self._params(flat)
        self._text("config", "\n".join(f"{k} = {v}" for k, v in flat.items()), 0)

    def on_after_backward(self, ctx: Context) -> None:
        self._layer_norms = {}
        if not (self._on and self.layer_grad_norms and (ctx.step + 1) % self.log_every == 0):
            return
        if ctx.logs.get("error") is not None:
            return
        squares: dict[str, float] = {}
        for name, _, grad in ctx.model.named_parameters():
            layer = layer_of(name)
            squares[layer] = squares.get(layer, 0.0) + float(np.vdot(grad, grad))
        self._layer_norms = {f"grad_norm/{k}": math.sqrt(v) for k, v in squares.items()}

    def on_step_end(self, ctx: Context) -> None:
        if not self._on:
            return
        self._last_step = ctx.step
        if ctx.step % self.log_every == 0 and not ctx.logs.get("skipped"):
            values = {f"step/{k}": float(ctx.logs[k]) for k in ("loss", "grad_norm", "lr") if k in ctx.logs}
            values.update(self._layer_norms)
            self._scalars(values, ctx.step)
        self._layer_norms = {}
        self._send_diagnostics(ctx)

    def on_epoch_end(self, ctx: Context) -> None:
        if not self._on:
            return
        n = ctx.epoch + 1
        values = {
            f"epoch/{k}": float(v)
            for k, v in ctx.logs.items()
            if k not in ("epoch", "steps", "skipped") and _number(v) and math.isfinite(float(v))
        }
        self._scalars(values, n)
        if self.histograms:
            for name, value, _ in ctx.model.named_parameters():
                self._histogram(f"weights/{name}", np.asarray(value, dtype=np.float64).ravel(), n)

    def on_train_end(self, ctx: Context) -> None:
        if self._on and self.close_on_train_end:
            self.close()

    def on_exception(self, ctx: Context) -> None:
        if self._on:
            self.close(failed=True)

    # -- the diagnostics monitor's records (rnnkit.diagnostics, a floor above: read by duck type)
    def _send_diagnostics(self, ctx: Context) -> None:
        for cb in ctx.trainer.all_callbacks:
            record = getattr(getattr(cb, "monitor", None), "record", None)
            steps = getattr(record, "steps", None)
            if record is None or not isinstance(steps, list) or len(steps) <= self._diagnosed:
                continue
            for i in range(self._diagnosed, len(steps)):
                self._scalars(_diagnostics_at(record, i), int(steps[i]))
            self._diagnosed = len(steps)


def _diagnostics_at(record: Any, i: int) -> dict[str, float]:
    """The monitor's ``i``-th recorded step: spectral radius of each W_hh, gate saturation,
    gradient and update norms of each parameter."""
    out: dict[str, float] = {}
    for name, w in record.weights.items():
        out[f"diagnostics/spectral_radius/{name}"] = w["spectral_radius"][i]
    for layer, gates in record.saturation.items():
        for gate, series in gates.items():
            out[f"diagnostics/saturation/{layer}/{gate}"] = series[i]
    for name, series in record.grad_norms.items():
        out[f"diagnostics/grad_norm/{name}"] = series[i]
    for name, series in record.update_ratios.items():
        if i < len(series):
            out[f"diagnostics/update_ratio/{name}"] = series[i]
    return {k: float(v) for k, v in out.items() if _number(v) and math.isfinite(float(v))}


def _trainer_params(ctx: Context) -> dict[str, Any]:
    config = ctx.trainer.config
    fields = getattr(config, "__dataclass_fields__", {})
    params: dict[str, Any] = {"model": type(ctx.model).__name__}
    params.update({k: getattr(config, k) for k in fields if not k.startswith("_")})
    return params


def _number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
