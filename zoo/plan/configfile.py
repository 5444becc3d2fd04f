"""Experiment files: a TOML file that can say everything the ``zoo run`` flags can say.

Example ``experiment.toml``::

    model = "mlp"
    data = "housing"
    epochs = 200
    patience = 20

    [model_params]
    hidden = [64, 32]

Precedence, lowest first: RunConfig defaults, the file, then flags given on the command line
(and ``--set`` overrides last).
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from zoo.core.config import RunConfig
from zoo.core.errors import InvalidParameterError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PARAM_TABLES = ("model_params", "data_params", "preset_params")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read and check an experiment file; keys are RunConfig fields.

    Raises:
        InvalidParameterError: unreadable file, bad TOML, unknown key or wrong type.
    """
    path = Path(path)
    values = read_toml(path, "Config file")
    _check_keys(path, values)
    return values


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Read a TOML file (a byte-order mark is fine), naming it as ``what`` in errors.

    Raises:
        InvalidParameterError: the file is missing, unreadable or not TOML.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InvalidParameterError(f"{what} {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameterError(f"Cannot read {what.lower()} {path}: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameterError(f"{what} {path} is not valid TOML: {exc}.") from None


def _check_keys(path: Path, values: dict[str, Any]) -> None:
    known = {f.name: f for f in fields(RunConfig)}
    defaults = RunConfig(model="-", data="-")
    for key, value in values.items():
        if key not in known:
            listing = ", ".join(known)
            raise InvalidParameterError(
                f"Config file {path}: unknown key {key!r}.{did_you_mean(key, known)} "
                f"Valid keys: {listing}."
            )
        if key in PARAM_TABLES:
            if not isinstance(value, dict):
                raise InvalidParameterError(
                    f"Config file {path}: {key} must be a table like [{key}]; received {value!r}."
                )
            continue
        _check_type(path, key, value, getattr(defaults, key))


def _check_type(path: Path, key: str, value: Any, default: Any) -> None:
    if default is None or value is None:
        return
    expected = type(default)
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise InvalidParameterError(
            f"Config file {path}: {key} must be {expected.__name__} (default {default!r}); "
            f"received {value!r}."
        )


def merge(file_values: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """Flags given on the command line win over the file; parameter tables merge per key."""
    merged = dict(file_values)
    for key, value in flags.items():
        if key in PARAM_TABLES:
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged
