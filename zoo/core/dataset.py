"""The in-memory data set a loader returns, its checks, and the train/validation/test split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.catalog.entries import INPUT_KINDS, TASKS
from zoo.core.errors import DataError

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Dataset:
    """Features and targets, with what the runner needs to know about them.

    Args:
        x: features, shape (rows, *input_shape).
        y: targets, shape (rows,): floats for regression, class indices otherwise.
        task: "regression", "binary" or "multiclass".
        input_kind: "tabular" or "image".
        feature_names: one name per tabular column.
        target_name: the target column's name.
        class_names: the label of each class index, for classification.
        schema: what prediction needs to turn raw rows into model inputs and outputs back
            into labels, as plain JSON data (see :func:`default_schema`; a CSV file's adds
            column kinds and one-hot categories). Filled in when the loader gives none.
        stream: for a file trained on without loading it (zoo.plugins.csv_files.scan.CsvStream): ``x``
            and ``y`` then hold no rows, only the feature layout.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    input_kind: str = "tabular"
    feature_names: list[str] = field(default_factory=list)
    target_name: str = "target"
    class_names: list[str] = field(default_factory=list)
    schema: dict[str, Any] = field(default_factory=dict)
    stream: Any = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"Unknown task {self.task!r}; expected one of {', '.join(TASKS)}.")
        if self.input_kind not in INPUT_KINDS:
            raise DataError(
                f"Unknown input kind {self.input_kind!r}; expected one of {', '.join(INPUT_KINDS)}."
            )
        if len(self.x) != len(self.y):
            raise DataError(
                f"Features have {len(self.x)} rows but targets have {len(self.y)}; "
                "a loader must return one target per row."
            )
        if not self.schema:
            self.schema = default_schema(self)

    @property
    def source(self) -> str:
        """Where the rows come from, for messages: a file path, or "the data set"."""
        return str(self.schema.get("path") or "the data set")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.x.shape[1:])

    @property
    def n_classes(self) -> int:
        if self.task == "regression":
            return 0
        return len(self.class_names) or int(self.y.max()) + 1


SCHEMA_VERSION = 1


def default_schema(data: Dataset) -> dict[str, Any]:
    """The schema of a data set whose loader gave none: numeric features, named in order.

    Keys: ``version``, ``task``, ``input_kind``, ``input_shape`` (one example's shape),
    ``target`` (column name), ``features`` (``{"name", "kind"}`` per raw column, in model
    order; empty when the loader named none, and then a file's columns are taken in order),
    ``classes`` (the label of each class index; empty for regression).
    """
    return {
        "version": SCHEMA_VERSION,
        "task": data.task,
        "input_kind": data.input_kind,
        "input_shape": list(data.input_shape),
        "target": data.target_name,
        "features": [{"name": str(name), "kind": "numeric"} for name in data.feature_names],
        "classes": [_plain(label) for label in data.class_names],
    }


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: NumPy scalars become Python ones."""
    return value.item() if hasattr(value, "item") else value


@dataclass
class Split:
    """The three parts of a data set; validation is carved from training, never from test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split_dataset(
    data: Dataset, test_size: float = 0.2, validation_size: float = 0.1, random_state: int = 42
) -> Split:
    """Split into train / validation / test like the tutorial (test_size=0.2, random_state=42).

    The test part is exactly the tutorial's; validation is then taken from the training part.
    Classification splits are stratified.
    """

    _check_fraction("test_size", test_size)
    _check_fraction("validation_size", validation_size, allow_zero=True)
    if data.stream is not None:
        raise DataError(
            f"{data.source} is streamed from disk and cannot be split in memory; "
            "zoo.run trains it (zoo.plugins.csv_files.pipeline splits it row by row)."
        )
    stratify = data.y if data.task != "regression" else None
    x_train, x_test, y_train, y_test = _split(
        data, data.x, data.y, ("test_size", test_size), random_state, stratify
    )
    if validation_size == 0:
        return Split(x_train, y_train, x_train[:0], y_train[:0], x_test, y_test)
    stratify = y_train if data.task != "regression" else None
    x_fit, x_val, y_fit, y_val = _split(
        data, x_train, y_train, ("validation_size", validation_size), random_state, stratify
    )
    return Split(x_fit, y_fit, x_val, y_val, x_test, y_test)


def _split(data, x, y, fraction, random_state, stratify):  # type: ignore[no-untyped-def]
    from sklearn.model_selection import train_test_split

    name, size = fraction
    try:
        return train_test_split(x, y, test_size=size, random_state=random_state, stratify=stratify)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise DataError(
            f"{data.source}: cannot split {len(x)} rows with {name}={size} "
            f"({reason.rstrip('.')}). Use more rows, or change --test-size / "
            "--validation-size."
        ) from None


def _check_fraction(name: str, value: float, allow_zero: bool = False) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        bound = "0 <= x < 1" if allow_zero else "0 < x < 1"
        raise DataError(f"{name} must be a fraction with {bound}; received {name}={value}.")
