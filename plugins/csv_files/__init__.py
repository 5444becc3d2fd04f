"""Your own CSV file as a data set: ``zoo run --data PATH.csv --target COLUMN``.

The task and the number of inputs depend on the file, so they are registered as inferred;
``inspect`` reads the header and a sample (no TensorFlow) when a run is planned. The plugin
claims ``--data`` strings that look like files (``zoo_data_for_name``) and reads the raw
inputs of ``zoo predict`` (``zoo_read_inputs``). Sniffing, parsing, encoding and streaming
live in this package's modules; the core reaches them only through these hooks.
"""

from __future__ import annotations

import os
from typing import Any

from zoo.plugin import DataChoice, hookimpl


def load_csv(
    path: str | None = None,
    target: str | None = None,
    task: str | None = None,
    delimiter: str = ",",
    stream: bool | None = None,
    max_categories: int = 50,
    ignore: str = "",
    roles: str = "",
) -> Any:
    """A CSV file with a header row and one row per example.

    Args:
        path: the CSV file (set by --data PATH.csv or --data csv:PATH).
        target: the column to predict (set by --target).
        task: regression, binary or multiclass; None infers it from the target (--task).
        delimiter: the field separator.
        stream: train from disk without loading the file; None streams files over 64 MiB.
        max_categories: most categories a text column keeps; rarer values share one slot.
        ignore: columns to leave out, comma-separated (--ignore COL,COL).
        roles: column roles to force, comma-separated COL:ROLE (roles: numeric,
            categorical, text, date, id, ignore), e.g. "zip:categorical,year:numeric".
    """
    from zoo.plugins.csv_files.data import load_csv as load

    return load(path, target, task, delimiter, stream, max_categories, ignore, roles)


def inspect_csv(
    path: str | None = None,
    target: str | None = None,
    task: str | None = None,
    delimiter: str = ",",
    stream: bool | None = None,
    max_categories: int = 50,
    ignore: str = "",
    roles: str = "",
    **_: Any,
) -> dict[str, Any]:
    """The task of the file's target and the role of each column, before TensorFlow loads.

    A file that will be loaded in memory is checked whole here, so that every problem in
    it is reported at once before the run starts (the loaded rows are kept for training).
    """
    from zoo.plugins.csv_files.columns import roles_table
    from zoo.plugins.csv_files.data import load_csv as load

    found = load(path, target, task, delimiter, stream, max_categories, ignore, roles)
    layout = getattr(found, "layout", None)
    if layout is not None:  # streamed: the sample's view until the scan
        return {"task": layout.task, "columns": tuple(roles_table(layout.roles))}
    return {
        "task": found.task,
        "rows": len(found.y),
        "columns": tuple(found.schema["columns"]),
        "notes": tuple(found.schema.get("notes", ())),
    }


CSV_PREFIX = "csv:"


def is_csv_path(name: str) -> bool:
    """Whether a ``--data`` string names a file this plugin reads."""
    return (
        name.startswith(CSV_PREFIX)
        or name.lower().endswith(".csv")
        or "/" in name
        or os.sep in name
    )


@hookimpl
def zoo_data_for_name(name: str) -> DataChoice | None:
    if not is_csv_path(name):
        return None
    path = name[len(CSV_PREFIX) :] if name.startswith(CSV_PREFIX) else name
    return DataChoice("zoo.csv_files:csv", {"path": path})


@hookimpl
def zoo_read_inputs(path: str, schema: dict[str, Any]) -> Any:
    """Model inputs for every row of a CSV file of raw inputs (the fallback reader)."""
    from zoo.plugins.csv_files.data import read_features

    return read_features(path, schema)


@hookimpl
def register_datasets(register):
    register(
        "csv",
        load_csv,
        description="Your own CSV file: --data PATH.csv --target COLUMN",
        task="inferred",
        input_kind="tabular",
        shape="inferred",
        source="your file",
        licence="yours",
        inspect=inspect_csv,
    )
