"""One bar chart per data set: the key metric's mean over repeats, with its spread."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from zoo.runs.files import atomic_file


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
