"""The search space: one dimension per searched hyperparameter (a range or a list of choices),
each checked when it is made, all before any trial runs.

Where a dimension comes from, strongest first: the space file (``--space``), the plugin's
``search_space`` (given to ``register(...)``), then the hyperparameter's own type and default.
A plugin that declares a ``search_space`` says which of its hyperparameters are worth
searching; the others keep their defaults unless the space file names them. Keys fixed with
``--set`` are never searched.

Space file (TOML), keys bare when only one of model / preset / run options has them::

    hidden = {choices = ["32,16", "64,32", "128,64"]}
    learning_rate = {low = 1e-4, high = 1e-2, log = true}
    model.dropout = {low = 0.0, high = 0.3}
    batch_size = 64                      # a plain value fixes the key
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.catalog.entries import Param, outside, parse_interval
from zoo.core.errors import InvalidParameterError, did_you_mean, shown
from zoo.plan.overrides import coerce, read_toml

if TYPE_CHECKING:
    from zoo import RunConfig
    from zoo.catalog.entries import Entry


SECTIONS = ("model", "preset", "run")
# Training options a trial may vary; batch_size is searched unless fixed, around the run's
# own: half, the same, twice and four times it (16 to 128 for the tutorial's 32).
RUN_OPTIONS = ("batch_size", "epochs", "patience", "reduce_lr")
BATCH_FACTORS = (0.5, 1, 2, 4)


def run_space(base: RunConfig) -> dict[str, dict[str, Any]]:
    """The run options searched by default: the batch size around ``base``'s."""
    batch = base.batch_size or 1
    return {"batch_size": {"choices": sorted({max(1, int(batch * f)) for f in BATCH_FACTORS})}}


