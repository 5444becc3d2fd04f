"""Model outputs turned back into the data set's own terms, by the schema a run saved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zoo.core.tasks import BINARY, TASK_TABLE

if TYPE_CHECKING:
    import numpy as np


def class_labels(indices: Sequence[int] | np.ndarray, schema: dict[str, Any]) -> list[Any]:
    """The target's own labels for class indices (the indices themselves without labels)."""
    labels = schema.get("classes") or []
    return [labels[int(i)] if int(i) < len(labels) else int(i) for i in indices]


def decode_outputs(outputs: np.ndarray, schema: dict[str, Any]) -> list[Any]:
    """Predictions in the data set's terms from raw model outputs.

    Regression gives floats; binary thresholds the probability at 0.5; multiclass takes the
    most probable class; classes map back to their labels.
    """
    import numpy as np

    outputs = np.asarray(outputs)
    if not TASK_TABLE[schema["task"]].classification:
        return [float(v) for v in outputs.reshape(len(outputs))]
    if schema["task"] == BINARY:
        return class_labels((outputs.reshape(len(outputs)) >= 0.5).astype(int), schema)
    return class_labels(outputs.argmax(axis=1), schema)
