"""What a model builder is told about the data, and how its output layer follows the task."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.data import Dataset


@dataclass(frozen=True)
class ModelSpec:
    """The data-dependent part of a model, given to every builder.

    Args:
        input_shape: the shape of one example, e.g. (13,) or (8, 8, 1).
        task: "regression", "binary" or "multiclass".
        output_units: units of the output layer (1, or the number of classes).
        output_activation: "linear", "sigmoid" or "softmax".
        input_kind: "tabular" or "image".
    """

    input_shape: tuple[int, ...]
    task: str
    output_units: int
    output_activation: str
    input_kind: str = "tabular"

    @classmethod
    def for_dataset(cls, data: Dataset) -> ModelSpec:
        units, activation = output_for_task(data.task, data.n_classes)
        return cls(data.input_shape, data.task, units, activation, data.input_kind)


def output_for_task(task: str, n_classes: int = 0) -> tuple[int, str]:
    """The output layer's units and activation for a task."""
    if task == "regression":
        return 1, "linear"
    if task == "binary":
        return 1, "sigmoid"
    return n_classes, "softmax"
