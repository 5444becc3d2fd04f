"""Past runs looked at again, from their folders alone: one run in full (``zoo show``) and
several side by side (``zoo compare``), as plain data the CLI renders (text or JSON).

Every file is read through the checked readers of :mod:`zoo.runs.records`,
:mod:`zoo.runs.folder` and :mod:`zoo.runs.files`; a damaged file becomes a ``problems``
line rather than hiding the rest of the run. Nothing here imports TensorFlow, Keras or
scikit-learn: looking at a run costs a few JSON files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from zoo.core.errors import IncompatibleError, RunFolderError, ZooError
from zoo.core.tasks import TASK_TABLE
from zoo.runs.files import damaged, load_json
from zoo.runs.folder import RunFolder, read_status
from zoo.runs.records import read_config, read_data, read_metrics

# Which way each test metric improves; others (class_balance) describe the data, not the run.
HIGHER_IS_BETTER = {"accuracy": True, "balanced_accuracy": True, "auc": True, "r2": True}
HIGHER_IS_BETTER.update(mse=False, rmse=False, mae=False, log_loss=False)
# Settings that differ between compared runs by nature, never shown as a difference.
NOT_SETTINGS = {"runs_dir"}


def short_name(name: Any) -> str:
    """``zoo.mlp:mlp`` -> ``mlp``: next to a run, the plugin is noise."""
    return str(name).rpartition(":")[2] if name else "?"


def describe_run(path: str | Path) -> dict[str, Any]:
    """Everything ``zoo show`` says of one run folder.

    Raises:
        RunFolderError: ``path`` is not a run folder.
    """
    folder = RunFolder(Path(path))
    if not folder.path.is_dir() or not any(
        folder.file(key).exists() for key in ("config", "status")
    ):
        raise RunFolderError(
            f"No run folder at {path} (no config.json or status.json). Run 'zoo runs' to list "
            "past runs."
        )
    problems: list[str] = []
    config = _read(read_config, folder.file("config"), problems)
    data = _read(read_data, folder.file("data"), problems) if folder.file("data").exists() else {}
    metrics = _read(read_metrics, folder.file("metrics"), problems)
    history = _read(lambda _: folder.read_history(), folder.file("history"), problems)
    evaluation = _read(read_evaluation, folder.file("evaluation"), problems)
    status = read_status(folder.path)
    if status.get("status") == "broken":
        problems.append(str(status.get("problem")))
    task = metrics.get("task") or data.get("task")
    return {
        "folder": str(folder.path),
        "status": {k: status.get(k) for k in ("status", "started", "updated", "epochs_done")},
        "task": task,
        "config": config,
        "data": _data_roles(data),
        "metrics": {
            "test": metrics.get("test", {}),
            "key_metric": TASK_TABLE[task].key_metric if task in TASK_TABLE else None,
            "best_epoch": best_epoch(history),
            "timings": _dict(metrics.get("timings")),
        },
        "warnings": _strings(metrics.get("warnings")),
        "training": {k: status[k] for k in ("class_weights", "early_stopping") if k in status},
        "evaluation": evaluation or None,
        "files": _files(folder, evaluation),
        "problems": problems,
    }


def _read(reader: Any, path: Path, problems: list[str]) -> dict[str, Any]:
    """What ``reader`` gives ({} when the file is missing or damaged: the problem noted)."""
    try:
        return reader(path) if path.exists() else {}
    except ZooError as exc:
        problems.append(str(exc))
        return {}


def read_evaluation(path: Path) -> dict[str, Any]:
    """evaluation.json; its ``plots`` must be a list of names inside the run folder.

    Raises:
        RunFolderError: the file is damaged or of another shape.
    """
    values = load_json(path)
    plots = values.get("plots", [])
    if not isinstance(plots, list) or not all(_inside(p) for p in plots):
        raise damaged(path, "holds plots that are not file names inside the run folder")
    return values


def _inside(name: Any) -> bool:
    return isinstance(name, str) and not Path(name).is_absolute() and ".." not in Path(name).parts


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def best_epoch(history: dict[str, list[float]]) -> dict[str, Any] | None:
    """The epoch with the lowest validation loss (training loss without validation)."""
    monitor = "val_loss" if history.get("val_loss") else "loss"
    values = [v if math.isfinite(v) else math.inf for v in history.get(monitor, [])]
    if not values or min(values) == math.inf:
        return None
    best = min(range(len(values)), key=values.__getitem__)
    return {"epoch": best + 1, "monitor": monitor, "value": values[best], "of": len(values)}


def _data_roles(data: dict[str, Any]) -> dict[str, Any]:
    """What the data record says of the data: target, classes, inputs, and (CSV) each
    column's role and the notes the loader recorded."""
    schema = data.get("schema") if isinstance(data.get("schema"), dict) else {}
    columns = schema.get("columns") if isinstance(schema.get("columns"), list) else []
    return {
        "target": data.get("target_name"),
        "classes": _strings(data.get("class_names")),
        "inputs": len(data.get("feature_names") or []),
        "source": schema.get("path"),
        "columns": [
            {key: str(column.get(key, "")) for key in ("name", "role", "note")}
            for column in columns
            if isinstance(column, dict)
        ],
        "notes": _strings(schema.get("notes")),
    }


