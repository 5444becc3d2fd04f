"""``zoo runs``: the table of past runs, benches and searches, read from their folders alone;
filtered, sorted, and pruned on request.

Nothing in a folder is trusted. A run is ``broken`` (with the ``problem``) when a record
cannot be read, and also when a finished run holds files that ``zoo evaluate`` or ``zoo run
--resume`` would refuse: data.json, the model and its checksum are checked the same way
(:meth:`zoo.runs.folder.RunFolder.check_saved`), without loading Keras; only a model larger
than ``LISTING_HASH_LIMIT`` is left unhashed. Every file is read only if it is a small
regular file, so a named pipe or a link to a device cannot hang or exhaust the listing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from zoo.core.errors import InvalidParameterError, RunFolderError, ZooError, shown
from zoo.core.tasks import TASK_TABLE
from zoo.runs.files import LISTING_HASH_LIMIT, load_json
from zoo.runs.folder import FILES, RunFolder, read_status
from zoo.runs.records import read_config, read_metrics

# What ``zoo bench`` and ``zoo tune`` leave in their folders (zoo.app writes them; this
# layer only reads them, as plain data).
BENCH_RECORD = "bench.json"
TUNE_RECORD, TUNE_SUMMARY = "tune.json", "summary.json"
COLUMNS = ("folder", "started", "kind", "model", "data", "metric", "value", "epochs", "status")
# Metrics where a larger value is a better run; every other one sorts smallest first.
HIGHER_IS_BETTER = {"r2", "accuracy", "balanced_accuracy", "auc", "class_balance"}
METRICS = ("mse", "rmse", "mae", "r2", "accuracy", "balanced_accuracy", "auc", "log_loss")
# A folder whose run may still be going is never pruned.
UNPRUNABLE = ("running",)


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """One summary per run, bench or tune folder, oldest first (names start with the time).

    Raises:
        RunFolderError: ``runs_dir`` exists but cannot be listed.
    """
    if not runs_dir.is_dir():
        return []
    try:
        found = [(p, _kind(p)) for p in runs_dir.iterdir()]
    except OSError as exc:
        raise RunFolderError(
            f"Cannot list {runs_dir}: {exc.strerror or exc}; check its permissions."
        ) from None
    readers: dict[str, Callable[[Path], dict[str, Any]]] = {
        "run": summarize,
        "bench": _bench,
        "tune": _tune,
    }
    rows = [readers[kind](path) for path, kind in found if kind]
    return sorted(rows, key=lambda row: _stamp(row["folder"]))


def _stamp(name: str) -> str:
    # bench-20260101-... and tune-20260101-... sort among 20260101-... run folders.
    return name.split("-", 1)[1] if name.startswith(("bench-", "tune-")) else name


def _kind(path: Path) -> str | None:
    """``run`` for a folder holding a config or status file (a damaged one too), ``bench`` or
    ``tune`` for theirs, None for anything else."""
    try:
        if not path.is_dir():
            return None
        if any((path / FILES[k]).exists() for k in ("config", "status")):
            return "run"
        if (path / BENCH_RECORD).exists():
            return "bench"
        return "tune" if (path / TUNE_RECORD).exists() else None
    except OSError:
        return None


def summarize(folder: Path) -> dict[str, Any]:
    """What ``zoo runs`` shows of one run folder; ``status`` is ``broken`` when a file is
    damaged, or when a finished run's saved files would be refused when used."""
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
    if status.get("status") in ("complete", "interrupted") and not problems:
        try:  # what evaluate and resume check, without Keras
            RunFolder(folder).check_saved(hash_limit=LISTING_HASH_LIMIT)
        except ZooError as exc:
            problems.append(str(exc))
    task = metrics.get("task")
    key = TASK_TABLE[task].key_metric if isinstance(task, str) and task in TASK_TABLE else ""
    test = metrics.get("test", {})
    epochs = status.get("epochs_done")
    summary = {
        "folder": folder.name,
        "started": _text(status.get("started")),
        "kind": "run",
        "model": _short(config.get("model")),
        "data": _data_label(config),
        "metric": key or "-",
        "value": test.get(key) if key else None,
        "epochs": epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None,
        "status": "broken" if problems else _text(status.get("status"), "unknown"),
        "metrics": dict(test),
    }
    if problems:
        summary["problem"] = problems[0]
    return summary


def _bench(folder: Path) -> dict[str, Any]:
    """A bench folder: its data sets and models, and the status bench.json records."""
    row = _row(folder, "bench")
    try:
        record = load_json(folder / BENCH_RECORD)
    except ZooError as exc:
        return {**row, "status": "broken", "problem": str(exc)}
    spec = record.get("spec") if isinstance(record.get("spec"), dict) else {}
    row.update(
        started=_text(record.get("created")),
        model=_names(spec.get("models")),
        data=_names(spec.get("datasets")),
        status=_text(record.get("status"), "unknown"),
    )
    return row


