"""``zoo bench --cluster``: each combination one Ray task, its result kept as in a local bench.

The combination travels as plain data and is planned again on the worker from its own
plugins; its run folder is written into a scratch folder there and comes back packed, to be
unpacked into the bench's ``runs/``. MLflow logging happens here on the driver, from the
folder that came back, so workers need no access to the tracking store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .execute import BASELINE, FAILED, OK, _one_line, _track_baseline, work

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
    session: Any, todo: list[dict[str, Any]], runs_dir: Path, keep: Keep, tracking: Any
) -> None:
    """Run ``todo`` on the cluster; ``keep`` gets each record as it comes back.

    Raises:
        KeyboardInterrupt: Ctrl-C; what finished is kept, the rest cancelled.
    """

    def on_done(item: dict[str, Any], outcome: Any) -> None:
        keep(gathered(item, outcome, runs_dir, tracking))

    session.run(work_on_cluster, todo, on_done)


def gathered(
    item: dict[str, Any], outcome: Any, runs_dir: Path, tracking: Any = None
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
        record["tracking"] = _track(tracking, record, item)
    return record


def _track(tracking: dict[str, Any], record: dict[str, Any], item: dict[str, Any]) -> str:
    """Log as a local bench does: a child run with the folder's files and the model."""
    if item["kind"] == BASELINE:
        return _track_baseline(tracking, record, item)
    try:
        from zoo.runs.folder import RunFolder, read_json
        from zoo.runs.modelfile import load_keras_model

        folder = RunFolder(Path(record["folder"]))
        config = read_json(folder.file("config"))
        short = {k: str(config[k]).rsplit(":", 1)[-1] for k in ("model", "data")}
        tags = {"zoo.model": short["model"], "zoo.data": short["data"]}
        tags.update({"zoo.repeat": item["repeat"], "zoo.preset": item["preset"]})
        return tracking["tracker"].log_run(
            f"{short['model']}-{short['data']}",
            config,
            folder.read_history(),
            record["metrics"],
            folder.path,
            model=load_keras_model(folder.model_path),
            parent_run_id=tracking["parent_run_id"],
            tags=tags,
            extra_metrics=record.get("timings"),
        )
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded
        return f"not logged: {_one_line(f'{type(exc).__name__}: {exc}')}"
