"""A bench from start to finish: expand the grid, run what is missing, write the summary.

One process by default (the framework is imported once, Keras sessions cleared between runs);
``jobs > 1`` runs combinations in spawned worker processes, each planning from plain data.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.app.saved import ensemble_size
from zoo.app.tracking import ChildTracking, Tracker
from zoo.catalog.registry import Registry
from zoo.core.errors import RunInterrupted
from zoo.plan.planning import Plan
from zoo.runs.records import deferred_stops, hold

from .execute import (
    FAILED,
    INTERRUPTED,
    OK,
    SKIPPED,
    ensembles,
    execute,
    init_worker,
    registry_for,
    work,
)
from .export import SUMMARY_FILES, draw_charts, write_exports
from .grid import Grid, expand
from .spec import BenchFolder, BenchSpec

OnResult = Callable[[dict[str, Any], int, int], None]


@dataclass
class BenchOutcome:
    """What a bench gives back: its folder, the summary (as in summary.json) and its status:
    ``complete`` (every combination has a result, none failed), ``failed`` (every one has a
    result, some failed), ``interrupted`` (Ctrl-C or SIGTERM) or ``incomplete`` (some have no
    result: a worker died)."""

    folder: Path
    summary: dict[str, Any]
    status: str
    ran: int


@dataclass(frozen=True)
class BenchServices:
    """What a bench reports to and runs on beyond this process.

    Attributes:
        tracker: a :class:`zoo.app.tracking.Tracker` (MLflow's: ``open_tracker(uri)``): the
            bench becomes a parent run, each combination a child run.
        cluster: a :class:`zoo.app.cluster.ClusterOptions`: each combination runs as a Ray
            task there (``jobs`` is then ignored).
        on_start: called with (combinations to run, all combinations) before the first.
        on_result: called with each finished record, the count done and the count to do.
    """

    tracker: Tracker | None = None
    cluster: Any = None
    on_start: Callable[[int, int], None] | None = None
    on_result: OnResult | None = None


@dataclass(frozen=True)
class Resume:
    """An earlier bench folder to finish: its combinations without a result run, and its
    failed ones run again unless ``skip_failed``."""

    folder: str | Path
    skip_failed: bool = False


def run_bench(
    spec: BenchSpec | None = None,
    *,
    registry: Registry | None = None,
    runs_dir: str | Path = "runs",
    resume: str | Path | Resume | None = None,
    jobs: int = 1,
    services: BenchServices | None = None,
) -> BenchOutcome:
    """Run a bench (or what an earlier one has left to do) and summarize it.

    The bench folder is held (``zoo.runs.records``) while this runs: a second bench on it fails
    at once, and SIGTERM stops it as Ctrl-C does.

    Args:
        spec: what to compare; taken from the folder when resuming.
        registry: where names resolve; by default the installed plugins plus ``spec.plugins``.
        runs_dir: where the bench folder is created.
        resume: an earlier bench folder (or a :class:`Resume`): its missing and failed
            combinations run.
        jobs: worker processes; 1 trains in this process.
        services: a tracker, a cluster, progress callbacks (:class:`BenchServices`).

    Raises:
        ZooError: a bad spec (unknown name, bad --set, ...), before anything runs.
        RunFolderError: the folder to resume is damaged, or another command holds it.
    """
    if resume is not None and not isinstance(resume, Resume):
        resume = Resume(resume)
    folder = BenchFolder.open(resume.folder) if resume else None
    spec = folder.spec() if folder else spec
    if spec is None:
        raise TypeError("run_bench needs a spec, or a folder to resume")
    if registry is None or spec.plugins:
        registry = registry_for(spec.plugins)
    grid = expand(spec, registry)  # every name and override checked before anything is written
    services = services or BenchServices()
    session = _cluster_session(services.cluster, registry)  # connected and checked, too
    folder = folder or BenchFolder.create(runs_dir, spec)
    try:
        with hold(folder.path):
            folder.prepare()
            keep = (FAILED,) if resume and resume.skip_failed else ()
            return _run(folder, grid, spec, _Settings(registry, jobs, services, session, keep))
    finally:
        if session is not None:
            session.close()  # also when the folder is held by another command


@dataclass(frozen=True)
class _Settings:
    registry: Registry
    jobs: int
    services: BenchServices
    cluster: Any  # a zoo.app.cluster.ClusterSession
    keep: tuple[str, ...]  # the statuses of earlier results that are not run again


def _run(folder: BenchFolder, grid: Grid, spec: BenchSpec, settings: _Settings) -> BenchOutcome:
    """The held part of a bench: what has no result yet (or failed) runs."""
    services = settings.services
    tracker, on_start = services.tracker, services.on_start
    kept = {k for k, r in folder.results().items() if r["status"] in (OK, SKIPPED, *settings.keep)}
    todo = [c.to_dict() for c in grid.combinations if c.key not in kept]
    for item in todo:
        item.update(runs_dir=str(folder.runs_dir), plugins=spec.plugins)
    folder.write_manifest(status="running", combinations=len(grid.combinations))
    if on_start:
        on_start(len(todo), len(grid.combinations))
    runner = _Runner(folder, settings.registry, settings.jobs, services.on_result, len(todo))
    runner.cluster = settings.cluster
    runner.plans = {c.key: c.plan for c in grid.combinations if c.plan is not None}
    if tracker is None:
        return runner.run(todo, grid, spec)
    previous = folder.manifest().get("parent_run_id")
    with tracker.parent(folder.path.name, spec.to_dict(), previous) as parent_id:
        folder.write_manifest(parent_run_id=parent_id, tracking_uri=tracker.uri)
        runner.tracking = ChildTracking(tracker, parent_id)
        outcome = runner.run(todo, grid, spec)
        files = [folder.path / n for n in SUMMARY_FILES] + sorted(folder.path.glob("chart-*.png"))
        tracker.log_artifacts(parent_id, files)
    return outcome


def _cluster_session(cluster: Any, registry: Registry) -> Any:
    """A connection to the Ray cluster ``cluster`` names (every node's versions checked)."""
    if cluster is None:
        return None
    from zoo.app.cluster import ClusterSession
    from zoo.app.cluster.options import registry_versions

    return ClusterSession(cluster, registry_versions(registry))


class _Runner:
    """Runs the combinations still to do, saving each record as soon as it is finished."""

    def __init__(
        self,
        folder: BenchFolder,
        registry: Registry,
        jobs: int,
        on_result: OnResult | None,
        total: int,
    ) -> None:
        self.folder, self.registry, self.jobs = folder, registry, jobs
        self.on_result, self.total, self.count = on_result, total, 0
        self.tracking: ChildTracking | None = None
        self.cluster: Any = None  # a zoo.app.cluster.ClusterSession
        self.plans: dict[str, Plan] = {}  # the grid's plans, for runs in this process
        self.kept: set[str] = set()  # the keys recorded by this session

    def run(self, todo: list[dict[str, Any]], grid: Grid, spec: BenchSpec) -> BenchOutcome:
        interrupted = False
        try:
            if self.cluster is not None:
                self._on_cluster(todo)
            elif self.jobs > 1 and len(todo) > 1:
                interrupted = self._in_workers(todo)
            else:
                self._in_process(todo)
        except (RunInterrupted, KeyboardInterrupt):
            interrupted = True
        return self._finish(grid, spec, interrupted=interrupted)

    def _keep(self, record: dict[str, Any]) -> None:
        with deferred_stops():  # a result is kept whole, or not at all
            self.folder.save_result(record)
            self.kept.add(record["key"])
            self.count += 1
        if self.on_result:
            self.on_result(record, self.count, self.total)

    def _on_cluster(self, todo: list[dict[str, Any]]) -> None:
        from .execute import run_on_cluster

        try:
            run_on_cluster(self.cluster, todo, self.folder.runs_dir, self._keep, self.tracking)
        finally:
            self.cluster.close()

    def _in_process(self, todo: list[dict[str, Any]]) -> None:
        for item in todo:
            checked = self.plans.get(item["key"])
            self._keep(execute(item, self.registry, self.tracking, checked))

    def _in_workers(self, todo: list[dict[str, Any]]) -> bool:
        """Returns whether a worker's run was interrupted; Ctrl-C here propagates."""
        if self.tracking:
            tracker = self.tracking.tracker
            track = {
                "factory": type(tracker),  # pickled by reference: each worker makes its own
                "uri": tracker.uri,
                "lock": str(self.folder.path / ".tracking.lock"),
                "parent_run_id": self.tracking.parent_run_id,
            }
            todo = [{**item, "track": track} for item in todo]
        jobs = min(self.jobs, len(todo))
        threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")
        interrupted = False
        with ProcessPoolExecutor(jobs, context, init_worker, (threads,)) as pool:
            futures = [pool.submit(work, item) for item in todo]
            try:
                for future in as_completed(futures):
                    interrupted |= self._gather(future)
            except KeyboardInterrupt:
                pool.shutdown(wait=True, cancel_futures=True)
                for future in futures:
                    if future.done() and not future.cancelled():
                        self._gather(future)
                raise
        return interrupted

    def _gather(self, future: Any) -> bool:
        try:
            record = future.result()
        except Exception:  # noqa: BLE001 - a worker that died: its combination stays missing
            return False
        if record.get("status") == INTERRUPTED:
            return True
        if record["key"] not in self.kept:
            self._keep(record)
        return False

    def _finish(self, grid: Grid, spec: BenchSpec, *, interrupted: bool) -> BenchOutcome:
        from .export import summarize

        results = self.folder.results()
        records = [results[c.key] for c in grid.combinations if c.key in results]
        missing = len(grid.combinations) - len(records)
        statuses = [r["status"] for r in records]
        if interrupted and missing:
            status = "interrupted"
        elif missing:
            status = "incomplete"
        else:
            status = FAILED if FAILED in statuses else "complete"
        counts = {
            "combinations": len(grid.combinations),
            "ok": statuses.count(OK),
            "failed": statuses.count(FAILED),
            "skipped": len(grid.skipped) + statuses.count(SKIPPED),
            "missing": missing,
        }
        manifest = self.folder.manifest()
        header = {
            "folder": str(self.folder.path),
            "status": status,
            "created": manifest.get("created"),
            "counts": counts,
            "spec": spec.to_dict(),
        }
        summary = summarize(records, grid.skipped, header)
        size = ensemble_size(spec.ensemble)
        if size and status != "interrupted":  # ranked with the rest: summarized again
            extra, notes = ensembles(summary, size, self.folder.runs_dir, self.registry)
            summary = summarize(records + extra, grid.skipped, header)
            summary["skipped"] += notes
        charts = draw_charts(self.folder.path, summary)
        write_exports(self.folder.path, summary, charts)
        self.folder.write_manifest(status=status)
        return BenchOutcome(self.folder.path, summary, status, self.count)
