"""What a model builder is told about the data, and how its output layer follows the task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.core.dataset import Dataset


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


# The attribute a builder sets on its model to ask the runner for a fine-tuning phase.
FINE_TUNE_ATTRIBUTE = "zoo_fine_tune"


@dataclass(frozen=True)
class FineTune:
    """A second training phase a builder asks for: unfreeze the top of a frozen backbone.

    Args:
        backbone: the name of the (nested) backbone layer inside the builder's model.
        layers: how many of the backbone's top layers to unfreeze.
        epochs: epochs of the second phase.
        learning_rate: the optimizer's step size in the second phase.
    """

    backbone: str
    layers: int
    epochs: int
    learning_rate: float


def attach_fine_tune(model: Any, plan: FineTune) -> None:
    """Ask the runner to fine-tune ``model`` after its first fit."""
    # object.__setattr__ keeps Keras's attribute tracking out of it.
    object.__setattr__(model, FINE_TUNE_ATTRIBUTE, plan)


def fine_tune_of(model: Any) -> FineTune | None:
    """The fine-tuning plan of ``model`` or of a model nested in it (the builder's body)."""
    plan = getattr(model, FINE_TUNE_ATTRIBUTE, None)
    if plan is not None:
        return plan
    for layer in getattr(model, "layers", []):
        plan = getattr(layer, FINE_TUNE_ATTRIBUTE, None)
        if plan is not None:
            return plan
    return None
