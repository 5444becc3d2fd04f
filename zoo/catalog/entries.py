"""What a plugin registers: one Entry per data set, model or preset, validated on arrival,
its hyperparameters read off the factory's signature, and the ranges it declares, written
as intervals: ``"[0, 1)"``, ``"[1, inf)"``.

A plugin passes ``ranges={"dropout": "[0, 1)", "units": "[1, inf)"}`` to ``register(...)``;
every value a run gives that hyperparameter (each element, for a tuple such as ``hidden``) is
checked against its interval while the run is planned, before anything trains. A square
bracket includes the bound, a round one excludes it; ``inf`` and ``-inf`` leave a side open.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo.core.errors import InvalidParameterError, PluginError, did_you_mean, shown
from zoo.core.tasks import INPUT_KINDS, TASKS

KINDS = ("datasets", "models", "presets")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]*$")
# A data set whose task or shape depends on its parameters (a CSV file's target column)
# declares them as inferred and registers an ``inspect`` callable that works them out.
INFERRED = "inferred"
# A model whose batch size follows the training part's size (see zoo.plan.planning).
AUTO = "auto"


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
# Which values a hyperparameter accepts (below): name -> "[0, 1)", "[1, inf)".
_RANGES = Field(
    lambda v: v is None or is_ranges(v), "a dict of hyperparameter name -> '[low, high)'"
)


def _is_count_or_auto(value: Any) -> bool:
    whole = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return value is None or value == AUTO or whole


def _is_column_roles(value: Any) -> bool:
    keys = {"name", "role", "note"}
    rows = value if isinstance(value, (list, tuple)) else None
    return rows is not None and all(isinstance(r, dict) and set(r) == keys for r in rows)


def _is_texts(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


SCHEMAS: dict[str, dict[str, Field]] = {
    "datasets": {
        "description": Field(_is_str, "a string", required=True),
        "task": Field(
            lambda v: v in (*TASKS, INFERRED),
            f"one of {', '.join(TASKS)} or {shown(INFERRED)}",
            required=True,
        ),
        "input_kind": Field(
            lambda v: v in INPUT_KINDS, f"one of {', '.join(INPUT_KINDS)}", required=True
        ),
        "shape": Field(
            _is_shape_or_inferred, f"a tuple of positive ints or {shown(INFERRED)}", required=True
        ),
        "rows": Field(_is_count_or_none, "a positive int or None"),
        "classes": Field(_is_count_or_none, "a positive int or None"),
        "source": _TEXT,
        "licence": _TEXT,
        "caveat": _TEXT,
        # inspect(**loader_params) -> the metadata those parameters imply, without TensorFlow.
        "inspect": Field(_is_callable_or_none, "a callable or None"),
        "ranges": _RANGES,
        # What an inspect callable found in a file: each column's role, notes on the rows.
        "columns": Field(_is_column_roles, "a tuple of {'name', 'role', 'note'} dicts"),
        "notes": Field(_is_texts, "a tuple of strings"),
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
        "ranges": _RANGES,
        # check(**hyperparameters) raises a ZooError for values that cannot work, without
        # TensorFlow (pretrained weights offline and not cached).
        "check": Field(_is_callable_or_none, "a callable or None"),
        # What a run of this model gets when it names none: a preset (used where it fits the
        # task) and a batch size (a number, or "auto": by the training part's size).
        "preset": Field(lambda v: v is None or _is_str(v), "a preset name or None"),
        "batch_size": Field(_is_count_or_auto, f"a positive int, {shown(AUTO)} or None"),
        # And how many seeds' models a run averages (a number, or "auto": 5 on small data).
        "seed_ensemble": Field(_is_count_or_auto, f"a positive int, {shown(AUTO)} or None"),
    },
    "presets": {
        "description": Field(_is_str, "a string", required=True),
        "tasks": Field(
            _is_subset(TASKS), f"a non-empty tuple of {', '.join(TASKS)}", default=TASKS
        ),
        "search_space": _SPACE,
        "ranges": _RANGES,
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

    @property
    def owner(self) -> str:
        """``data set 'line' of plugin 'example'``: how every message names its culprit."""
        what = "data set" if self.kind == "datasets" else self.singular
        return f"{what} {shown(self.name)} of plugin {shown(self.plugin)}"

    def create(self, *args: Any, **overrides: Any) -> Any:
        """Call the factory with keyword ``overrides`` checked against its hyperparameters
        and their declared ranges; a model takes its :class:`~zoo.core.spec.ModelSpec` first."""
        from zoo.core.imports import import_keras_quietly
        from zoo.core.spec import ModelSpec

        check_overrides(f"{self.singular} {shown(self.name)}", self.params, overrides)
        check_ranges(self.owner, self.metadata.get("ranges"), overrides)
        if self.kind == "models":
            import_keras_quietly()  # a builder imports Keras: as quiet from Python as the CLI
            if not (args and isinstance(args[0], ModelSpec)):
                received = type(args[0]).__name__ if args else "nothing"
                raise InvalidParameterError(
                    f"Model {shown(self.name)} is built for a data set: pass a zoo.ModelSpec first "
                    f"(received {received}), e.g. registry.create('models', {shown(self.name)}, "
                    "zoo.ModelSpec.for_data(data.info)) with data = "
                    "registry.create('datasets', ...)."
                )
        return self.factory(*args, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """The entry's facts as plain data: for notebooks, ``zoo info`` and JSON."""
        ranges = self.metadata.get("ranges") or {}
        return {
            "name": self.name,
            "qualified_name": self.qualified_name,
            "kind": self.singular,
            "plugin": self.plugin,
            # Callables (a data set's inspect) are code, not facts to show or serialise.
            "metadata": {k: v for k, v in self.metadata.items() if not callable(v)},
            "params": [
                {
                    "name": p.name,
                    "type": p.type_name,
                    "default": p.default,
                    "help": p.help,
                    "range": ranges.get(p.name, ""),
                }
                for p in self.params
            ],
        }


