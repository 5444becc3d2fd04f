"""Your own CSV files as data sets: sniffing, checking, encoding, and reading prediction inputs.

The format: UTF-8 (a byte-order mark is fine), a header row of unique column names, then one
row per example, comma-separated (``delimiter`` for another). Numeric columns are used as
they are; a column whose values are mostly text is one-hot encoded (its categories are kept
in the schema); the target is numeric or text. Every problem is one line naming the file,
the line and the column where it can, raised before anything is written.

Public functions for prediction: :func:`read_features` (raw CSV -> model inputs, by the
schema a run saved), :func:`read_feature_chunks` (the same, a chunk at a time),
:func:`class_labels` and :func:`decode_outputs` (model outputs -> labels).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from zoo.plugins.csv_files.parse import (
    MissingValues,
    RawChunk,
    check_readable,
    check_widths,
    is_number,
    line_batches,
    not_utf8,
    open_text,
    parse_batch,
    split_fields,
    where,
)

from zoo.catalog.entries import TASKS
from zoo.core.dataset import SCHEMA_VERSION, Dataset
from zoo.core.errors import DataError, did_you_mean

if TYPE_CHECKING:
    import numpy as np

SNIFF_LINES = 10_000  # rows read from the top of the file to tell column kinds and the task
PROBES, PROBE_BYTES = 16, 64 * 1024  # and samples across a larger file (sorted files)
MAX_INFERRED_CLASSES = 20  # a whole-number target with more distinct values is regression
MAX_CLASSES = 10_000
STREAM_ABOVE_BYTES = 64 * 2**20  # bigger files are streamed from disk, not loaded
OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class CsvLayout:
    """What sniffing found: the columns, their kinds and the task.

    Args:
        path: the file.
        delimiter: the field separator.
        columns: the header's column names.
        kinds: per column, "number", "text" (one-hot encoded) or "skip" (not read).
        target: index of the target column; None when reading prediction inputs.
        task: the task, forced or inferred from a sample of the target.
        task_inferred: whether ``task`` was inferred (and so must hold over the whole file).
        sampled_all: whether the sample was the whole file.
    """

    path: str
    delimiter: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    target: int | None = None
    task: str = "regression"
    task_inferred: bool = False
    sampled_all: bool = True

    @property
    def features(self) -> list[int]:
        return [i for i, kind in enumerate(self.kinds) if i != self.target and kind != "skip"]

    @property
    def target_name(self) -> str:
        return self.columns[self.target] if self.target is not None else ""


# -- sniffing -----------------------------------------------------------------------------


def sniff(
    path: str | None, target: str | None, task: str | None = None, delimiter: str = ","
) -> CsvLayout:
    """Read the header and a sample: column kinds, the target and the task, cheaply.

    Raises:
        DataError: no file, empty, header only, wrong delimiter, no such target column,
            a ragged row in the sample, a task that cannot fit the target.
    """
    path = _checked_path(path)
    header, rows, sampled_all = _sample(path, delimiter)
    columns = _checked_header(path, header, delimiter)
    index = find_target(path, columns, target)
    if len(columns) < 2:
        raise DataError(f"{path}: only the target column {columns[0]!r}; add feature columns.")
    kinds = tuple(_column_kind([row[i] for row in rows]) for i in range(len(columns)))
    values = [row[index] for row in rows]
    layout = CsvLayout(path, delimiter, columns, kinds, index, sampled_all=sampled_all)
    return _with_task(layout, values, task)


def _checked_path(path: str | None) -> str:
    if not path:
        raise DataError(
            "The csv data set needs a file: --data PATH.csv --target COLUMN "
            "(or data_params path=...)."
        )
    path = os.fspath(path)
    check_readable(path)
    return path


def _sample(path: str, delimiter: str) -> tuple[list[str], list[list[str]], bool]:
    """The header, sample rows (the top, checked, then probes across the file), and
    whether the top was the whole file."""
    header_line, numbered = _head(path)
    if not header_line.strip():
        raise DataError(f"{where(path, 1)}: empty; the first line must be the header row.")
    header = split_fields(path, [header_line], delimiter)[0]
    if not numbered:
        raise DataError(
            f"{path} has a header row but no data rows; add one row per example below line 1."
        )
    rows = split_fields(path, [line for _, line in numbered], delimiter)
    if len(header) > 1 or not _other_delimiter(header_line, delimiter):
        check_widths(path, rows, [n for n, _ in numbered], len(header))
    sampled_all = len(numbered) < SNIFF_LINES
    probes = [] if sampled_all else _probe_rows(path, delimiter, len(header))
    return header, rows + probes, sampled_all


def _head(path: str) -> tuple[str, list[tuple[int, str]]]:
    numbered: list[tuple[int, str]] = []
    with open_text(path) as handle:
        try:
            header = handle.readline()
            for number, line in enumerate(handle, start=2):
                if line.strip():
                    numbered.append((number, line))
                if len(numbered) >= SNIFF_LINES:
                    break
        except UnicodeDecodeError as exc:
            raise not_utf8(path, len(numbered) + 1, exc) from None
    return header, numbered


def _probe_rows(path: str, delimiter: str, width: int) -> list[list[str]]:
    """Rows read at evenly spaced offsets of a large file, for a representative sample."""
    size = os.path.getsize(path)
    found: list[list[str]] = []
    with open(path, "rb") as handle:
        for k in range(1, PROBES + 1):
            handle.seek(size * k // (PROBES + 1))
            handle.readline()  # the rest of a line cut by the seek
            text = handle.read(PROBE_BYTES).decode("utf-8", errors="replace")
            lines = [line for line in text.splitlines()[:-1] if line.strip()]
            try:
                found += [r for r in split_fields(path, lines, delimiter) if len(r) == width]
            except DataError:
                continue  # a probe is only a hint; the full pass reports the line
    return found


def _other_delimiter(header_line: str, delimiter: str) -> str | None:
    return next((d for d in OTHER_DELIMITERS if d != delimiter and d in header_line), None)


def _checked_header(path: str, header: list[str], delimiter: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in header)
    if len(names) == 1:
        other = _other_delimiter(header[0], delimiter)
        if other:
            shown = "tab" if other == "\t" else repr(other)
            raise DataError(
                f"{where(path, 1)}: the header has no {delimiter!r} but contains {shown}; "
                f"keras-zoo reads comma-separated files. Re-save it with commas, or set the "
                f"delimiter (--set data.delimiter={other!r})."
            )
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{where(path, 1)}: column {i + 1} has no name; name every column.")
        if names.index(name) != i:
            raise DataError(
                f"{where(path, 1)}: the column name {name!r} appears twice (columns "
                f"{names.index(name) + 1} and {i + 1}); column names must be unique."
            )
    return names


def find_target(path: str, columns: Sequence[str], target: str | None) -> int:
    """The index of the target column.

    Raises:
        DataError: no target given, or no column of that name (close names suggested).
    """
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    if not target:
        raise DataError(f"{path}: which column is the target? Pass --target, one of: {shown}.")
    if target in columns:
        return list(columns).index(target)
    folded = [c for c in columns if c.lower() == target.lower()]
    hint = f" Did you mean: {folded[0]}?" if folded else did_you_mean(target, columns)
    raise DataError(f"{path} has no column {target!r} (--target).{hint} Columns: {shown}.")


def _column_kind(values: Sequence[str]) -> str:
    """ "text" when most non-empty values are not numbers, else "number"."""
    filled = [v for v in (value.strip() for value in values) if v]
    numeric = sum(1 for value in filled if is_number(value))
    return "text" if filled and 2 * numeric < len(filled) else "number"


# -- the task -----------------------------------------------------------------------------


def _with_task(layout: CsvLayout, values: list[str], task: str | None) -> CsvLayout:
    text = layout.kinds[layout.target] == "text"
    if task is not None:
        return replace(layout, task=_checked_forced_task(layout, values, task, text))
    summary = TargetSummary(text, track_labels=True)
    summary.add_strings(values)
    inferred = summary.inferred_task()
    if inferred is None and layout.sampled_all:
        summary.check_varies(layout)
    # One value in a sample of a large file: the whole file decides (see final_task).
    fallback = "multiclass" if text else "regression"
    return replace(layout, task=inferred or fallback, task_inferred=True)


def _checked_forced_task(layout: CsvLayout, values: list[str], task: str, text: bool) -> str:
    if task not in TASKS:
        raise DataError(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    if task == "regression" and text:
        example = next(v.strip() for v in values if v.strip() and not is_number(v))
        raise DataError(
            f"{where(layout.path, column=layout.target_name)}: --task regression needs "
            f"numbers, but the target holds text such as {example!r}. Use --task binary or "
            "multiclass, or another --target."
        )
    return task


class TargetSummary:
    """What the task checks need to know about a target column, gathered chunk by chunk."""

    def __init__(self, text: bool, track_labels: bool) -> None:
        self.text = text
        self.track_labels = track_labels
        self.labels: set[Any] = set()
        self.whole = True  # every numeric value a whole number
        self.low = float("inf")
        self.high = float("-inf")

    def add_strings(self, values: Sequence[str]) -> None:
        """Add raw sample fields (numbers still as text)."""
        import numpy as np

        filled = [v.strip() for v in values if v.strip()]
        if self.text:
            self.add(np.asarray(filled, dtype=str))
        else:
            numbers = [float(v) for v in filled if is_number(v)]
            self.add(np.asarray(numbers, dtype="float64"))

    def add(self, values: np.ndarray) -> None:
        """Add parsed values: strings for a text target, float64 (NaN = missing) otherwise."""
        import numpy as np

        if not self.text:
            values = values[np.isfinite(values)]
            if not len(values):
                return
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))
            self.whole = self.whole and bool(np.all(values == np.floor(values)))
        else:
            values = values[values != ""]
        room = MAX_CLASSES + 1 - len(self.labels)  # enough to tell "too many", no more
        if self.track_labels and room > 0:
            self.labels.update(np.unique(values)[:room].tolist())

    def inferred_task(self) -> str | None:
        """The task the values suggest; None when they are all the same."""
        count = len(self.labels)
        if self.text:
            return None if count < 2 else "binary" if count == 2 else "multiclass"
        if not self.low < self.high:
            return None
        if self.whole and count <= MAX_INFERRED_CLASSES:
            return "binary" if count == 2 else "multiclass"
        return "regression"

    def check_varies(self, layout: CsvLayout) -> None:
        """Raise if the target has a single value (or no value at all)."""
        at = where(layout.path, column=layout.target_name)
        if self.text or layout.task != "regression":
            if len(self.labels) < 2:
                only = f" ({next(iter(self.labels))!r})" if self.labels else ""
                raise DataError(
                    f"{at}: the target has a single class{only}; classification needs at "
                    "least two. Choose another --target."
                )
        elif not self.low < self.high:
            value = "empty" if self.low == float("inf") else f"{self.low:g}"
            raise DataError(
                f"{at}: the target is {value} on every row; there is nothing to learn. "
                "Choose another --target."
            )

    def final_task(self, layout: CsvLayout) -> str:
        """The task over the whole file, checked against the sniffed one.

        Raises:
            DataError: a constant target, a single class, a binary task with more than two
                classes, or a whole-file task that differs from the sampled one.
        """
        self.check_varies(layout)
        task = self._checked_forced(layout) if not layout.task_inferred else self._inferred(layout)
        if task != "regression" and len(self.labels) > MAX_CLASSES:
            raise DataError(
                f"{where(layout.path, column=layout.target_name)}: more than {MAX_CLASSES} "
                "classes; is this the right --target (or --task regression)?"
            )
        return task

    def _checked_forced(self, layout: CsvLayout) -> str:
        if layout.task == "binary" and len(self.labels) != 2:
            raise DataError(
                f"{where(layout.path, column=layout.target_name)}: --task binary needs "
                f"exactly 2 classes, the target has {len(self.labels)}. Use --task multiclass."
            )
        return layout.task

    def _inferred(self, layout: CsvLayout) -> str:
        task = self.inferred_task() or layout.task
        if task != layout.task:
            raise DataError(
                f"{where(layout.path, column=layout.target_name)}: the target looked "
                f"{layout.task} in a sample but is {task} over the whole file; pass --task "
                f"{task} (or the task you mean)."
            )
        return task


# -- schema and encoding ------------------------------------------------------------------


def build_schema(
    layout: CsvLayout, categories: dict[str, list[str]], labels: Sequence[Any], task: str
) -> dict[str, Any]:
    """The JSON-ready schema of a CSV data set (see :func:`zoo.core.dataset.default_schema`).

    CSV additions: ``path`` and ``delimiter`` of the training file, and per categorical
    feature ``{"name", "kind": "categorical", "categories": [...]}``, one-hot encoded in
    that order. ``classes`` are the target's own labels (numbers or strings), index order.
    """
    features: list[dict[str, Any]] = []
    for i in layout.features:
        name = layout.columns[i]
        if layout.kinds[i] == "text":
            features.append({"name": name, "kind": "categorical", "categories": categories[name]})
        else:
            features.append({"name": name, "kind": "numeric"})
    return {
        "version": SCHEMA_VERSION,
        "task": task,
        "input_kind": "tabular",
        "input_shape": [sum(_width(f) for f in features)],
        "target": layout.target_name,
        "features": features,
        "classes": [] if task == "regression" else [_plain_label(v) for v in labels],
        "path": layout.path,
        "delimiter": layout.delimiter,
    }


def _width(feature: dict[str, Any]) -> int:
    return len(feature["categories"]) if feature["kind"] == "categorical" else 1


def _plain_label(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def encoded_names(schema: dict[str, Any]) -> list[str]:
    """One name per model input column: ``colour=red`` for a one-hot column."""
    names: list[str] = []
    for feature in schema["features"]:
        if feature["kind"] == "categorical":
            names += [f"{feature['name']}={c}" for c in feature["categories"]]
        else:
            names.append(feature["name"])
    return names


def checked_categories(
    path: str, name: str, values: Sequence[str], max_categories: int
) -> list[str]:
    """The sorted categories of a text column, within the one-hot limit."""
    found = sorted(set(values))
    if len(found) > max_categories:
        raise DataError(
            f"{where(path, column=name)}: {len(found)} distinct text values, more than "
            f"max_categories={max_categories}; one-hot encoding would add a column for each. "
            f"Drop the column, or raise the limit (--set max_categories={len(found)})."
        )
    return found


def encode_chunk(schema: dict[str, Any], layout: CsvLayout, chunk: RawChunk) -> np.ndarray:
    """Model inputs (float32) for a parsed chunk, in the schema's feature order.

    Raises:
        DataError: a category the schema does not know, naming line and column.
    """
    import numpy as np

    columns = _chunk_columns(layout, chunk)
    width = int(np.prod(schema["input_shape"]))
    x = np.zeros((len(chunk.lines), width), dtype="float32")
    at = 0
    for feature in schema["features"]:
        values = columns[feature["name"]]
        if feature["kind"] == "numeric":
            x[:, at] = values
        else:
            x[np.arange(len(values)), at + _category_index(schema, feature, values, chunk)] = 1
        at += _width(feature)
    return x.reshape((-1, *schema["input_shape"]))


def _chunk_columns(layout: CsvLayout, chunk: RawChunk) -> dict[str, np.ndarray]:
    numeric = [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "number"]
    text = [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "text"]
    found = {name: chunk.numbers[:, j] for j, name in enumerate(numeric)}
    found.update({name: chunk.texts[:, j] for j, name in enumerate(text)})
    return found


def _category_index(
    schema: dict[str, Any], feature: dict[str, Any], values: np.ndarray, chunk: RawChunk
) -> np.ndarray:
    import numpy as np

    known = np.asarray(feature["categories"], dtype=str)
    index = np.clip(np.searchsorted(known, values), 0, max(len(known) - 1, 0))
    unknown = known[index] != values if len(known) else np.ones(len(values), dtype=bool)
    if unknown.any():
        row = int(np.argmax(unknown))
        shown = ", ".join(map(repr, feature["categories"][:8]))
        path = schema.get("input_path") or schema.get("path", "")
        raise DataError(
            f"{where(path, int(chunk.lines[row]), feature['name'])}: "
            f"{str(values[row])!r} is not a category the model was trained on ({shown}"
            f"{', ...' if len(known) > 8 else ''})."
        )
    return index


def target_array(layout: CsvLayout, chunk: RawChunk) -> np.ndarray:
    """The raw target values of a chunk: float64 (NaN = missing) or str."""
    columns = _chunk_columns(layout, chunk)
    return columns[layout.target_name]


def encode_target(task: str, values: np.ndarray, labels: Sequence[Any]) -> np.ndarray:
    """float32 targets for regression, int64 class indices (labels in sorted order) else."""
    import numpy as np

    if task == "regression":
        return values.astype("float32")
    return np.searchsorted(np.asarray(labels, dtype=values.dtype), values).astype("int64")


def note_missing(layout: CsvLayout, chunk: RawChunk, missing: MissingValues) -> None:
    """Count empty / NaN / inf numeric values and empty text targets in a chunk."""
    numeric = [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "number"]
    missing.add(chunk.numbers, chunk.lines, numeric)
    if layout.kinds[layout.target] == "text":
        values = target_array(layout, chunk)
        missing.add_mask((values == "").reshape(-1, 1), chunk.lines, [layout.target_name])


def iter_chunks(layout: CsvLayout) -> Iterator[RawChunk]:
    """The file's rows after the header, parsed a chunk at a time."""
    for batch in line_batches(layout.path):
        yield parse_batch(layout.path, batch, layout.columns, layout.kinds, layout.delimiter)


