"""Hyperparameter ranges a plugin declares, written as intervals: ``"[0, 1)"``, ``"[1, inf)"``.

A plugin passes ``ranges={"dropout": "[0, 1)", "units": "[1, inf)"}`` to ``register(...)``;
every value a run gives that hyperparameter (each element, for a tuple such as ``hidden``) is
checked against its interval while the run is planned, before anything trains. A square
bracket includes the bound, a round one excludes it; ``inf`` and ``-inf`` leave a side open.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zoo.core.errors import InvalidParameterError

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
        raise ValueError(f"expected an interval such as '[0, 1)' or '[1, inf)', received {text!r}")
    opening, low_text, high_text, closing = match.groups()
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ValueError(f"the bounds of {text!r} must be numbers or inf") from None
    if math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"the low bound of {text!r} must not be above its high bound")
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
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return f"expected numbers in {interval.text}, received {value!r}"
        if not interval.contains(item):
            return f"expected a value in {interval.text}, received {value!r}"
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
