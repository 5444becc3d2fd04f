"""The in-memory data set a loader returns, its train / validation / test parts, and the
numbers it may hold.

:class:`Dataset` is the in-memory implementation of the data protocol (``zoo.core.parts``);
:class:`ArrayParts` are its parts, held as NumPy arrays. Its values must be numbers a model can
train on: finite, and within float32, the precision training uses. A value such as 1e300 is
finite in float64 but becomes infinity once cast to float32, and then every loss is NaN; so
``check_usable`` refuses it like NaN and infinities, before anything trains.

The compiled epoch loop takes its arrays from here too: cast as ``fit`` casts them
(``floats_as_floatx``), class weights turned into per-row weights as
``fit(class_weight=...)`` turns them (``row_weights``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.core.errors import DataError, shown
from zoo.core.parts import TEST, TRAIN, VALIDATION, DataInfo, Scaling, SplitSpec, too_few_rows
from zoo.core.tasks import IMAGE, INPUT_KINDS, TASK_TABLE, TASKS

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf


@dataclass
class Dataset:
    """Features and targets held in memory, with what the runner needs to know about them.

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
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    input_kind: str = "tabular"
    feature_names: list[str] = field(default_factory=list)
    target_name: str = "target"
    class_names: list[str] = field(default_factory=list)
    schema: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"Unknown task {shown(self.task)}; expected one of {', '.join(TASKS)}.")
        if self.input_kind not in INPUT_KINDS:
            raise DataError(
                f"Unknown input kind {shown(self.input_kind)}; expected one of "
                f"{', '.join(INPUT_KINDS)}."
            )
        if len(self.x) != len(self.y):
            raise DataError(
                f"Features have {len(self.x)} rows but targets have {len(self.y)}; "
                "a loader must return one target per row."
            )
        # A tabular NaN is a missing value, which the model's preparation layer imputes.
        missing_ok = self.input_kind != IMAGE
        check_usable("The data set's features", self.x, self.feature_names, missing_ok=missing_ok)
        check_usable("The data set's targets", self.y)
        if not self.schema:
            self.schema = default_schema(self)

    @property
    def info(self) -> DataInfo:
        return DataInfo(
            task=self.task,
            input_kind=self.input_kind,
            input_shape=self.input_shape,
            feature_names=tuple(str(n) for n in self.feature_names),
            target_name=self.target_name,
            class_names=tuple(str(c) for c in self.class_names),
            schema=self.schema,
        )

    @property
    def source(self) -> str:
        """Where the rows come from, for messages: a file path, or "the data set"."""
        return self.info.source

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.x.shape[1:])

    @property
    def n_classes(self) -> int:
        if not TASK_TABLE[self.task].classification:
            return 0
        return len(self.class_names) or int(self.y.max()) + 1

    def split(self, spec: SplitSpec) -> ArrayParts:
        problem = too_few_rows(len(self.y), spec) if 0 < spec.test_size < 1 else None
        if problem:
            raise DataError(f"{self.source}: {problem}.")
        if spec.folds > 1:
            return split_folds(self, spec)
        return split_dataset(self, spec.test_size, spec.validation_size, spec.seed)

    def whole(self) -> ArrayParts:
        empty_x, empty_y = self.x[:0], self.y[:0]
        return ArrayParts(self, empty_x, empty_y, empty_x, empty_y, self.x, self.y)


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
class ArrayParts:
    """The three parts of an in-memory data set, as arrays (the data protocol's DataParts)."""

    data: Dataset
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def info(self) -> DataInfo:
        return self.data.info

    def rows(self, part: str) -> int:
        return len(self.arrays(part)[0])

    def arrays(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        arrays = {
            TRAIN: (self.x_train, self.y_train),
            VALIDATION: (self.x_val, self.y_val),
            TEST: (self.x_test, self.y_test),
        }
        return arrays[part]

    def batches(self, part: str, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
        """Cached batches; with a seed, reshuffled each pass and endless.

        Keras rebuilds its iterator every epoch for a finite input, which costs more than the
        epoch itself on small data; an endless stream with ``steps_per_epoch`` is built once.
        """
        import tensorflow as tf

        x, y = self.arrays(part)
        data = tf.data.Dataset.from_tensor_slices((x, y)).cache()
        if seed is None:
            return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
        data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return data.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)

    def scaling(self) -> Scaling:
        import numpy as np

        if self.data.input_kind == IMAGE:
            return Scaling(peak=float(np.max(self.x_train)) or 1.0)
        from zoo.core.schema import fit_scaling

        return fit_scaling(self.x_train, self.y_train, self.data.schema, self.data.task)

    def fingerprint(self) -> str:
        """sha256 over the features and targets as loaded (dtype and shape included)."""
        digest = hashlib.sha256()
        for array in (self.data.x, self.data.y):
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()


def split_dataset(
    data: Dataset, test_size: float = 0.2, validation_size: float = 0.1, random_state: int = 42
) -> ArrayParts:
    """Split into train / validation / test like the tutorial (test_size=0.2, random_state=42).

    The test part is exactly the tutorial's; validation is then taken from the training part.
    Classification splits are stratified.
    """
    _check_fraction("test_size", test_size)
    _check_fraction("validation_size", validation_size, allow_zero=True)
    stratified = TASK_TABLE[data.task].stratified
    x_train, x_test, y_train, y_test = _split(
        data, data.x, data.y, ("test_size", test_size), random_state, stratified=stratified
    )
    if validation_size == 0:
        return ArrayParts(data, x_train, y_train, x_train[:0], y_train[:0], x_test, y_test)
    x_fit, x_val, y_fit, y_val = _split(
        data,
        x_train,
        y_train,
        ("validation_size", validation_size),
        random_state,
        stratified=stratified,
    )
    return ArrayParts(data, x_fit, y_fit, x_val, y_val, x_test, y_test)


def split_folds(data: Dataset, spec: SplitSpec) -> ArrayParts:
    """The tutorial's test part, then fold ``spec.fold`` of ``spec.folds`` of the rest as the
    validation part (stratified folds for classification)."""
    _check_fraction("test_size", spec.test_size)
    stratified = TASK_TABLE[data.task].stratified
    x_train, x_test, y_train, y_test = _split(
        data, data.x, data.y, ("test_size", spec.test_size), spec.seed, stratified=stratified
    )
    if spec.folds > len(x_train):
        raise DataError(
            f"{data.source}: cannot cut {len(x_train)} training rows into {spec.folds} folds. "
            "Use fewer --folds, or a smaller --test-size."
        )
    fit, val = _fold_rows(data, y_train, spec, stratified=stratified)
    return ArrayParts(data, x_train[fit], y_train[fit], x_train[val], y_train[val], x_test, y_test)


def _fold_rows(
    data: Dataset, y: np.ndarray, spec: SplitSpec, *, stratified: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (fit, validation) of fold ``spec.fold``."""
    import numpy as np

    if not stratified:
        # Every folds-th row of one permutation: the folds differ in size by one row at most.
        order = np.random.RandomState(spec.seed).permutation(len(y))
        chosen = np.arange(len(y)) % spec.folds == spec.fold
        return order[~chosen], order[chosen]
    from sklearn.model_selection import StratifiedKFold

    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < spec.folds:  # some validation parts would lack the class
        label = classes[counts.argmin()]
        name = data.class_names[int(label)] if data.class_names else int(label)
        raise DataError(
            f"{data.source}: class {name} has {counts.min()} rows in the training part, fewer "
            f"than the {spec.folds} folds, so a stratified fold cannot hold one of each class. "
            "Use fewer --folds."
        )
    folds = StratifiedKFold(n_splits=spec.folds, shuffle=True, random_state=spec.seed)
    fit, val = list(folds.split(np.zeros(len(y)), y))[spec.fold]
    return fit, val


def _split(
    data: Dataset,
    x: np.ndarray,
    y: np.ndarray,
    fraction: tuple[str, float],
    random_state: int,
    *,
    stratified: bool,
) -> list[np.ndarray]:
    name, size = fraction
    if not stratified:
        shuffled = _shuffled_split(x, y, size, random_state)
        if shuffled is not None:
            return shuffled
    if stratified:
        _check_class_rows(data, y, fraction)
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(
            x, y, test_size=size, random_state=random_state, stratify=y if stratified else None
        )
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise DataError(
            f"{data.source}: cannot split {len(x)} rows with {name}={size} "
            f"({reason.rstrip('.')}). Use more rows, or change --test-size / "
            "--validation-size."
        ) from None


def _check_class_rows(data: Dataset, y: np.ndarray, fraction: tuple[str, float]) -> None:
    """A stratified split needs two rows of each class: name the rarer ones by their labels
    (scikit-learn would name their codes)."""
    import numpy as np

    codes, counts = np.unique(y, return_counts=True)
    rare = [int(code) for code in codes[counts < 2]]
    if not rare:
        return
    names = data.class_names
    labels = [shown(str(names[c])) if 0 <= c < len(names) else str(c) for c in rare[:5]]
    raise DataError(
        f"{data.source}: cannot split {len(y)} rows with {fraction[0]}={fraction[1]} (classes "
        f"with fewer than 2 rows: {', '.join(labels)}). Add rows of those classes or leave "
        "them out."
    )


def _shuffled_split(
    x: np.ndarray, y: np.ndarray, size: float, random_state: int
) -> list[np.ndarray] | None:
    """scikit-learn's unstratified ``train_test_split`` in NumPy: the same rows, in the same
    order; None where it would refuse (then scikit-learn words the error).

    Importing scikit-learn costs most of a second, and a regression run needs nothing else
    from it.
    """
    import numpy as np

    rows = len(x)
    n_test = math.ceil(size * rows)
    if not 0 < n_test < rows:
        return None
    order = np.random.RandomState(random_state).permutation(rows)
    train, test = order[n_test:], order[:n_test]
    return [x[train], x[test], y[train], y[test]]


def _check_fraction(name: str, value: float, *, allow_zero: bool = False) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        bound = "0 <= x < 1" if allow_zero else "0 < x < 1"
        raise DataError(f"{name} must be a fraction with {bound}; received {name}={value}.")


def steps_for(rows: int, batch_size: int) -> int:
    """Batches that cover ``rows`` once."""
    return max(1, math.ceil(rows / batch_size))


FLOAT32_MAX = 3.4028234663852886e38


def unusable(values: np.ndarray) -> np.ndarray:
    """A mask of the entries that are NaN, infinite or beyond float32's range."""
    import numpy as np

    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        return ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)


def check_usable(
    what: str, values: np.ndarray, names: Sequence[str] = (), *, missing_ok: bool = False
) -> None:
    """Refuse ``values`` (rows first) holding NaN, infinities or numbers beyond float32.

    Args:
        what: how the message names the array, e.g. "Data set 'x': the features".
        values: the array, one row per example.
        names: the feature names, to say which column the first bad value is in.
        missing_ok: NaN is a missing value (tabular features: the model imputes it).

    Raises:
        DataError: how many values are unusable, and where the first one is.
    """
    import numpy as np

    bad = unusable(values)
    if missing_ok and bad.any():
        bad &= ~np.isnan(values)
    count = int(bad.sum())
    if not count:
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    column = ""
    if len(first) > 1:
        flat = int(np.ravel_multi_index(first[1:], bad.shape[1:]))
        column = f", column {shown(names[flat])}" if flat < len(names) else f", column {flat}"
    raise DataError(
        f"{what}: {count} value(s) that are {'' if missing_ok else 'NaN, '}infinite or beyond "
        f"float32's range (±3.4e38); the first is in row {first[0]}{column}. Clean or "
        "rescale the data."
    )


Arrays = tuple[np.ndarray, np.ndarray]


def _floatx() -> str:
    import keras  # the training loop's, loaded by then; planning never gets here

    return keras.config.floatx()


def floats_as_floatx(array: np.ndarray) -> np.ndarray:
    """Floating arrays in Keras's float type, as ``fit`` casts them; others unchanged."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(_floatx(), copy=False)
    return array


def row_weights(y: np.ndarray, class_weight: Mapping[int, float] | None) -> np.ndarray | None:
    """Each row's weight, its class's in ``class_weight`` (1 for a class it leaves out), in
    Keras's float type; None without class weights. Targets are class indices, or one-hot."""
    if not class_weight:
        return None
    y = np.asarray(y).reshape(len(y), -1)
    index = y.argmax(axis=1) if y.shape[1] > 1 else np.rint(y[:, 0]).astype("int64")
    size = max(max(class_weight) + 1, int(index.max(initial=0)) + 1)
    table = np.ones(size, _floatx())
    for label, weight in class_weight.items():
        table[label] = weight
    return table[index]
