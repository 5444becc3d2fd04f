"""Which data set a run's ``data`` names, and what that data set is for the run's parameters.

``--data`` is a registered data set name, or one of your own CSV files: a path ending in
``.csv`` or holding a path separator, or anything written ``csv:PATH``. A file becomes the
``csv`` entry with the path (and ``--target`` / ``--task``) as its data parameters, so a run
folder's config names the entry and can be repeated as it is.

A data set registered with an ``inspect`` callable (the CSV file, synthetic data) gets its
task, shape and counts from it here, before TensorFlow is imported, so an impossible
combination fails at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from zoo.catalog.entries import INFERRED, SCHEMAS, TASKS, Entry
from zoo.core.errors import IncompatibleError, InvalidParameterError, PluginError, UnknownNameError
from zoo.core.params import check_overrides

if TYPE_CHECKING:
    from zoo.catalog.registry import Registry
    from zoo.core.config import RunConfig

CSV_ENTRY = "csv"
CSV_PREFIX = "csv:"
# What an inspect callable may tell; the rest of a data set's metadata is fixed.
INSPECTABLE = ("task", "input_kind", "shape", "rows", "classes")


def is_csv_path(name: str) -> bool:
    """Whether ``--data`` names a file rather than a registered data set."""
    return (
        name.startswith(CSV_PREFIX)
        or name.lower().endswith(".csv")
        or "/" in name
        or os.sep in name
    )


def csv_path(name: str) -> str:
    return name[len(CSV_PREFIX) :] if name.startswith(CSV_PREFIX) else name


def data_entry(registry: Registry, name: str) -> Entry:
    """The data set entry ``name`` refers to: a registered one, or ``csv`` for a file.

    A registered name wins over the file reading, except with the explicit ``csv:`` prefix.

    Raises:
        UnknownNameError: neither a registered data set nor a file-like name.
    """
    if name.startswith(CSV_PREFIX):
        return registry.get(CSV_ENTRY, "datasets")
    try:
        return registry.get(name, "datasets")
    except UnknownNameError as exc:
        if is_csv_path(name):
            return registry.get(CSV_ENTRY, "datasets")
        raise UnknownNameError(
            f"{exc} For your own CSV file give its path (ending in .csv) or csv:PATH."
        ) from None


def resolve_data(config: RunConfig, registry: Registry) -> tuple[RunConfig, Entry]:
    """The data set entry of ``config``, with metadata worked out for its parameters.

    Returns:
        The config with the CSV path, ``target`` and ``task`` folded into ``data_params``
        (where the entry takes them), and the entry with its inspected metadata.

    Raises:
        UnknownNameError: ``config.data`` names nothing.
        InvalidParameterError: ``--target`` for a data set without one, or a conflict.
        IncompatibleError: ``--task`` different from a fixed data set's task.
        DataError: the inspection found the file unusable (missing, empty, no such column).
    """
    params, entry = resolve_options(
        registry, config.data, config.data_params, config.target, config.task
    )
    return replace(config, data_params=params), entry


def resolve_options(
    registry: Registry,
    data: str,
    data_params: Mapping[str, Any] | None = None,
    target: str | None = None,
    task: str | None = None,
) -> tuple[dict[str, Any], Entry]:
    """:func:`resolve_data` for loose run options (e.g. a RunConfig keyword dict).

    Returns:
        The data params with the CSV path, target and task folded in, and the inspected
        data set entry.
    """
    entry = data_entry(registry, data)
    params = dict(data_params or {})
    if entry.name == CSV_ENTRY and is_csv_path(data):
        _fold(entry, params, "path", csv_path(data))
    _fold(entry, params, "target", target)
    _fold(entry, params, "task", task)
    check_overrides(f"data set {entry.name!r}", entry.params, params)
    return params, inspected(entry, params)


def _fold(entry: Entry, params: dict[str, Any], key: str, value: Any) -> None:
    """Put a run option into the data params, if the entry has that parameter."""
    if value is None:
        return
    if key in {p.name for p in entry.params}:
        if params.get(key, value) != value:
            raise InvalidParameterError(
                f"{key} is given twice with different values: {value!r} and data_params "
                f"{key}={params[key]!r}; keep one."
            )
        params[key] = value
        return
    if key == "task":
        if value != entry.metadata["task"]:
            raise IncompatibleError(
                f"--task {value}: data set {entry.name!r} is {entry.metadata['task']}; --task "
                "chooses the task of a CSV file (--data PATH.csv)."
            )
        return
    raise InvalidParameterError(
        f"--{key} {value!r}: data set {entry.name!r} has no {key} to choose; --{key} is for "
        "your own CSV file (--data PATH.csv --target COLUMN)."
    )


def inspected(entry: Entry, params: dict[str, Any]) -> Entry:
    """``entry`` with the metadata its ``inspect`` callable derives from ``params``.

    Raises:
        PluginError: the callable returned something that is not valid metadata.
    """
    inspect = entry.metadata.get("inspect")
    if inspect is None:
        return entry
    found = inspect(**params)
    metadata = {**entry.metadata, **_checked_inspection(entry, found)}
    if metadata["task"] not in TASKS:
        raise PluginError(
            f"data set {entry.qualified_name}: inspect left the task {INFERRED!r}; it must "
            f"return one of {', '.join(TASKS)}"
        )
    return replace(entry, metadata=metadata)


def _checked_inspection(entry: Entry, found: Any) -> dict[str, Any]:
    where = f"data set {entry.qualified_name}: inspect returned"
    if not isinstance(found, dict) or set(found) - set(INSPECTABLE):
        raise PluginError(f"{where} {found!r}; expected a dict with keys among {INSPECTABLE}")
    schema = SCHEMAS["datasets"]
    for key, value in found.items():
        if not schema[key].check(value):
            raise PluginError(f"{where} {key}={value!r}; expected {schema[key].expected}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}
