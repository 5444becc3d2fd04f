"""Files larger than memory: a per-row split, and one checking pass that gathers what
training needs (row counts, scaling statistics, categories, classes) without keeping rows.

A row's part (train / validation / test) is a hash of its line number and the split seed
(:func:`zoo.plugins.csv_files.rows.part_of_lines`); the tf.data pipeline of
:mod:`zoo.plugins.csv_files.pipeline` calls the same function on the same line numbers, so
both agree on every row without storing an assignment. The parts have the requested sizes on
average; unlike the in-memory split they are not stratified (on large files the difference
is small).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoo.plugins.csv_files.encode import (
    build_schema,
    checked_categories,
    dataset_for,
    iter_chunks,
    note_missing,
    target_array,
)
from zoo.plugins.csv_files.layout import CsvLayout
from zoo.plugins.csv_files.parse import Block, MissingValues, RawChunk
from zoo.plugins.csv_files.rows import TRAIN, RowSplit, part_of_lines
from zoo.plugins.csv_files.target import TargetSummary

from zoo.plugin import PART_NAMES, REGRESSION, DataError, DataInfo, Scaling, SplitSpec

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf


@dataclass
class CsvStream:
    """A CSV file trained on without loading it: the data protocol's streamed DataSource."""

    layout: CsvLayout
    max_categories: int = 50

    @property
    def info(self) -> DataInfo:
        """The layout's description; classes and one-hot widths are final after the scan."""
        import numpy as np

        layout = self.layout
        text = {layout.columns[i]: [] for i in layout.features if layout.kinds[i] == "text"}
        schema = build_schema(layout, text, [], layout.task)
        x = np.empty((0, *schema["input_shape"]), "float32")
        return dataset_for(schema, x, np.empty(0)).info

    def split(self, spec: SplitSpec) -> StreamSplit:
        if spec.folds > 1:
            raise DataError(
                f"{self.layout.path}: cross-validation folds need the rows in memory, and this "
                "file is streamed. Give --set stream=false to load it, or leave out --folds."
            )
        return scan(self, RowSplit(spec.test_size, spec.validation_size, spec.seed))

    def whole(self) -> StreamSplit:
        return scan(self, RowSplit(1.0, 0.0, 0), whole=True)


