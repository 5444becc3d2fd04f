"""Checking and encoding a CSV file's rows: the target's classes, the schema, one-hot columns,
and the Dataset that carries a schema."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zoo.plugins.csv_files.layout import CsvLayout
from zoo.plugins.csv_files.parse import (
    MissingValues,
    RawChunk,
    line_batches,
    parse_batch,
    where,
)

from zoo.plugin import REGRESSION, SCHEMA_VERSION, DataError, Dataset

if TYPE_CHECKING:
    import numpy as np

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
        "classes": [] if task == REGRESSION else [_plain_label(v) for v in labels],
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

    if task == REGRESSION:
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
