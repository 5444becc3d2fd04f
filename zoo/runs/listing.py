"""The table of past runs that ``zoo runs`` shows, read from the run folders alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.core.tasks import TASK_TABLE
from zoo.runs.folder import FILES, read_json, read_status


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """One summary per run folder, oldest first (folder names start with the time)."""
    if not runs_dir.is_dir():
        return []
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir() and (p / FILES["config"]).exists())
    return [summarize(folder) for folder in folders]


def summarize(folder: Path) -> dict[str, Any]:
    config = _read(folder / FILES["config"])
    metrics = _read(folder / FILES["metrics"])
    status = read_status(folder)
    task = metrics.get("task")
    key = TASK_TABLE[task].key_metric if task in TASK_TABLE else ""
    return {
        "folder": folder.name,
        "started": status.get("started", ""),
        "model": config.get("model", "?"),
        "data": config.get("data", "?"),
        "metric": key or "-",
        "value": metrics.get("test", {}).get(key),
        "epochs": status.get("epochs_done"),
        "status": status.get("status", "unknown"),
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return {}