# -- loading ------------------------------------------------------------------------------


def should_stream(path: str, stream: bool | None) -> bool:
    """``stream`` if given, else whether the file is larger than STREAM_ABOVE_BYTES."""
    return os.path.getsize(path) > STREAM_ABOVE_BYTES if stream is None else bool(stream)


def load_csv(
    path: str | None,
    target: str | None,
    task: str | None = None,
    delimiter: str = ",",
    stream: bool | None = None,
    max_categories: int = 50,
) -> Dataset:
    """Load a CSV file as a Dataset (or, for a file to stream, its layout only).

    Raises:
        DataError: any of the problems the module docstring lists.
    """
    layout = sniff(path, target, task, delimiter)
    if should_stream(layout.path, stream):
        from zoo.plugins.csv_files.scan import streamed_dataset

        return streamed_dataset(layout, max_categories)
    return dataset_from_chunks(layout, iter_chunks(layout), max_categories)


def dataset_from_chunks(
    layout: CsvLayout, chunks: Iterable[RawChunk], max_categories: int
) -> Dataset:
    """Check and encode a whole file's chunks into an in-memory Dataset."""
    import numpy as np

    missing = MissingValues(layout.path)
    kept, targets = [], []
    for chunk in chunks:
        note_missing(layout, chunk, missing)
        # Class values stay exact in float64; features are kept as float32 (half the memory).
        targets.append(target_array(layout, chunk))
        kept.append(RawChunk(chunk.lines, chunk.numbers.astype("float32"), chunk.texts))
    missing.check()
    whole = RawChunk(
        np.concatenate([c.lines for c in kept]),
        np.concatenate([c.numbers for c in kept]),
        np.concatenate([c.texts for c in kept]),
    )
    del kept
    values = np.concatenate(targets)
    summary = TargetSummary(layout.kinds[layout.target] == "text", track_labels=True)
    summary.add(values)
    task = summary.final_task(layout)
    labels = sorted(summary.labels) if task != "regression" else []
    columns = _chunk_columns(layout, whole)
    categories = {
        name: checked_categories(
            layout.path, name, np.unique(columns[name]).tolist(), max_categories
        )
        for name in (layout.columns[i] for i in layout.features if layout.kinds[i] == "text")
    }
    schema = build_schema(layout, categories, labels, task)
    return dataset_for(
        schema, encode_chunk(schema, layout, whole), encode_target(task, values, labels)
    )


