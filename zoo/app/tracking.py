"""Logging runs to a tracker: :class:`Tracker` is what the use cases call, MLflow (where
users already compare experiments) its implementation. A second tracker is one class with
these methods. ``zoo run``, ``zoo bench`` and ``zoo tune`` share it::

    tracker = open_tracker("sqlite:///mlflow.db")      # None when no URI is given
    with tracker.parent("bench-20260101-120000", {"epochs": 20}) as parent_id:
        tracker.log_run(RunLog("mlp-housing", config, history, metrics, folder, model=model),
                        parent_run_id=parent_id)

MLflow is an optional extra (``pip install 'keras-zoo[mlflow]'``) and is imported only here,
only once tracking is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from zoo.core.imports import import_extra

if TYPE_CHECKING:
    from zoo import Plan, RunResult

URI_ENV = "MLFLOW_TRACKING_URI"
EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "keras-zoo"
MAX_PARAM_CHARS = 6000  # MLflow's limit on one parameter value


def require_mlflow() -> Any:
    """Import MLflow, or explain in one line how to install it.

    Raises:
        IncompatibleError: MLflow is not installed.
    """
    mlflow = import_extra("mlflow", f"Tracking (--track or {URI_ENV})", "mlflow")
    for name in ("mlflow", "alembic"):  # database migrations and save notices, at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


@dataclass(frozen=True)
class RunLog:
    """One finished run as a tracker logs it: its parameters (``config``, logged flattened),
    per-epoch ``history``, test ``metrics``, other numbers (``extra_metrics``: timings), its
    folder's files, its model (a Keras model) and tags."""

    name: str
    config: Mapping[str, Any]
    history: Mapping[str, list[float]]
    metrics: Mapping[str, float]
    folder: str | Path | None = None
    model: Any = None
    tags: Mapping[str, Any] | None = None
    extra_metrics: Mapping[str, float] | None = None


