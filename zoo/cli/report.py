"""What ``zoo run`` says around a training run: the start line, the notes after it, the JSON.

Kept apart from the click commands so that each message has one place and a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo.app.run import RunResult
    from zoo.plan.planning import Plan


def epochs_text(count: int) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{count} epoch{'' if count == 1 else 's'}"


def start_line(checked: Plan, first_epoch: int, *, resumed: bool) -> str:
    """``zoo: training mlp on housing for 100 epochs...``; a resume counts the epochs left."""
    config = checked.config
    what = f"{checked.model_label} on {checked.data_label}"
    if config.cross_validated:
        return (
            f"zoo: training {what}, one model per fold of {config.folds}, for "
            f"{epochs_text(config.epochs)} each..."
        )
    if not resumed:
        return f"zoo: training {what} for {epochs_text(config.epochs)}..."
    left = max(0, config.epochs - first_epoch)
    return (
        f"zoo: resuming {what} after epoch {first_epoch} of {config.epochs}: "
        f"{epochs_text(left)} left..."
    )


def notes(checked: Plan, result: RunResult) -> list[str]:
    """One line each: how early stopping ended the run, and results no better than trivial."""
    from zoo.app.run import early_stop_note

    lines = []
    stopped = early_stop_note(result.history, checked.config.epochs, checked.config.patience)
    if stopped:
        lines.append(f"zoo: {stopped}")
    lines += [f"zoo: warning: {w}" for w in getattr(result, "warnings", [])]
    return lines


def result_json(checked: Plan, result: RunResult) -> dict[str, Any]:
    """The ``--json`` answer; its ``config`` is the resolved one, as in config.json."""
    return {
        "config": checked.to_dict(),
        "task": result.task,
        "metrics": result.metrics,
        "epochs_trained": len(result.history.get("loss", [])),
        "timings": result.timings,
        "warnings": list(getattr(result, "warnings", [])),
        "folder": str(result.folder) if result.folder else None,
    }
