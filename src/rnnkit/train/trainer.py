"""The training loop: :class:`Trainer` (its :class:`TrainConfig` is in :mod:`rnnkit.train.config`).

One step, for each batch (the callbacks' hooks in brackets)::

    [on_step_begin]
    model.zero_grad()
    loss = model.loss_and_grad(batch)          # forward + backward, gradients accumulated
    [on_after_backward]                        # loss and gradients in place, not yet checked
    finite check                               # NaN/inf loss or gradient: stop or skip
    norm = ||g||_2 before clipping             # recorded every step
    clip by value, then by global norm         # optional
    optimizer.step(); schedule.step()          # schedule per step or per epoch
    [on_step_end]                              # after the update, or after a skipped step

One epoch: the steps in train mode, [on_validation_begin], then validation in eval mode (no dropout), the epoch
record in :class:`~rnnkit.train.callbacks.History`, ``ReduceLROnPlateau`` on the monitored
metric, then the callbacks (early stopping among them).

The model protocol. A model is a :class:`~rnnkit.nn.module.Module` (or anything with
``named_parameters``, ``zero_grad``, ``state_dict``, ``load_state_dict``, ``train``,
``eval``) with ``loss_and_grad(batch) -> float``: run forward and backward on one batch,
*accumulating* the gradients of the batch's mean loss. For validation from batches it
also has ``evaluate_batch(batch) -> (loss_sum, count)``; or pass ``val`` as a function.
Streams trained by truncated BPTT use :class:`rnnkit.train.bptt.TBPTT`, which speaks this
protocol. Under ``mpiexec`` (see :mod:`rnnkit.distributed`) a model may also have
``batch_count(batch) -> int``, what its mean loss is over (rows or tokens): each rank's
gradient is weighted by it in the step's one Allreduce (without it, every rank weighs 1).

Resume is bit-exact: :meth:`Trainer.save` writes parameters, optimizer and schedule state,
the random generators (the trainer's, and every ``numpy.random.Generator`` held by the
model's modules, e.g. the dropout generators), the counters, the history and the
callbacks' state; :meth:`Trainer.load` restores them into a freshly built model. A run
paused in mid-epoch replays the epoch's batches from the generator state at the start of
the epoch and skips those already trained on, so N steps, save, load, N more steps gives
exactly the parameters of 2N steps in one go.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._kernels import gemm
from ..distributed import EMPTY_SHARD, world
from ..nn.recurrent import _Recurrent
from ..optim.clip import clip_grad_norm, clip_grad_value, grad_norm
from ..optim.optimizers import make_optimizer
from ..optim.schedules import ReduceLROnPlateau, make_schedule
from ..utils.log import get_logger
from .averaging import NonMonotoneAveraging
from .callbacks import Callback, CheckpointEvery, Context, EarlyStopping, History
from .config import TrainConfig, _int
from .divergence import divergence_check, divergence_epoch_end
from .faults import NONFINITE_ERRORS, apply_update, forward_backward, nonfinite_step, validate
from .progress import ProgressBar
from .resume import _model_generators, load_trainer_state, save_trainer_state, walk_modules
from .rngstate import rng_state, set_rng_state
from .streams import Chunk

__all__ = ["Trainer", "minibatches"]

_END = object()
_LOG = get_logger("rnnkit.train")  # the log_every and epoch lines (rnnkit.utils.log)

#: ``callable(epoch, rng) -> iterable of batches``, or the batches themselves
Batches = Callable[[int, np.random.Generator], Iterable[Any]] | Iterable[Any]
#: validation batches, or a function of no arguments returning a loss, a dict or batches
Validation = Iterable[Any] | Callable[[], Any]


def minibatches(
    n: int, batch_size: int, rng: np.random.Generator | None = None, *, drop_last: bool = False
) -> list[np.ndarray]:
    """Index arrays of the minibatches of ``n`` examples, in a random order when ``rng`` is given."""
    _int("n", n, 1)
    _int("batch_size", batch_size, 1)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


# -- the trainer -------------------------------------------------------------------------
class Trainer:
    """Fits a model that speaks the training protocol; see the module docstring.

    Args:
        model: a Module with ``loss_and_grad`` (and ``evaluate_batch`` for validation batches).
        config: a :class:`TrainConfig` (defaults when None).
        callbacks: :class:`~rnnkit.train.callbacks.Callback` instances, called after the built-in
            ones (early stopping and checkpointing, when configured).

    Attributes: ``optimizer``, ``schedule`` (or None), ``history``, ``rng``, ``step``
    (steps done), ``epoch`` (epochs finished), ``batch_in_epoch``, ``stop_training``.
    """

    stop_reason: str | None  # "completed", "callback", "max_steps", "early_stopping"; None while fitting
    _epoch_rng: dict | None  # the generator's state when the epoch in progress began

    def __init__(self, model: Any, config: TrainConfig | None = None, *, callbacks: Iterable[Callback] = ()) -> None:
        config = TrainConfig() if config is None else config
        if not isinstance(config, TrainConfig):
            raise TypeError(
                f"config: expected a TrainConfig, got {type(config).__name__}; hint: TrainConfig(epochs=10, lr=1e-3)"
            )
        config.validate()
        missing = [
            m
            for m in (
                "named_parameters",
                "zero_grad",
                "state_dict",
                "load_state_dict",
                "train",
                "eval",
                "loss_and_grad",
            )
            if not callable(getattr(model, m, None))
        ]
        if missing:
            raise TypeError(
                f"model: expected a Module with loss_and_grad(batch) -> float, got a "
                f"{type(model).__name__} lacking {missing}; hint: see the model protocol in rnnkit.train"
            )
        self.callbacks = list(callbacks)
        for i, cb in enumerate(self.callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks[{i}]: expected a rnnkit.train.callbacks.Callback, got {type(cb).__name__}; "
                    "hint: LambdaCallback(on_step_end=fn) wraps a function"
                )
        self.model, self.config = model, config
        kw = dict(config.optimizer_kwargs, lr=config.lr)
        if config.weight_decay is not None:
            kw["weight_decay"] = config.weight_decay
        self.optimizer = make_optimizer(config.optimizer, model, **kw)
        sched_kw = dict(config.schedule_kwargs)
        if config.schedule == "plateau":
            sched_kw.setdefault("mode", config.mode)  # the monitored metric's direction
        self.schedule = make_schedule(config.schedule, self.optimizer, **sched_kw) if config.schedule else None
        self._builtin: list[Callback] = []
        if getattr(self.optimizer, "averaging", None) == "nonmonotone":  # NTASGD: validate the average
            self._builtin.append(NonMonotoneAveraging(model, config.nonmono))
        if config.patience is not None:
            self._builtin.append(
                EarlyStopping(config.monitor, config.patience, config.min_delta, config.mode, config.restore_best)
            )
        if config.checkpoint_every and config.checkpoint_path is not None:  # (validate checks the path)
            self._builtin.append(CheckpointEvery(config.checkpoint_path, every_steps=config.checkpoint_every))
        self.history = History()
        self.rng = np.random.default_rng(config.seed)
        self.step = self.epoch = self.batch_in_epoch = 0
        self._epoch_first_step, self._epoch_time, self._epoch_rng = 0, 0.0, None
        self.stop_training, self.stop_reason = False, None
        self.monitor = config.monitor
        self.world = world()  # one rank without mpiexec: every call below is then a no-op

    @property
    def all_callbacks(self) -> list[Callback]:
        return self._builtin + self.callbacks

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self,
        train_batches: Batches,
        *,
        val: Validation | None = None,
        epochs: int | None = None,
        max_steps: int | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are done (counting those of a resumed run), early
        stopping, a callback's stop, or ``max_steps`` steps in total (a resumable pause).

        Args:
            train_batches: ``callable(epoch, rng) -> iterable of batches`` (shuffle with
                ``rng`` for a deterministic run) or a list of batches.
            val: validation each epoch: a list of batches (``model.evaluate_batch``), or a
                function of no arguments returning a loss, a dict of metrics (prefixed
                ``val_``) or an iterable of batches.
        Returns: the :class:`~rnnkit.train.callbacks.History` (also ``trainer.history``).
        Raises: :class:`TrainingError` on a non-finite step with ``on_nonfinite="stop"``, or a
            divergence with ``on_divergence="stop"`` (see :mod:`rnnkit.train.faults`).
        """
        epochs = self.config.epochs if epochs is None else _int("epochs", epochs, 1)
        max_steps = self.config.max_steps if max_steps is None else _int("max_steps", max_steps, 0)
        _check_batches("train_batches", train_batches, "(epoch, rng) -> iterable of batches")
        if val is not None:
            _check_batches("val", val, "() -> loss, dict of metrics or iterable of batches")
        self.monitor = (
            self.config.monitor if self.config.monitor != "auto" else ("val_loss" if val is not None else "loss")
        )
        self.stop_training, self.stop_reason = False, None
        self.history.stop_reason = None
        self._fit_start = time.monotonic()  # the progress bar's clock: an auto bar shows after 1 s
        if self.world.active:  # every rank starts from rank 0's parameters, with its own dropout stream
            self.world.broadcast_parameters(self.model)
            _derive_rank_generators(_model_generators(self.model).values(), self.world.rank)
        restore = _use_precision(self.model, self.config.precision)
        try:
            self._emit("on_train_begin", Context(self, self.epoch, self.step))
            while self.epoch < epochs and not self.stop_training:
                if max_steps is not None and self.step >= max_steps:
                    self.stop_reason = "max_steps"
                    break
                self._run_epoch(train_batches, val, epochs, max_steps)
                (self.stop_training,) = self.world.any(self.stop_training)  # a callback's stop, on every rank
        except BaseException as exc:  # a fault, an interrupt: the callbacks clean up, the error goes on
            self._emit("on_exception", Context(self, self.epoch, self.step, {"exception": exc}))
            raise
        finally:
            for layer, old in restore:
                layer.precision = old
        if self.stop_reason is None:
            self.stop_reason = "callback" if self.stop_training else "completed"
        self.history.stop_reason = self.stop_reason
        self._emit("on_train_end", Context(self, self.epoch, self.step))
        self.model.eval()
        return self.history

    # train_batches: Batches, a list when cfg.shuffle (Any: the type cannot tie the two)
    def _run_epoch(self, train_batches: Any, val: Validation | None, epochs: int, max_steps: int | None) -> None:
        epoch, cfg = self.epoch, self.config
        if self.batch_in_epoch == 0:
            self._epoch_rng = rng_state(self.rng)
            self._epoch_first_step, self._epoch_time = self.step, 0.0
        else:  # resuming in mid-epoch: replay this epoch's batches from its generator state
            assert self._epoch_rng is not None  # saved with the trainer's state
            set_rng_state(self.rng, self._epoch_rng)
        self.model.train()
        if callable(train_batches):
            batches = train_batches(epoch, self.rng)
        else:
            batches = (
                [train_batches[i] for i in self.rng.permutation(len(train_batches))] if cfg.shuffle else train_batches
            )
        try:
            total = len(batches)
        except TypeError:  # a generator, or a stream of documents: no length known
            total = None
        it = iter(batches)
        for i in range(self.batch_in_epoch):
            if next(it, _END) is _END:
                raise ValueError(
                    f"train_batches: epoch {epoch} has only {i} batches, but the run resumes after "
                    f"{self.batch_in_epoch}; hint: pass the same batches as the saved run"
                )
        bar = ProgressBar(
            total,
            desc=f"epoch {epoch + 1}/{epochs}",
            enabled=cfg.progress if self.world.is_root else False,
            visible_from=self._fit_start + 1.0,
            initial=self.batch_in_epoch,
        )
        t0, loss_sum, n_loss, paused = time.perf_counter(), 0.0, 0, False
        try:
            while True:
                if max_steps is not None and self.step >= max_steps:
                    paused = True
                    break
                batch = _END if self.stop_training else next(it, _END)
                # Every rank goes on while any has a batch (the others take part with none),
                # and stops when any stops.
                more, self.stop_training = self.world.any(batch is not _END, self.stop_training)
                if self.stop_training or not more:
                    break
                if batch is _END:
                    batch = EMPTY_SHARD
                logs = self._train_step(batch)
                self.batch_in_epoch += 1
                if not logs["skipped"]:
                    loss_sum, n_loss = loss_sum + logs["loss"], n_loss + 1
                bar.update(loss=loss_sum / max(n_loss, 1))
                if cfg.log_every and self.step % cfg.log_every == 0:
                    self._print(
                        bar,
                        f"step {self.step}  epoch {epoch + 1}  loss {logs['loss']:.4f}  grad_norm "
                        f"{logs['grad_norm']:.3g}  lr {logs['lr']:.3g}  {bar.rate:.1f} steps/s",
                    )
                self._emit("on_step_end", Context(self, epoch, self.step, logs))
        except BaseException:
            bar.close()  # end the bar's line before the traceback
            raise
        self._epoch_time += time.perf_counter() - t0
        if paused:
            self.stop_reason, self.stop_training = "max_steps", True
            bar.close()
            return
        if self.batch_in_epoch == 0:
            raise ValueError(f"train_batches: epoch {epoch} yielded no batches; hint: check the data is not empty")
        record = self._end_epoch(epoch, val)
        summary = "  ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("val_") and v is not None)
        bar.close(summary)
        if not bar.shown and cfg.log_every:
            self._print(bar, f"epoch {epoch + 1}/{epochs}  loss {record['loss']:.4f}  {summary}  {record['time']:.1f}s")

    def _print(self, bar: ProgressBar, line: str) -> None:
        if self.config.progress is False or not self.world.is_root:
            return
        if bar.active and bar.shown:
            bar.write(line)
        else:
            _LOG.info(line)

    def _train_step(self, batch: object) -> dict:
        cfg, n = self.config, self.step + 1
        self._emit("on_step_begin", Context(self, self.epoch, self.step))
        layers = self._flow_layers() if cfg.grad_flow_every and n % cfg.grad_flow_every == 0 else []
        for _, layer in layers:
            layer.record_grad_flow, layer.grad_flow = True, {}
        self.model.zero_grad()
        try:  # a non-finite fault (loss, layer input check, FloatingPointError) comes back as error
            loss, error = (0.0, None) if batch is EMPTY_SHARD else forward_backward(self, batch)
        finally:
            for _, layer in layers:
                layer.record_grad_flow = False
        if self.world.active:  # the global batch's mean loss and gradient, on every rank
            loss, _, failed = self.world.reduce_gradients(
                self.model, loss, _batch_count(self.model, batch), error is not None
            )
            if failed and error is None:
                loss, error = math.nan, FloatingPointError("on another rank")
        self._emit("on_after_backward", Context(self, self.epoch, self.step, {"loss": loss, "error": error}))
        lr = float(self.optimizer.lr)
        norm = math.nan
        ok = error is None and math.isfinite(loss)
        if ok:  # a finite global norm means every gradient element is finite: one pass checks both
            try:
                if cfg.clip_value is None and cfg.clip_norm is not None:
                    norm = clip_grad_norm(self.model, cfg.clip_norm)  # pre-clip norm; no-op when not finite
                else:
                    norm = grad_norm(self.model)
            except FloatingPointError as exc:
                error = exc
            ok = error is None and math.isfinite(norm)
        if not ok:
            nonfinite_step(self, n, loss, norm, lr, error, batch=batch)  # raises, or records a skipped step
            return {"loss": loss, "grad_norm": math.nan, "lr": lr, "skipped": True}
        if cfg.clip_value is not None:
            cv = cfg.clip_value
            clip_grad_value(self.model, interval=cv) if isinstance(cv, tuple) else clip_grad_value(self.model, cv)
            if cfg.clip_norm is not None:
                clip_grad_norm(self.model, cfg.clip_norm)
        if not apply_update(self, n, loss, norm, lr):  # parameters not finite after it: undone
            return {"loss": loss, "grad_norm": math.nan, "lr": lr, "skipped": True}
        self.step = n
        self.history.record_step(loss, norm, lr)
        divergence_check(self, n, loss)  # warns, or stops, when the loss runs away
        for path, layer in layers:
            for key, norms in layer.grad_flow.items():
                self.history.grad_flow.append(
                    {"step": n, "layer": path, "key": key, "norms": [float(x) for x in norms]}
                )
        if self.schedule is not None and cfg.schedule_interval == "step":
            assert not isinstance(self.schedule, ReduceLROnPlateau)  # refused per step by TrainConfig
            self.schedule.step()
        return {"loss": loss, "grad_norm": norm, "lr": lr, "skipped": False}

    def _end_epoch(self, epoch: int, val: Validation | None) -> dict:
        first = self._epoch_first_step
        steps = self.history.steps
        good = [x for x, s in zip(steps["loss"][first:], steps["skipped"][first:], strict=False) if not s]
        record = {"epoch": epoch, "loss": float(np.mean(good)) if good else math.nan}
        self._emit("on_validation_begin", Context(self, epoch, self.step))
        if val is not None:
            record.update(validate(self, val))  # a non-finite validation loss is a fault
        record.update(
            lr=float(self.optimizer.lr),
            time=self._epoch_time,
            steps=self.step - first,
            skipped=int(sum(steps["skipped"][first:])),
        )
        self.history.epochs.append(record)
        divergence_epoch_end(self)  # warns, or stops, when the epoch's loss ran away
        if isinstance(self.schedule, ReduceLROnPlateau):
            if record.get(self.monitor) is None:
                raise KeyError(
                    f"monitor: the plateau schedule needs epoch metric {self.monitor!r}; available: {sorted(record)}"
                )
            self.schedule.step(record[self.monitor])
        elif self.schedule is not None and self.config.schedule_interval == "epoch":
            self.schedule.step()
        self.epoch, self.batch_in_epoch = epoch + 1, 0
        self._epoch_rng, self._epoch_first_step, self._epoch_time = rng_state(self.rng), self.step, 0.0
        self._emit("on_epoch_end", Context(self, epoch, self.step, record))
        return record

    def evaluate(self, val: Validation) -> dict[str, float]:
        """Validation metrics in eval mode: ``{"val_loss": ...}`` or the function's dict, prefixed."""
        was = getattr(self.model, "training", True)
        self.model.eval()
        try:
            out: Any = val() if callable(val) else val  # a number, a dict or batches
            if isinstance(out, Mapping):
                return {(k if k.startswith("val_") else "val_" + k): float(v) for k, v in out.items()}
            if isinstance(out, numbers.Real):
                return {"val_loss": float(out)}
            if not hasattr(out, "__iter__"):
                raise TypeError(
                    f"val: expected the function to return a number, a dict or batches, got {type(out).__name__}"
                )
            if not callable(getattr(self.model, "evaluate_batch", None)):
                raise TypeError(
                    f"val: the model ({type(self.model).__name__}) has no evaluate_batch(batch); "
                    "hint: pass val as a function returning the validation loss"
                )
            total, count = 0.0, 0
            # A list of batches is split across the ranks, except the chunks of one stream,
            # which carry their state in order; a sharded stream is each rank's part already.
            split = isinstance(out, list) and not (out and isinstance(out[0], Chunk))
            shared = self.world.active and (split or getattr(out, "sharded", False))
            for batch in out[self.world.rank :: self.world.size] if split and shared else out:
                try:
                    s, c = self.model.evaluate_batch(batch)
                except NONFINITE_ERRORS:  # overflow, or a layer's input check: a non-finite loss,
                    s, c = math.nan, 1  # reported by the fault policy after every rank has summed
                total, count = total + float(s), count + int(c)
            if shared:  # each rank evaluated its part: the sums over all of them
                total, count = self.world.sum([total, count])
            if count == 0:
                raise ValueError("val: the validation batches counted no elements; hint: check they are not empty")
            return {"val_loss": total / count}
        finally:
            self.model.train(was)

    def _emit(self, hook: str, ctx: Context) -> None:
        for cb in self.all_callbacks:
            getattr(cb, hook)(ctx)

    def _flow_layers(self) -> list:
        return [(p, m) for p, m in walk_modules(self.model) if hasattr(m, "record_grad_flow")]

    # -- save and resume (the file format and the restore live in resume.py) ---------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write everything a bit-exact resume needs to one checkpoint file (atomically)."""
        return save_trainer_state(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: Any, *, callbacks: Iterable[Callback] = ()) -> Trainer:
        """A trainer restored from :meth:`save` into ``model``, freshly built like the saved one.

        The configuration comes from the file; ``callbacks`` are those of the saved run (their
        state is restored where position and class match). Call :meth:`fit` with the same
        ``train_batches`` to go on exactly where the saved run was.
        """
        return load_trainer_state(path, model, lambda config: cls(model, config, callbacks=callbacks))


