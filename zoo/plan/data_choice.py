"""Which data set a run's ``data`` names, and what that data set is for the run's parameters.

``--data`` is a registered data set name (short or qualified). Anything else is offered to the
plugins' ``zoo_data_for_name`` hook: the CSV plugin claims file paths, another plugin may claim
its own file extension. The claim names an entry and the parameters that carry the string (a
file's path), so a run folder's config names the entry and can be repeated as it is.

A data set registered with an ``inspect`` callable (a CSV file, synthetic data) gets its task,
shape and counts from it here, before TensorFlow is imported, so an impossible combination
fails at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from zoo.catalog.entries import INFERRED, SCHEMAS, Entry, check_overrides
from zoo.core.errors import (
    IncompatibleError,
    InvalidParameterError,
    PluginError,
    UnknownNameError,
    ZooError,
    shown,
)
from zoo.core.tasks import TASKS

if TYPE_CHECKING:
    from zoo.catalog.registry import Registry

# What an inspect callable may tell; the rest of a data set's metadata is fixed.
INSPECTABLE = ("task", "input_kind", "shape", "rows", "classes", "columns", "notes")
# Run options (--target, --task, --ignore) that become data params of a data set that takes
# them (a CSV file); ``ignore`` has no RunConfig field, the CLI folds it with fold_option.
DATA_OPTIONS = ("target", "task", "ignore")
_WHAT = {
    "target": "target column to choose",
    "task": "task to choose",
    "ignore": "columns to leave out",
}
_EXAMPLE = {
    "target": "--target COLUMN",
    "task": "--task TASK",
    "ignore": "--ignore COLUMN[,COLUMN]",
}


def data_entry(registry: Registry, name: str) -> tuple[Entry, dict[str, Any]]:
    """The data set entry ``name`` refers to, and the parameters a plugin's claim implies.

    Raises:
        UnknownNameError: neither a registered data set nor a name any plugin claims.
    """
    try:
        return registry.get(name, "datasets"), {}
    except UnknownNameError as exc:
        claim = registry.claim_data(name)
        if claim is None:
            raise UnknownNameError(
                f"{exc} A file needs a plugin that reads it: the CSV plugin reads PATH.csv or "
                "csv:PATH."
            ) from None
        return registry.get(claim.dataset, "datasets"), dict(claim.params)


def resolve_data(
    registry: Registry,
    data: str,
    data_params: Mapping[str, Any] | None = None,
    target: str | None = None,
    task: str | None = None,
) -> tuple[Entry, dict[str, Any]]:
    """The inspected data set entry of a run and its data parameters.

    Returns:
        The entry with the metadata its ``inspect`` callable derives, and the data params
        with the claimed ones (a file's path), ``target`` and ``task`` folded in.

    Raises:
        UnknownNameError: ``data`` names nothing.
        InvalidParameterError: ``--target`` for a data set without one, or a conflict.
        IncompatibleError: ``--task`` different from a fixed data set's task.
        DataError: the inspection found the file unusable (missing, empty, no such column).
    """
    entry, claimed = data_entry(registry, data)
    params = dict(data_params or {})
    for key, value in claimed.items():
        _fold(entry, params, key, value)
    _fold(entry, params, "target", target)
    _fold(entry, params, "task", task)
    check_overrides(f"data set {shown(entry.name)}", entry.params, params)
    return inspected(entry, params), params


def takes(entry: Entry, key: str) -> bool:
    """Whether data set ``entry`` has a parameter ``key`` (a CSV file's ``target``)."""
    return key in {p.name for p in entry.params}


def fold_option(
    registry: Registry, data: str, data_params: Mapping[str, Any] | None, key: str, value: Any
) -> dict[str, Any]:
    """``data_params`` with run option ``--KEY VALUE`` folded in, as :func:`resolve_data`
    folds ``--target``: for an option that RunConfig does not hold (``--ignore``).

    Raises:
        UnknownNameError: ``data`` names nothing.
        InvalidParameterError: the data set has no such parameter, or it is given twice.
    """
    entry, _ = data_entry(registry, data)
    params = dict(data_params or {})
    _fold(entry, params, key, value)
    return params


def refused_option(key: str, value: Any, names: list[str]) -> InvalidParameterError:
    """The error for ``--KEY VALUE`` given to data sets ``names`` of which none takes it."""
    listed = ", ".join(repr(n) for n in names)
    which = f"data set {listed} has" if len(names) == 1 else f"data sets {listed} have"
    return InvalidParameterError(
        f"--{key} {shown(value)}: {which} no {_WHAT.get(key, key)}; --{key} is for data sets that "
        "take "
        f"it, such as your own CSV file (--data PATH.csv {_EXAMPLE.get(key, f'--{key} VALUE')})."
    )


def _fold(entry: Entry, params: dict[str, Any], key: str, value: Any) -> None:
    """Put a run option into the data params, if the entry has that parameter."""
    if value is None:
        return
    if takes(entry, key):
        if params.get(key, value) != value:
            raise InvalidParameterError(
                f"{key} is given twice with different values: {shown(value)} and data_params "
                f"{key}={shown(params[key])}; keep one."
            )
        params[key] = value
        return
    if key == "task":
        if value != entry.metadata["task"]:
            raise IncompatibleError(
                f"--task {value}: data set {shown(entry.name)} is {entry.metadata['task']}; --task "
                "chooses the task of a data set that infers it, such as your own CSV file "
                "(--data PATH.csv --task TASK)."
            )
        return
    raise refused_option(key, value, [entry.name])


def inspected(entry: Entry, params: dict[str, Any]) -> Entry:
    """``entry`` with the metadata its ``inspect`` callable derives from ``params``.

    Raises:
        PluginError: the callable returned something that is not valid metadata.
    """
    inspect = entry.metadata.get("inspect")
    if inspect is None:
        return entry
    try:
        found = inspect(**params)
    except ZooError:
        raise  # the plugin reports the user's mistake (a missing file)
    except Exception as exc:
        text = (str(exc).strip().splitlines() or [""])[0]
        raise PluginError(
            f"{entry.owner}: its inspect callable raised "
            f"{type(exc).__name__}: {text} (rerun with --debug for the traceback)"
        ) from exc
    metadata = {**entry.metadata, **_checked_inspection(entry, found)}
    if metadata["task"] not in TASKS:
        raise PluginError(
            f"data set {entry.qualified_name}: inspect left the task {shown(INFERRED)}; it must "
            f"return one of {', '.join(TASKS)}"
        )
    return replace(entry, metadata=metadata)


def _checked_inspection(entry: Entry, found: Any) -> dict[str, Any]:
    where = f"data set {entry.qualified_name}: inspect returned"
    if not isinstance(found, dict) or set(found) - set(INSPECTABLE):
        raise PluginError(f"{where} {shown(found)}; expected a dict with keys among {INSPECTABLE}")
    schema = SCHEMAS["datasets"]
    for key, value in found.items():
        if not schema[key].check(value):
            raise PluginError(f"{where} {key}={shown(value)}; expected {schema[key].expected}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}
