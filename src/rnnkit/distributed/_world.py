"""The MPI world: rank, size and the few collective calls data-parallel training needs.

Synchronous data parallelism, as Horovod and PyTorch DDP do it: every rank holds the whole
model, takes a disjoint shard of every global batch, and after its backward pass the ranks
sum their gradients. One step is::

    count_r  = elements of rank r's shard (rows, or tokens for a per-token loss)
    g_r, L_r = gradient and loss of the shard's *mean* loss
    buffer   = [count_r * g_r (every parameter, flat) | count_r * L_r | count_r | failed_r]
    Allreduce(buffer, SUM)                               # one call, in place, per step
    g = buffer[:P] / C,  L = buffer[P] / C,  C = buffer[P + 1]

so ``g`` and ``L`` are the gradient and mean loss of the whole global batch however its
rows fall on the ranks (an uneven last batch included), and every rank holds the same
numbers: every decision taken from them (the non-finite policy, clipping) is the same on
every rank at the same step.

Without mpiexec (or with one rank) :func:`world` is a :class:`World` of size 1 whose
calls do nothing, so the library runs unchanged. Under ``mpiexec -n N`` with N > 1 it
needs ``mpi4py`` (``pip install 'rnnkit[mpi]'``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
import traceback
from collections.abc import Iterator
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # mpi4py is optional: imported by _mpi() when the job has several ranks
    from mpi4py import MPI

__all__ = ["World", "world", "alone", "EMPTY_SHARD", "launched_size", "MPIMissingError"]

# The environment variables launchers set for each process: MPICH's hydra and Intel MPI
# (PMI_SIZE), Open MPI (OMPI_COMM_WORLD_SIZE), PMIx launchers and Slurm's srun.
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS")

_T = TypeVar("_T")
#: what :meth:`World.shard` cuts: an array (its rows) or a list
_Items = TypeVar("_Items", np.ndarray, list[Any])


class _EmptyShard:
    """The share of a rank that got no rows of a global batch (its last, short batch)."""

    def __repr__(self) -> str:
        return "EMPTY_SHARD"


#: A batch producer yields this on a rank that holds no part of a global batch; the
#: Trainer then takes part in the step's reduction with a count of zero.
EMPTY_SHARD = _EmptyShard()


class MPIMissingError(ImportError):
    """The process was started by mpiexec with several ranks, but mpi4py is not installed."""


def launched_size() -> int:
    """The number of ranks the launcher started (1 when not started by a launcher)."""
    for var in _SIZE_VARS[:3]:  # srun sets SLURM_NTASKS for jobs that are not MPI too
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


class World:
    """This process's place among the ranks; ``World()`` is the world of one process.

    Attributes: ``rank``, ``size``, ``comm`` (the mpi4py communicator, None alone).
    """

    def __init__(self, comm: MPI.Intracomm | None = None) -> None:
        # Any: set exactly when size > 1, which mypy cannot tie to the calls under `active`
        self.comm: Any = comm
        self.rank = 0 if comm is None else int(comm.Get_rank())
        self.size = 1 if comm is None else int(comm.Get_size())
        self._buffer: np.ndarray | None = None
        self.bytes_reduced = 0  # bytes of the last gradient reduction (for benchmarks)
        self.reduce_seconds = 0.0  # time spent in gradient reductions, summed

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when there is more than one rank (the collective calls do something)."""
        return self.size > 1

    def __repr__(self) -> str:
        return f"World(rank={self.rank}, size={self.size})"

    # -- sharding ----------------------------------------------------------------------
    def shard(self, items: _Items) -> _Items:
        """This rank's contiguous part of ``items`` (an array or list), as ``np.array_split``
        would cut it: the first ``len % size`` ranks get one more."""
        n = len(items)
        lo, hi = self.bounds(n)
        return items[lo:hi]

    def bounds(self, n: int) -> tuple[int, int]:
        """``(start, stop)`` of this rank's part of ``n`` items."""
        q, r = divmod(int(n), self.size)
        lo = self.rank * q + min(self.rank, r)
        return lo, lo + q + (1 if self.rank < r else 0)

    # -- collectives -------------------------------------------------------------------
    def broadcast_parameters(self, model: Any) -> None:
        """Copy rank 0's parameters into every rank's ``model`` (in place, one call each)."""
        if not self.active:
            return
        # Ranks that read different data build different models (a vocabulary, classes):
        # compared first, a Bcast of unequal sizes would fail inside MPI.
        shapes = [(name, p.shape, p.dtype.str) for name, p, _ in model.named_parameters()]
        every = self.comm.allgather(shapes)
        for rank, theirs in enumerate(every):
            if theirs != every[0]:
                raise ValueError(f"model: {_shape_mismatch(every[0], theirs, rank)}")
        for _, p, _ in model.named_parameters():
            self.comm.Bcast(p, root=0)

    def reduce_gradients(self, model: Any, loss: float, count: float, failed: bool) -> tuple[float, float, bool]:
        """Sum the ranks' weighted gradients in one in-place Allreduce; see the module docstring.

        Args:
            loss: the mean loss of this rank's shard (anything when ``count`` is 0).
            count: the shard's elements (0 for an :data:`EMPTY_SHARD`).
            failed: this rank's step hit a floating-point error.
        Returns:
            ``(mean loss of the global batch, global count, any rank failed)``; the model's
            gradients now hold the global batch's mean-loss gradient on every rank.
        """
        grads = [g for _, _, g in model.named_parameters()]
        total = sum(g.size for g in grads)
        if self._buffer is None or self._buffer.size != total + 3:
            self._buffer = np.empty(total + 3, np.float64)
        buf, w = self._buffer, float(count)
        with np.errstate(all="ignore"):  # a NaN or inf gradient must reach the others as it is
            i = 0
            for g in grads:
                np.multiply(g.reshape(-1), w, out=buf[i : i + g.size])
                i += g.size
            buf[total:] = (loss * w if w else 0.0, w, 1.0 if failed else 0.0)
            t0 = time.perf_counter()
            self.comm.Allreduce(_in_place(), buf)
            self.reduce_seconds += time.perf_counter() - t0
            self.bytes_reduced = buf.nbytes
            C = buf[total + 1]
            scale = 1.0 / C if C > 0 else 0.0
            i = 0
            for g in grads:
                np.multiply(buf[i : i + g.size], scale, out=g.reshape(-1), casting="unsafe")
                i += g.size
            return float(buf[total] * scale), float(C), bool(buf[total + 2] > 0)

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag OR-ed over the ranks (one small Allreduce)."""
        if not self.active:
            return tuple(bool(f) for f in flags)
        a = np.array([1 if f else 0 for f in flags], np.int64)
        self.comm.Allreduce(_in_place(), a, op=_mpi().MAX)
        return tuple(bool(x) for x in a)

    def sum(self, values: ArrayLike) -> np.ndarray:
        """``values`` (float64) summed over the ranks."""
        a = np.array(values, np.float64, ndmin=1)
        if self.active:
            self.comm.Allreduce(_in_place(), a)
        return a

    def bcast(self, obj: _T) -> _T:
        """Rank 0's ``obj`` on every rank (a small picklable value: a path, a message)."""
        return obj if not self.active else self.comm.bcast(obj, root=0)

    def gather(self, obj: _T) -> list[_T] | None:
        """Every rank's ``obj`` in rank order on rank 0; None on the others."""
        return [obj] if not self.active else self.comm.gather(obj, root=0)

    def barrier(self) -> None:
        if self.active:
            self.comm.Barrier()

    def wait_all(self, timeout: float) -> bool:
        """True when every rank reaches this call within ``timeout`` seconds (a barrier that
        cannot hang: a rank that never comes makes it return False)."""
        if not self.active:
            return True
        request, deadline = self.comm.Ibarrier(), time.monotonic() + timeout
        while not request.Test():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def check_same(self, name: str, *data: object) -> None:
        """Raise ``ValueError`` on every rank unless every rank holds the same ``data``.

        The data is compared through a SHA-256 digest of its arrays and values, gathered on
        every rank, so all ranks raise together (no rank waits for the others).
        """
        if not self.active:
            return
        digest = data_digest(data)
        digests = self.comm.allgather(digest)
        if len(set(digests)) > 1:
            which = [r for r, d in enumerate(digests) if d != digests[0]]
            raise ValueError(
                f"{name}: the ranks disagree on the data (digest {digests[0][:12]} on rank 0, "
                f"{digests[which[0]][:12]} on rank {which[0]}); hint: every rank must read "
                "the same files with the same settings and seed"
            )

    def abort(self, code: int = 1) -> None:
        """End the whole job now (every rank), with exit status ``code``."""
        sys.stdout.flush()
        sys.stderr.flush()
        if self.active:
            self.comm.Abort(int(code))
        raise SystemExit(code)


