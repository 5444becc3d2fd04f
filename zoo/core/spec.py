"""What a model builder is told about the data, and what it may hand back besides a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.core.tasks import TASK_TABLE

if TYPE_CHECKING:
    from zoo.core.parts import DataInfo


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
    def for_data(cls, info: DataInfo) -> ModelSpec:
        units, activation = output_for_task(info.task, info.n_classes)
        return cls(tuple(info.input_shape), info.task, units, activation, info.input_kind)


def output_for_task(task: str, n_classes: int = 0) -> tuple[int, str]:
    """The output layer's units and activation for a task."""
    row = TASK_TABLE[task]
    return row.output_units(n_classes), row.output_activation


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


@dataclass(frozen=True)
class BuiltModel:
    """What a builder returns when it wants more than the model trained once.

    A builder returns a ``keras.Model``, or a BuiltModel whose ``fine_tune`` asks the runner
    for a second phase after the first fit (transfer learning's fine-tuning).
    """

    model: Any
    fine_tune: FineTune | None = None


def unpack_built(result: Any) -> tuple[Any, FineTune | None]:
    """The model and the fine-tuning request (if any) of a builder's return value."""
    if isinstance(result, BuiltModel):
        return result.model, result.fine_tune
    return result, None
