"""Results that should not pass silently: a run no better than a trivial baseline.

A model whose test R² is at or below 0 does no better than predicting the mean; a classifier
whose accuracy is at or below the share of the most common class does no better than always
answering that class; a training loss that stopped moving after the first epochs means the
model stopped learning. Each gives one line of advice, shown by the CLI and recorded in
metrics.json, so that a useless model is never mistaken for a result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from zoo.core.parts import TEST
from zoo.core.tasks import TASK_TABLE

if TYPE_CHECKING:
    from zoo.core.parts import DataParts

# The loss counts as flat when, from this epoch on, it never improved by this fraction.
FLAT_FROM_EPOCH = 3
FLAT_IMPROVEMENT = 0.01
FLAT_MIN_EPOCHS = 10

ADVICE = (
    "try another learning rate (--set learning_rate=0.0001, or 0.01), more epochs, or "
    "another preset, and check that the inputs are on comparable scales"
)


def review(
    task: str,
    metrics: dict[str, float],
    history: dict[str, list[float]],
    parts: DataParts | None = None,
) -> list[str]:
    """One line of advice for each way the run did no better than a trivial baseline.

    Args:
        task: the run's task.
        metrics: its test metrics.
        history: its per-epoch training history.
        parts: its data parts, for the share of the most common class in the test part
            (skipped when the test part is not held in memory).

    Returns:
        The warnings, empty for a run that learned something.
    """
    found = []
    if TASK_TABLE[task].classification:
        found.append(_accuracy_warning(metrics, majority_share(parts)))
    else:
        found.append(_r2_warning(metrics))
    found.append(_flat_loss_warning(history.get("loss", [])))
    return [w for w in found if w]


def _r2_warning(metrics: dict[str, float]) -> str | None:
    r2 = metrics.get("r2")
    if r2 is None or math.isnan(r2) or r2 > 0:
        return None
    return f"test R² is {r2:.4f}: no better than always predicting the mean; {ADVICE}."


def _accuracy_warning(metrics: dict[str, float], share: float | None) -> str | None:
    accuracy = metrics.get("accuracy")
    if accuracy is None or share is None or accuracy > share:
        return None
    return (
        f"test accuracy {accuracy:.4f} is no better than always answering the most common "
        f"class ({share:.4f} of the test part); {ADVICE}."
    )


def _flat_loss_warning(losses: list[float]) -> str | None:
    if len(losses) < FLAT_MIN_EPOCHS or not all(map(math.isfinite, losses)):
        return None
    start = losses[FLAT_FROM_EPOCH - 1]
    later = min(losses[FLAT_FROM_EPOCH:])
    if later < start - abs(start) * FLAT_IMPROVEMENT:
        return None
    return (
        f"the training loss stayed at {start:.4g} from epoch {FLAT_FROM_EPOCH} to "
        f"{len(losses)}: the model stopped learning early; {ADVICE}."
    )


def majority_share(parts: DataParts | None) -> float | None:
    """The fraction of the test part in its most common class; None when not in memory."""
    import numpy as np

    arrays = parts.arrays(TEST) if parts is not None else None
    if arrays is None or not len(arrays[1]):
        return None
    _, counts = np.unique(
        np.asarray(arrays[1]).reshape(len(arrays[1]), -1)[:, 0], return_counts=True
    )
    return float(counts.max() / counts.sum())
