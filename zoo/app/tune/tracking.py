"""MLflow logging for a study (``--track URI``): a parent run for the study, a child per trial.

Uses the tracker ``zoo run`` and ``zoo bench`` share (:mod:`zoo.app.tracking`). A trial's
child run holds its parameters and per-epoch losses, never test metrics: only the best
trial's re-run, scored once on the test part, is logged with them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.app.tracking import RunLog, Tracker, open_tracker

if TYPE_CHECKING:
    from zoo import Registry, RunResult
    from zoo.app.tune.request import Prepared

LOCK_FILE = "mlflow.lock"


class TuneTracking:
    """Logs a study to MLflow, or does nothing when no tracking URI was given."""

    def __init__(self, tracker: Tracker | None, folder: Path, record: dict[str, Any]) -> None:
        self.tracker = tracker
        self.folder = folder
        self.record = record
        self.parent_id: str | None = record.get("mlflow_parent_run_id")

    @contextlib.contextmanager
    def parent(self) -> Iterator[str | None]:
        """The study's parent run for the duration (reopened when the study is resumed)."""
        if self.tracker is None:
            yield None
            return
        from zoo.app.tune.study import write_record

        params = {"base": self.record["base"], "space": self.record.get("space", {})}
        with self.tracker.parent(self.folder.name, params, run_id=self.parent_id) as run_id:
            self.parent_id = run_id
            self.record["mlflow_parent_run_id"] = run_id
            write_record(self.folder, self.record)
            yield run_id

    def log_trial(self, trial: Any, result: RunResult) -> None:
        if self.tracker is None:
            return
        run = RunLog(
            f"trial-{trial.number}",
            {"trial": trial.number, **trial.params},
            result.history,
            {},
            tags={"zoo.kind": "trial", "zoo.trial": trial.number},
        )
        self.tracker.log_run(run, parent_run_id=self.parent_id)

    def log_best(self, result: RunResult, files: list[Path]) -> None:
        """The best trial's re-run (with its test metrics and model) and the study's files."""
        if self.tracker is None:
            return
        run = RunLog(
            "best",
            result.config.to_dict(),
            result.history,
            result.metrics,
            result.folder,
            model=result.model,
            tags={"zoo.kind": "best"},
        )
        self.tracker.log_run(run, parent_run_id=self.parent_id)
        if self.parent_id:
            self.tracker.log_artifacts(self.parent_id, files)


def open_tracking(prepared: Prepared, registry: Registry | None = None) -> TuneTracking:
    """Tracking for a prepared study; the URI given now, or the one it was started with."""
    uri = prepared.request.track or prepared.record.get("mlflow_uri")
    return tracking_for(uri, prepared.folder, prepared.record, several=prepared.request.jobs > 1)


def tracking_for(
    uri: str | None, folder: Path, record: dict[str, Any], *, several: bool = False
) -> TuneTracking:
    if not uri:
        return TuneTracking(None, folder, record)
    record["mlflow_uri"] = uri
    # Worker processes writing to one store take turns (SQLite allows one writer).
    tracker = open_tracker(uri, lock=folder / LOCK_FILE if several else None)
    return TuneTracking(tracker, folder, record)
