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
import io
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from zoo.core.errors import InvalidParameterError, plain, shown
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
    folder's files, its model (a Keras model) and tags; ``example`` (a
    :class:`zoo.train.runner.InputExample`): a few input rows, logged with the model as its
    input signature and input example."""

    name: str
    config: Mapping[str, Any]
    history: Mapping[str, list[float]]
    metrics: Mapping[str, float]
    folder: str | Path | None = None
    model: Any = None
    tags: Mapping[str, Any] | None = None
    extra_metrics: Mapping[str, float] | None = None
    example: Any = None


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
        InvalidParameterError: a URI MLflow could not log to (see :func:`check_tracking_uri`).
    """
    return MlflowTracker.from_uri(uri, lock=lock)


# Schemes MLflow's own tracking stores take; a plugin's (entry point group
# ``mlflow.tracking_store``) is taken too. ``+driver`` suffixes (``postgresql+psycopg2``) aside.
TRACKING_SCHEMES = ("file", "sqlite", "http", "https", "postgresql", "mysql", "mssql")
TRACKING_SCHEMES += ("databricks", "databricks-uc", "uc")
SQLITE_MAGIC = b"SQLite format 3\x00"
SERVER_TIMEOUT_S = 5


def check_tracking_uri(uri: str | None) -> None:
    """Refuse, in one line and before anything runs, a tracking URI MLflow would fail on late
    (after training, or after minutes of retries): an unknown scheme, ``file://`` without a
    folder, a folder that does not exist, an SQLite file in a missing or read-only folder, or
    one that cannot be written. Imports nothing; a server is not contacted.

    Raises:
        InvalidParameterError: the URI's problem and what to give instead.
    """
    if not uri:
        return
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower().partition("+")[0] if sep else ""
    if scheme == "sqlite":
        return _check_sqlite(uri, rest)
    if scheme in ("", "file"):
        return _check_folder(uri, rest if sep else uri)
    if scheme in ("http", "https"):
        return _check_server(uri)
    if scheme not in TRACKING_SCHEMES and scheme not in _plugin_schemes():
        raise _bad_uri(uri, f"has the scheme {shown(scheme)}, which MLflow does not track to")


def _check_sqlite(uri: str, rest: str) -> None:
    # sqlite:///relative.db, sqlite:////absolute.db (SQLAlchemy's spelling); ?options after
    name = rest.removeprefix("/").partition("?")[0]
    if not name or name == ":memory:":
        raise _bad_uri(uri, "names no database file", "give sqlite:///PATH/mlflow.db")
    path = Path(name)
    folder = path.parent
    if not folder.is_dir():
        raise _bad_uri(uri, f"is in the folder {folder}, which does not exist", "create it first")
    if not _writable_folder(folder):
        raise _bad_uri(uri, f"is in the folder {folder}, which cannot be written")
    if path.exists():
        _check_sqlite_file(uri, path)


def _check_sqlite_file(uri: str, path: Path) -> None:
    if not path.is_file():
        raise _bad_uri(uri, f"names {path}, which is not a file")
    try:
        with open(path, "r+b") as handle:  # opened for writing, nothing written
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise _bad_uri(uri, f"names {path}, which cannot be written ({exc.strerror})") from None
    if head and head != SQLITE_MAGIC:
        raise _bad_uri(uri, f"names {path}, which is not an SQLite database")