def _tune(folder: Path) -> dict[str, Any]:
    """A tune folder: the model and data set searched; complete once its summary is written."""
    row = _row(folder, "tune")
    try:
        record = load_json(folder / TUNE_RECORD)
    except ZooError as exc:
        return {**row, "status": "broken", "problem": str(exc)}
    base = record.get("base") if isinstance(record.get("base"), dict) else {}
    done = (folder / TUNE_SUMMARY).exists()
    row.update(
        started=_text(record.get("created")),
        model=_short(base.get("model")),
        data=_data_label(base),
        status="complete" if done else "incomplete",
    )
    return row


def _row(folder: Path, kind: str) -> dict[str, Any]:
    return {
        "folder": folder.name,
        "started": "",
        "kind": kind,
        "model": "?",
        "data": "?",
        "metric": "-",
        "value": None,
        "epochs": None,
        "status": "unknown",
        "metrics": {},
    }


def _read(reader: Any, path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        return reader(path)
    except ZooError as exc:
        problems.append(str(exc))
        return {}


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _short(name: Any) -> str:
    """``mlp`` for ``zoo.mlp:mlp``: a qualified name shown as its entry's name."""
    return name.rsplit(":", 1)[-1] if isinstance(name, str) and name else "?"


def _data_label(config: dict[str, Any]) -> str:
    """The data set's name, or a file's stem (``houses`` for a CSV file's path)."""
    params = config.get("data_params")
    path = params.get("path") if isinstance(params, dict) else None
    if isinstance(path, str) and path:
        return Path(path).stem
    return _short(config.get("data"))


def _names(values: Any) -> str:
    if isinstance(values, str):
        return values or "?"
    if isinstance(values, list) and all(isinstance(v, str) for v in values):
        return ",".join(values) or "?"
    return "?"


# -- choosing, ordering, pruning ---------------------------------------------------------


@dataclass(frozen=True)
class RunFilter:
    """Which folders ``zoo runs`` shows (and ``--prune`` removes): every given field must
    match. ``model`` and ``data`` match a name in the row (a bench lists several)."""

    model: str | None = None
    data: str | None = None
    status: str | None = None
    kind: str | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def matches(self, row: dict[str, Any]) -> bool:
        for key in ("model", "data"):
            wanted = getattr(self, key)
            if wanted and _short(wanted) not in str(row[key]).split(","):
                return False
        return all(
            not getattr(self, key) or row[key] == getattr(self, key) for key in ("status", "kind")
        )


def sort_names(rows: Iterable[dict[str, Any]]) -> list[str]:
    """What ``--sort`` takes: a column, or a test metric's name (best first)."""
    seen = [name for row in rows for name in row.get("metrics", {})]
    metrics = list(dict.fromkeys([*METRICS, *seen]))
    return [c for c in COLUMNS if c not in ("metric", "value")] + metrics


def select(
    rows: list[dict[str, Any]], chosen: RunFilter, sort: str | None = None
) -> list[dict[str, Any]]:
    """The rows ``chosen`` matches, ordered by ``sort`` (a column, ascending; a metric, best
    first; rows without it last), else oldest first.

    Raises:
        InvalidParameterError: ``sort`` is neither a column nor a metric name.
    """
    kept = [row for row in rows if chosen.matches(row)]
    if sort is None:
        return kept
    names = sort_names(rows)
    if sort not in names:
        raise InvalidParameterError(
            f"--sort {shown(sort)} is not a column or a metric; choose one of {', '.join(names)}."
        )
    if sort in COLUMNS:
        present = [r for r in kept if r.get(sort) not in (None, "")]
        ordered = sorted(present, key=lambda r: (str(type(r[sort])), r[sort]))
    else:
        present = [r for r in kept if _number(r["metrics"].get(sort))]
        sign = -1 if sort in HIGHER_IS_BETTER else 1
        ordered = sorted(present, key=lambda r: sign * r["metrics"][sort])
    return ordered + [r for r in kept if r not in present]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def prune(runs_dir: Path, rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Remove the folders of ``rows`` under ``runs_dir``; returns (removed, kept), a folder
    that may still be running (or cannot be removed) kept, with why."""
    removed, kept = [], []
    for row in rows:
        path = runs_dir / row["folder"]
        if row["status"] in UNPRUNABLE:
            kept.append(f"{row['folder']} (still running)")
            continue
        if path.is_symlink():  # the link's target may be anyone's: leave both alone
            kept.append(f"{row['folder']} (a symbolic link; remove it yourself)")
            continue
        try:
            shutil.rmtree(path)
        except OSError as exc:
            kept.append(f"{row['folder']} ({exc.strerror or type(exc).__name__})")
            continue
        removed.append(row["folder"])
    return removed, kept
