"""A run folder: what a run wrote, and its status, kept honest at every step.

``status.json`` is written first (``running``) and last (``complete``, ``failed`` or
``interrupted``), each time atomically, so a folder never looks complete before it is. A
process killed outright leaves ``running`` with a pid that no longer exists, which
:func:`read_status` reports as ``crashed``.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunFolderError
from zoo.runs.files import file_sha256, read_json, write_json
from zoo.runs.modelfile import CHECKSUM_FILE, MODEL_FILE

if TYPE_CHECKING:
    import keras

BEST_WEIGHTS_FILE = "best.weights.h5"
FILES = {
    "status": "status.json",
    "config": "config.json",
    "environment": "environment.json",
    "metrics": "metrics.json",
    "history": "history.csv",
    "data": "data.json",
    "curves": "curves.png",
}


def folder_name(model: str, data: str) -> str:
    """``YYYYmmdd-HHMMSS-MODEL-DATA``: sorting by name sorts by time."""
    safe = [Path(n).stem if n.endswith(".csv") else n for n in (model, data)]
    safe = ["".join(c if c.isalnum() or c in "-_." else "_" for c in n) for n in safe]
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{safe[0]}-{safe[1]}"


class RunFolder:
    """One run's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir: str | Path, name: str) -> RunFolder:
        runs = Path(runs_dir)
        try:
            path = _new_folder(runs, name)
        except OSError as exc:
            raise RunFolderError(
                f"Cannot create a run folder under {runs}: {exc.strerror or exc}. "
                "Choose a writable --runs-dir, or pass --no-save."
            ) from None
        folder = cls(path)
        folder.set_status("running", started=time.strftime("%Y-%m-%dT%H:%M:%S"))
        return folder

    def file(self, key: str) -> Path:
        return self.path / FILES[key]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return read_status(self.path)

    def set_status(self, status: str, **details: Any) -> None:
        previous = read_json(self.file("status")) if self.file("status").exists() else {}
        previous.update(
            details, status=status, pid=os.getpid(), updated=time.strftime("%Y-%m-%dT%H:%M:%S")
        )
        write_json(self.file("status"), previous)

    # -- contents --------------------------------------------------------------------------

    def write_start(
        self, config: dict[str, Any], data_record: dict[str, Any], environment: dict[str, Any]
    ) -> None:
        write_json(self.file("config"), config)
        write_json(self.file("data"), data_record)
        write_json(self.file("environment"), environment)

    def write_history(self, history: dict[str, list[float]]) -> None:
        path = self.file("history")
        partial = path.with_name(f".{path.name}.partial")
        keys = list(history)
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", *keys])
            for epoch, values in enumerate(zip(*(history[k] for k in keys), strict=True), 1):
                writer.writerow([epoch, *values])
        os.replace(partial, path)

    def read_history(self) -> dict[str, list[float]]:
        path = self.file("history")
        if not path.exists():
            return {}
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
        return {k: [float(row[k]) for row in rows] for k in keys}

    def save_model(self, model: keras.Model) -> None:
        partial = self.path / f".partial.{MODEL_FILE}"
        model.save(partial)
        os.replace(partial, self.model_path)
        write_json(self.path / CHECKSUM_FILE, {MODEL_FILE: file_sha256(self.model_path)})

    def model_digest(self) -> str | None:
        record = self.path / CHECKSUM_FILE
        return read_json(record).get(MODEL_FILE) if record.exists() else None

    def complete(
        self, history: dict[str, list[float]], metrics: dict[str, Any], model: keras.Model
    ) -> None:
        """Write the results, the model and the curves, then (only then) say ``complete``.

        Args:
            history: per-epoch losses and metrics.
            metrics: what metrics.json holds (task, test metrics, timings).
            model: the trained keras.Model.
        """
        from zoo.runs.curves import plot_in_background

        plotting = plot_in_background(history, self.file("curves"))
        self.write_history(history)
        write_json(self.file("metrics"), metrics)
        self.save_model(model)
        plotting.wait()
        self.set_status("complete", epochs_done=len(next(iter(history.values()), [])))


def _new_folder(runs: Path, name: str) -> Path:
    runs.mkdir(parents=True, exist_ok=True)
    path, n = runs / name, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = runs / f"{name}-{n}"


def read_status(path: Path) -> dict[str, Any]:
    """A run folder's status, with ``running`` turned into ``crashed`` if its process is gone."""
    status_file = Path(path) / FILES["status"]
    if not status_file.exists():
        return {"status": "unknown"}
    status = read_json(status_file)
    if status.get("status") == "running" and not _alive(status.get("pid")):
        status["status"] = "crashed"
    return status


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