def _files(folder: RunFolder, evaluation: dict[str, Any]) -> dict[str, Any]:
    """The run's figures and model, where they exist."""
    found = {key: folder.file(key) for key in ("curves", "evaluation")}
    found["model"] = folder.model_path
    listed = {key: str(path) if path.exists() else None for key, path in found.items()}
    plots = [folder.path / name for name in evaluation.get("plots", [])]
    listed["plots"] = [str(path) for path in plots if path.exists()]
    return listed


def compare_runs(paths: list[str | Path], *, any_data: bool = False) -> dict[str, Any]:
    """Runs side by side: the settings that differ, test metrics (the best per metric
    marked), epochs and time.

    Args:
        paths: two or more run folders.
        any_data: compare runs on different data sets too (with a note) instead of refusing.

    Raises:
        RunFolderError: a path is not a run folder.
        IncompatibleError: the runs have different tasks, or (without ``any_data``) were
            trained on different data sets.
    """
    runs = [describe_run(path) for path in paths]
    notes = _check_comparable(runs, any_data=any_data)
    metrics = list(dict.fromkeys(k for run in runs for k in run["metrics"]["test"]))
    return {
        "runs": [_column(run) for run in runs],
        "differences": _differences([run["config"] for run in runs]),
        "metrics": metrics,
        "best": {name: _best(runs, name) for name in metrics if name in HIGHER_IS_BETTER},
        "key_metric": runs[0]["metrics"]["key_metric"],
        "notes": notes,
    }


def _check_comparable(runs: list[dict[str, Any]], *, any_data: bool) -> list[str]:
    tasks = {run["task"] for run in runs}
    if len(tasks) > 1:
        raise IncompatibleError(
            f"Cannot compare runs of different tasks ({', '.join(sorted(map(str, tasks)))}): "
            "their metrics measure different things. Compare runs of one task."
        )
    data = {_data_identity(run["config"]) for run in runs}
    if len(data) > 1 and not any_data:
        raise IncompatibleError(
            f"Cannot compare runs on different data sets ({', '.join(sorted(data))}): their "
            "test metrics score different rows. Compare runs on one data set, or pass "
            "--any-data to see them side by side anyway."
        )
    notes = []
    if len(data) > 1:
        notes.append("the runs were trained on different data sets: their test rows differ")
    split = {(run["config"].get("test_size"), run["config"].get("split_seed")) for run in runs}
    if len(data) == 1 and len(split) > 1:
        notes.append(
            "the runs cut different test parts (test_size, split_seed): their test rows differ"
        )
    return notes


def data_label(config: dict[str, Any]) -> str:
    """A run's data set, short: a file's stem (``houses`` for houses.csv), else its name."""
    params = config.get("data_params") or {}
    path = params.get("path") if isinstance(params, dict) else None
    return Path(str(path)).stem if path else short_name(config.get("data"))


def _data_identity(config: dict[str, Any]) -> str:
    """A data set's name, with the file it read when it reads one."""
    params = config.get("data_params") or {}
    path = params.get("path") if isinstance(params, dict) else None
    return f"{short_name(config.get('data'))}{f' ({path})' if path else ''}"


def _differences(configs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each setting (``model_params.units`` for a hyperparameter) whose value differs."""
    flat = [_flattened(config) for config in configs]
    keys = list(dict.fromkeys(key for values in flat for key in values))
    return {
        key: [values.get(key) for values in flat]
        for key in keys
        if key not in NOT_SETTINGS and len({repr(values.get(key)) for values in flat}) > 1
    }


def _flattened(config: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            flat[key] = short_name(value) if key in ("model", "data", "preset") else value
    return flat


def _column(run: dict[str, Any]) -> dict[str, Any]:
    config, metrics = run["config"], run["metrics"]
    return {
        "folder": run["folder"],
        "model": short_name(config.get("model")),
        "data": data_label(config),
        "status": run["status"]["status"],
        "epochs": run["status"]["epochs_done"],
        "best_epoch": (metrics["best_epoch"] or {}).get("epoch"),
        "test": metrics["test"],
        "fit_s": metrics["timings"].get("fit_s"),
        "total_s": metrics["timings"].get("total_s"),
    }


def _best(runs: list[dict[str, Any]], name: str) -> list[int]:
    """The indexes of the runs with the best value of ``name`` (ties share it; none when
    every run has it)."""
    values = [run["metrics"]["test"].get(name) for run in runs]
    numbers = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not numbers:
        return []
    best = max(numbers) if HIGHER_IS_BETTER[name] else min(numbers)
    found = [i for i, value in enumerate(values) if value == best]
    return [] if len(found) == len(values) else found  # all equal: no run is better
