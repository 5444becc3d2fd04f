"""Running one combination, in this process, in a worker process or as a Ray task
(``zoo bench --cluster``), to a plain-dict record.

A combination that fails is recorded as failed with its one-line error, so the rest go on;
an interruption (Ctrl-C) propagates, so the bench stops and keeps what is finished.

On a cluster, the combination travels as plain data and is planned again on the worker from
its own plugins; its run folder is written into a scratch folder there and comes back
packed, to be unpacked into the bench's ``runs/``. MLflow logging happens here on the
driver, from the folder that came back, so workers need no access to the tracking store.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo import Plan, Registry, RunConfig, plan, run
from zoo.app.tracking import ChildTracking, RunLog, Tracker
from zoo.core.errors import RunInterrupted, ZooError, one_line
from zoo.train.backend import released_after_run

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
    tracking: ChildTracking | None = None,
    checked: Plan | None = None,
) -> dict[str, Any]:
    """Train (or fit the baseline of) one combination and return its record.

    Args:
        item: a :meth:`Combination.to_dict` with ``runs_dir`` (where its run folder goes).
        registry: where names resolve.
        tracking: the tracker and the bench's parent run, to log the run to.
        checked: the combination's plan when it was made in this process; else ``config``
            is planned here (a worker process, a cluster node).

    Raises:
        RunInterrupted, KeyboardInterrupt: Ctrl-C; nothing is recorded for this one.
    """
    record = {k: item[k] for k in ("key", "kind", "model", "data", "preset", "repeat")}
    record["seed"] = item["config"].get("seed", 0)
    started = time.perf_counter()
    try:
        with released_after_run():
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
        record.update(status=FAILED, error=one_line(exc))
    record["wall_s"] = round(time.perf_counter() - started, 3)
    return record


def _train(
    item: dict[str, Any],
    registry: Registry,
    tracking: ChildTracking | None,
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
        "validation": kept_validation(checked, result.history),
    }
    if tracking:
        record["tracking"] = _track(tracking, checked, result, item)
    del result
    return record


def kept_validation(checked: Plan, history: dict[str, list[float]]) -> dict[str, Any] | None:
    """The validation loss of the weights the run kept (``zoo.train.callbacks.kept_epoch``:
    the lowest when early stopping went back to it, else the last epoch's) and which loss it
    measures; None without a validation part. Lets an ensemble pick its members without
    looking at the test part."""
    from zoo.train.callbacks import kept_epoch

    losses = history.get("val_loss") or []
    if not losses:
        return None
    kept = losses[kept_epoch(losses, checked.config.patience)]
    return {"loss": loss_identity(checked), "value": float(kept)}


def loss_identity(checked: Plan) -> str:
    """A name equal for two runs whose validation losses can be compared: a loss given by
    name is its Keras function's name ("mse" and "mean_squared_error" agree); a loss object
    or config is known by the preset and parameters that made it."""
    loss = checked.settings.loss
    if isinstance(loss, str):
        import keras

        return getattr(keras.losses.get(loss), "__name__", loss)
    params = sorted(checked.config.preset_params.items())
    return f"{checked.config.preset} {params}"


def _track(tracking: ChildTracking, checked: Any, result: Any, item: dict[str, Any]) -> str:
    """Log the run as a child of the bench's parent run; a tracking failure is noted only."""
    tags = {"zoo.repeat": item["repeat"], "zoo.preset": item["preset"]}
    try:
        return tracking.tracker.log_result(
            checked, result, parent_run_id=tracking.parent_run_id, tags=tags
        )
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded
        return f"not logged: {one_line(exc)}"


def _track_baseline(tracking: ChildTracking, record: dict[str, Any], item: dict[str, Any]) -> str:
    keys = ("data", "data_params", "seed", "split_seed", "test_size", "validation_size")
    config = {"baseline": item["model"], **{k: item["config"].get(k) for k in keys}}
    tags = {"zoo.kind": "baseline", "zoo.data": item["data"], "zoo.repeat": item["repeat"]}
    try:
        run = RunLog(
            f"{item['model']}-{item['data']}",
            config,
            {},
            record["metrics"],
            tags=tags,
            extra_metrics=record["timings"],
        )
        return tracking.tracker.log_run(run, parent_run_id=tracking.parent_run_id)
    except Exception as exc:  # noqa: BLE001 - the baseline itself succeeded
        return f"not logged: {one_line(exc)}"


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
        tracking = ChildTracking(tracker, item["track"]["parent_run_id"])
    try:
        return execute(item, registry, tracking)
    except (RunInterrupted, KeyboardInterrupt):
        return {"key": item["key"], "status": INTERRUPTED}


@lru_cache(maxsize=4)
def _worker_registry(plugins: tuple[tuple[str, str], ...]) -> Registry:
    return registry_for(plugins)


@lru_cache(maxsize=4)
def _worker_tracker(factory: Any, uri: str, lock: str) -> Tracker:
    """The worker's own tracker; writes take turns with the other workers' (a lock file)."""
    return factory(uri, lock=Path(lock))


Keep = Callable[[dict[str, Any]], None]


def work_on_cluster(item: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """The worker side: train the combination with its run folder in ``scratch``."""
    item = {**item, "runs_dir": str(scratch)}
    item.pop("track", None)  # logged by the driver
    record = work(item)
    if record.get("folder"):
        record["folder"] = Path(record["folder"]).name  # where it lands is the driver's choice
    return record


def run_on_cluster(
    session: Any,
    todo: list[dict[str, Any]],
    runs_dir: Path,
    keep: Keep,
    tracking: ChildTracking | None,
) -> None:
    """Run ``todo`` on the cluster; ``keep`` gets each record as it comes back.

    Raises:
        KeyboardInterrupt: Ctrl-C; what finished is kept, the rest cancelled.
    """

    def on_done(item: dict[str, Any], outcome: Any) -> None:
        keep(gathered(item, outcome, runs_dir, tracking))

    session.run(work_on_cluster, todo, on_done)


def gathered(
    item: dict[str, Any], outcome: Any, runs_dir: Path, tracking: ChildTracking | None = None
) -> dict[str, Any]:
    """The record of one task: its run folder unpacked under ``runs_dir`` and logged, or a
    failed record with the reason the task gave none."""
    from zoo.app.cluster import unpack

    if outcome.record is None:
        record = {k: item[k] for k in ("key", "kind", "model", "data", "preset", "repeat")}
        record.update(seed=item["config"].get("seed", 0), status=FAILED)
        record["error"] = _one_line(f"on the Ray cluster: {outcome.error}")
        return record
    record = dict(outcome.record)
    placed = {path.name: path for path in unpack(outcome.files, runs_dir)}
    if record.get("folder"):
        record["folder"] = str(placed.get(record["folder"], runs_dir / record["folder"]))
    if outcome.node:
        record["node"] = outcome.node
    if tracking and record.get("status") == OK:
        record["tracking"] = _track_gathered(tracking, record, item)
    return record


def _track_gathered(tracking: ChildTracking, record: dict[str, Any], item: dict[str, Any]) -> str:
    """Log as a local bench does: a child run with the folder's files and the model."""
    if item["kind"] == BASELINE:
        return _track_baseline(tracking, record, item)
    try:
        from zoo.runs.files import load_keras_model
        from zoo.runs.folder import RunFolder, read_json

        folder = RunFolder(Path(record["folder"]))
        config = read_json(folder.file("config"))
        short = {k: str(config[k]).rsplit(":", 1)[-1] for k in ("model", "data")}
        tags = {"zoo.model": short["model"], "zoo.data": short["data"]}
        tags.update({"zoo.repeat": item["repeat"], "zoo.preset": item["preset"]})
        run = RunLog(
            f"{short['model']}-{short['data']}",
            config,
            folder.read_history(),
            record["metrics"],
            folder.path,
            model=load_keras_model(folder.model_path),
            tags=tags,
            extra_metrics=record.get("timings"),
        )
        return tracking.tracker.log_run(run, parent_run_id=tracking.parent_run_id)
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded
        return f"not logged: {one_line(exc)}"


# -- ensembles -----------------------------------------------------------------------------

ENSEMBLE = "ensemble"


def ensembles(
    summary: dict[str, Any], size: int, runs_dir: Path, registry: Registry
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``--ensemble top-K``: per data set, the K best-ranked zoo rows' models (each row's
    first finished repeat) averaged into one more record, saved as a run under ``runs_dir``.

    Returns the records, and a skip note for each data set without K finished zoo rows or
    whose ensemble failed (the bench's other results stand).
    """
    records, notes = [], []
    for board in summary["datasets"]:
        rows = [r for r in board["rows"] if r["kind"] == "zoo" and r["rank"] and r["folders"]]
        record = {"key": f"{ENSEMBLE}|{board['data']}|top-{size}", "kind": ENSEMBLE}
        record.update(model=f"{ENSEMBLE}(top-{size})", data=board["data"], preset="-", repeat=0)
        note = {k: record[k] for k in ("model", "data", "preset")}
        if len(rows) < size:
            reason = f"{len(rows)} finished zoo row(s), top-{size} needs {size}; give a smaller K"
            notes.append({**note, "reason": reason})
            continue
        members, chosen_by = ensemble_members(rows, size)
        try:
            with released_after_run():
                record.update(status=OK, **_ensemble(members, runs_dir, registry))
                names = [f"{r['model']} ({r['preset']})" for r in members]
                record["ensemble"] = {"members": names, "by": chosen_by}
        except (RunInterrupted, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the bench's own results stand
            notes.append({**note, "reason": one_line(exc)})
            continue
        records.append(record)
    return records, notes


def ensemble_members(rows: list[dict[str, Any]], size: int) -> tuple[list[dict[str, Any]], str]:
    """The ``size`` rows an ensemble averages (``rows`` in leaderboard order), and how they
    were chosen: all of them; else the lowest validation losses, when every row's run
    measured the same loss on a validation part, so the test part plays no part in the
    choice; else (no validation part, or different losses) the best-ranked on the test part."""
    if len(rows) == size:
        return rows, "every row"
    validations = [row.get("validation") for row in rows]
    if all(validations) and len({v["loss"] for v in validations}) == 1:
        return sorted(rows, key=lambda row: row["validation"]["value"])[:size], "validation loss"
    return rows[:size], "test rank"


def _ensemble(rows: list[dict[str, Any]], runs_dir: Path, registry: Registry) -> dict[str, Any]:
    from zoo.app.saved import averaged_runs

    members = [Path(row["folders"][0]).absolute() for row in rows]
    result = averaged_runs(members, runs_dir, registry, f"{ENSEMBLE}_top{len(rows)}")
    return {
        "task": result.task,
        "metrics": result.metrics,
        "timings": result.timings,
        "params": int(result.model.count_params()),
        "folder": str(result.folder),
        "members": [str(m) for m in members],
        "seed": result.config.seed,
    }
