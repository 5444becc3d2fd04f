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

from zoo.plugins.csv_files.columns import DATE, TargetSummary
from zoo.plugins.csv_files.encode import (
    build_schema,
    dataset_for,
    iter_chunks,
    kept_categories,
    target_array,
)
from zoo.plugins.csv_files.layout import CsvLayout, problem_lines
from zoo.plugins.csv_files.parse import FLOAT32_MAX, Block, Problems, RawChunk
from zoo.plugins.csv_files.rows import TRAIN, RowSplit, part_of_lines

from zoo.plugin import (
    MIN_PART_ROWS,
    PART_NAMES,
    REGRESSION,
    DataError,
    DataInfo,
    Scaling,
    SplitSpec,
    part_sizes,
)

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
        schema = build_schema(layout, {}, [], layout.task)
        x = np.empty((0, *schema["input_shape"]), "float32")
        return dataset_for(schema, x, np.empty(0)).info

    def split(self, spec: SplitSpec) -> StreamSplit:
        self._check_no_dates()
        if spec.folds > 1:
            raise DataError(
                f"{self.layout.path}: cross-validation folds need the rows in memory, and this "
                "file is streamed. Give --set stream=false to load it, or leave out --folds."
            )
        return scan(self, RowSplit(spec.test_size, spec.validation_size, spec.seed))

    def whole(self) -> StreamSplit:
        self._check_no_dates()
        return scan(self, RowSplit(1.0, 0.0, 0), whole=True)

    def _check_no_dates(self) -> None:
        dates = [r.name for r in self.layout.roles if r.role == DATE]
        if dates:
            raise DataError(
                f"{self.layout.path}: date columns ({', '.join(dates)}) are parsed only in files "
                "loaded in memory, and this file is streamed. Leave them out (--ignore "
                f"{','.join(dates)}) or load the file (--set stream=false)."
            )


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
    scaled: Scaling
    blocks: list[Block] = field(default_factory=list)  # where the rows are, for re-reading
    spelled_missing: frozenset[str] = frozenset()  # numeric columns holding NA, null, ...

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
        return self.scaled

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
    for chunk in iter_chunks(stream.layout, gather.problems):
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
        self._numeric_columns = [i for i in numeric if i != layout.target]
        self.texts = [i for i, kind in enumerate(layout.kinds) if kind == "text"]
        width = len(self.numeric)
        self.moments = _Moments(width)
        self.target_moments = _Moments(1)
        self.missing = np.zeros(width, dtype=bool)
        self.counts_by_column: dict[str, Counter[str]] = {}
        self.train_seen: dict[str, set[str]] = {}
        self.counts = np.zeros(3, dtype="int64")
        classify = layout.task != REGRESSION
        self.target = TargetSummary(layout.kinds[layout.target] == "text", classify)
        self.problems = Problems(layout.path)
        self.blocks: list[Block] = []
        # Rows per class, overall and in the training part: the in-memory split's rules.
        self.class_rows: Counter[Any] | None = Counter() if classify else None
        self.train_classes: set[Any] = set()

    def add(self, chunk: RawChunk) -> None:
        import numpy as np

        if chunk.block is not None:
            self.blocks.append(chunk.block)
        parts = part_of_lines(chunk.lines, self.split)
        self.counts += np.bincount(parts, minlength=3)
        train = parts == TRAIN
        features = chunk.numbers[:, self.numeric]
        self._note_target(chunk, features)
        with np.errstate(over="ignore", invalid="ignore"):
            self.missing |= np.isnan(features[train]).any(axis=0)
            self.moments.add(features[train])
        self._add_categories(chunk, train)
        target = target_array(self.layout, chunk)
        self.target.add(target)
        if self.class_rows is None:
            self.target_moments.add(target[train].reshape(-1, 1))
        else:
            labels, counts = np.unique(target, return_counts=True)
            self.class_rows.update(dict(zip(labels.tolist(), counts.tolist(), strict=True)))
            self.train_classes.update(np.unique(target[train]).tolist())

    def _note_target(self, chunk: RawChunk, features: np.ndarray) -> None:
        """A streamed row cannot be left out: a missing target, or a value beyond float32,
        is a problem to fix in the file."""
        import numpy as np

        target = target_array(self.layout, chunk)
        missing = target == "" if target.dtype.kind in "US" else ~np.isfinite(target)
        unreadable = f"number:{self.layout.target_name}" in self.problems.found
        if missing.any() and not unreadable:  # a target that is no number: reported as such
            self.problems.add(
                "target",
                int(chunk.lines[int(np.argmax(missing))]),
                "no target value; a streamed file needs one on every row (drop those rows, or "
                "load the file with --set stream=false, which leaves them out)",
                int(missing.sum()),
            )
        with np.errstate(invalid="ignore"):
            huge = np.isfinite(features) & (np.abs(features) > FLOAT32_MAX)
        for j in np.flatnonzero(huge.any(axis=0)):
            row = int(np.argmax(huge[:, j]))
            name = self.layout.columns[self._numeric_columns[j]]
            self.problems.add(
                f"huge:{name}",
                int(chunk.lines[row]),
                f"{features[row, j]:g} is too large for float32 (beyond ±3.4e38, it would be "
                "infinite in training); rescale the column or --ignore it",
                int(huge[:, j].sum()),
                name,
            )

    def _add_categories(self, chunk: RawChunk, train: np.ndarray) -> None:
        import numpy as np

        for j, i in enumerate(self.texts):
            if i == self.layout.target:
                continue
            name = self.layout.columns[i]
            values, counts = np.unique(chunk.texts[:, j], return_counts=True)
            self.counts_by_column.setdefault(name, Counter()).update(
                dict(zip(values.tolist(), counts.tolist(), strict=True))
            )
            self.train_seen.setdefault(name, set()).update(
                np.unique(chunk.texts[train, j]).tolist()
            )

    def finish(self, stream: CsvStream, whole: bool = False) -> StreamSplit:
        import numpy as np

        if self.problems.found:
            raise DataError(problem_lines(self.layout.path, self.problems.lines()))
        task = self.target.final_task(self.layout)
        categories = {}
        for name, counter in self.counts_by_column.items():
            values = np.asarray(list(counter), dtype=str)
            counts = np.asarray(list(counter.values()))
            categories[name] = kept_categories(values, counts, stream.max_categories)
        labels = sorted(self.target.labels) if task != REGRESSION else []
        schema = build_schema(self.layout, categories, labels, task)
        if not whole:
            self._check_counts()
        counts = (int(self.counts[0]), int(self.counts[1]), int(self.counts[2]))
        scaled = self._scaling(schema, task)
        spelled = frozenset(self.problems.spelled_missing)
        return StreamSplit(stream, self.split, schema, counts, scaled, self.blocks, spelled)

    def _check_counts(self) -> None:
        train, _, test = (int(c) for c in self.counts)
        split = self.split
        problem = split_problem(int(self.counts.sum()), split, self.class_rows)
        if problem is None and min(train, test) < MIN_PART_ROWS:  # the hash drew so few
            problem = f"{train} train and {test} test rows; each part needs {MIN_PART_ROWS}"
        if problem is None and self.class_rows is not None and len(self.train_classes) < 2:
            problem = f"the training part holds a single class, {sorted(self.train_classes)}"
        if problem is not None:
            raise DataError(
                f"{self.layout.path}: cannot split {int(self.counts.sum())} rows with "
                f"test_size={split.test_size}, validation_size={split.validation_size} "
                f"({problem}). Use more rows, or change --test-size / --validation-size."
            )

    def _scaling(self, schema: dict[str, Any], task: str) -> Scaling:
        """The preparation statistics over the training rows. A streamed file's missing
        numbers are filled with the training mean (a median needs the rows in memory)."""
        import numpy as np

        kinds = tuple(column["kind"] for column in schema["inputs"])
        vocabularies = tuple(
            tuple(
                i for i, c in enumerate(f["categories"]) if c in self.train_seen.get(f["name"], ())
            )
            for f in schema["features"]
            if f["kind"] == "categorical"
        )
        target_mean = target_std = None
        if task == REGRESSION and self.target_moments.n:
            target_mean = float(self.target_moments.mean[0])
            target_std = float(np.sqrt(self.target_moments.variance[0])) or 1.0
        mean, variance = self.moments.mean, self.moments.variance
        return Scaling(
            mean=mean,
            variance=variance,
            kinds=kinds,
            fill=mean,
            missing=self.missing,
            vocabularies=vocabularies,
            target_mean=target_mean,
            target_std=target_std,
        )