def make_entry(kind: str, plugin: str, name: Any, factory: Any, metadata: dict[str, Any]) -> Entry:
    """Validate one ``register(...)`` call and return its Entry.

    Every problem of the call is reported at once, in one line.

    Raises:
        PluginError: the name, the factory, a hyperparameter or a metadata field is malformed.
    """
    where = f"plugin {shown(plugin)} registered {kind[:-1]} {shown(name)}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(
            f"{where}: a name must be lower-case letters, digits, '_', '-' or '.', "
            "starting with a letter"
        )
    if not callable(factory):
        raise PluginError(f"{where}: expected a callable, received {type(factory).__name__}")
    checked, problems = _checked_metadata(kind, metadata)
    problems += _param_problems(kind, factory)
    if not problems:
        problems += _range_problems(kind, factory, checked)
    if problems:
        raise PluginError(f"{where}: {'; '.join(problems)}")
    return Entry(kind, name, plugin, factory, checked)


def _checked_metadata(kind: str, metadata: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The metadata with defaults filled in, and every problem found in it."""
    schema = SCHEMAS[kind]
    problems: list[str] = []
    missing = [key for key, spec in schema.items() if spec.required and key not in metadata]
    if missing:
        problems.append(f"missing required keyword(s) {', '.join(missing)}")
    unknown = sorted(set(metadata) - set(schema))
    if unknown:
        problems.append(f"unknown keyword(s) {', '.join(unknown)}; accepted: {', '.join(schema)}")
    checked: dict[str, Any] = {}
    for key, spec in schema.items():
        value = metadata.get(key, spec.default)
        if key in metadata and not spec.check(value):
            problems.append(f"{key} must be {spec.expected}, received {shown(value)}")
        checked[key] = tuple(value) if isinstance(value, list) else value
    inferred = kind == "datasets" and INFERRED in (checked["task"], checked["shape"])
    if inferred and checked["inspect"] is None and not problems:
        problems.append(
            f"task or shape {shown(INFERRED)} needs an inspect callable that works "
            "them out from the loader's parameters"
        )
    return checked, problems


def _param_problems(kind: str, factory: Callable[..., Any]) -> list[str]:
    """Hyperparameters without a default: the runner could never call the factory."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return []  # a builtin without a signature: nothing to read, nothing to check
    if kind == "models" and params:
        if params[0].kind in (params[0].VAR_POSITIONAL, params[0].VAR_KEYWORD):
            return [f"{factory_role(kind)} must take the ModelSpec as its first argument"]
        params = params[1:]  # the ModelSpec
    bare = [
        p.name
        for p in params
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if not bare:
        return []
    return [
        f"hyperparameter(s) {', '.join(bare)} of the {factory_role(kind)} have no default; "
        "give every keyword parameter a default"
    ]


def factory_role(kind: str) -> str:
    """What a kind's callable is called in messages: loader, builder or factory."""
    return {"datasets": "loader", "models": "builder", "presets": "factory"}[kind]


def _range_problems(kind: str, factory: Callable[..., Any], checked: dict[str, Any]) -> list[str]:
    """Ranges naming no hyperparameter, or excluding its default or its search space."""
    ranges = checked.get("ranges") or {}
    params = {p.name: p for p in read_params(factory, skip_first=kind == "models")}
    problems: list[str] = []
    for name, text in ranges.items():
        if name not in params:
            problems.append(f"ranges names {shown(name)}, which is not a hyperparameter")
            continue
        interval = parse_interval(text)
        reason = outside(interval, params[name].default)
        if reason and params[name].default is not None:
            problems.append(f"the default of {name} is outside its range: {reason}")
        space = (checked.get("search_space") or {}).get(name) or {}
        bounds = [space[k] for k in ("low", "high") if k in space] + list(space.get("choices", []))
        # Choices written as text ("32,16") are typed later, by the search; numbers are checked.
        if any(outside(interval, v) for v in bounds if not isinstance(v, str)):
            problems.append(f"search_space of {name} reaches outside its range {interval.text}")
    return problems


_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])\s*$")


