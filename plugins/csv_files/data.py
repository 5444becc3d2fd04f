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
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zoo.plugins.csv_files.columns import DATE, TargetSummary
from zoo.plugins.csv_files.encode import (
    CSV_SCHEMA_VERSION,
    _chunk_columns,
    build_schema,
    dataset_for,
    encode_chunk,
    encode_target,
    iter_chunks,
    kept_categories,
    target_array,
)
from zoo.plugins.csv_files.layout import (
    CsvLayout,
    _checked_header,
    check_readable,
    problem_lines,
    sniff,
)
from zoo.plugins.csv_files.parse import (
    FLOAT32_MAX,
    Problems,
    RawChunk,
    not_utf8,
    open_text,
    split_fields,
)

from zoo.plugin import REGRESSION, DataError, Dataset, did_you_mean, shown

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
    ignore: str = "",
    roles: str = "",
) -> Dataset | CsvStream:
    """Load a CSV file as a Dataset, or, for a file to stream, a CsvStream that reads it.

    A file loaded in memory is checked whole when the run is planned (``inspect``): the
    Dataset built then is kept, so loading it again for training costs nothing.

    Raises:
        DataError: every problem of the file at once, one line each.
    """
    layout = sniff(path, target, task, delimiter, ignore, roles, max_categories)
    if should_stream(layout.path, stream):
        from zoo.plugins.csv_files.scan import CsvStream

        return CsvStream(layout, max_categories)
    key = (layout, max_categories, os.stat(layout.path).st_mtime_ns)
    if key not in _LOADED:
        _LOADED.clear()  # one file at a time is what a run needs
        _LOADED[key] = dataset_from_chunks(layout, max_categories)
    return _LOADED[key]


# The last file loaded in memory: planning checks it whole, and training then uses it.
_LOADED: dict[tuple[Any, ...], Dataset] = {}


def dataset_from_chunks(layout: CsvLayout, max_categories: int) -> Dataset:
    """Check and encode a whole file into an in-memory Dataset.

    Raises:
        DataError: every problem of the rows (ragged rows, text in a numeric column, values
            beyond float32) in one message, or a target unfit for the task.
    """
    import numpy as np

    problems = Problems(layout.path)
    chunks = list(iter_chunks(layout, problems))
    whole = RawChunk(
        np.concatenate([c.lines for c in chunks]),
        np.concatenate([c.numbers for c in chunks]),
        np.concatenate([c.texts for c in chunks]),
    )
    del chunks
    _note_too_large(layout, whole, problems)
    if problems.found:
        raise DataError(problem_lines(layout.path, problems.lines()))
    whole, dropped = _with_target(layout, whole)
    values = target_array(layout, whole)
    summary = TargetSummary(layout.kinds[layout.target] == "text", track_labels=True)
    summary.add(values)
    task = summary.final_task(layout)
    labels = sorted(summary.labels) if task != REGRESSION else []
    schema = build_schema(layout, _categories(layout, whole, max_categories), labels, task)
    x = encode_chunk(schema, layout, whole)
    schema["notes"] = _notes(schema, x, dropped)
    return dataset_for(schema, x, encode_target(task, values, labels))


def _note_too_large(layout: CsvLayout, chunk: RawChunk, problems: Problems) -> None:
    """Feature values float32 cannot hold (they would be infinite in training)."""
    import numpy as np

    names = [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "number"]
    with np.errstate(invalid="ignore"):
        huge = np.isfinite(chunk.numbers) & (np.abs(chunk.numbers) > FLOAT32_MAX)
    for j in np.flatnonzero(huge.any(axis=0)):
        row = int(np.argmax(huge[:, j]))
        problems.add(
            f"huge:{names[j]}",
            int(chunk.lines[row]),
            f"{chunk.numbers[row, j]:g} is too large for float32 (beyond ±3.4e38, it would be "
            "infinite in training); rescale the column or --ignore it",
            int(huge[:, j].sum()),
            names[j],
        )


def _with_target(layout: CsvLayout, chunk: RawChunk) -> tuple[RawChunk, int]:
    """The rows that have a target value (others cannot be learned from), and how many
    were left out."""
    import numpy as np

    values = target_array(layout, chunk)
    missing = values == "" if values.dtype.kind in "US" else ~np.isfinite(values)
    if not missing.any():
        return chunk, 0
    keep = ~missing
    return RawChunk(chunk.lines[keep], chunk.numbers[keep], chunk.texts[keep]), int(missing.sum())