class Tracker(Protocol):
    """What the use cases log to: parent runs (a bench, a study) and the runs under them."""

    uri: str

    def parent(
        self, name: str, params: Mapping[str, Any], run_id: str | None = None
    ) -> AbstractContextManager[str]:
        """A parent run for the duration (``run_id``: one to reopen); yields its id."""
        ...

    def log_run(self, run: RunLog, *, parent_run_id: str | None = None) -> str:
        """Log one finished run (under ``parent_run_id``); returns its id."""
        ...

    def log_result(
        self,
        checked: Plan,
        result: RunResult,
        *,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        """Log a :class:`zoo.RunResult` with its resolved configuration; returns its id."""
        ...

    def log_artifacts(self, run_id: str, paths: list[Path]) -> None:
        """Attach files (a bench's summary and charts) to an existing run."""
        ...


@dataclass(frozen=True)
class ChildTracking:
    """Where a bench's runs log: the tracker, under the bench's parent run."""

    tracker: Tracker
    parent_run_id: str


def open_tracker(uri: str | None = None, *, lock: Path | None = None) -> Tracker | None:
    """The MLflow tracker for ``uri`` (or ``$MLFLOW_TRACKING_URI``), or None when neither is
    set; ``lock``: a file that serializes writes from several processes.

    Raises:
        IncompatibleError: MLflow is not installed.
    """
    return MlflowTracker.from_uri(uri, lock=lock)


class MlflowTracker:
    """Logs runs to one MLflow tracking URI (a server, or a store such as ``sqlite:///...``);
    a :class:`Tracker`."""

    def __init__(self, uri: str, experiment: str | None = None, lock: Path | None = None) -> None:
        self.uri = uri
        self.mlflow = require_mlflow()
        self.mlflow.set_tracking_uri(uri)
        name = experiment or os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
        self.experiment_id = self.mlflow.set_experiment(name).experiment_id
        self.lock = lock

    @classmethod
    def from_uri(cls, uri: str | None = None, **options: Any) -> MlflowTracker | None:
        """A tracker for ``uri`` (or ``$MLFLOW_TRACKING_URI``), or None when neither is set."""
        uri = uri or os.environ.get(URI_ENV)
        return cls(uri, **options) if uri else None

    @contextlib.contextmanager
    def parent(
        self, name: str, params: Mapping[str, Any], run_id: str | None = None
    ) -> Iterator[str]:
        """A parent run for the duration; children name it with ``parent_run_id``.

        Args:
            name: the run's name.
            params: logged flattened (``base.epochs``).
            run_id: an existing parent to reopen (a resumed bench), if it still exists.
        """
        existing = run_id if run_id and self._exists(run_id) else None
        with self.mlflow.start_run(
            run_id=existing, run_name=None if existing else name, experiment_id=self.experiment_id
        ) as run:
            if not existing:
                self._log_params(run.info.run_id, params)
            yield run.info.run_id

    def log_run(self, run: RunLog, *, parent_run_id: str | None = None) -> str:
        """Log one finished run: params, per-epoch metrics (step = epoch), test metrics
        (``test_<name>``), the run folder as artifacts (under ``run/``) and the model.

        Returns:
            The MLflow run id.
        """
        with self._locked():
            client = self.mlflow.tracking.MlflowClient(self.uri)
            all_tags = {"zoo.kind": "run", **{k: str(v) for k, v in (run.tags or {}).items()}}
            if parent_run_id:
                all_tags["mlflow.parentRunId"] = parent_run_id
            created = client.create_run(self.experiment_id, run_name=run.name, tags=all_tags)
            run_id = created.info.run_id
            try:
                self._log_contents(client, run_id, run)
                self._log_files(run_id, run.folder, run.model)
            except BaseException:
                client.set_terminated(run_id, status="FAILED")
                raise
            client.set_terminated(run_id, status="FINISHED")
            return run_id

    def log_result(
        self,
        checked: Plan,
        result: RunResult,
        *,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        """Log a :class:`zoo.RunResult` with its resolved configuration (``checked.to_dict()``)."""
        name = f"{checked.model.name}-{checked.data.name}"
        tags = {"zoo.model": checked.model.name, "zoo.data": checked.data.name, **(tags or {})}
        run = RunLog(
            name,
            checked.to_dict(),
            result.history,
            result.metrics,
            result.folder,
            model=result.model,
            tags=tags,
            extra_metrics=result.timings,
        )
        return self.log_run(run, parent_run_id=parent_run_id)

    def log_artifacts(self, run_id: str, paths: list[Path]) -> None:
        """Attach files (a bench's summary and charts) to an existing run."""
        client = self.mlflow.tracking.MlflowClient(self.uri)
        with self._locked():
            for path in paths:
                if path.exists():
                    client.log_artifact(run_id, str(path))

    # -- inside ----------------------------------------------------------------------------

    def _log_contents(self, client: Any, run_id: str, run: RunLog) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        rows = [
            Metric(key, float(value), now, epoch)
            for key, values in run.history.items()
            for epoch, value in enumerate(values, 1)
        ]
        rows += [Metric(f"test_{k}", float(v), now, 0) for k, v in run.metrics.items()]
        rows += [Metric(k, float(v), now, 0) for k, v in (run.extra_metrics or {}).items()]
        self._log_params(run_id, run.config, client)
        client.log_batch(run_id, metrics=rows)

    def _log_params(self, run_id: str, params: Mapping[str, Any], client: Any = None) -> None:
        from mlflow.entities import Param

        client = client or self.mlflow.tracking.MlflowClient(self.uri)
        flat = [Param(k, _param_text(v)) for k, v in flatten(params).items()]
        client.log_batch(run_id, params=flat)

    def _log_files(self, run_id: str, folder: str | Path | None, model: Any) -> None:
        if folder:
            client = self.mlflow.tracking.MlflowClient(self.uri)
            client.log_artifacts(run_id, str(folder), artifact_path="run")
        if model is not None:
            self._log_model(run_id, model)

    def _log_model(self, run_id: str, model: Any) -> None:
        from importlib.metadata import version

        import mlflow.keras

        logging.getLogger("mlflow.keras").setLevel(logging.ERROR)  # "no signature" notice
        # nested: a bench's parent run is the active run here while its children log.
        with self.mlflow.start_run(run_id=run_id, nested=True):
            mlflow.keras.log_model(
                model, name="model", pip_requirements=[f"keras=={version('keras')}"]
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize writes from several worker processes to one store (SQLite locks)."""
        if self.lock is None:
            yield
            return
        import fcntl

        with open(self.lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _exists(self, run_id: str) -> bool:
        try:
            self.mlflow.tracking.MlflowClient(self.uri).get_run(run_id)
        except Exception:  # noqa: BLE001 - any failure means: start a new parent
            return False
        return True


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model_params": {"hidden": [64]}}`` -> ``{"model_params.hidden": [64]}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _param_text(value: Any) -> str:
    text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text[:MAX_PARAM_CHARS]
