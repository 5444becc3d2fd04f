"""The JSON records of a run folder checked for shape when read back.

A run folder is a set of files a user can edit, copy half of or damage, so nothing read back
is trusted: each record is checked here, and anything that is not what keras-zoo wrote is one
:class:`~zoo.core.errors.RunFolderError` line naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from zoo.core.config import RunConfig
from zoo.core.errors import ZooError
from zoo.core.tasks import TASKS
from zoo.runs.files import damaged, load_json, type_name

# What each RunConfig annotation accepts, as JSON read it back.
_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict[str, Any]": (dict,),
}


def read_config(path: Path) -> dict[str, Any]:
    """config.json, checked field by field against :class:`RunConfig`.

    Raises:
        RunFolderError: the file is damaged or a field is unknown, missing or mistyped.
    """
    values = load_json(path)
    fields = {f.name: str(f.type) for f in dataclasses.fields(RunConfig)}
    for name, value in values.items():
        if name not in fields:
            raise damaged(path, f"holds an option this keras-zoo does not know, {name!r}")
        if not _fits(value, fields[name]):
            raise damaged(path, f"holds {name}={_short(value)}, expected {fields[name]}")
    for name in ("model", "data"):
        if not values.get(name):
            raise damaged(path, f"names no {name}")
    try:
        RunConfig(**values)
    except ZooError as exc:
        raise damaged(path, f"holds an invalid value ({exc})") from None
    return values


def _fits(value: Any, annotation: str) -> bool:
    options = [part.strip() for part in annotation.split("|")]
    if value is None:
        return "None" in options
    if isinstance(value, bool):
        return "bool" in options
    return any(isinstance(value, _KINDS.get(option, ())) for option in options)


def read_data(path: Path) -> dict[str, Any]:
    """data.json: the task, input shape and feature names prediction needs.

    Raises:
        RunFolderError: the file is damaged or a field is missing or mistyped.
    """
    values = load_json(path)
    if values.get("task") not in TASKS:
        raise damaged(path, f"holds task {_short(values.get('task'))}, expected one of {TASKS}")
    shape = values.get("input_shape")
    if not _positive_ints(shape):
        raise damaged(path, f"holds input_shape {_short(shape)}, expected a list of sizes")
    for name in ("feature_names", "class_names"):
        if not isinstance(values.get(name, []), list):
            raise damaged(path, f"holds a JSON {type_name(values[name])} as {name}, not an array")
    schema = values.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise damaged(path, f"holds a JSON {type_name(schema)} as schema, not an object")
    return values


def _positive_ints(shape: Any) -> bool:
    return (
        isinstance(shape, list)
        and bool(shape)
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    )


def read_metrics(path: Path) -> dict[str, Any]:
    """metrics.json ({} when the run has none yet); ``test`` must be an object of numbers.

    Raises:
        RunFolderError: the file is damaged or of another shape.
    """
    if not path.exists():
        return {}
    values = load_json(path)
    test = values.get("test", {})
    if not isinstance(test, dict) or not all(_number_or_null(v) for v in test.values()):
        raise damaged(path, "holds test metrics that are not numbers")
    return values


def _number_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def read_environment(path: Path) -> dict[str, Any]:
    """environment.json; its ``data_fingerprint`` must be a string.

    Raises:
        RunFolderError: the file is damaged or of another shape.
    """
    values = load_json(path)
    if not isinstance(values.get("data_fingerprint"), str):
        raise damaged(path, "holds no data_fingerprint string")
    return values


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def with_absolute_paths(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with every hyperparameter that names an existing file or folder made absolute.

    A run folder must work from any directory: a CSV file's path or a backbone run written as
    given (relative to where the run started) would not be found from anywhere else.
    """
    result = dict(config)
    for section in ("data_params", "model_params", "preset_params"):
        params = result.get(section)
        if isinstance(params, dict):
            result[section] = {key: _absolute(value) for key, value in params.items()}
    return result


def _absolute(value: Any) -> Any:
    if not isinstance(value, str) or not value or value.startswith(("/", "\\")):
        return value
    path = Path(value).expanduser()
    looks_like_path = "/" in value or "\\" in value or bool(path.suffix) or value.startswith("~")
    try:
        return os.path.abspath(path) if looks_like_path and path.exists() else value
    except (OSError, ValueError):
        return value
