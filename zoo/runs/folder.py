"""A run folder: what a run wrote, and its status, kept honest at every step.

``status.json`` is written first (``running``) and last (``complete``, ``failed`` or
``interrupted``), each time atomically, so a folder never looks complete before it is. A
process killed outright leaves ``running`` with a pid that no longer exists, which
:func:`read_status` reports as ``crashed``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunFolderError

if TYPE_CHECKING:
    from zoo.train.runner import Plan, RunResult

MODEL_FILE = "model.keras"
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


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_plain) + "\n")
    os.replace(partial, path)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, set)) else str(value)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def resolved_config(checked: Plan) -> dict[str, Any]:
    """The configuration with names qualified and every hyperparameter default explicit."""
    config = checked.config.to_dict()
    for key, entry in (
        ("data", checked.data),
        ("model", checked.model),
        ("preset", checked.preset),
    ):
        config[key] = entry.qualified_name
        params = {p.name: p.default for p in entry.params}
        params.update(config[f"{key}_params"])
        config[f"{key}_params"] = params
    return config


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
        self, checked: Plan, data_record: dict[str, Any], environment: dict[str, Any]
    ) -> None:
        write_json(self.file("config"), resolved_config(checked))
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

    def save_model(self, model: Any) -> None:
        partial = self.path / f".partial.{MODEL_FILE}"
        model.save(partial)
        os.replace(partial, self.model_path)
        write_json(self.path / "model.sha256.json", {MODEL_FILE: file_sha256(self.model_path)})

    def model_digest(self) -> str | None:
        record = self.path / "model.sha256.json"
        return read_json(record).get(MODEL_FILE) if record.exists() else None

    def complete(self, result: RunResult) -> None:
        """Write the results, the model and the curves, then (only then) say ``complete``."""
        from zoo.runs.curves import plot_in_background

        plotting = plot_in_background(result.history, self.file("curves"))
        self.write_history(result.history)
        write_json(
            self.file("metrics"),
            {"task": result.task, "test": result.metrics, "timings": result.timings},
        )
        self.save_model(result.model)
        plotting.wait()
        self.set_status("complete", epochs_done=len(next(iter(result.history.values()), [])))


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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
