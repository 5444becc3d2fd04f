"""The table of past runs that ``zoo runs`` shows, read from the run folders alone.

A folder whose files cannot be read is listed as ``broken`` (with the problem in ``--json``)
instead of stopping the listing: every other run still shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.core.errors import RunFolderError, ZooError
from zoo.core.tasks import TASK_TABLE
from zoo.runs.folder import FILES, read_status
from zoo.runs.records import read_config, read_metrics


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """One summary per run folder, oldest first (folder names start with the time).

    Raises:
        RunFolderError: ``runs_dir`` exists but cannot be listed.
    """
    if not runs_dir.is_dir():
        return []
    try:
        folders = sorted(p for p in runs_dir.iterdir() if _is_run(p))
    except OSError as exc:
        raise RunFolderError(
            f"Cannot list {runs_dir}: {exc.strerror or exc}; check its permissions."
        ) from None
    return [summarize(folder) for folder in folders]


def _is_run(path: Path) -> bool:
    """A folder holding a config or status file (a damaged one too)."""
    try:
        return path.is_dir() and any((path / FILES[k]).exists() for k in ("config", "status"))
    except OSError:
        return False


def summarize(folder: Path) -> dict[str, Any]:
    """What ``zoo runs`` shows of one folder; ``status`` is ``broken`` when a file is damaged."""
    problems: list[str] = []
    status = read_status(folder)
    starting = status.get("status") == "running"  # config.json follows status.json shortly
    if not (starting and not (folder / FILES["config"]).exists()):
        config = _read(read_config, folder / FILES["config"], problems)
    else:
        config = {}
    metrics = _read(read_metrics, folder / FILES["metrics"], problems)
    if status.get("status") == "broken":
        problems.append(str(status.get("problem", "")))
    task = metrics.get("task")
    key = TASK_TABLE[task].key_metric if isinstance(task, str) and task in TASK_TABLE else ""
    epochs = status.get("epochs_done")
    summary = {
        "folder": folder.name,
        "started": _text(status.get("started")),
        "model": _text(config.get("model"), "?"),
        "data": _text(config.get("data"), "?"),
        "metric": key or "-",
        "value": metrics.get("test", {}).get(key) if key else None,
        "epochs": epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None,
        "status": "broken" if problems else _text(status.get("status"), "unknown"),
    }
    if problems:
        summary["problem"] = problems[0]
    return summary


def _read(reader: Any, path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        return reader(path)
    except ZooError as exc:
        problems.append(str(exc))
        return {}


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default
