"""Trackers: callbacks that send a run to an experiment-tracking tool, each an optional extra.

=============  ===========================  ===================================
name           class                        extra
=============  ===========================  ===================================
tensorboard    :class:`TensorBoardTracker`  ``pip install 'rnnkit[tensorboard]'``
mlflow         :class:`MLflowTracker`       ``pip install 'rnnkit[mlflow]'``
=============  ===========================  ===================================

In the library a tracker is a callback like any other::

    from rnnkit.train.trackers import TensorBoardTracker
    model.fit(X, y, callbacks=[TensorBoardTracker("runs/tb/my-run")])

``rnnkit train TASK --track tensorboard,mlflow`` (or ``track = ["tensorboard"]`` in a
config file) builds them with :func:`make_trackers`, into the run folder. What each sends
is in :mod:`rnnkit.train.trackers.tracker`. A new tool is one file with a
:class:`Tracker` subclass and one line in :data:`TRACKERS`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .mlflow import MLflowTracker
from .tensorboard import TensorBoardTracker
from .tracker import Tracker

__all__ = ["TRACKERS", "MLflowTracker", "TensorBoardTracker", "Tracker", "make_trackers"]

#: the trackers by the name ``--track`` takes
TRACKERS: dict[str, type[Tracker]] = {
    "tensorboard": TensorBoardTracker,
    "mlflow": MLflowTracker,
}


def make_trackers(
    names: Iterable[str],
    folder: str | os.PathLike[str],
    *,
    uri: str | None = None,
    params: Mapping[str, Any] | None = None,
    run_name: str | None = None,
) -> list[Tracker]:
    """The trackers named in ``names``, writing into the run folder ``folder`` (TensorBoard:
    ``folder/tensorboard``; MLflow: the tracking ``uri``, else a file store ``folder/mlruns``),
    kept open after training for :meth:`Tracker.finish`. Raises ImportError naming the extra
    of a tool that is not installed, before anything is sent."""
    folder = Path(folder)
    out: list[Tracker] = []
    for name in names:
        if name not in TRACKERS:
            raise ValueError(f"track: expected names among {', '.join(TRACKERS)}, got {name!r}")
        TRACKERS[name].require()
        tracker = TRACKERS[name].for_run(folder, uri=uri, run_name=run_name or folder.name, params=params)
        tracker.close_on_train_end = False
        out.append(tracker)
    return out