def dataset_for(schema: dict[str, Any], x: np.ndarray, y: np.ndarray) -> Dataset:
    """A Dataset carrying ``schema`` (rows may be empty: a streamed file's layout)."""
    return Dataset(
        x=x,
        y=y,
        task=schema["task"],
        input_kind="tabular",
        feature_names=encoded_names(schema),
        target_name=schema["target"],
        class_names=[str(label) for label in schema["classes"]],
        schema=schema,
    )


# -- prediction inputs and outputs --------------------------------------------------------


def read_features(path: str | os.PathLike[str], schema: dict[str, Any]) -> np.ndarray:
    """Model inputs for every row of a CSV file, encoded as at training time.

    The file needs a header; feature columns are found by name (any order; other columns,
    such as the target, are ignored). A schema without feature names takes every column but
    its target, in file order.

    Args:
        path: the CSV file of raw inputs.
        schema: a data set's ``schema`` (``Dataset.schema``, saved in the run folder).

    Returns:
        float32 array of shape (rows, *schema["input_shape"]).

    Raises:
        DataError: no file, no rows, a missing column, text in a numeric column, a missing
            or non-finite value, or an unknown category; one line naming file, line, column.
    """
    import numpy as np

    chunks = list(read_feature_chunks(path, schema))
    if not chunks:
        raise DataError(f"{path} has a header row but no data rows.")
    return np.concatenate(chunks)


