"""Encoding a CSV file's rows as the model takes them (numbers with NaN where missing,
category codes, date parts), the schema that says how, and the Dataset that carries it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zoo.plugins.csv_files.columns import DATE, roles_table
from zoo.plugins.csv_files.layout import CsvLayout
from zoo.plugins.csv_files.parse import Problems, RawChunk, line_batches, parse_batch

from zoo.plugin import REGRESSION, Dataset

if TYPE_CHECKING:
    import numpy as np

# -- schema and encoding ------------------------------------------------------------------

# A CSV schema whose categorical features are codes for the model's own one-hot layer
# (version 1 one-hot encoded them in the file reader).
CSV_SCHEMA_VERSION = 2


def build_schema(
    layout: CsvLayout, categories: dict[str, list[str]], labels: Sequence[Any], task: str
) -> dict[str, Any]:
    """The JSON-ready schema of a CSV data set (see :func:`zoo.core.dataset.default_schema`).

    CSV additions: ``path`` and ``delimiter`` of the training file; per feature
    ``{"name", "kind"}`` with ``kind`` "numeric", "categorical" (plus its ``categories``,
    whose index is the code the model gets; -1 for any other value) or "date" (plus the
    ``parts`` derived from it); ``inputs``, one entry per model input column (see
    ``zoo.core.schema``); ``columns``, every column's role and note. ``classes`` are the
    target's own labels (numbers or strings), index order.
    """
    features = [_feature(layout, i, categories) for i in layout.features]
    inputs = [column for feature in features for column in _inputs(feature)]
    return {
        "version": CSV_SCHEMA_VERSION,
        "task": task,
        "input_kind": "tabular",
        "input_shape": [len(inputs)],
        "target": layout.target_name,
        "features": features,
        "inputs": inputs,
        "columns": roles_table(layout.roles),
        "classes": [] if task == REGRESSION else [_plain_label(v) for v in labels],
        "path": layout.path,
        "delimiter": layout.delimiter,
    }


def _feature(layout: CsvLayout, i: int, categories: dict[str, list[str]]) -> dict[str, Any]:
    name = layout.columns[i]
    role = layout.roles[i] if layout.roles else None
    if role is not None and role.role == DATE:
        return {"name": name, "kind": "date", "parts": list(role.parts)}
    if layout.kinds[i] == "text":
        return {"name": name, "kind": "categorical", "categories": categories.get(name, [])}
    return {"name": name, "kind": "numeric"}


def _inputs(feature: dict[str, Any]) -> list[dict[str, Any]]:
    name, kind = feature["name"], feature["kind"]
    if kind == "date":
        return [{"name": f"{name}.{part}", "kind": "numeric"} for part in feature["parts"]]
    if kind == "categorical":
        return [{"name": name, "kind": "categorical", "size": len(feature["categories"])}]
    return [{"name": name, "kind": "numeric"}]


def _plain_label(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def encoded_names(schema: dict[str, Any]) -> list[str]:
    """One name per model input column: ``when.year`` for a date's part."""
    if schema.get("inputs"):
        return [column["name"] for column in schema["inputs"]]
    return [feature["name"] for feature in schema["features"]]


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


def kept_categories(values: np.ndarray, counts: np.ndarray, max_categories: int) -> list[str]:
    """The categories a column keeps: the ``max_categories`` most common, sorted."""
    import numpy as np

    if len(values) > max_categories:
        order = np.lexsort((values, -counts))[:max_categories]  # most common, ties by value
        values = values[order]
    return sorted(str(v) for v in values)


def encode_chunk(
    schema: dict[str, Any],
    layout: CsvLayout,
    chunk: RawChunk,
    unknown: Counter[str] | None = None,
) -> np.ndarray:
    """Model inputs (float32) for a parsed chunk, in the schema's input order.

    Numbers stay as they are (NaN where missing); a category becomes its index in the
    schema's list (-1 for another value, counted per column in ``unknown``); a date becomes
    its parts.
    """
    import numpy as np

    columns = _chunk_columns(layout, chunk)
    x = np.zeros((len(chunk.lines), len(encoded_names(schema))), dtype="float32")
    at = 0
    for feature in schema["features"]:
        values = columns[feature["name"]]
        if feature["kind"] == "numeric":
            with np.errstate(over="ignore"):
                x[:, at] = values
            at += 1
        elif feature["kind"] == "categorical":
            x[:, at] = _codes(feature, values, unknown)
            at += 1
        else:
            width = len(feature["parts"])
            x[:, at : at + width] = date_parts(values, feature["parts"])
            at += width
    return x.reshape((-1, *schema["input_shape"]))  # an image schema's rows are images


def _chunk_columns(layout: CsvLayout, chunk: RawChunk) -> dict[str, np.ndarray]:
    numeric = [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "number"]
    text = [layout.columns[i] for i, k in enumerate(layout.kinds) if k == "text"]
    found = {name: chunk.numbers[:, j] for j, name in enumerate(numeric)}
    found.update({name: chunk.texts[:, j] for j, name in enumerate(text)})
    return found


def _codes(feature: dict[str, Any], values: np.ndarray, unknown: Counter[str] | None) -> Any:
    import numpy as np

    known = np.asarray(feature["categories"], dtype=str)
    if not len(known):
        return np.full(len(values), -1.0)
    index = np.clip(np.searchsorted(known, values), 0, len(known) - 1)
    missing = known[index] != values
    if unknown is not None and missing.any():
        unknown[feature["name"]] += int(missing.sum())
    return np.where(missing, -1, index)


def date_parts(values: np.ndarray, parts: Sequence[str]) -> np.ndarray:
    """(rows, parts) float32: each date's year, month, weekday (Monday 0), day of year and
    hour, as ``parts`` asks; NaN where a value is empty or not a date."""
    import numpy as np

    stamps = _datetimes(values)
    valid = ~np.isnat(stamps)
    days = stamps.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    found = {
        "year": years.astype("int64") + 1970,
        "month": (months - years.astype("datetime64[M]")).astype("int64") + 1,
        "weekday": (days.astype("int64") + 3) % 7,  # 1970-01-01 was a Thursday
        "yearday": (days - years.astype("datetime64[D]")).astype("int64") + 1,
        "hour": (stamps - days).astype("timedelta64[h]").astype("int64"),
    }
    table = np.stack([found[part].astype("float32") for part in parts], axis=1)
    table[~valid] = np.nan
    return table


def _datetimes(values: np.ndarray) -> np.ndarray:
    """datetime64[s] of ISO-like dates (``2024-03-01``, ``2024/03/01 13:45``); NaT else."""
    import numpy as np

    text = np.char.replace(np.asarray(values, dtype=str), "/", "-")
    try:
        return text.astype("datetime64[s]")
    except ValueError:
        stamps = np.empty(len(text), dtype="datetime64[s]")
        for i, value in enumerate(text):
            try:
                stamps[i] = np.datetime64(value, "s") if value else np.datetime64("NaT")
            except ValueError:
                stamps[i] = np.datetime64("NaT")
        return stamps


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


def iter_chunks(layout: CsvLayout, problems: Problems | None = None) -> Iterator[RawChunk]:
    """The file's rows after the header, parsed a chunk at a time (see ``parse_batch`` for
    ``problems``)."""
    for batch in line_batches(layout.path):
        yield parse_batch(
            layout.path, batch, layout.columns, layout.kinds, layout.delimiter, problems
        )