def _check_server(uri: str) -> None:
    """The server answers on its port (MLflow would retry for minutes); not probed through a
    proxy."""
    import socket
    import urllib.parse
    import urllib.request

    try:
        parts = urllib.parse.urlsplit(uri)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _bad_uri(uri, f"is not a valid address ({exc})") from None
    if not host:
        raise _bad_uri(uri, "names no host", "give http://HOST:PORT (an MLflow server)")
    if urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return
    try:
        socket.create_connection((host, port), timeout=SERVER_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise _bad_uri(
            uri, f"cannot be reached ({reason})", "start the server or check the address"
        ) from None


def _check_folder(uri: str, path: str) -> None:
    if not path:
        raise _bad_uri(uri, "names no folder", "give file:///ABSOLUTE/FOLDER")
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise _bad_uri(uri, f"names {folder}, which is not a folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise _bad_uri(uri, f"names the folder {folder}, whose parent does not exist")


def _writable_folder(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (SQLite adds its journal there); an
    unnamed temporary file leaves no trace."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _plugin_schemes() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group="mlflow.tracking_store")}


def _bad_uri(uri: str, problem: str, fix: str = "") -> InvalidParameterError:
    fix = fix or "give another one"
    return InvalidParameterError(
        f"Tracking URI {shown(uri)} {problem}; {fix}. MLflow tracks to a folder, "
        "sqlite:///PATH.db, http(s)://HOST:PORT or a database URI."
    )


@contextlib.contextmanager
def _environment_kept(name: str) -> Iterator[None]:
    """``name`` in the environment as it was before: ``mlflow.set_tracking_uri`` exports the
    URI, and every later run of the process (a notebook's, a test's) would then log there
    although it was not asked to."""
    before = os.environ.get(name)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


class MlflowTracker:
    """Logs runs to one MLflow tracking URI (a server, or a store such as ``sqlite:///...``);
    a :class:`Tracker`."""

    def __init__(self, uri: str, experiment: str | None = None, lock: Path | None = None) -> None:
        check_tracking_uri(uri)  # before MLflow: its failures come late, after retries
        self.uri = uri
        self.mlflow = require_mlflow()
        name = experiment or os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
        try:
            with _environment_kept(URI_ENV):
                self.mlflow.set_tracking_uri(uri)
            self.experiment_id = self.mlflow.set_experiment(name).experiment_id
        except Exception as exc:  # noqa: BLE001 - MLflow's store errors have no common class
            reason = plain(str(exc)).strip().split(". ")[0].rstrip(".")
            raise InvalidParameterError(
                f"MLflow cannot open the tracking URI {shown(uri)}: {reason[:300]}. "
                "Give another URI (an SQLite file, sqlite:///mlflow.db, works everywhere)."
            ) from None
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
                self._log_files(run_id, run)
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
            example=getattr(result, "example", None),
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

    def _log_files(self, run_id: str, run: RunLog) -> None:
        if run.folder:
            client = self.mlflow.tracking.MlflowClient(self.uri)
            client.log_artifacts(run_id, str(run.folder), artifact_path="run")
        if run.model is not None:
            self._log_model(run_id, run.model, run.example)

    def _log_model(self, run_id: str, model: Any, example: Any = None) -> None:
        from importlib.metadata import version

        from mlflow.models import Model

        logging.getLogger("mlflow.keras").setLevel(logging.ERROR)  # "no signature" notice
        # nested: a bench's parent run is the active run here while its children log.
        # Keras announces an exported model on stdout, which is --json's: kept off it.
        quiet = contextlib.redirect_stdout(io.StringIO())
        with self.mlflow.start_run(run_id=run_id, nested=True), quiet:
            # Through Model.log, as mlflow.keras.log_model logs: with its folder made first.
            Model.log(
                None,  # artifact_path: given by name in MLflow 3
                name="model",
                flavor=_KerasFlavor,
                model=model,
                pip_requirements=[f"keras=={version('keras')}"],
                # not predicted on again by MLflow: Keras would print its progress to stdout
                validate_serving_input=False,
                **model_signature(model, example),
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


class _KerasFlavor:
    """``mlflow.keras`` as ``Model.log`` calls it, with the model's folder made first: its
    ``save_model`` writes an input example before it creates that folder."""

    __name__ = "mlflow.keras"

    @staticmethod
    def save_model(path: str, *, validate_serving_input: bool = True, **options: Any) -> None:
        import mlflow.keras

        os.makedirs(path, exist_ok=True)
        mlflow.keras.save_model(path=path, **options)


def model_signature(model: Any, example: Any) -> dict[str, Any]:
    """``signature``, ``input_example``, ``metadata`` and how to save, for MLflow's
    ``log_model``, so that the logged model can be served (``mlflow models serve``): a few of
    the run's test rows, raw, as a table with the input columns' names (images as arrays);
    MLflow's Keras flavor takes a tensor signature only, so the names are also kept as
    ``input_columns``."""
    if example is None:
        return {}
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    rows = np.asarray(example.rows, dtype="float32")
    outputs = np.asarray(model.predict(rows, verbose=0))
    signature = ModelSignature(
        # unnamed: a table of the input columns, in order, is this one tensor
        Schema([TensorSpec(rows.dtype, (-1, *rows.shape[1:]))]),
        Schema([TensorSpec(outputs.dtype, (-1, *outputs.shape[1:]))]),
    )
    # Exported (a TensorFlow SavedModel): it loads where keras-zoo is not installed, whose
    # preparation layers a .keras file would need. Under another backend: the .keras file.
    exported = model_backend() == "tensorflow"
    found = {"signature": signature, "input_example": rows, "save_exported_model": exported}
    if example.columns:
        import pandas as pd

        found["input_example"] = pd.DataFrame(rows, columns=list(example.columns))
        found["metadata"] = {"input_columns": list(example.columns)}
    return found


def model_backend() -> str:
    import keras

    return keras.backend.backend()


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
