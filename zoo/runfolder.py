"""Writing a run folder: built under a hidden temporary name, renamed when complete.

A folder without a leading dot is therefore always complete; a crash leaves only a hidden
``.NAME.partial`` folder behind.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.registry import Registry

if TYPE_CHECKING:
    from zoo.runner import Plan, RunResult

MODEL_FILE = "model.keras"


def resolved_config(result: RunResult, checked: Plan) -> dict[str, Any]:
    """The configuration with names qualified and every hyperparameter default explicit."""
    config = result.config.to_dict()
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


def folder_name(result: RunResult) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = lambda name: name.replace(":", "_").replace("/", "_")  # noqa: E731
    return f"{stamp}-{safe(result.config.model)}-{safe(result.config.data)}"


def write_run_folder(result: RunResult, checked: Plan, registry: Registry) -> Path:
    runs = Path(result.config.runs_dir)
    runs.mkdir(parents=True, exist_ok=True)
    final = _unique(runs / folder_name(result))
    partial = runs / f".{final.name}.partial"
    partial.mkdir()
    try:
        _write_contents(partial, result, checked)
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _write_contents(folder: Path, result: RunResult, checked: Plan) -> None:
    _write_json(folder / "config.json", resolved_config(result, checked))
    _write_json(
        folder / "metrics.json",
        {"task": result.task, "test": result.metrics, "timings": result.timings},
    )
    write_history_csv(folder / "history.csv", result.history)
    result.model.save(folder / MODEL_FILE)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_history_csv(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    rows = zip(*(history[k] for k in keys), strict=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for epoch, values in enumerate(rows, start=1):
            writer.writerow([epoch, *values])