def _shape_mismatch(ours: list, theirs: list, rank: int) -> str:
    """What differs between rank 0's parameters ``ours`` and rank ``rank``'s, as a sentence."""
    hint = "; hint: every rank must read the same files with the same settings and seed"
    for (name, shape, dtype), (name1, shape1, dtype1) in zip(ours, theirs, strict=False):
        if (name, shape, dtype) != (name1, shape1, dtype1):
            return (
                f"the ranks built models of different shapes: {name} is {shape} {dtype} on rank 0, "
                f"{name1} is {shape1} {dtype1} on rank {rank} (the ranks disagree on the data){hint}"
            )
    return f"the ranks built models with {len(ours)} and {len(theirs)} parameters on ranks 0 and {rank}{hint}"


def data_digest(obj: object) -> str:
    """A SHA-256 hex digest of nested lists/tuples/dicts of arrays, numbers and strings."""
    h = hashlib.sha256()

    def feed(x: object) -> None:
        if isinstance(x, np.ndarray):
            h.update(f"a{x.dtype.str}{x.shape}".encode())
            h.update(np.ascontiguousarray(x).tobytes())
        elif isinstance(x, (list, tuple)):
            h.update(f"l{len(x)}[".encode())
            for v in x:
                feed(v)
            h.update(b"]")
        elif isinstance(x, dict):
            h.update(f"d{len(x)}".encode())
            for k in sorted(x, key=repr):
                feed(k)
                feed(x[k])
        elif isinstance(x, str):
            h.update(b"s" + x.encode("utf-8") + b"\0")
        else:
            h.update(("r" + repr(x) + "\0").encode())

    feed(obj)
    return h.hexdigest()


