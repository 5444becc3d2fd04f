"""The data protocol: a data set split into train / validation / test parts.

A loader returns a :class:`DataSource`; splitting it gives :class:`DataParts`. Everything
above this protocol (training, evaluation, the run folder) talks to these two interfaces only:
an in-memory data set (:class:`zoo.core.dataset.Dataset`) and a file streamed from disk (the
CSV plugin's) are two implementations, and nothing asks which one it holds. A part either
offers NumPy arrays (when it is held in memory) or only batches; callers that can use arrays
for speed ask for them and fall back to batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from zoo.core.tasks import TASK_TABLE

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

TRAIN: Final = "train"
VALIDATION: Final = "validation"
TEST: Final = "test"
PART_NAMES: Final = (TRAIN, VALIDATION, TEST)


@dataclass(frozen=True)
class SplitSpec:
    """How to split: the test share, the validation share of what is left, and the seed.

    With ``folds`` above 1 the part left after the test part is cut into that many folds
    (stratified for classification) and fold ``fold`` is the validation part, in place of
    ``validation_size``: cross-validation, one split per fold.
    """

    test_size: float = 0.2
    validation_size: float = 0.1
    seed: int = 42
    folds: int = 1
    fold: int = 0


# The fewest rows the training part and the test part may hold: on one row, R² and other
# test metrics are undefined (written as null), and a model fitted on one row learns nothing.
MIN_PART_ROWS: Final = 2


def part_sizes(rows: int, spec: SplitSpec) -> tuple[int, int, int]:
    """(training, validation, test) rows of ``rows`` split by ``spec``, as the in-memory
    split cuts them: the test part ceil(test_size * rows), then the validation part
    ceil(validation_size * the rest), or with folds the largest fold."""
    n_test = math.ceil(spec.test_size * rows)
    n_train = rows - n_test
    if spec.folds > 1:
        n_val = math.ceil(n_train / spec.folds)
    else:
        n_val = math.ceil(spec.validation_size * n_train) if spec.validation_size else 0
    return n_train - n_val, n_val, n_test


def _enough(rows: int, spec: SplitSpec) -> bool:
    fit, _, test = part_sizes(rows, spec)
    return fit >= MIN_PART_ROWS and test >= MIN_PART_ROWS


def too_few_rows(rows: int, spec: SplitSpec) -> str | None:
    """Why ``rows`` rows cannot be split by ``spec`` (each part at least
    :data:`MIN_PART_ROWS`), with the fewest rows that can, or None when they can. Every
    path checks through here: planning (where the row count is known before TensorFlow
    loads), the in-memory split and a streamed file's scan."""
    if _enough(rows, spec):
        return None
    fit, _, test = part_sizes(rows, spec)
    need = next((n for n in range(rows + 1, 1 << 16) if _enough(n, spec)), 1 << 16)
    sizes = f"test_size={spec.test_size}, " + (
        f"folds={spec.folds}" if spec.folds > 1 else f"validation_size={spec.validation_size}"
    )
    return (
        f"cannot split {rows} rows with {sizes}: that leaves {fit} training and {test} test "
        f"rows, and each part needs at least {MIN_PART_ROWS} (test metrics such as R² are "
        f"undefined on one row). Use at least {need} rows, or change --test-size / "
        "--validation-size"
    )


@dataclass(frozen=True)
class DataInfo:
    """What a data set is, independently of where its rows live.

    Args:
        task: one of ``zoo.core.tasks.TASKS``.
        input_kind: "tabular" or "image".
        input_shape: the shape of one example, as the model sees it.
        feature_names: one name per model input column (tabular).
        target_name: the target column's name.
        class_names: the label of each class index, for classification.
        schema: what prediction needs to turn raw rows into model inputs and outputs back
            into labels, as plain JSON data.
    """

    task: str
    input_kind: str
    input_shape: tuple[int, ...]
    feature_names: tuple[str, ...] = ()
    target_name: str = "target"
    class_names: tuple[str, ...] = ()
    schema: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n_classes(self) -> int:
        if not TASK_TABLE[self.task].classification:
            return 0
        return len(self.class_names) or len(self.schema.get("classes", ())) or 2

    @property
    def source(self) -> str:
        """Where the rows come from, for messages: a file path, or "the data set"."""
        return str(self.schema.get("path") or "the data set")


@dataclass(frozen=True)
class Scaling:
    """What the model's preparation layers learn from the training part.

    Images are divided by ``peak`` (their largest training value). Tabular inputs: per
    column its ``kind`` ("numeric" or "categorical", see ``zoo.core.schema``); per numeric
    column ``mean`` and ``variance`` (missing values left out), ``fill`` (the value a missing
    one takes: the median) and ``missing`` (whether training rows lacked it); per categorical
    column the codes seen in training (``vocabularies``, in column order). A regression
    target's ``target_mean`` and ``target_std`` (None for classification).
    """

    mean: np.ndarray | None = None
    variance: np.ndarray | None = None
    peak: float | None = None
    kinds: tuple[str, ...] = ()
    fill: np.ndarray | None = None
    missing: np.ndarray | None = None
    vocabularies: tuple[tuple[int, ...], ...] = ()
    target_mean: float | None = None
    target_std: float | None = None


@runtime_checkable
class DataParts(Protocol):
    """A data set split for training; see the module docstring."""

    @property
    def info(self) -> DataInfo:
        """The data set's description, final after the split (classes, input shape)."""
        ...

    def rows(self, part: str) -> int:
        """The number of rows in ``part`` (one of :data:`PART_NAMES`)."""
        ...

    def arrays(self, part: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Inputs and targets of ``part`` when they are held in memory, else None."""
        ...

    def batches(self, part: str, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
        """(inputs, targets) batches of ``part``: with a seed, shuffled and endless (for
        training); without, each row once in a fixed order."""
        ...

    def scaling(self) -> Scaling:
        """The input scaling fitted on the training part."""
        ...

    def fingerprint(self) -> str:
        """A sha256 that changes whenever the data would (resuming checks it)."""
        ...


@runtime_checkable
class DataSource(Protocol):
    """What a data set loader returns: something that can be split into parts."""

    @property
    def info(self) -> DataInfo:
        """The description known before the split (a stream's classes may be provisional)."""
        ...

    def split(self, spec: SplitSpec) -> DataParts:
        """Train / validation / test parts; validation is carved from training, never test.

        Raises:
            DataError: the rows cannot be split that way (too few, a single class).
        """
        ...

    def whole(self) -> DataParts:
        """Every row as the test part, to score a trained model on all of a data set."""
        ...