@dataclass(frozen=True)
class Space:
    """Every dimension, and the values the unsearched keys keep."""

    dimensions: tuple[Dimension, ...]
    fixed: Mapping[str, Any]

    def sample(self, trial: Any) -> dict[str, Any]:
        return {d.key: d.suggest(trial) for d in self.dimensions}

    def defaults(self) -> dict[str, Any]:
        """The default configuration as Optuna params, where the defaults lie in the space."""
        return {
            d.key: label(d.param.default)
            for d in self.dimensions
            if d.param.default is not None and d.contains(d.param.default)
        }

    def typed(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna params (labels) back to typed values, for keys this space knows."""
        by_key = {d.key: d for d in self.dimensions}
        return {k: by_key[k].typed(v) if k in by_key else v for k, v in params.items()}


def apply(base: RunConfig, values: Mapping[str, Any]) -> RunConfig:
    """``base`` with ``{"model.hidden": ..., "run.batch_size": ...}`` values applied."""
    tables: dict[str, dict[str, Any]] = {
        "model": dict(base.model_params),
        "preset": dict(base.preset_params),
    }
    options: dict[str, Any] = {}
    for key, value in values.items():
        section, name = key.split(".", 1)
        if section == "run":
            options[name] = value
        else:
            tables[section][name] = value
    return replace(base, model_params=tables["model"], preset_params=tables["preset"], **options)


def read_space_file(path: str | Path) -> dict[str, Any]:
    """Read a space file's TOML (checked later, against the entries, by :func:`build_space`).

    Raises:
        InvalidParameterError: the file is missing, unreadable or not TOML.
    """
    return read_toml(path, "Space file")


def build_space(
    base: RunConfig,
    model: Entry,
    preset: Entry,
    overrides: Mapping[str, Any] | None = None,
    fixed_keys: frozenset[str] = frozenset(),
    where: str = "space file",
) -> Space:
    """Derive the space for a planned run, apply the space file, drop the keys fixed by --set.

    Args:
        base: the run every trial starts from (its values are the defaults).
        model, preset: the resolved entries; their ``search_space`` metadata and params.
        overrides: the space file's contents, ``{key: spec or fixed value}``.
        fixed_keys: ``section.name`` keys fixed with ``--set``.
        where: how errors name the overrides' origin.

    Raises:
        InvalidParameterError: an unknown key, a range for a text parameter, low above high,
            or another malformed specification; also for a plugin's own ``search_space``.
    """
    params = _section_params(base, model, preset)
    specs = {
        "model": _declared(model, params["model"]),
        "preset": _declared(preset, params["preset"]),
        "run": {k: (v, "built-in") for k, v in run_space(base).items()},
    }
    fixed: dict[str, Any] = {}
    for (section, name), spec in _located(overrides or {}, params, where).items():
        if isinstance(spec, Mapping):
            specs[section][name] = (spec, where)
        else:
            specs[section].pop(name, None)
            fixed[f"{section}.{name}"] = _fixed_value(params[section][name], spec)
    ranges = {"model": model.metadata.get("ranges"), "preset": preset.metadata.get("ranges")}
    dimensions = []
    for section in SECTIONS:
        for name, (spec, source) in specs[section].items():
            if f"{section}.{name}" in fixed_keys or spec is None:
                continue
            what = f"{source}: {section}.{name}"
            dimension = make_dimension(section, params[section][name], spec, source, what)
            check_limits(dimension, ranges.get(section) or {}, what)
            dimensions.append(dimension)
    return Space(tuple(dimensions), fixed)


FLOAT32_MAX = 3.4028234663852886e38  # what a model's weights and settings can hold


def check_limits(dimension: Dimension, ranges: Mapping[str, str], what: str) -> None:
    """Every value a dimension can give must be a finite float32 number, inside the range its
    plugin declares and, for run options, inside RunConfig's limits: else no trial could run.

    Raises:
        InvalidParameterError: a bound or choice outside them, named with ``what``.
    """
    from zoo.core.config import RunConfig

    name = dimension.param.name
    values = list(dimension.choices) if dimension.choices else [dimension.low, dimension.high]
    for value in [*values, *([dimension.step] if dimension.step is not None else [])]:
        typed = dimension.typed(value)
        for item in typed if isinstance(typed, (tuple, list)) else (typed,):
            if isinstance(item, float) and not (math.isfinite(item) and abs(item) <= FLOAT32_MAX):
                raise InvalidParameterError(
                    f"{what}: {shown(item)} is not a usable number; give finite bounds within "
                    f"float32 (at most {FLOAT32_MAX:.3g} either way)."
                )
    for value in values:
        typed = dimension.typed(value)
        reason = outside(parse_interval(ranges[name]), typed) if name in ranges else ""
        if reason:
            raise InvalidParameterError(
                f"{what}: {reason}, the range its plugin declares; keep the space inside it "
                "('zoo info' lists each range)."
            )
        if dimension.section == "run":
            try:
                RunConfig(model="-", data="-", **{name: typed})
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"{what}: {exc}") from None


def _section_params(base: RunConfig, model: Entry, preset: Entry) -> dict[str, dict[str, Param]]:
    def with_base(entry: Entry, values: Mapping[str, Any]) -> dict[str, Param]:
        # The base configuration's values (e.g. --set) are the defaults trials start from.
        return {
            p.name: replace(p, default=values.get(p.name, p.default)) if p.name in values else p
            for p in entry.params
        }

    run = {
        name: Param(name, getattr(base, name), "int" if name != "reduce_lr" else "bool")
        for name in RUN_OPTIONS
    }
    if run["patience"].default is None:
        run["patience"] = Param("patience", 20, "int")
    return {
        "model": with_base(model, base.model_params),
        "preset": with_base(preset, base.preset_params),
        "run": run,
    }


def _declared(entry: Entry, params: dict[str, Param]) -> dict[str, tuple[Any, str]]:
    """The plugin's declared space, or one derived from every parameter's type and default."""
    declared = entry.metadata.get("search_space")
    where = f"plugin {shown(entry.plugin)} ({entry.singular} {shown(entry.name)}) search_space"
    if declared is not None:
        for name in declared:
            if name not in params:
                raise InvalidParameterError(
                    f"{where}: {shown(entry.name)} has no hyperparameter {shown(name)}."
                    f"{did_you_mean(name, params)} Valid keys: {', '.join(params) or 'none'}."
                )
        return {name: (spec, f"plugin {entry.plugin}") for name, spec in declared.items()}
    ranges = entry.metadata.get("ranges") or {}
    derived = {
        name: within(derived_spec(param), ranges.get(name)) for name, param in params.items()
    }
    return {name: (spec, "derived") for name, spec in derived.items() if spec is not None}


def within(spec: dict[str, Any] | None, declared: str | None) -> dict[str, Any] | None:
    """A derived range clamped to the plugin's declared range (so no trial is refused at
    planning); None when nothing of it is left."""
    if spec is None or declared is None or "choices" in spec:
        return spec
    interval = parse_interval(declared)
    # Open bounds are nudged inwards by a relative step small enough not to matter.
    low = interval.low if interval.low_closed else interval.low + max(abs(interval.low), 1) * 1e-9
    high = (
        interval.high if interval.high_closed else interval.high - max(abs(interval.high), 1) * 1e-9
    )
    clamped = {**spec, "low": max(spec["low"], low), "high": min(spec["high"], high)}
    if isinstance(spec["low"], int):
        clamped["low"], clamped["high"] = math.ceil(clamped["low"]), math.floor(clamped["high"])
    return clamped if clamped["low"] <= clamped["high"] else None


def derived_spec(param: Param) -> dict[str, Any] | None:
    """A range or choices from a parameter's type and default; None when none can be guessed.

    A flag gets both values; a positive whole number four times either way (log scale); a
    positive float ten times either way (log scale). Text, sequences and zeros give no scale,
    so they keep their defaults unless a plugin or the space file says otherwise.
    """
    default = param.default
    if isinstance(default, bool):
        return {"choices": [False, True]}
    if isinstance(default, int) and default > 0:
        return {"low": max(1, default // 4), "high": default * 4, "log": True}
    if isinstance(default, float) and default > 0:
        return {"low": default / 10, "high": default * 10, "log": True}
    return None


def _located(
    overrides: Mapping[str, Any], params: dict[str, dict[str, Param]], where: str
) -> dict[tuple[str, str], Any]:
    """Each space-file key as (section, name): bare names, or model./preset./run. tables."""
    found: dict[tuple[str, str], Any] = {}
    for key, spec in overrides.items():
        if key in SECTIONS and isinstance(spec, Mapping) and key not in _all_names(params):
            for name, inner in spec.items():
                found[(key, _known(key, name, params, where))] = inner
        else:
            found[_locate_bare(key, params, where)] = spec
    return found


def _all_names(params: dict[str, dict[str, Param]]) -> set[str]:
    return {name for section in params.values() for name in section}


def _known(section: str, name: str, params: dict[str, dict[str, Param]], where: str) -> str:
    if name in params[section]:
        return name
    raise InvalidParameterError(
        f"{where}: unknown key {section}.{name}.{did_you_mean(name, params[section])} "
        f"Valid keys: {_listing(params)}."
    )


def _locate_bare(name: str, params: dict[str, dict[str, Param]], where: str) -> tuple[str, str]:
    owners = [section for section in SECTIONS if name in params[section]]
    if len(owners) == 1:
        return owners[0], name
    if owners:
        options = " or ".join(f"{s}.{name}" for s in owners)
        raise InvalidParameterError(f"{where}: key {shown(name)} is ambiguous; write {options}.")
    raise InvalidParameterError(
        f"{where}: unknown key {shown(name)}.{did_you_mean(name, _all_names(params))} "
        f"Valid keys: {_listing(params)}."
    )


def _listing(params: dict[str, dict[str, Param]]) -> str:
    return ", ".join(f"{s}.{p.summary()}" for s in SECTIONS for p in params[s].values())


def _fixed_value(param: Param, value: Any) -> Any:
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return coerce(param, text)


SPEC_KEYS = ("low", "high", "log", "step", "choices")


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: a numeric range or a list of choices."""

    section: str
    param: Param
    source: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.section}.{self.param.name}"

    @property
    def is_int(self) -> bool:
        default = self.param.default
        return isinstance(default, int) and not isinstance(default, bool)

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for a value; returns it typed like the default."""
        if self.choices:
            return self.typed(trial.suggest_categorical(self.key, list(self.choices)))
        if self.is_int:
            step = int(self.step or 1)
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), step=step, log=self.log
            )
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    def typed(self, value: Any) -> Any:
        """A stored value (a choice label such as "64,32") as the hyperparameter's type."""
        if isinstance(self.param.default, (tuple, list)) and isinstance(value, str):
            return coerce(self.param, value)
        return value

    def contains(self, value: Any) -> bool:
        if self.choices:
            return label(value) in self.choices
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def describe(self) -> str:
        if self.choices:
            return f"{self.key}: one of {', '.join(map(str, self.choices))} ({self.source})"
        scale = ", log" if self.log else ""
        return f"{self.key}: {self.low:g} .. {self.high:g}{scale} ({self.source})"


