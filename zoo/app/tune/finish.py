"""After the trials: score the best trial once on the test part, beside the default
configuration and the scikit-learn baselines, and write the tune folder's files.

The best trial is chosen by its validation score alone. It is then trained again with the
same seed into a run folder inside the tune folder; that run's test metrics are the only
ones the study ever looks at, and its validation score shows that the trial reproduces.
After cross-validation (``folds`` above 1) the chosen configuration is a cross-validated run
(``zoo.train.runner``): its fold models, trained as in the trial, averaged into one model.
With ``refit`` N, every configuration scored is instead trained as ``zoo run`` trains it (its
default validation part), N times with seeds ``seed`` to ``seed + N - 1``, and averaged: on
small data sets the fold models each miss a fifth of the rows, and one model's score swings
with its seed. With ``ensemble`` K, the K best trials are trained so too and averaged into
one more run.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.app.tune.objective import train, validation_score
from zoo.app.tune.space import apply
from zoo.app.tune.study import hide_password
from zoo.core.config import DEFAULT_VALIDATION_SIZE
from zoo.core.errors import RunInterrupted, ZooError, one_line, shown
from zoo.runs.files import atomic_file, write_text

if TYPE_CHECKING:
    from zoo import Registry, RunConfig, RunResult
    from zoo.app.tune.request import Prepared, TuneTracking

SUMMARY_FILE = "summary.json"
BASELINES = ("sklearn-linear", "sklearn-gboost")


class NoTrialCompleted(ZooError):
    """Every trial was pruned or failed, so there is no best configuration."""


def finish(
    prepared: Prepared, registry: Registry, tracking: TuneTracking, *, score: bool = True
) -> dict[str, Any]:
    """Write the tables, plots, best.toml and summary; with ``score``, the test comparison."""
    import optuna

    study, folder = prepared.study, prepared.folder
    trials = study.get_trials(deepcopy=False)
    rows = trial_rows(trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    ranked = sorted(complete, key=lambda t: t.value)  # stable: the earlier trial wins a tie
    best = ranked[0] if ranked else None
    summary = _counts(prepared, rows)
    notes: list[str] = summary["notes"]
    tested: dict[str, RunResult] = {}  # scored on the test part, for the tracker
    if best is not None:
        # With folds, the base has them too: a cross-validated run (fold models averaged).
        config = final_config(prepared, apply(prepared.base, prepared.space.typed(best.params)))
        summary["best"] = {
            "trial": best.number,
            "val_loss": best.value,
            "params": best.params,
            "config": config.to_dict(),
        }
        note = (
            f"zoo tune: best of {len(complete)} completed trials (#{best.number}), "
            f"validation loss {best.value:.6g}{_how_final(prepared)}."
            "\nReproduce with: zoo run -c best.toml"
        )
        write_best_toml(folder, config, note)
        if score:
            tested = _score(prepared, registry, config, ranked, summary)
    else:
        notes.append("no trial completed, so there is no best configuration")
    plot_objective(folder, rows)
    skipped = plot_importances(folder, study)
    if skipped:
        notes.append(skipped)
    write_trials(folder, rows, summary_lines(summary))
    summary["files"] = sorted(p.name for p in folder.iterdir())
    write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=2, default=str) + "\n")
    if tested:
        tracking.log_tested(tested, [folder / f for f in summary["files"]])
    if best is None and score:
        raise NoTrialCompleted(
            f"No trial completed ({summary['trials']['pruned']} pruned, "
            f"{summary['trials']['failed']} failed); see {folder / TRIALS_MD}."
        )
    return summary


def final_config(prepared: Prepared, config: RunConfig) -> RunConfig:
    """How a configuration the search chose is trained to be scored: as its trials trained
    it, or with ``--refit N`` as ``zoo run --seed-ensemble N`` trains it."""
    from dataclasses import replace

    refit = prepared.request.refit
    if not refit:
        return config
    validation = DEFAULT_VALIDATION_SIZE  # zoo run's, not the trials' larger one
    return replace(config, folds=1, seed_ensemble=refit, validation_size=validation)


def _how_final(prepared: Prepared) -> str:
    folds, refit = prepared.base.folds, prepared.request.refit
    mean = f" (mean of {folds} folds)" if folds > 1 else ""
    if refit:
        return f"{mean}; the run averages {refit} models (seeds {prepared.base.seed} on)"
    return f"{mean}; the run averages the {folds} fold models" if folds > 1 else ""


def _data_label(data: str, params: Mapping[str, Any]) -> str:
    """A data set's short name, or a file's name (the plan records a qualified name)."""
    path = params.get("path")
    return Path(str(path)).name if path else data.rpartition(":")[2]


def _counts(prepared: Prepared, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from zoo.core.tasks import TASK_TABLE

    states = [r["state"] for r in rows]
    return {
        "folder": str(prepared.folder),
        "model": prepared.base.model.rpartition(":")[2],  # short, as the user typed it
        "data": _data_label(prepared.base.data, prepared.base.data_params),
        "storage": hide_password(prepared.storage_url or prepared.record["storage"]),
        "study": prepared.record["study_name"],
        "key_metric": TASK_TABLE[prepared.task].key_metric,
        "folds": prepared.base.folds,
        "refit": prepared.request.refit,
        "trials": {s: states.count(s) for s in ("complete", "pruned", "failed")},
        "space": [d.describe() for d in prepared.space.dimensions],
        "notes": [
            f"{prepared.stale} trial(s) a stopped process had left running were marked failed"
        ]
        if prepared.stale
        else [],
    }


def _score(
    prepared: Prepared,
    registry: Registry,
    config: Any,
    ranked: list[Any],
    summary: dict[str, Any],
) -> dict[str, RunResult]:
    """The test part, scored once: the best trial's re-run, the top-K ensemble (if asked),
    the defaults, the baselines. Returns the runs a tracker logs: ``best`` (and
    ``ensemble``)."""
    from dataclasses import replace

    best = ranked[0]
    _stage(prepared, f"scoring the best trial (#{best.number}) on the test part")
    rerun = train(replace(config, runs_dir=str(prepared.folder)), registry, save=True)
    summary["best"]["run_folder"] = str(rerun.folder)
    if config.folds <= 1 and config.seed_ensemble == 1:  # the trial's run: the same score
        again, _ = validation_score(rerun.history)
        summary["best"]["reproduced_val_loss"] = again
        if not math.isclose(again, best.value, rel_tol=1e-4, abs_tol=1e-9):
            summary["notes"].append(
                f"the best trial's re-run reached validation loss {again:.6g}, not {best.value:.6g}"
            )
    comparison = [{"name": f"best trial (#{best.number})", "metrics": rerun.metrics}]
    tested = {"best": rerun}
    ensemble = _ensemble(prepared, registry, ranked, rerun, summary)
    if ensemble is not None:
        tested["ensemble"] = ensemble
        name = f"ensemble of top-{len(summary['ensemble']['trials'])} trials"
        comparison.append({"name": name, "metrics": ensemble.metrics})
    is_default = best.params == prepared.space.defaults()  # trial 0 won: no second training
    if not is_default:
        _stage(prepared, "scoring the default configuration on the test part")
    default = rerun if is_default else train(final_config(prepared, prepared.base), registry)
    comparison.append({"name": "default configuration", "metrics": default.metrics})
    comparison += _baselines(prepared, registry, summary["notes"])
    summary["comparison"] = comparison
    return tested


def _ensemble(
    prepared: Prepared,
    registry: Registry,
    ranked: list[Any],
    rerun: RunResult,
    summary: dict[str, Any],
) -> RunResult | None:
    """``--ensemble top-K``: the K best trials (by validation loss, never by test score)
    trained again into the tune folder and averaged into one more saved run (None: not
    asked, or too few completed trials).

    Picking one trial out of many by a noisy validation score favours a lucky one; the
    average of several good ones is steadier on new rows. A failure here is a note: the
    search and the best trial's run stand.
    """
    from zoo.app.saved import ensemble_size

    size = ensemble_size(prepared.request.ensemble)
    if not size:
        return None
    if len(ranked) < size:
        summary["notes"].append(
            f"--ensemble top-{size} skipped: {len(ranked)} completed trial(s); run more "
            "trials (--resume) or give a smaller K"
        )
        return None
    try:
        result, members = _averaged_trials(prepared, registry, ranked[:size], rerun)
    except (RunInterrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the search and the best trial's scores stand
        summary["notes"].append(
            f"--ensemble top-{size} failed ({one_line(exc)}); the search's results stand: try "
            f"again with zoo tune --resume {prepared.folder} --trials 1 --ensemble top-{size}"
        )
        return None
    summary["ensemble"] = {
        "trials": [trial.number for trial in ranked[:size]],
        "run_folder": str(result.folder),
        "member_folders": [str(member) for member in members],
    }
    return result


def _averaged_trials(
    prepared: Prepared, registry: Registry, trials: list[Any], rerun: RunResult
) -> tuple[RunResult, list[Any]]:
    """The best trial's run (``rerun``) and the other ``trials`` trained again into the tune
    folder, averaged into one more saved run; returns it and the members' folders."""
    from dataclasses import replace

    from zoo.app.saved import averaged_runs
    from zoo.train.backend import released_after_run

    folder, size = str(prepared.folder), len(trials)
    members = [rerun.folder]
    for trial in trials[1:]:
        _stage(prepared, f"training trial #{trial.number} for the top-{size} ensemble")
        config = final_config(prepared, apply(prepared.base, prepared.space.typed(trial.params)))
        members.append(train(replace(config, runs_dir=folder), registry, save=True).folder)
    _stage(prepared, f"averaging the top-{size} trials and scoring them on the test part")
    with released_after_run():
        result = averaged_runs(members, folder, registry, f"ensemble_top{size}")
    return result, members


