"""Hyperparameters read off a factory's signature, and overrides checked against them."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zoo.core.errors import InvalidParameterError, did_you_mean

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
        return f"{self.name}: {self.type_name} = {self.default!r}"


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
                f"{owner} has no hyperparameter {key!r}.{did_you_mean(key, known)} "
                f"Valid keys: {valid}."
            )