def make_dimension(section: str, param: Param, spec: Any, source: str, what: str) -> Dimension:
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidParameterError(
            f"{what}: expected {{low = ..., high = ...}} or {{choices = [...]}}; received "
            f"{shown(spec)}."
        )
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise InvalidParameterError(
            f"{what}: unknown field {shown(unknown[0])}; a range takes low, high, log and step, "
            "a list takes choices."
        )
    if "choices" in spec:
        return _choice_dimension(section, param, spec, source, what)
    return _range_dimension(section, param, spec, source, what)


def _choice_dimension(
    section: str, param: Param, spec: Mapping[str, Any], source: str, what: str
) -> Dimension:
    choices = spec["choices"]
    if set(spec) != {"choices"}:
        raise InvalidParameterError(f"{what}: give either choices or low/high, not both.")
    if not isinstance(choices, (list, tuple)) or not choices:
        raise InvalidParameterError(
            f"{what}: choices must be a non-empty list; received {shown(choices)}."
        )
    labels = tuple(label(_typed_choice(param, c, what)) for c in choices)
    return Dimension(section, param, source, choices=tuple(dict.fromkeys(labels)))


def _typed_choice(param: Param, choice: Any, what: str) -> Any:
    """A choice checked against the parameter's type (text for sequences, e.g. "64,32")."""
    if isinstance(choice, (list, tuple)):
        choice = ",".join(map(str, choice))
    if isinstance(choice, str) and not isinstance(param.default, str):
        try:
            return coerce(param, choice)
        except InvalidParameterError:
            raise InvalidParameterError(
                f"{what}: choice {shown(choice)} is not a {param.type_name} (default "
                f"{shown(param.default)})."
            ) from None
    default = param.default
    if default is not None and not _same_kind(default, choice):
        raise InvalidParameterError(
            f"{what}: choice {shown(choice)} is not a {param.type_name} (default {shown(default)})."
        )
    return choice


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and (
            isinstance(default, float) or value == int(value)
        )
    return isinstance(value, type(default))