def _stage(prepared: Prepared, text: str) -> None:
    if prepared.on_stage is not None:
        prepared.on_stage(text)


def _baselines(prepared: Prepared, registry: Registry, notes: list[str]) -> list[dict[str, Any]]:
    """The scikit-learn rows of ``zoo bench`` on the same split."""
    if not prepared.request.baselines:
        return []
    _stage(prepared, "fitting the scikit-learn baselines on the same split")
    try:
        from zoo.app.bench.baselines import BaselineSkipped, run_baseline
    except ImportError:
        notes.append("scikit-learn baselines need zoo.app.bench, which is not available")
        return []
    rows = []
    config = prepared.base.to_dict()
    for name in BASELINES:
        try:
            result = run_baseline(name, config, registry)
        except BaselineSkipped as exc:
            notes.append(f"{name} skipped: {exc}")
            continue
        rows.append({"name": name, "metrics": result["metrics"]})
    return rows


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
        # A pruned trial's value is its first fold's loss at the epoch it was stopped: not
        # comparable with a completed trial's (its folds' best), so kept in its own column.
        value = t.value if t.value is not None else ""
        pruned = state == "pruned"
        row = {
            "trial": t.number,
            "state": state,
            "val_loss": "" if pruned else value,
            "pruned_loss": value if pruned else "",
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
    raise TypeError(f"cannot write {shown(value)} to TOML")


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum()
    return key if bare else toml_value(key)


def _selection(folds: int, refit: int) -> str:
    chosen = (
        "selection on the validation part only"
        if folds <= 1
        else f"selection on {folds} cross-validation folds of the training part only (the "
        "mean of their validation losses)"
    )
    if refit:
        return (
            f"{chosen}; each configuration scored on the test part is {refit} models trained "
            "as zoo run trains it (seeds in a row), averaged"
        )
    if folds > 1:
        return f"{chosen}; each configuration scored on the test part is its fold models, averaged"
    return chosen


def ensemble_line(ensemble: Mapping[str, Any]) -> str:
    """Which trials the ``--ensemble`` run averages, and where it is."""
    numbers = ", ".join(f"#{n}" for n in ensemble["trials"])
    name = Path(ensemble["run_folder"]).name
    return f"Ensemble of the top-{len(ensemble['trials'])} trials ({numbers}): run folder {name}"


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """The Markdown header of trials.md: what was searched and what it gave."""
    lines = [f"# zoo tune: {summary['model']} on {summary['data']}", ""]
    lines.append(
        f"{summary['trials']['complete']} completed, {summary['trials']['pruned']} pruned, "
        f"{summary['trials']['failed']} failed trials; "
        f"{_selection(summary.get('folds', 1), summary.get('refit', 0))}."
    )
    best = summary.get("best")
    if best:
        lines += ["", f"Best trial: #{best['trial']}, validation loss {best['val_loss']:.5g}"]
        lines += [f"- `{k}` = {v}" for k, v in best["params"].items()]
    ensemble = summary.get("ensemble")
    if ensemble:
        lines += ["", ensemble_line(ensemble)]
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
