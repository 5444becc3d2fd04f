"""After the trials: score the best trial once on the test part, beside the default
configuration and the scikit-learn baselines, and write the tune folder's files.

The best trial is chosen by its validation score alone. It is then trained again with the
same seed into a run folder inside the tune folder; that run's test metrics are the only
ones the study ever looks at, and its validation score shows that the trial reproduces.
After cross-validation (``folds`` above 1) the chosen configuration is a cross-validated run
(``zoo.train.crossval``): its fold models, trained as in the trial, averaged into one model.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from zoo.app.tune import report
from zoo.app.tune.objective import train, validation_score
from zoo.app.tune.space import apply
from zoo.core.errors import ZooError
from zoo.runs.files import write_text

if TYPE_CHECKING:
    from zoo import Registry
    from zoo.app.tune.request import Prepared
    from zoo.app.tune.tracking import TuneTracking

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
    rows = report.trial_rows(trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value) if complete else None
    summary = _counts(prepared, rows)
    notes: list[str] = summary["notes"]
    if best is not None:
        # With folds, the base has them too: this is a cross-validated run (fold models averaged).
        config = apply(prepared.base, prepared.space.typed(best.params))
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
        report.write_best_toml(folder, config, note)
        if score:
            _score(prepared, registry, tracking, config, best, summary)
    else:
        notes.append("no trial completed, so there is no best configuration")
    report.plot_objective(folder, rows)
    skipped = report.plot_importances(folder, study)
    if skipped:
        notes.append(skipped)
    report.write_trials(folder, rows, report.summary_lines(summary))
    summary["files"] = sorted(p.name for p in folder.iterdir())
    write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=2, default=str) + "\n")
    if best is not None and score:
        tracking.log_best(summary.pop("_best_result"), [folder / f for f in summary["files"]])
    summary.pop("_best_result", None)
    if best is None and score:
        raise NoTrialCompleted(
            f"No trial completed ({summary['trials']['pruned']} pruned, "
            f"{summary['trials']['failed']} failed); see {folder / report.TRIALS_MD}."
        )
    return summary


def _how_final(prepared: Prepared) -> str:
    if prepared.base.folds <= 1:
        return ""
    return (
        f" (mean of {prepared.base.folds} folds); the run averages the {prepared.base.folds} "
        "fold models"
    )


def _counts(prepared: Prepared, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from zoo.core.tasks import TASK_TABLE

    states = [r["state"] for r in rows]
    return {
        "folder": str(prepared.folder),
        "model": prepared.base.model,
        "data": prepared.base.data,
        "storage": prepared.record["storage"],
        "study": prepared.record["study_name"],
        "key_metric": TASK_TABLE[prepared.task].key_metric,
        "folds": prepared.base.folds,
        "trials": {s: states.count(s) for s in ("complete", "pruned", "failed")},
        "space": [d.describe() for d in prepared.space.dimensions],
        "notes": [],
    }


def _score(
    prepared: Prepared,
    registry: Registry,
    tracking: TuneTracking,
    config: Any,
    best: Any,
    summary: dict[str, Any],
) -> None:
    """The test part, scored once: the best trial's re-run, the defaults, the baselines."""
    from dataclasses import replace

    rerun = train(replace(config, runs_dir=str(prepared.folder)), registry, save=True)
    summary["best"]["run_folder"] = str(rerun.folder)
    if prepared.base.folds <= 1:  # the same run as the trial: it must reach the same score
        again, _ = validation_score(rerun.history)
        summary["best"]["reproduced_val_loss"] = again
        if not math.isclose(again, best.value, rel_tol=1e-4, abs_tol=1e-9):
            summary["notes"].append(
                f"the best trial's re-run reached validation loss {again:.6g}, not {best.value:.6g}"
            )
    comparison = [{"name": f"best trial (#{best.number})", "metrics": rerun.metrics}]
    is_default = best.params == prepared.space.defaults()  # trial 0 won: no second training
    default = rerun if is_default else train(prepared.base, registry)
    comparison.append({"name": "default configuration", "metrics": default.metrics})
    comparison += _baselines(prepared, registry, summary["notes"])
    summary["comparison"] = comparison
    summary["_best_result"] = rerun


def _baselines(prepared: Prepared, registry: Registry, notes: list[str]) -> list[dict[str, Any]]:
    """The scikit-learn rows of ``zoo bench`` on the same split."""
    if not prepared.request.baselines:
        return []
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
