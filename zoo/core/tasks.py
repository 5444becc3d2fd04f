"""The learning tasks keras-zoo knows, each described once: one row per task.

Everything that differs by task (the output layer, the default loss and metrics, the metric
runs are ranked by, whether splits are stratified) is read from :data:`TASK_TABLE` instead of
being spelled out as string literals across the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

REGRESSION: Final = "regression"
BINARY: Final = "binary"
MULTICLASS: Final = "multiclass"
TASKS: Final = (REGRESSION, BINARY, MULTICLASS)

TABULAR: Final = "tabular"
IMAGE: Final = "image"
INPUT_KINDS: Final = (TABULAR, IMAGE)


@dataclass(frozen=True)
class Task:
    """What a task implies for a model, its training and its evaluation.

    Args:
        name: the task's name, one of :data:`TASKS`.
        output_activation: the output layer's activation.
        loss: the Keras loss a preset gets when it leaves the loss to the task.
        metrics: the Keras metrics a preset gets when it leaves them to the task.
        key_metric: the test metric runs are ranked by (see ``zoo.train.scoring``).
        higher_is_better: whether a larger key metric is a better run.
        stratified: whether train / validation / test splits keep the class proportions.
        classification: whether targets are class indices.
    """

    name: str
    output_activation: str
    loss: str
    metrics: tuple[str, ...]
    key_metric: str
    higher_is_better: bool
    stratified: bool
    classification: bool

    def output_units(self, n_classes: int = 0) -> int:
        """Units of the output layer: one, or one per class for multiclass."""
        return n_classes if self.name == MULTICLASS else 1


TASK_TABLE: Final[dict[str, Task]] = {
    REGRESSION: Task(
        REGRESSION,
        output_activation="linear",
        loss="mean_squared_error",
        metrics=("mae", "root_mean_squared_error"),
        key_metric="mse",
        higher_is_better=False,
        stratified=False,
        classification=False,
    ),
    BINARY: Task(
        BINARY,
        output_activation="sigmoid",
        loss="binary_crossentropy",
        metrics=("accuracy", "auc"),
        key_metric="accuracy",
        higher_is_better=True,
        stratified=True,
        classification=True,
    ),
    MULTICLASS: Task(
        MULTICLASS,
        output_activation="softmax",
        loss="sparse_categorical_crossentropy",
        metrics=("accuracy",),
        key_metric="accuracy",
        higher_is_better=True,
        stratified=True,
        classification=True,
    ),
}


def task(name: str) -> Task:
    """The row of ``name``.

    Raises:
        KeyError: ``name`` is not a task keras-zoo knows.
    """
    return TASK_TABLE[name]
