"""The learning tasks keras-zoo knows, each described once: one row per task.

Everything that differs by task (the output layer, the default loss and metrics, the metric
runs are ranked by, whether splits are stratified) is read from :data:`TASK_TABLE` instead of
being spelled out as string literals across the code.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        key_metric: the test metric runs are ranked by (see ``zoo.train.scoring``), unless
            the data is imbalanced (see :func:`ranking_metric`).
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


# How evenly a classification data set's rows spread over its classes: the rarest class's
# share of the rows times the number of classes (1: an even split; a binary data set with a
# 10 % minority: 0.2). Under IMBALANCED_BELOW the data is imbalanced: accuracy then rewards
# always answering the common class, so runs are ranked by balanced accuracy (the mean recall
# over the classes) and "auto" class weights switch on. Relative to an even split, so that 10
# balanced classes (10 % each) are not taken for imbalanced ones.
IMBALANCED_BELOW: Final = 0.2
BALANCED_ACCURACY: Final = "balanced_accuracy"
# The test metric (``zoo.train.scoring``) holding the test part's class balance.
CLASS_BALANCE: Final = "class_balance"


def class_balance(counts: Sequence[int]) -> float:
    """The rarest class's share of the rows times the number of classes (``counts``: rows
    per class, every class counted, even one with no rows)."""
    total = sum(counts)
    return min(counts) / total * len(counts) if total else 1.0


def imbalanced(balance: float | None) -> bool:
    """Whether a class balance (see :func:`class_balance`) makes a data set imbalanced
    (None, unknown: not imbalanced)."""
    return balance is not None and balance < IMBALANCED_BELOW


def ranking_metric(name: str, balance: float | None = None) -> tuple[str, bool]:
    """The test metric that ranks runs of task ``name``, and whether higher is better.

    The task's key metric, except for imbalanced classification data (see
    :data:`IMBALANCED_BELOW`), ranked by balanced accuracy: always answering the common
    class scores 1 / classes there, however imbalanced the data (AUC would rank binary
    tasks only, and not by the labels the model answers).
    """
    row = TASK_TABLE[name]
    if row.classification and imbalanced(balance):
        return BALANCED_ACCURACY, True
    return row.key_metric, row.higher_is_better


def task(name: str) -> Task:
    """The row of ``name``.

    Raises:
        KeyError: ``name`` is not a task keras-zoo knows.
    """
    return TASK_TABLE[name]