def _batch_count(model: Any, batch: object) -> int:
    """The elements (rows or tokens) ``batch``'s mean loss is over: its weight in the reduction."""
    if batch is EMPTY_SHARD:
        return 0
    count = getattr(model, "batch_count", None)
    return int(count(batch)) if callable(count) else 1


def _derive_rank_generators(generators: Iterable[np.random.Generator], rank: int) -> None:
    """Give each rank but 0 its own stream for each generator, seeded from rank 0's state."""
    if rank == 0:
        return
    for g in generators:
        seed = int(g.integers(2**63))
        g.bit_generator.state = type(g.bit_generator)(np.random.SeedSequence([seed, rank])).state


def _check_batches(name: str, value: object, signature: str) -> None:
    if isinstance(value, Iterator):
        raise TypeError(
            f"{name}: expected a list or a function {signature}, got an iterator "
            f"({type(value).__name__}), which would be empty after one pass; "
            f"hint: wrap it, e.g. lambda epoch, rng: make_batches(...)"
        )
    if not callable(value) and not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected a list or a function {signature}, got {type(value).__name__}")
    if isinstance(value, tuple) and value and all(isinstance(v, np.ndarray) for v in value):
        raise TypeError(
            f"{name}: expected a list of batches, got a tuple of {len(value)} arrays, which looks "
            f"like one batch; hint: {name}=[(X, y)]"
        )


def _use_precision(model: object, precision: str) -> list[tuple[Any, str]]:
    """Set ``precision`` on every recurrent layer of ``model`` for one ``fit`` (fp32 weights and
    gate math either way; "bf16-mixed" multiplies in bf16); returns (layer, old value) pairs."""
    layers = [m for _, m in walk_modules(model) if isinstance(m, _Recurrent)]
    for layer in layers:
        gemm.check_precision(precision, layer.dtype)  # the one-line refusal: dtype, CPU flags, MKL
    restore = [(layer, layer.precision) for layer in layers]
    for layer in layers:
        layer.precision = precision
    return restore
