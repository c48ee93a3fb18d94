"""Data parallelism over MPI: :func:`world`, the rank and size, the gradient all-reduce.

    _world       World: rank, size, broadcast of parameters, the one Allreduce per step,
                 the votes that keep every rank's decisions the same, batch sharding
    _split       split_map, RankSplit: batch work (predictions) split across ranks

``mpiexec -n N python train.py`` (or ``mpiexec -n N rnnkit train TASK``) runs the same
program on N ranks; the Trainer and the batch producers ask :func:`world` where they are
and take their part. Without a launcher (or with mpi4py absent and one process) the world
has one rank and every call is a no-op.
"""

from ._split import RankSplit, split_map
from ._world import EMPTY_SHARD, MPIMissingError, World, alone, data_digest, launched_size, world

__all__ = [
    "world",
    "alone",
    "World",
    "EMPTY_SHARD",
    "MPIMissingError",
    "launched_size",
    "data_digest",
    "split_map",
    "RankSplit",
]
