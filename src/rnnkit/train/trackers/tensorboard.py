"""TensorBoard event files, written by tensorboardX (no TensorFlow): the ``tensorboard`` extra.

``TensorBoardTracker("runs/my-run/tensorboard")`` writes one event file per run into the
folder; ``tensorboard --logdir runs`` shows every run under ``runs`` side by side. What
is sent is in :mod:`rnnkit.train.trackers.tracker`; the settings also appear in the
HParams tab, with the last epoch's values as its metrics.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .tracker import Tracker

__all__ = ["TensorBoardTracker"]


def _summary_writer() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError(
            "TensorBoardTracker needs tensorboardX; install it with: pip install 'rnnkit[tensorboard]'"
        ) from None
    return SummaryWriter


class TensorBoardTracker(Tracker):
    """Event files for TensorBoard in ``logdir``.

    Args:
        logdir: the folder of the event files (created when training begins).
        **options: those of :class:`~rnnkit.train.trackers.tracker.Tracker`.
    """

    name = "tensorboard"
    extra = "tensorboard"

    def __init__(self, logdir: str | os.PathLike[str], **options: Any) -> None:
        if not isinstance(logdir, (str, os.PathLike)):
            raise TypeError(f"logdir: expected a folder path, got {type(logdir).__name__}")
        super().__init__(**options)
        self.logdir = Path(logdir)
        self._writer: Any = None
        self._hparams: dict[str, bool | int | float | str] = {}
        self._last: dict[str, float] = {}

    @classmethod
    def require(cls) -> None:
        _summary_writer()

    @classmethod
    def for_run(cls, folder: Path, *, uri: str | None, run_name: str, **options: Any) -> TensorBoardTracker:
        """Event files in ``folder/tensorboard`` (``uri`` is MLflow's, not used here)."""
        return cls(Path(folder) / "tensorboard", **options)

    def _open(self) -> None:
        self._writer = _summary_writer()(logdir=str(self.logdir))

    def _scalars(self, values: Mapping[str, float], step: int) -> None:
        for tag, value in values.items():
            self._writer.add_scalar(tag, value, step)
            if tag.startswith("result/") or (tag.startswith("epoch/") and tag not in ("epoch/lr", "epoch/time")):
                self._last[tag] = value

    def _histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        if values.size and np.isfinite(values).all():
            self._writer.add_histogram(tag, values, step)

    def _text(self, tag: str, text: str, step: int) -> None:
        # Markdown: indented lines show as they are
        self._writer.add_text(tag, "\n".join("    " + line for line in text.splitlines()), step)

    def _params(self, params: dict[str, bool | int | float | str]) -> None:
        self._hparams = dict(params)

    def _image(self, tag: str, path: Path, step: int) -> None:
        from tensorboardX.proto.summary_pb2 import Summary

        data = path.read_bytes()
        if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 26:
            return  # not a PNG file: nothing TensorBoard can show
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
        channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(data[25], 4)  # by the PNG colour type
        image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=data)
        self._writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def _close(self, failed: bool) -> None:
        if self._hparams:
            from tensorboardX.summary import hparams

            metrics = {f"hparam/{k}": v for k, v in self._last.items()}
            for tag, value in metrics.items():  # the HParams tab reads its metrics as scalars
                self._writer.add_scalar(tag, value, 0)
            for summary in hparams(self._hparams, metrics):
                self._writer.file_writer.add_summary(summary)
        self._writer.close()
        self._writer = None
