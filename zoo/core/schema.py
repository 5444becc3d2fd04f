"""What a data set's schema says: its input columns and their kinds, the preparation statistics
fitted by them, and the model's outputs decoded back to its labels.

A tabular data set's rows reach the model raw: a numeric column may hold NaN (a missing
value), a categorical column holds the index of its value in the schema's ``categories``
(-1 for a value the schema does not list). The model's own preparation layer, fitted on the
training part, imputes, standardizes and one-hot encodes them (``zoo.train.preparation``).
Scikit-learn baselines read the same kinds to prepare the same columns their own way.

A model's outputs are turned back into the data set's own terms (its class labels, its
targets' units) by the schema a run saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from zoo.core.parts import Scaling
from zoo.core.tasks import BINARY, TASK_TABLE

if TYPE_CHECKING:
    import numpy as np


NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
UNKNOWN_CODE: Final = -1  # a categorical value the schema does not list


def input_columns(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ``{"name", "kind"}`` per model input column, in input order.

    A schema that records no ``inputs`` (a data set whose loader names only numeric
    features) has numeric columns only; ``kind`` is then "numeric" for every column.
    Categorical entries also carry ``size``, the number of categories listed.
    """
    inputs = schema.get("inputs")
    if inputs:
        return [dict(column) for column in inputs]
    return [{"name": f["name"], "kind": NUMERIC} for f in schema.get("features", ())]


def categorical_mask(schema: Mapping[str, Any], width: int) -> list[bool]:
    """Per model input column (``width`` of them), whether it holds category codes."""
    kinds = [c["kind"] == CATEGORICAL for c in input_columns(schema)]
    return kinds if len(kinds) == width else [False] * width


def fit_scaling(x: np.ndarray, y: np.ndarray, schema: Mapping[str, Any], task: str) -> Scaling:
    """The preparation statistics of a tabular training part (``x``: rows x columns)."""
    import numpy as np

    kinds = tuple(
        CATEGORICAL if categorical else NUMERIC
        for categorical in categorical_mask(schema, x.shape[1])
    )
    numeric = [j for j, kind in enumerate(kinds) if kind == NUMERIC]
    values = x[:, numeric].astype("float64")
    mean, variance, fill, missing = numeric_statistics(values)
    vocabularies = tuple(
        tuple(int(c) for c in np.unique(x[:, j][np.isfinite(x[:, j])]) if c >= 0)
        for j, kind in enumerate(kinds)
        if kind == CATEGORICAL
    )
    target_mean, target_std = target_statistics(y, task)
    return Scaling(
        mean=mean,
        variance=variance,
        kinds=kinds,
        fill=fill,
        missing=missing,
        vocabularies=vocabularies,
        target_mean=target_mean,
        target_std=target_std,
    )


def numeric_statistics(values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean, variance, median (the fill for a missing value) and whether any is missing, per
    column of ``values`` (float64, NaN = missing); an all-missing column counts as constant 0."""
    import numpy as np

    missing = np.isnan(values).any(axis=0)
    if not missing.any():  # the common case, summed exactly as before missing values existed
        return values.mean(axis=0), values.var(axis=0), np.median(values, axis=0), missing
    empty = np.isnan(values).all(axis=0)
    filled = np.where(empty, 0.0, values) if empty.any() else values
    with np.errstate(invalid="ignore"):
        mean, variance = np.nanmean(filled, axis=0), np.nanvar(filled, axis=0)
        median = np.nanmedian(filled, axis=0)
    return mean, variance, median, missing


def constant_columns(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Which columns did not vary in training (their deviation is rounding noise at most)."""
    import numpy as np

    return ~(variance > 1e-12 * np.square(mean)) | (variance <= 0)


def target_statistics(y: np.ndarray, task: str) -> tuple[float | None, float | None]:
    """A regression target's mean and deviation (1 when it is constant); None otherwise."""
    if task != "regression" or not len(y):
        return None, None
    values = y.astype("float64")
    std = float(values.std())
    return float(values.mean()), std if std > 0 else 1.0


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