# -- the process's world ---------------------------------------------------------------------
_WORLD: World | None = None


def _mpi() -> ModuleType:
    from mpi4py import MPI

    return MPI


def _in_place() -> object:
    return _mpi().IN_PLACE


def world() -> World:
    """This process's :class:`World`: of size 1 without a launcher, else MPI's COMM_WORLD.

    Raises:
        MPIMissingError: started by mpiexec with several ranks, but mpi4py is missing.
    """
    global _WORLD
    if _WORLD is None:
        n = launched_size()
        if n <= 1:
            _WORLD = World()
        else:
            try:
                MPI = _mpi()
            except ImportError:
                raise MPIMissingError(
                    f"rnnkit.distributed: this process was started by mpiexec with {n} ranks, but mpi4py is "
                    "not installed: pip install 'rnnkit[mpi]'"
                ) from None
            _WORLD = World(MPI.COMM_WORLD)
            _install_abort_hook(_WORLD)
    return _WORLD


def _install_abort_hook(w: World) -> None:
    """An uncaught exception on any rank prints its traceback and aborts the job, so the
    other ranks do not wait forever in their next collective call."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
        else:
            print(
                f"[rank {w.rank}/{w.size}] " + "".join(traceback.format_exception(kind, value, tb)),
                file=sys.stderr,
                end="",
                flush=True,
            )
        w.abort(1)

    sys.excepthook = hook


@contextlib.contextmanager
def alone() -> Iterator[None]:
    """Within, :func:`world` is a world of one: for independent work on each rank (a rank's
    part of a sweep), whose Trainers must not reduce with the other ranks'."""
    global _WORLD
    saved = world()
    _WORLD = World()
    try:
        yield
    finally:
        _WORLD = saved
