"""What plugins are given and give back: the ``ModelSpec`` a builder is told about the data,
what it may hand back besides a model (``BuiltModel``, ``FineTune``), and the
``CompileSettings`` a preset returns (with which Keras losses suit which task)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from zoo.core.errors import IncompatibleError, shown
from zoo.core.tasks import BINARY, MULTICLASS, REGRESSION, TASK_TABLE

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


# Keras's built-in losses that suit each task, by function name. Targets are class indices,
# so losses that need one-hot targets (categorical_crossentropy, ...) suit none of them.
# A loss Keras does not ship (a plugin's own) is not checked.
TASK_FITTING_LOSSES = {
    REGRESSION: (
        "mean_squared_error",
        "mean_absolute_error",
        "huber",
        "log_cosh",
        "mean_squared_logarithmic_error",
        "mean_absolute_percentage_error",
        "poisson",
    ),
    BINARY: ("binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"),
    MULTICLASS: ("sparse_categorical_crossentropy",),
}
# Every loss function Keras ships, and the short names keras.losses.get accepts for them.
KERAS_LOSSES = frozenset(
    {
        *(name for names in TASK_FITTING_LOSSES.values() for name in names),
        "categorical_crossentropy",
        "categorical_focal_crossentropy",
        "categorical_generalized_cross_entropy",
        "categorical_hinge",
        "circle",
        "cosine_similarity",
        "ctc",
        "dice",
        "kl_divergence",
        "tversky",
    }
)
LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
}
_CAPITALS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class CompileSettings:
    """What ``model.compile`` needs, as identifiers Keras resolves itself.

    Args:
        optimizer: a name, config dict or instance for ``keras.optimizers.get``.
        loss: a name, config dict or instance for ``keras.losses.get``; None uses the task's
            default (see ``zoo.core.tasks``).
        metrics: metric identifiers for ``model.compile``; None uses the task's defaults
            (see ``zoo.core.tasks``).
    """

    optimizer: Any
    loss: Any = None
    metrics: list[Any] | None = None

    def for_task(self, task: str, data_name: str = "") -> CompileSettings:
        """These settings with the task's defaults filled in, checked against the task.

        Args:
            task: the data set's task.
            data_name: the data set's name, for the error message.

        Raises:
            IncompatibleError: the loss is a Keras loss that does not suit ``task``.
        """
        filled = replace(
            self,
            loss=TASK_TABLE[task].loss if self.loss is None else self.loss,
            metrics=list(TASK_TABLE[task].metrics if self.metrics is None else self.metrics),
        )
        check_loss_fits(filled.loss, task, data_name)
        return filled

    def resolve(self, task: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``model.compile``, with Keras objects built.

        Args:
            task: fill in and check the task's defaults first (see :meth:`for_task`).
        """
        import keras

        settings = self.for_task(task) if task else self
        if settings.loss is None:
            raise ValueError("These settings leave the loss to the task: pass resolve(task).")
        return {
            "optimizer": keras.optimizers.get(settings.optimizer),
            "loss": keras.losses.get(settings.loss),
            "metrics": list(settings.metrics or []),
        }


def loss_name(loss: Any) -> str:
    """The Keras function name of a built-in loss identifier, or '' for anything else.

    Reads names, config dicts and loss objects without importing Keras, so that the check
    runs while planning a run.
    """
    if isinstance(loss, dict):
        name = _snake(str(loss.get("class_name", "")))
    elif isinstance(loss, str):
        name = loss.lower() if loss.isupper() else _snake(loss)
    else:
        function = getattr(loss, "fn", loss)
        name = getattr(function, "__name__", "") or _snake(type(loss).__name__)
        name = name if not name[:1].isupper() else _snake(name)
    name = LOSS_ALIASES.get(name, name)
    return name if name in KERAS_LOSSES else ""


def _snake(name: str) -> str:
    """MeanSquaredError -> mean_squared_error, KLDivergence -> kl_divergence."""
    return _CAPITALS.sub("_", name).lower()


def check_loss_fits(loss: Any, task: str, data_name: str = "") -> None:
    """Raise IncompatibleError when ``loss`` is a Keras loss that does not suit ``task``."""
    name = loss_name(loss)
    if name and name not in TASK_FITTING_LOSSES[task]:
        suits = [t for t, names in TASK_FITTING_LOSSES.items() if name in names]
        made_for = f"for {'/'.join(suits)} tasks" if suits else "for one-hot or other targets"
        data = f"data set {shown(data_name)}" if data_name else "the data set"
        raise IncompatibleError(
            f"Loss {shown(name)} is {made_for}, but {data} is {task}. Losses that fit: "
            f"{', '.join(TASK_FITTING_LOSSES[task])} (or leave the loss to the task's default)."
        )