@dataclass
class StreamSplit:
    """What the checking pass found: the final schema, part sizes and training statistics.

    The data protocol's DataParts for a streamed file: rows are never held in memory, so
    :meth:`arrays` gives None and :meth:`batches` reads the file (``pipeline``).
    """

    stream: CsvStream
    split: RowSplit
    schema: dict[str, Any]
    counts: tuple[int, int, int]
    mean: np.ndarray
    variance: np.ndarray
    blocks: list[Block] = field(default_factory=list)  # where the rows are, for re-reading

    @property
    def info(self) -> DataInfo:
        import numpy as np

        x = np.empty((0, *self.schema["input_shape"]), "float32")
        return dataset_for(self.schema, x, np.empty(0)).info

    def rows(self, part: str) -> int:
        return self.counts[PART_NAMES.index(part)]

    def arrays(self, part: str) -> None:
        return None

    def batches(self, part: str, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
        from zoo.plugins.csv_files import pipeline

        if seed is not None:
            return pipeline.training_stream(self, batch_size, seed)
        rows = self.rows(part)
        data = pipeline.part_pipeline(self, PART_NAMES.index(part)).rebatch(batch_size)
        return data.apply(assert_batches(-(-rows // batch_size)))

    def scaling(self) -> Scaling:
        return Scaling(mean=self.mean, variance=self.variance)

    def fingerprint(self) -> str:
        from zoo.plugins.csv_files.parse import file_sha256

        return file_sha256(self.stream.layout.path)


def assert_batches(count: int):  # type: ignore[no-untyped-def]
    """Declare a pipeline's batch count, so that Keras ends each pass over it cleanly."""
    import tensorflow as tf

    return tf.data.experimental.assert_cardinality(count)


def scan(stream: CsvStream, split: RowSplit, whole: bool = False) -> StreamSplit:
    """Read the whole file once: check every row, count the parts, fit the scaling.

    Raises:
        DataError: any problem the in-memory loader would report, with line and column, or
            a part left empty by too few rows.
    """
    gather = _Gather(stream.layout, split)
    for chunk in iter_chunks(stream.layout):
        gather.add(chunk)
    return gather.finish(stream, whole)


class _Gather:
    """Accumulates, chunk by chunk, everything :func:`scan` returns."""

    def __init__(self, layout: CsvLayout, split: RowSplit) -> None:
        import numpy as np

        self.layout, self.split = layout, split
        numeric = [i for i, kind in enumerate(layout.kinds) if kind == "number"]
        # Positions, among the parsed numeric columns, of the numeric features.
        self.numeric = [j for j, i in enumerate(numeric) if i != layout.target]
        self.texts = [i for i, kind in enumerate(layout.kinds) if kind == "text"]
        width = len(self.numeric)
        self.n, self.mean, self.m2 = 0, np.zeros(width), np.zeros(width)
        self.seen: dict[str, set[str]] = {}
        self.train_counts: dict[str, Counter[str]] = {}
        self.counts = np.zeros(3, dtype="int64")
        classify = layout.task != REGRESSION
        self.target = TargetSummary(layout.kinds[layout.target] == "text", classify)
        self.missing = MissingValues(layout.path)
        self.blocks: list[Block] = []
        # Rows per class, overall and in the training part: the in-memory split's rules.
        self.class_rows: Counter[Any] | None = Counter() if classify else None
        self.train_classes: set[Any] = set()

    def add(self, chunk: RawChunk) -> None:
        import numpy as np

        note_missing(self.layout, chunk, self.missing)
        if chunk.block is not None:
            self.blocks.append(chunk.block)
        parts = part_of_lines(chunk.lines, self.split)
        self.counts += np.bincount(parts, minlength=3)
        train = parts == TRAIN
        with np.errstate(over="ignore", invalid="ignore"):  # huge values: refused at finish
            self._add_moments(chunk.numbers[train][:, self.numeric])
        self._add_categories(chunk, train)
        target = target_array(self.layout, chunk)
        self.target.add(target)
        if self.class_rows is not None:
            labels, counts = np.unique(target, return_counts=True)
            self.class_rows.update(dict(zip(labels.tolist(), counts.tolist(), strict=True)))
            self.train_classes.update(np.unique(target[train]).tolist())

    def _add_moments(self, values: np.ndarray) -> None:
        """Chan et al.'s parallel update of count, mean and sum of squared deviations."""
        n = len(values)
        if not n:
            return
        mean = values.mean(axis=0)
        m2 = ((values - mean) ** 2).sum(axis=0)
        total = self.n + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.n * n / total)
        self.n = total

    def _add_categories(self, chunk: RawChunk, train: np.ndarray) -> None:
        import numpy as np

        for j, i in enumerate(self.texts):
            if i == self.layout.target:
                continue
            name = self.layout.columns[i]
            self.seen.setdefault(name, set()).update(np.unique(chunk.texts[:, j]).tolist())
            values, counts = np.unique(chunk.texts[train, j], return_counts=True)
            self.train_counts.setdefault(name, Counter()).update(
                dict(zip(values.tolist(), counts.tolist(), strict=True))
            )

    def finish(self, stream: CsvStream, whole: bool = False) -> StreamSplit:
        self.missing.check()
        task = self.target.final_task(self.layout)
        categories = {
            name: checked_categories(self.layout.path, name, sorted(seen), stream.max_categories)
            for name, seen in self.seen.items()
        }
        labels = sorted(self.target.labels) if task != REGRESSION else []
        schema = build_schema(self.layout, categories, labels, task)
        if not whole:
            self._check_counts()
        mean, variance = self._statistics(schema)
        counts = (int(self.counts[0]), int(self.counts[1]), int(self.counts[2]))
        return StreamSplit(stream, self.split, schema, counts, mean, variance, self.blocks)

    def _check_counts(self) -> None:
        train, _, test = (int(c) for c in self.counts)
        split = self.split
        problem = split_problem(int(self.counts.sum()), split, self.class_rows)
        if problem is None and (not train or not test):
            problem = f"{train} train and {test} test rows"
        if problem is None and self.class_rows is not None and len(self.train_classes) < 2:
            problem = f"the training part holds a single class, {sorted(self.train_classes)}"
        if problem is not None:
            raise DataError(
                f"{self.layout.path}: cannot split {int(self.counts.sum())} rows with "
                f"test_size={split.test_size}, validation_size={split.validation_size} "
                f"({problem}). Use more rows, or change --test-size / --validation-size."
            )

    def _statistics(self, schema: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of each model input over the training rows (one-hot included)."""
        import numpy as np

        rows = max(int(self.counts[TRAIN]), 1)
        numeric_mean = iter(self.mean.tolist())
        numeric_var = iter((self.m2 / rows).tolist())
        mean: list[float] = []
        variance: list[float] = []
        for feature in schema["features"]:
            if feature["kind"] == "numeric":
                mean.append(next(numeric_mean))
                variance.append(next(numeric_var))
                continue
            counts = self.train_counts.get(feature["name"], Counter())
            shares = [counts[c] / rows for c in feature["categories"]]
            mean += shares
            variance += [p * (1 - p) for p in shares]
        return np.asarray(mean, dtype="float32"), np.asarray(variance, dtype="float32")


def split_problem(rows: int, split: RowSplit, class_rows: Counter[Any] | None) -> str | None:
    """Why a file of ``rows`` rows (``class_rows`` per class, for classification) could not be
    split in memory, or None: a streamed file obeys the same minimums as a loaded one."""
    import math

    n_test = math.ceil(split.test_size * rows)
    n_train = rows - n_test
    n_val = math.ceil(split.validation_size * n_train) if split.validation_size else 0
    n_fit = n_train - n_val
    if n_test < 1 or n_fit < 1:
        return f"{n_fit} train and {n_test} test rows"
    if class_rows is None:
        return None
    rare = sorted(str(label) for label, count in class_rows.items() if count < 2)
    if rare:
        return f"classes with fewer than 2 rows: {', '.join(rare[:5])}"
    smallest = min(n for n in (n_test, n_fit, n_val or n_fit))
    if smallest < len(class_rows):
        return f"a part of {smallest} rows cannot hold all {len(class_rows)} classes"
    return None