class _Moments:
    """Count, mean and variance per column over chunks, missing values (NaN) left out:
    Chan et al.'s parallel update, column by column counts."""

    def __init__(self, width: int) -> None:
        import numpy as np

        self.count = np.zeros(width)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)

    @property
    def n(self) -> int:
        return int(self.count.max()) if len(self.count) else 0

    @property
    def variance(self) -> np.ndarray:
        import numpy as np

        return np.divide(self.m2, self.count, out=np.zeros_like(self.m2), where=self.count > 0)

    def add(self, values: np.ndarray) -> None:
        import numpy as np

        if not len(values):
            return
        filled = ~np.isnan(values)
        n = filled.sum(axis=0).astype("float64")
        total = self.count + n
        safe_n = np.where(n > 0, n, 1)
        mean = np.where(filled, values, 0).sum(axis=0) / safe_n
        m2 = (np.where(filled, values - mean, 0) ** 2).sum(axis=0)
        delta = mean - self.mean
        share = np.divide(n, total, out=np.zeros_like(n), where=total > 0)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2 + delta**2 * self.count * share
        self.count = total


def split_problem(rows: int, split: RowSplit, class_rows: Counter[Any] | None) -> str | None:
    """Why a file of ``rows`` rows (``class_rows`` per class, for classification) could not be
    split in memory, or None: a streamed file obeys the same minimums as a loaded one."""
    rare = sorted(str(label) for label, count in (class_rows or {}).items() if count < 2)
    if rare:
        return f"classes with fewer than 2 rows: {', '.join(rare[:5])}"
    n_fit, n_val, n_test = part_sizes(rows, SplitSpec(split.test_size, split.validation_size))
    if min(n_fit, n_test) < MIN_PART_ROWS:
        return f"{n_fit} train and {n_test} test rows; each part needs {MIN_PART_ROWS}"
    if class_rows is None:
        return None
    smallest = min(n for n in (n_test, n_fit, n_val or n_fit))
    if smallest < len(class_rows):
        return f"a part of {smallest} rows cannot hold all {len(class_rows)} classes"
    return None
