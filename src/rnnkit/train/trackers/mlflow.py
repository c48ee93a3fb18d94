"""MLflow runs, written by MLflow's client: the ``mlflow`` extra (``mlflow-skinny`` suffices).

``MLflowTracker("file:runs/my-run/mlruns")`` keeps a local file store; any tracking URI
MLflow takes (``http://host:5000``, ``sqlite:///mlflow.db`` with the full ``mlflow``)
works the same. The settings become the run's parameters, the step and epoch values its
metrics (sent in batches at the end of each epoch), the final scores metrics too, texts
its ``.txt`` artifacts, and :meth:`~rnnkit.train.trackers.tracker.Tracker.finish` uploads
a run folder as the run's artifacts (under ``run/``) and the model file with its exports
(under ``model/``: ``model.npz``, ``model.onnx``).

MLflow 3 keeps its file store in maintenance mode and refuses it unless
``MLFLOW_ALLOW_FILE_STORE=true``; a ``file:`` URI given here is opened with that switch on
(for this process, while the store is opened), and reading it back needs the same switch:
``MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri runs/my-run/mlruns``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .tracker import Export, Tracker

__all__ = ["MLflowTracker", "file_store_allowed"]

_BATCH = 1000  # MLflow's most metrics per log_batch call
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_\-. :/]")  # what MLflow refuses in a metric's name


def _client_class() -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ImportError("MLflowTracker needs MLflow; install it with: pip install 'rnnkit[mlflow]'") from None
    return MlflowClient


@contextlib.contextmanager
def file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3's switch for its file store, on while a ``file:`` store is opened, then as it was."""
    if not uri.startswith("file:"):
        yield
        return
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if old is None:
            del os.environ["MLFLOW_ALLOW_FILE_STORE"]
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old


class MLflowTracker(Tracker):
    """One MLflow run per training.

    Args:
        tracking_uri: where MLflow keeps runs; a folder path is a local file store.
        experiment: the experiment's name (created when missing).
        run_name: the run's name (MLflow's own when None).
        **options: those of :class:`~rnnkit.train.trackers.tracker.Tracker`.

    Attributes: ``run_id`` once training began.
    """

    name = "mlflow"
    extra = "mlflow"

    def __init__(
        self,
        tracking_uri: str | os.PathLike[str],
        *,
        experiment: str = "rnnkit",
        run_name: str | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(tracking_uri, (str, os.PathLike)) or not str(tracking_uri):
            raise TypeError(f"tracking_uri: expected a URI or a folder path, got {tracking_uri!r}")
        if not isinstance(experiment, str) or not experiment:
            raise TypeError(f"experiment: expected a name, got {experiment!r}")
        super().__init__(**options)
        uri = str(tracking_uri)
        self.tracking_uri = uri if ":" in uri.split("/", 1)[0] else Path(uri).resolve().as_uri()
        self.experiment, self.run_name = experiment, run_name
        self.run_id: str | None = None
        self._client: Any = None
        self._pending: list[Any] = []

    @classmethod
    def require(cls) -> None:
        _client_class()

    @classmethod
    def for_run(cls, folder: Path, *, uri: str | None, run_name: str, **options: Any) -> MLflowTracker:
        """A run named ``run_name`` in the store at ``uri``, else in a file store ``folder/mlruns``."""
        return cls(uri or Path(folder) / "mlruns", run_name=run_name, **options)

    def _open(self) -> None:
        with file_store_allowed(self.tracking_uri):
            client = _client_class()(tracking_uri=self.tracking_uri)
            found = client.get_experiment_by_name(self.experiment)
            experiment_id = found.experiment_id if found is not None else client.create_experiment(self.experiment)
        self._client = client
        self.run_id = client.create_run(experiment_id, run_name=self.run_name).info.run_id

    def _scalars(self, values: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        self._pending.extend(
            Metric(_NOT_IN_NAMES.sub("_", key), float(value), stamp, step) for key, value in values.items()
        )
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:_BATCH], self._pending[_BATCH:]
            self._client.log_batch(self.run_id, metrics=batch)

    def on_epoch_end(self, ctx: Any) -> None:
        super().on_epoch_end(ctx)
        if self.is_open:
            self._flush()

    def _params(self, params: dict[str, bool | int | float | str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]  # MLflow's longest value
        for i in range(0, len(items), 100):  # MLflow's most parameters per call
            self._client.log_batch(self.run_id, params=items[i : i + 100])

    def _text(self, tag: str, text: str, step: int) -> None:
        self._client.log_text(self.run_id, text, f"{tag}.txt")

    def _artifacts(self, folder: Path) -> None:
        self._flush()
        store = Path(self.tracking_uri[len("file:") :]).resolve() if self.tracking_uri.startswith("file:") else None
        for entry in sorted(folder.iterdir()):
            if store is not None and (store == entry.resolve() or entry.resolve() in store.parents):
                continue  # the store itself, kept in the run folder
            if entry.is_dir():
                self._client.log_artifacts(self.run_id, str(entry), artifact_path=f"run/{entry.name}")
            elif entry.is_file():
                self._client.log_artifact(self.run_id, str(entry), artifact_path="run")

    def _model(self, model: Path, export: Export | None) -> None:
        self._client.log_artifact(self.run_id, str(model), artifact_path="model")
        if export is None:
            return
        with tempfile.TemporaryDirectory(prefix="rnnkit-export-") as tmp:
            for path in export(Path(tmp)):
                self._client.log_artifact(self.run_id, str(path), artifact_path="model")

    def _close(self, failed: bool) -> None:
        self._flush()
        self._client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")