def read_feature_chunks(
    path: str | os.PathLike[str], schema: dict[str, Any]
) -> Iterator[np.ndarray]:
    """Like :func:`read_features`, a chunk (up to 65,536 rows) at a time: for large files."""
    layout, schema = _input_layout(os.fspath(path), schema)
    missing = MissingValues(layout.path)
    for chunk in iter_chunks(layout):
        missing.add(chunk.numbers, chunk.lines, _numeric_names(layout))
        missing.check()
        yield encode_chunk(schema, layout, chunk)


def _numeric_names(layout: CsvLayout) -> list[str]:
    return [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "number"]


def _input_layout(path: str, schema: dict[str, Any]) -> tuple[CsvLayout, dict[str, Any]]:
    """How to read a prediction input file, and the schema with names filled in."""
    check_readable(path)
    delimiter = schema.get("delimiter", ",")
    with open_text(path) as handle:
        try:
            header_line = handle.readline()
        except UnicodeDecodeError as exc:
            raise not_utf8(path, 1, exc) from None
    columns = _checked_header(path, split_fields(path, [header_line], delimiter)[0], delimiter)
    schema = _named_schema(path, schema, columns)
    kinds = {f["name"]: "number" if f["kind"] == "numeric" else "text" for f in schema["features"]}
    for name in kinds:
        if name not in columns:
            raise DataError(
                f"{path} has no column {name!r}, a feature of the model."
                f"{did_you_mean(name, columns)} Columns: {', '.join(columns[:12])}."
            )
    layout = CsvLayout(path, delimiter, columns, tuple(kinds.get(c, "skip") for c in columns))
    return layout, {**schema, "input_path": path}


