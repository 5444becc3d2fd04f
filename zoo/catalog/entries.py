"""What a plugin registers: one Entry per data set, model or preset, validated on arrival."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo.core.errors import PluginError
from zoo.core.params import Param, read_params
from zoo.core.tasks import INPUT_KINDS, TASKS

KINDS = ("datasets", "models", "presets")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]*$")
# A data set whose task or shape depends on its parameters (a CSV file's target column)
# declares them as inferred and registers an ``inspect`` callable that works them out.
INFERRED = "inferred"


@dataclass(frozen=True)
class Field:
    """One metadata keyword that ``register(...)`` accepts for a kind."""

    check: Callable[[Any], bool]
    expected: str
    default: Any = None
    required: bool = False


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_subset(allowed: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: (
        isinstance(value, (tuple, list)) and bool(value) and all(v in allowed for v in value)
    )


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value
    )


def _is_shape_or_inferred(value: Any) -> bool:
    return value == INFERRED or _is_shape(value)


def _is_callable_or_none(value: Any) -> bool:
    return value is None or callable(value)


def _is_mapping_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, Mapping) and all(isinstance(k, str) for k in value))


def _is_count_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


_TEXT = Field(_is_str, "a string", default="")
# What ``zoo tune`` searches: hyperparameter name -> {"low", "high", "log"} or {"choices"}.
_SPACE = Field(_is_mapping_or_none, "a dict of hyperparameter name -> range or choices")
SCHEMAS: dict[str, dict[str, Field]] = {
    "datasets": {
        "description": Field(_is_str, "a string", required=True),
        "task": Field(
            lambda v: v in (*TASKS, INFERRED),
            f"one of {', '.join(TASKS)} or {INFERRED!r}",
            required=True,
        ),
        "input_kind": Field(
            lambda v: v in INPUT_KINDS, f"one of {', '.join(INPUT_KINDS)}", required=True
        ),
        "shape": Field(
            _is_shape_or_inferred, f"a tuple of positive ints or {INFERRED!r}", required=True
        ),
        "rows": Field(_is_count_or_none, "a positive int or None"),
        "classes": Field(_is_count_or_none, "a positive int or None"),
        "source": _TEXT,
        "licence": _TEXT,
        "caveat": _TEXT,
        # inspect(**loader_params) -> the metadata those parameters imply, without TensorFlow.
        "inspect": Field(_is_callable_or_none, "a callable or None"),
    },
    "models": {
        "description": Field(_is_str, "a string", required=True),
        "tasks": Field(
            _is_subset(TASKS), f"a non-empty tuple of {', '.join(TASKS)}", default=TASKS
        ),
        "input_kinds": Field(
            _is_subset(INPUT_KINDS),
            f"a non-empty tuple of {', '.join(INPUT_KINDS)}",
            default=("tabular",),
        ),
        "search_space": _SPACE,
    },
    "presets": {
        "description": Field(_is_str, "a string", required=True),
        "tasks": Field(
            _is_subset(TASKS), f"a non-empty tuple of {', '.join(TASKS)}", default=TASKS
        ),
        "search_space": _SPACE,
    },
}


@dataclass(frozen=True)
class Entry:
    """A registered data set loader, model builder or preset factory."""

    kind: str
    name: str
    plugin: str
    factory: Callable[..., Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}"

    @property
    def description(self) -> str:
        return str(self.metadata.get("description", ""))

    @property
    def params(self) -> tuple[Param, ...]:
        # A model builder's first positional argument is the ModelSpec, not a hyperparameter.
        return read_params(self.factory, skip_first=self.kind == "models")

    @property
    def singular(self) -> str:
        return self.kind[:-1]


def make_entry(kind: str, plugin: str, name: Any, factory: Any, metadata: dict[str, Any]) -> Entry:
    """Validate one ``register(...)`` call and return its Entry.

    Raises:
        PluginError: the name, the factory or a metadata field is malformed.
    """
    where = f"plugin {plugin!r} registered {kind[:-1]} {name!r}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(
            f"{where}: a name must be lower-case letters, digits, '_', '-' or '.', "
            "starting with a letter"
        )
    if not callable(factory):
        raise PluginError(f"{where}: expected a callable, received {type(factory).__name__}")
    return Entry(kind, name, plugin, factory, _checked_metadata(kind, where, metadata))


def _checked_metadata(kind: str, where: str, metadata: dict[str, Any]) -> dict[str, Any]:
    schema = SCHEMAS[kind]
    unknown = sorted(set(metadata) - set(schema))
    if unknown:
        raise PluginError(
            f"{where} with unknown keyword(s) {', '.join(unknown)}; accepted: {', '.join(schema)}"
        )
    checked: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in metadata:
            if spec.required:
                raise PluginError(f"{where} without the required keyword {key!r}")
            checked[key] = spec.default
            continue
        value = metadata[key]
        if not spec.check(value):
            raise PluginError(f"{where}: {key} must be {spec.expected}, received {value!r}")
        checked[key] = tuple(value) if isinstance(value, list) else value
    inferred = kind == "datasets" and INFERRED in (checked["task"], checked["shape"])
    if inferred and checked["inspect"] is None:
        raise PluginError(
            f"{where}: task or shape {INFERRED!r} needs an inspect callable that works "
            "them out from the loader's parameters"
        )
    return checked