def _categories(layout: CsvLayout, chunk: RawChunk, max_categories: int) -> dict[str, list[str]]:
    import numpy as np

    columns = _chunk_columns(layout, chunk)
    found = {}
    for i in layout.features:
        if layout.kinds[i] == "text" and layout.roles[i].role != DATE:
            name = layout.columns[i]
            values, counts = np.unique(columns[name], return_counts=True)
            found[name] = kept_categories(values, counts, max_categories)
    return found


def _notes(schema: dict[str, Any], x: np.ndarray, dropped: int) -> list[str]:
    """What the user should know about the rows: left-out rows, missing values."""
    import numpy as np

    notes = [f"{dropped:,} row(s) without a target value left out."] if dropped else []
    numeric = [j for j, c in enumerate(schema["inputs"]) if c["kind"] == "numeric"]
    missing = np.isnan(x[:, numeric]).sum(axis=0) if numeric else np.zeros(0)
    if missing.sum():
        columns = [schema["inputs"][numeric[j]]["name"] for j in np.flatnonzero(missing)]
        shown = ", ".join(columns[:5]) + (", ..." if len(columns) > 5 else "")
        notes.append(
            f"{int(missing.sum()):,} missing number(s) in {len(columns)} column(s) ({shown}): "
            "the model fills them with the training median and flags them."
        )
    return notes


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
    """Like :func:`read_features`, a chunk (up to 65,536 rows) at a time: for large files.

    Empty cells, spellings of a missing number and unseen categories are accepted (the
    model fills and buckets them as in training); once the file is read, one line on stderr
    counts them.
    """
    import numpy as np

    layout, schema = _input_layout(os.fspath(path), schema)
    problems = Problems(layout.path)
    unknown: Counter[str] = Counter()
    missing = rows = 0
    for chunk in iter_chunks(layout, problems):
        if "ragged" in problems.found:  # a row left out would shift every prediction after it
            raise DataError(f"{layout.path}, {problems.line('ragged')}")
        x = encode_chunk(schema, layout, chunk, unknown)
        missing += int(np.isnan(x).sum())
        rows += len(x)
        yield x
    _report_inputs(layout.path, rows, missing, unknown, problems)


def _report_inputs(
    path: str, rows: int, missing: int, unknown: Counter[str], problems: Problems
) -> None:
    """One line on stderr about the inputs the model had to fill or bucket, if any."""
    parts = [f"{missing:,} missing value(s) filled as in training"] if missing else []
    if unknown:
        listed = ", ".join(f"{shown(name)}: {count:,}" for name, count in unknown.most_common(3))
        parts.append(f"{sum(unknown.values()):,} unseen categor(ies) ({listed}) treated as unknown")
    if problems.found:
        parts.append(f"unreadable field(s) read as missing ({problems.lines()[0]})")
    if parts:
        print(f"zoo: {path}: {rows:,} rows; " + "; ".join(parts) + ".", file=sys.stderr)


def _input_layout(path: str, schema: dict[str, Any]) -> tuple[CsvLayout, dict[str, Any]]:
    """How to read a prediction input file, and the schema with names filled in."""
    check_readable(path)
    delimiter = schema.get("delimiter", ",")
    with open_text(path) as handle:
        try:
            header_line = handle.readline()
        except UnicodeDecodeError as exc:
            raise not_utf8(path, None, exc) from None
    columns = _checked_header(path, split_fields(path, [header_line], delimiter)[0], delimiter)
    schema = _named_schema(path, schema, columns)
    _check_version(schema)
    kinds = {f["name"]: "number" if f["kind"] == "numeric" else "text" for f in schema["features"]}
    for name in kinds:
        if name not in columns:
            raise DataError(
                f"{path} has no column {shown(name)}, a feature of the model."
                f"{did_you_mean(name, columns)} Columns: {', '.join(columns[:12])}."
            )
    layout = CsvLayout(path, delimiter, columns, tuple(kinds.get(c, "skip") for c in columns))
    return layout, {**schema, "input_path": path}


def _check_version(schema: dict[str, Any]) -> None:
    one_hot = any(f["kind"] == "categorical" for f in schema["features"])
    if one_hot and int(schema.get("version", 1)) < CSV_SCHEMA_VERSION:
        raise DataError(
            "This run was trained by an earlier keras-zoo, which one-hot encoded text columns "
            "outside the model; train it again to predict with this version."
        )


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
