"""A bench's records gathered into leaderboards: mean ± std over repeats, ranked per data set
by the task's key metric in the right direction (lower MSE, higher accuracy), or by balanced
accuracy when the classes are imbalanced (``zoo.core.tasks.ranking_metric``)."""

from __future__ import annotations

import math
import statistics
from typing import Any

from zoo.core.tasks import CLASS_BALANCE, TASK_TABLE, ranking_metric

from .execute import FAILED, OK, SKIPPED
from .grid import Skipped


def summarize(
    records: list[dict[str, Any]], skipped: list[Skipped], header: dict[str, Any]
) -> dict[str, Any]:
    """The whole summary as plain data (what summary.json holds and ``--json`` prints).

    Args:
        records: one per finished combination, in grid order.
        skipped: combinations that were not run, with the reason.
        header: folder, spec, counts and anything else to put on top.
    """
    datasets = []
    for data in dict.fromkeys(r["data"] for r in records):
        datasets.append(leaderboard(data, [r for r in records if r["data"] == data]))
    return {
        **header,
        "datasets": datasets,
        "skipped": [
            {"model": s.model, "data": s.data, "preset": s.preset, "reason": s.reason}
            for s in skipped
        ]
        + [_skip_record(r) for r in records if r["status"] == SKIPPED],
        "failed": [_fail_record(r) for r in records if r["status"] == FAILED],
    }


def leaderboard(data: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """One data set's rows, ranked; failed rows last, without a rank."""
    task = next((r["task"] for r in records if r.get("task")), None)
    row_of: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        if record["status"] != SKIPPED:
            row_of.setdefault((record["kind"], record["model"], record["preset"]), []).append(
                record
            )
    rows = [_row(kind, model, preset, group) for (kind, model, preset), group in row_of.items()]
    balance = _class_balance(rows)
    key, higher = ranking_metric(task, balance) if task in TASK_TABLE else (None, False)
    board = {"data": data, "task": task, "key_metric": key}
    board["higher_is_better"] = higher if key else None
    if balance is not None:
        board[CLASS_BALANCE] = balance  # why balanced accuracy ranks (under 0.2), if it does
    return {**board, "rows": rank(rows, key, higher_is_better=higher)}


def _class_balance(rows: list[dict[str, Any]]) -> float | None:
    """The test part's class balance (the same for every row: one split), taken out of the
    rows' metrics, where it would be a column of the same number."""
    balance = None
    for row in rows:
        stats = row["metrics"].pop(CLASS_BALANCE, None)
        if stats and stats["mean"] is not None:
            balance = stats["mean"] if balance is None else min(balance, stats["mean"])
    return balance


def rank(rows: list[dict[str, Any]], key: str | None, *, higher_is_better: bool) -> list[dict]:
    """Rows with a key metric first, best first (NaN last); then the rows that all failed."""
    scored = [r for r in rows if key and key in r["metrics"]]
    unscored = [r for r in rows if r not in scored]

    def order(row: dict[str, Any]) -> tuple[bool, float]:
        mean = row["metrics"][key]["mean"]
        if mean is None or math.isnan(mean):
            return (True, 0.0)
        return (False, -mean if higher_is_better else mean)

    scored.sort(key=order)
    for position, row in enumerate(scored, 1):
        row["rank"] = position
    for row in unscored:
        row["rank"] = None
    return scored + unscored


def _row(kind: str, model: str, preset: str, group: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in group if r["status"] == OK]
    names = list(dict.fromkeys(m for r in done for m in r["metrics"]))
    params = next((r.get("params") for r in done if r.get("params") is not None), None)
    return {
        "model": model,
        "preset": preset,
        "kind": kind,
        "repeats": len(group),
        "ok": len(done),
        "status": OK if len(done) == len(group) else (FAILED if not done else "partial"),
        "metrics": {m: mean_std([r["metrics"].get(m) for r in done]) for m in names},
        "fit_s": mean_std([r.get("timings", {}).get("fit_s") for r in done]),
        "params": params,
        "errors": list(dict.fromkeys(r["error"] for r in group if r["status"] == FAILED)),
        "folders": [r["folder"] for r in done if r.get("folder")],
    }


def mean_std(values: list[float | None]) -> dict[str, Any]:
    """Mean and sample standard deviation (None with fewer than two values)."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return {"mean": None, "std": None, "values": []}
    std = statistics.stdev(present) if len(present) > 1 else None
    return {"mean": statistics.fmean(present), "std": std, "values": present}


def _skip_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("model", "data", "preset")} | {
        "reason": record.get("error", "")
    }


def _fail_record(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("kind", "model", "data", "preset", "repeat", "seed", "error")
    return {k: record.get(k) for k in keys}
