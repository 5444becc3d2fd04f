"""Running one combination, in this process or in a worker process, to a plain-dict record.

A combination that fails is recorded as failed with its one-line error, so the rest go on;
an interruption (Ctrl-C) propagates, so the bench stops and keeps what is finished.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo import Plan, Registry, RunConfig, plan, run
from zoo.core.errors import RunInterrupted, ZooError
from zoo.train import memory

from .baselines import BaselineSkipped, run_baseline
from .grid import BASELINE

OK, FAILED, SKIPPED, INTERRUPTED = "ok", "failed", "skipped", "interrupted"


def registry_for(plugins: list[list[str]] | tuple = ()) -> Registry:
    """The installed plugins plus the bench's extra ``(name, module)`` plugins."""
    extra = [(name, importlib.import_module(module)) for name, module in plugins]
    return Registry.discover(extra=extra)


def execute(
    item: dict[str, Any],
    registry: Registry,
    tracking: dict[str, Any] | None = None,
    checked: Plan | None = None,
) -> dict[str, Any]:
    """Train (or fit the baseline of) one combination and return its record.

    Args:
        item: a :meth:`Combination.to_dict` with ``runs_dir`` (where its run folder goes).
        registry: where names resolve.
        tracking: ``{"tracker": Tracker, "parent_run_id": str}`` to log the run to MLflow.
        checked: the combination's plan when it was made in this process; else ``config``
            is planned here (a worker process, a cluster node).

    Raises:
        RunInterrupted, KeyboardInterrupt: Ctrl-C; nothing is recorded for this one.
    """
    record = {k: item[k] for k in ("key", "kind", "model", "data", "preset", "repeat")}
    record["seed"] = item["config"].get("seed", 0)
    started = time.perf_counter()
    try:
        with memory.released_after_run():
            if item["kind"] == BASELINE:
                record.update(status=OK, **run_baseline(item["model"], item["config"], registry))
                if tracking:
                    record["tracking"] = _track_baseline(tracking, record, item)
            else:
                record.update(status=OK, **_train(item, registry, tracking, checked))
    except (RunInterrupted, KeyboardInterrupt):
        raise
    except BaselineSkipped as exc:
        record.update(status=SKIPPED, error=str(exc))
    except ZooError as exc:
        record.update(status=FAILED, error=_one_line(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a failing combination must not stop the others
        record.update(status=FAILED, error=_one_line(f"{type(exc).__name__}: {exc}"))
    record["wall_s"] = round(time.perf_counter() - started, 3)
    return record


def _train(
    item: dict[str, Any],
    registry: Registry,
    tracking: dict[str, Any] | None,
    checked: Plan | None,
) -> dict[str, Any]:
    # Many models in one process make TensorFlow warn about retracing: expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if checked is None:
        checked = plan(RunConfig(**item["config"]), registry)
    checked = replace(checked, config=replace(checked.config, runs_dir=item["runs_dir"]))
    result = run(checked, registry, save=True)
    record = {
        "task": result.task,
        "metrics": result.metrics,
        "timings": result.timings,
        "params": int(result.model.count_params()),
        "epochs": len(result.history.get("loss", [])),
        "folder": str(result.folder) if result.folder else None,
    }
    if tracking:
        record["tracking"] = _track(tracking, checked, result, item)
    del result
    return record


def _track(tracking: dict[str, Any], checked: Any, result: Any, item: dict[str, Any]) -> str:
    """Log the run as a child of the bench's parent run; a tracking failure is noted only."""
    tags = {"zoo.repeat": item["repeat"], "zoo.preset": item["preset"]}
    try:
        return tracking["tracker"].log_result(
            checked, result, parent_run_id=tracking["parent_run_id"], tags=tags
        )
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded
        return f"not logged: {_one_line(f'{type(exc).__name__}: {exc}')}"


def _track_baseline(tracking: dict[str, Any], record: dict[str, Any], item: dict[str, Any]) -> str:
    keys = ("data", "data_params", "seed", "split_seed", "test_size", "validation_size")
    config = {"baseline": item["model"], **{k: item["config"].get(k) for k in keys}}
    tags = {"zoo.kind": "baseline", "zoo.data": item["data"], "zoo.repeat": item["repeat"]}
    try:
        return tracking["tracker"].log_run(
            f"{item['model']}-{item['data']}",
            config,
            {},
            record["metrics"],
            parent_run_id=tracking["parent_run_id"],
            tags=tags,
            extra_metrics=record["timings"],
        )
    except Exception as exc:  # noqa: BLE001 - the baseline itself succeeded
        return f"not logged: {_one_line(f'{type(exc).__name__}: {exc}')}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- worker processes ----------------------------------------------------------------------


def init_worker(threads: int) -> None:
    """Start a worker: Ctrl-C is left to the parent (and to a run's own stop handler), the
    framework is imported once, quietly, with its thread pools sized to share the cores."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    from zoo.train.backend import import_backend_quietly

    import_backend_quietly()


def work(item: dict[str, Any]) -> dict[str, Any]:
    """The worker side of :func:`execute`: everything arrives and leaves as plain data."""
    registry = _worker_registry(tuple(tuple(p) for p in item.get("plugins", ())))
    tracking = None
    if item.get("track"):
        track = item["track"]
        tracker = _worker_tracker(track["factory"], track["uri"], track["lock"])
        tracking = {"tracker": tracker, "parent_run_id": item["track"]["parent_run_id"]}
    try:
        return execute(item, registry, tracking)
    except (RunInterrupted, KeyboardInterrupt):
        return {"key": item["key"], "status": INTERRUPTED}


@lru_cache(maxsize=4)
def _worker_registry(plugins: tuple[tuple[str, str], ...]) -> Registry:
    return registry_for(plugins)


@lru_cache(maxsize=4)
def _worker_tracker(factory: Any, uri: str, lock: str) -> Any:
    """The worker's own tracker; writes take turns with the other workers' (a lock file)."""
    return factory(uri, lock=Path(lock))
