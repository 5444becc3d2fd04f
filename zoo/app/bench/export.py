"""A bench's records gathered into leaderboards and exported.

``summarize`` ranks them per data set, mean ± std over repeats, by the task's key metric in
the right direction (lower MSE, higher accuracy), or by balanced accuracy when the classes
are imbalanced (``zoo.core.tasks.ranking_metric``). The exports: text for a terminal (80
columns), JSON, CSV, Markdown, and one bar chart per data set (the key metric's mean over
repeats, with its spread).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

from tabulate import tabulate

from zoo.core.tasks import CLASS_BALANCE, TASK_TABLE, ranking_metric
from zoo.runs.files import atomic_file, write_text

from .execute import FAILED, OK, SKIPPED
from .grid import Skipped

WIDTH = 80
SUMMARY_FILES = ("summary.json", "summary.csv", "summary.md")


def write_exports(folder: Path, summary: dict[str, Any], charts: dict[str, str]) -> list[Path]:
    """Write summary.json, summary.csv and summary.md into ``folder``, atomically."""
    texts = {
        "summary.json": to_json(summary),
        "summary.csv": to_csv(summary),
        "summary.md": to_markdown(summary, charts),
    }
    paths = []
    for name, text in texts.items():
        path = folder / name
        write_text(path, text)
        paths.append(path)
    return paths


def to_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, default=str, allow_nan=True) + "\n"


# -- terminal ------------------------------------------------------------------------------


def leaderboards_text(summary: dict[str, Any], width: int = WIDTH) -> str:
    """Every data set's leaderboard, each fitting ``width`` columns, then skips and failures."""
    blocks = [_board_text(board, width) for board in summary["datasets"]]
    notes = [
        f"skipped: {s['model']} on {s['data']} ({s['preset']}): {s['reason']}"
        for s in summary["skipped"]
    ]
    notes += [
        f"failed: {f['model']} on {f['data']} (repeat {f['repeat']}): {f['error']}"
        for f in summary["failed"]
    ]
    return "\n\n".join(blocks + (["\n".join(notes)] if notes else []))


def _board_text(board: dict[str, Any], width: int) -> str:
    title = _title(board)
    for names, every_std in _variants(board):
        rows = _table_rows(board, names, every_std=every_std)
        table = tabulate(rows, headers="firstrow", disable_numparse=True)
        if max(len(line) for line in table.splitlines()) <= width:
            break
    return "\n".join([title, table, *_ensemble_lines(board)])


# How an ensemble row's members were chosen (see zoo.app.bench.execute.ensemble_members).
CHOSEN_BY = {
    "every row": "every model row",
    "validation loss": "the lowest validation losses",
    "test rank": "the best on the test part (the runs measured different losses or had no "
    "validation part), so its test score is optimistic",
}


def _ensemble_lines(board: dict[str, Any]) -> list[str]:
    """One line per ensemble row of a leaderboard: its members and how they were chosen."""
    lines = []
    for row in board["rows"]:
        if chosen := row.get("ensemble"):
            reason = CHOSEN_BY.get(chosen["by"], chosen["by"])
            lines.append(f"{row['model']} averages {', '.join(chosen['members'])}: {reason}")
    return lines


def _title(board: dict[str, Any]) -> str:
    if not board["key_metric"]:
        return f"{board['data']}: no finished runs"
    better = "higher" if board["higher_is_better"] else "lower"
    return f"{board['data']} ({board['task']}): ranked by {board['key_metric']}, {better} is better"


def _variants(board: dict[str, Any]) -> list[tuple[list[str], bool]]:
    """Column choices from richest to leanest: (metrics shown, std on every metric)."""
    names = _metric_names(board)
    variants = [(names, True), (names, False)]
    variants += [(names[:n], False) for n in range(len(names) - 1, 0, -1)]
    return variants


def _metric_names(board: dict[str, Any]) -> list[str]:
    names = sorted({m for row in board["rows"] for m in row["metrics"]})
    key = board["key_metric"]
    return ([key] if key in names else []) + [m for m in names if m != key]


def _table_rows(board: dict[str, Any], metrics: list[str], *, every_std: bool) -> list[list[str]]:
    label = _labeler(board)
    rows = [["#", "model", *metrics, "fit s", "params"]]
    for row in board["rows"]:
        if row["rank"] is None:
            rows.append(["-", label(row), "failed", *[""] * (len(metrics) + 1)])
            continue
        cells = [
            number(row["metrics"].get(m, {}), std=every_std or i == 0)
            for i, m in enumerate(metrics)
        ]
        fit = row["fit_s"]["mean"]
        params = row["params"]
        rows.append(
            [
                str(row["rank"]),
                label(row),
                *cells,
                f"{fit:.1f}" if fit is not None else "",
                _count(params) if params is not None else "-",
            ]
        )
    return rows