def _range_dimension(
    section: str, param: Param, spec: Mapping[str, Any], source: str, what: str
) -> Dimension:
    default = param.default
    numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
    if not numeric:
        kind = "text" if isinstance(default, str) else param.type_name
        raise InvalidParameterError(
            f"{what}: a range (low/high) needs a number, but {param.name} is a {kind} "
            f"parameter (default {shown(default)}); list its values with choices = [...] instead."
        )
    low, high = spec.get("low"), spec.get("high")
    for side, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise InvalidParameterError(
                f"{what}: {side} must be a number; received {shown(bound)}."
            )
    if low > high:
        raise InvalidParameterError(
            f"{what}: low must not be above high; received low={shown(low)}, high={shown(high)}."
        )
    log = spec.get("log", False)
    if not isinstance(log, bool) or (log and low <= 0):
        raise InvalidParameterError(
            f"{what}: log must be true or false, and a log range needs low above 0; "
            f"received low={shown(low)}, log={shown(log)}."
        )
    if isinstance(default, int) and not (float(low).is_integer() and float(high).is_integer()):
        raise InvalidParameterError(
            f"{what}: {param.name} is a whole number; received low={shown(low)}, "
            f"high={shown(high)}."
        )
    step = spec.get("step")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 or log
    ):
        raise InvalidParameterError(
            f"{what}: step must be a positive number, and cannot go with log; received "
            f"{shown(step)}."
        )
    return Dimension(section, param, source, low=low, high=high, log=log, step=step)


def label(value: Any) -> Any:
    """A value as Optuna stores it: a sequence becomes its "a,b" text."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return value
