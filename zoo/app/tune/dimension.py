"""One searched hyperparameter, a range or a list of choices, checked when it is made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zoo.core.errors import InvalidParameterError
from zoo.core.params import Param
from zoo.plan.overrides import coerce

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
            f"{what}: expected {{low = ..., high = ...}} or {{choices = [...]}}; received {spec!r}."
        )
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise InvalidParameterError(
            f"{what}: unknown field {unknown[0]!r}; a range takes low, high, log and step, "
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
            f"{what}: choices must be a non-empty list; received {choices!r}."
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
                f"{what}: choice {choice!r} is not a {param.type_name} (default {param.default!r})."
            ) from None
    default = param.default
    if default is not None and not _same_kind(default, choice):
        raise InvalidParameterError(
            f"{what}: choice {choice!r} is not a {param.type_name} (default {default!r})."
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
            f"parameter (default {default!r}); list its values with choices = [...] instead."
        )
    low, high = spec.get("low"), spec.get("high")
    for side, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise InvalidParameterError(f"{what}: {side} must be a number; received {bound!r}.")
    if low > high:
        raise InvalidParameterError(
            f"{what}: low must not be above high; received low={low!r}, high={high!r}."
        )
    log = spec.get("log", False)
    if not isinstance(log, bool) or (log and low <= 0):
        raise InvalidParameterError(
            f"{what}: log must be true or false, and a log range needs low above 0; "
            f"received low={low!r}, log={log!r}."
        )
    if isinstance(default, int) and not (float(low).is_integer() and float(high).is_integer()):
        raise InvalidParameterError(
            f"{what}: {param.name} is a whole number; received low={low!r}, high={high!r}."
        )
    step = spec.get("step")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0 or log
    ):
        raise InvalidParameterError(
            f"{what}: step must be a positive number, and cannot go with log; received {step!r}."
        )
    return Dimension(section, param, source, low=low, high=high, log=log, step=step)


def label(value: Any) -> Any:
    """A value as Optuna stores it: a sequence becomes its "a,b" text."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return value