def _labeler(board: dict[str, Any]) -> Any:
    """Rows are named by model; by model and preset when the bench compares presets too."""
    presets = {r["preset"] for r in board["rows"] if r["kind"] == "zoo"}

    def label(row: dict[str, Any]) -> str:
        if row["kind"] == "zoo" and len(presets) > 1:
            return f"{row['model']} {row['preset']}"
        return row["model"]

    return label


def number(stats: dict[str, Any], *, std: bool = True) -> str:
    """``13.85±0.52``: four significant digits, the spread in two."""
    mean = stats.get("mean")
    if mean is None:
        return ""
    text = f"{mean:.4g}"
    if std and stats.get("std") is not None:
        text += f"±{stats['std']:.2g}"
    return text


def _count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1_000_000 else (f"{n / 1e3:.1f}k" if n >= 10_000 else str(n))


# -- files ---------------------------------------------------------------------------------


def to_csv(summary: dict[str, Any]) -> str:
    """One line per leaderboard row; ``METRIC_mean`` and ``METRIC_std`` columns."""
    metrics = list(
        dict.fromkeys(m for b in summary["datasets"] for r in b["rows"] for m in r["metrics"])
    )
    fields = ["data", "task", "key_metric", "rank", "model", "preset", "kind", "repeats", "ok"]
    fields += [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
    fields += ["fit_s_mean", "params", "status", "errors"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for board in summary["datasets"]:
        for row in board["rows"]:
            line = {k: board.get(k) for k in ("data", "task", "key_metric")}
            line.update({k: row[k] for k in ("rank", "model", "preset", "kind", "repeats", "ok")})
            for m in metrics:
                stats = row["metrics"].get(m, {})
                line[f"{m}_mean"], line[f"{m}_std"] = stats.get("mean"), stats.get("std")
            line.update(
                fit_s_mean=row["fit_s"]["mean"],
                params=row["params"],
                status=row["status"],
                errors=" | ".join(row["errors"]),
            )
            writer.writerow(line)
    return out.getvalue()


def to_markdown(summary: dict[str, Any], charts: dict[str, str]) -> str:
    """A report: one ranked table and chart per data set, then what was skipped or failed."""
    lines = [f"# Bench {Path(summary.get('folder', '')).name}", ""]
    lines += [f"{summary.get('status', '')}: {_counts(summary.get('counts', {}))}", ""]
    for board in summary["datasets"]:
        lines += [f"## {_title(board)}", ""]
        names = _metric_names(board)
        lines += [
            tabulate(
                _table_rows(board, names, every_std=True),
                headers="firstrow",
                tablefmt="github",
                disable_numparse=True,
            ),
            "",
        ]
        ensembles = _ensemble_lines(board)
        lines += [*ensembles, ""] if ensembles else []
        if board["data"] in charts:
            lines += [f"![{board['key_metric']} on {board['data']}]({charts[board['data']]})", ""]
    if summary["skipped"]:
        lines += ["## Skipped", ""]
        lines += [
            f"- {s['model']} on {s['data']} ({s['preset']}): {s['reason']}"
            for s in summary["skipped"]
        ]
        lines.append("")
    if summary["failed"]:
        lines += ["## Failed", ""]
        lines += [
            f"- {f['model']} on {f['data']} (repeat {f['repeat']}): {f['error']}"
            for f in summary["failed"]
        ]
        lines.append("")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in counts.items())


def draw_charts(folder: Path, summary: dict[str, Any]) -> dict[str, str]:
    """Write ``chart-DATA.png`` for every data set with results; returns data -> file name."""
    charts = {}
    for board in summary["datasets"]:
        rows = [r for r in board["rows"] if r["rank"] is not None]
        if not rows:
            continue
        name = f"chart-{re.sub(r'[^A-Za-z0-9_.-]+', '_', board['data'])}.png"
        draw(folder / name, board, rows)
        charts[board["data"]] = name
    return charts


def draw(path: Path, board: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    from matplotlib.figure import Figure

    key = board["key_metric"]
    stats = [r["metrics"][key] for r in rows]
    means = [s["mean"] for s in stats]
    spreads = [s["std"] or 0.0 for s in stats]
    labels = [r["model"] if r["kind"] != "zoo" else f"{r['model']}\n{r['preset']}" for r in rows]
    colours = ["#9e9e9e" if r["kind"] != "zoo" else "#3b75af" for r in rows]
    figure = Figure(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.6), layout="constrained")
    axes = figure.add_subplot()
    axes.bar(range(len(rows)), means, yerr=spreads, capsize=4, color=colours)
    axes.set_xticks(range(len(rows)), labels, fontsize=8)
    better = "higher" if board["higher_is_better"] else "lower"
    axes.set_ylabel(f"test {key} ({better} is better)")
    axes.set_title(f"{board['data']} ({board['task']}): mean ± std over repeats", fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    with atomic_file(path, "wb") as handle:  # never half a PNG under the final name
        figure.savefig(handle, dpi=110, format="png")


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
    # The first finished repeat's run is the one an ensemble takes as this row's member.
    first = next((r for r in done if r.get("folder")), {})
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
        "validation": first.get("validation"),
        "ensemble": first.get("ensemble"),
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