def _named_schema(path: str, schema: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """A schema without feature names takes the file's columns (but the target) in order."""
    if schema.get("features"):
        return schema
    import numpy as np

    names = [c for c in columns if c != schema.get("target")]
    width = int(np.prod(schema["input_shape"]))
    if len(names) != width:
        raise DataError(
            f"{path}: {len(names)} input columns, but the model takes {width} values per row "
            f"(shape {tuple(schema['input_shape'])})."
        )
    return {**schema, "features": [{"name": n, "kind": "numeric"} for n in names]}


def class_labels(indices: Sequence[int] | np.ndarray, schema: dict[str, Any]) -> list[Any]:
    """The target's own labels for class indices (the indices themselves without labels)."""
    labels = schema.get("classes") or []
    return [labels[int(i)] if int(i) < len(labels) else int(i) for i in indices]


def decode_outputs(outputs: np.ndarray, schema: dict[str, Any]) -> list[Any]:
    """Predictions in the data set's terms from raw model outputs.

    Regression gives floats; binary thresholds the probability at 0.5; multiclass takes the
    most probable class; classes map back to their labels.
    """
    import numpy as np

    outputs = np.asarray(outputs)
    if schema["task"] == "regression":
        return [float(v) for v in outputs.reshape(len(outputs))]
    if schema["task"] == "binary":
        return class_labels((outputs.reshape(len(outputs)) >= 0.5).astype(int), schema)
    return class_labels(outputs.argmax(axis=1), schema)
