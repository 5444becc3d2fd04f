"""What a tune folder holds for people: the trials table (CSV and Markdown), the plots, and
``best.toml``, an experiment file that ``zoo run -c best.toml`` reproduces."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.runs.files import atomic_file, write_text

if TYPE_CHECKING:
    from zoo import RunConfig

TRIALS_CSV, TRIALS_MD = "trials.csv", "trials.md"
OBJECTIVE_PNG, IMPORTANCES_PNG = "objective.png", "importances.png"
BEST_TOML = "best.toml"
# RunConfig fields a run folder decides for itself, left out of best.toml.
NOT_IN_EXPERIMENT = {"runs_dir", "tensorboard"}


def trial_rows(trials: list[Any]) -> list[dict[str, Any]]:
    """One plain row per finished or pruned trial, in trial order."""
    rows = []
    for t in trials:
        state = t.state.name.lower()
        if state in ("running", "waiting"):
            continue
        row = {
            "trial": t.number,
            "state": state,
            "val_loss": t.value if t.value is not None else "",
            "epochs": t.user_attrs.get("epochs", ""),
            "best_epoch": t.user_attrs.get("best_epoch", ""),
            "seconds": round(t.duration.total_seconds(), 2) if t.duration else "",
        }
        row.update(t.params)
        rows.append(row)
    return rows


def write_trials(folder: Path, rows: list[dict[str, Any]], header: list[str]) -> None:
    """``trials.csv`` and ``trials.md`` (a summary above the same table)."""
    from tabulate import tabulate

    columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_file(folder / TRIALS_CSV, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    table = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    markdown = tabulate(table, headers=columns, tablefmt="github") if rows else "(no trials)"
    text = "\n".join([*header, "", "## Trials", "", markdown, ""])
    write_text(folder / TRIALS_MD, text)


def _cell(value: Any) -> Any:
    return f"{value:.5g}" if isinstance(value, float) else value


def plot_objective(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Validation loss of every completed trial and the best so far; pruned trials marked."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4))
    done = [r for r in rows if r["state"] == "complete" and math.isfinite(r["val_loss"])]
    best, running = [], math.inf
    for row in done:
        running = min(running, row["val_loss"])
        best.append(running)
    axes.scatter([r["trial"] for r in done], [r["val_loss"] for r in done], s=14, label="trial")
    axes.step([r["trial"] for r in done], best, where="post", color="C3", label="best so far")
    pruned = [r["trial"] for r in rows if r["state"] == "pruned"]
    for number in pruned:
        axes.axvline(number, color="0.85", linewidth=0.8, zorder=0)
    if done and _spread(done) > 20:
        axes.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial (grey lines: pruned)")
    axes.set_ylabel("validation loss (lowest epoch)")
    axes.legend()
    _save(plt, figure, folder / OBJECTIVE_PNG)


def _spread(done: list[dict[str, Any]]) -> float:
    values = [r["val_loss"] for r in done]
    return max(values) / min(values) if min(values) > 0 else 0.0


def plot_importances(folder: Path, study: Any) -> str | None:
    """Parameter importances as a bar chart; returns why it was skipped, or None.

    Importances need at least two completed trials and a parameter that varied.
    """
    import optuna

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        return f"parameter importances need at least 2 completed trials (have {len(complete)})"
    try:
        importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as exc:
        return f"parameter importances could not be computed: {exc}"
    if not importances:
        return "parameter importances need a searched parameter that varied"
    plt = _pyplot()
    names = list(importances)[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(names) + 1.2))
    axes.barh(names, [importances[n] for n in names], color="C0")
    axes.set_xlabel("importance for the validation loss (fANOVA, sums to 1)")
    _save(plt, figure, folder / IMPORTANCES_PNG)
    return None


def _save(plt: Any, figure: Any, path: Path) -> None:
    """Write a figure as a PNG through a partial file, and close it whatever happens."""
    try:
        figure.tight_layout()
        with atomic_file(path, "wb") as handle:
            figure.savefig(handle, dpi=110, format="png")
    finally:
        plt.close(figure)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_best_toml(folder: Path, config: RunConfig, note: str) -> Path:
    """An experiment file for ``zoo run -c``: every field explicit, so nothing is guessed."""
    values = {
        f.name: getattr(config, f.name)
        for f in fields(config)
        if f.name not in NOT_IN_EXPERIMENT and getattr(config, f.name) is not None
    }
    tables = {k: values.pop(k) for k in ("model_params", "data_params", "preset_params")}
    lines = [f"# {line}" for line in note.splitlines()]
    lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    for name, table in tables.items():
        if table:
            lines += ["", f"[{name}]"]
            lines += [f"{_toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    path = folder / BEST_TOML
    write_text(path, "\n".join(lines) + "\n")
    return path


def toml_value(value: Any) -> str:
    """A TOML literal for a str, bool, int, float, sequence or table of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ("-" if value < 0 else "") + ("inf" if math.isinf(value) else "nan")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    raise TypeError(f"cannot write {value!r} to TOML")


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum()
    return key if bare else toml_value(key)


def _selection(folds: int) -> str:
    if folds <= 1:
        return "selection on the validation part only"
    return (
        f"selection on {folds} cross-validation folds of the training part only (the mean of "
        "their validation losses); each configuration scored on the test part is its fold "
        "models, averaged"
    )


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """The Markdown header of trials.md: what was searched and what it gave."""
    lines = [f"# zoo tune: {summary['model']} on {summary['data']}", ""]
    lines.append(
        f"{summary['trials']['complete']} completed, {summary['trials']['pruned']} pruned, "
        f"{summary['trials']['failed']} failed trials; {_selection(summary.get('folds', 1))}."
    )
    best = summary.get("best")
    if best:
        lines += ["", f"Best trial: #{best['trial']}, validation loss {best['val_loss']:.5g}"]
        lines += [f"- `{k}` = {v}" for k, v in best["params"].items()]
    comparison = summary.get("comparison") or []
    if comparison:
        from tabulate import tabulate

        metric = summary["key_metric"]
        rows = [[c["name"], _cell(c["metrics"].get(metric, float("nan")))] for c in comparison]
        table = tabulate(rows, headers=["test part", metric], tablefmt="github")
        lines += ["", "## Test part (scored once, after selection)", "", table]
    if summary.get("notes"):
        lines += ["", *[f"- note: {note}" for note in summary["notes"]]]
    return lines
