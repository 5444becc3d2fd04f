"""Your own CSV files as data sets: sniffing, checking, encoding, and reading prediction inputs.

The format: UTF-8 (a byte-order mark is fine), a header row of unique column names, then one
row per example, comma-separated (``delimiter`` for another). Numeric columns are used as
they are; a column whose values are mostly text is one-hot encoded (its categories are kept
in the schema); the target is numeric or text. Every problem is one line naming the file,
the line and the column where it can, raised before anything is written.

Public functions for prediction: :func:`read_features` (raw CSV -> model inputs, by the
schema a run saved) and :func:`read_feature_chunks` (the same, a chunk at a time).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zoo.plugins.csv_files.encode import (
    _chunk_columns,
    build_schema,
    checked_categories,
    dataset_for,
    encode_chunk,
    encode_target,
    iter_chunks,
    note_missing,
    target_array,
)
from zoo.plugins.csv_files.layout import CsvLayout, _checked_header, sniff
from zoo.plugins.csv_files.parse import (
    MissingValues,
    RawChunk,
    check_readable,
    not_utf8,
    open_text,
    split_fields,
)
from zoo.plugins.csv_files.target import TargetSummary

from zoo.plugin import REGRESSION, DataError, Dataset, did_you_mean

if TYPE_CHECKING:
    import numpy as np
    from zoo.plugins.csv_files.scan import CsvStream

STREAM_ABOVE_BYTES = 64 * 2**20  # bigger files are streamed from disk, not loaded


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
) -> Dataset | CsvStream:
    """Load a CSV file as a Dataset, or, for a file to stream, a CsvStream that reads it.

    Raises:
        DataError: any of the problems the module docstring lists.
    """
    layout = sniff(path, target, task, delimiter)
    if should_stream(layout.path, stream):
        from zoo.plugins.csv_files.scan import CsvStream

        return CsvStream(layout, max_categories)
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
        with np.errstate(over="ignore"):  # values beyond float32: refused by missing.check()
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
    labels = sorted(summary.labels) if task != REGRESSION else []
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