@dataclass(frozen=True)
class Interval:
    """A closed, open or half-open interval of numbers."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool
    text: str

    def contains(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below


def parse_interval(text: Any) -> Interval:
    """Read ``"[0, 1)"`` into an Interval.

    Raises:
        ValueError: ``text`` is not an interval with a low bound not above the high one.
    """
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            f"expected an interval such as '[0, 1)' or '[1, inf)', received {shown(text)}"
        )
    opening, low_text, high_text, closing = match.groups()
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ValueError(f"the bounds of {shown(text)} must be numbers or inf") from None
    if math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"the low bound of {shown(text)} must not be above its high bound")
    return Interval(low, high, opening == "[", closing == "]", text.strip())


def is_ranges(value: Any) -> bool:
    """Whether ``value`` is a valid ``ranges`` keyword: hyperparameter name -> interval text."""
    if not isinstance(value, Mapping):
        return False
    try:
        for name, text in value.items():
            if not isinstance(name, str):
                return False
            parse_interval(text)
    except ValueError:
        return False
    return True


def outside(interval: Interval, value: Any) -> str:
    """Why ``value`` breaks ``interval``, or '' when every number in it lies inside."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    if not items:  # an empty list has no value in the range: hidden=() builds no hidden layer
        return f"expected at least one value in {interval.text}, received {shown(value)}"
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return f"expected numbers in {interval.text}, received {shown(value)}"
        if not interval.contains(item):
            return f"expected a value in {interval.text}, received {shown(value)}"
    return ""


def check_ranges(owner: str, ranges: Mapping[str, str] | None, values: Mapping[str, Any]) -> None:
    """Raise InvalidParameterError for a value outside the range its owner declares.

    Args:
        owner: who declares the ranges, for the message, e.g. "model 'mlp' (plugin 'zoo.mlp')".
        ranges: hyperparameter name -> interval text, as registered.
        values: the hyperparameters a run will use.
    """
    for name, text in (ranges or {}).items():
        if name not in values:
            continue
        reason = outside(parse_interval(text), values[name])
        if reason:
            raise InvalidParameterError(
                f"{owner}: hyperparameter {name}: {reason}. Pass a value inside the range "
                f"(e.g. --set {name}=...); 'zoo info' lists each range."
            )


_ARGS_LINE = re.compile(r"^\s{4,}(\w+)(?:\s*\([^)]*\))?:\s*(.+)$")


@dataclass(frozen=True)
class Param:
    """One keyword hyperparameter of a loader, builder or preset factory."""

    name: str
    default: Any
    annotation: str
    help: str = ""

    @property
    def type_name(self) -> str:
        return self.annotation or type(self.default).__name__

    def summary(self) -> str:
        return f"{self.name}: {self.type_name} = {shown(self.default)}"


def read_params(factory: Callable[..., Any], *, skip_first: bool = False) -> tuple[Param, ...]:
    """List the keyword parameters (with defaults) of ``factory``.

    Args:
        factory: a loader, builder or preset factory.
        skip_first: skip the first positional parameter (a builder's ``spec``).
    """
    helps = _docstring_args(inspect.getdoc(factory) or "")
    params = list(inspect.signature(factory).parameters.values())
    if skip_first and params:
        params = params[1:]
    return tuple(
        Param(p.name, p.default, _annotation_text(p.annotation), helps.get(p.name, ""))
        for p in params
        if p.default is not inspect.Parameter.empty
    )


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def _docstring_args(doc: str) -> dict[str, str]:
    """Map parameter names to their one-line help in a Google-style ``Args:`` section."""
    helps: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:"):
            in_args = True
            continue
        if in_args and line and not line.startswith(" "):
            break
        match = _ARGS_LINE.match(line) if in_args else None
        if match:
            helps[match.group(1)] = match.group(2).strip()
    return helps


def check_overrides(owner: str, params: tuple[Param, ...], overrides: Mapping[str, Any]) -> None:
    """Raise InvalidParameterError for a key that ``params`` does not declare."""
    known = {p.name for p in params}
    for key in overrides:
        if key not in known:
            valid = ", ".join(p.summary() for p in params) or "none"
            raise InvalidParameterError(
                f"{owner} has no hyperparameter {shown(key)}.{did_you_mean(key, known)} "
                f"Valid keys: {valid}."
            )
