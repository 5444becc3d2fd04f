"""What each column of a CSV file is for, decided once from a sample and shown to the user.

Roles: ``numeric`` and ``categorical`` columns feed the model; a ``date`` column is parsed
into year, month, day of week, day of year (and hour where times are given); an ``id``
column (unique per row, or a monotone whole-number key), free ``text`` (mostly distinct
values), a ``constant`` column and an ``ignored`` one (``--ignore``) are left out, each with
a one-line note. ``roles="COL:ROLE,..."`` forces a role. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from zoo.plugins.csv_files.parse import MISSING_NUMBER_WORDS

from zoo.plugin import did_you_mean

NUMERIC, CATEGORICAL, DATE = "numeric", "categorical", "date"
ID, TEXT, CONSTANT, IGNORED, TARGET = "id", "text", "constant", "ignored", "target"
USED = (NUMERIC, CATEGORICAL, DATE)
FORCEABLE = (NUMERIC, CATEGORICAL, DATE, ID, TEXT, "ignore")

# Spellings of a missing number (compared lower-case); an empty field is missing too.
MISSING_WORDS = frozenset(MISSING_NUMBER_WORDS)
MIN_ROWS_FOR_ID = 20  # fewer rows say too little about uniqueness
FREE_TEXT_SHARE = 0.5  # distinct values per filled row above which text is not a category
DATE_SHARE = 0.9
DATE_PARTS = ("year", "month", "weekday", "yearday")
_DATE = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_ID_WORDS = r"(id|key|index|uuid|row|rowid|unnamed)"
_ID_NAME = re.compile(  # a word of its own (customer_id, Row ID), or camel case (customerId)
    rf"(?i:(^|[_\s.:-]){_ID_WORDS}([_\s.:-]|$))|[a-z]Id$|[a-z]ID$"
)


@dataclass(frozen=True)
class ColumnRole:
    """One column's role and, when it is left out or changed, why (one line)."""

    name: str
    role: str
    note: str = ""
    parts: tuple[str, ...] = ()  # a date column's derived inputs

    @property
    def kind(self) -> str:
        """How the parser reads the column: "number", "text" or "skip" (not read)."""
        if self.role == NUMERIC:
            return "number"
        return "text" if self.role in (CATEGORICAL, DATE) else "skip"


def parse_choices(
    path: str, columns: Sequence[str], ignore: str, roles: str
) -> tuple[dict[str, str], list[str]]:
    """The forced roles of ``ignore`` and ``roles``, and every problem with them."""
    forced: dict[str, str] = {}
    problems: list[str] = []
    for name in _items(ignore):
        forced[name] = IGNORED
    for item in _items(roles):
        name, sep, role = item.rpartition(":")
        role = role.strip().lower()
        if not sep or role not in FORCEABLE:
            problems.append(
                f"roles: {item!r} is not COLUMN:ROLE with ROLE one of {', '.join(FORCEABLE)} "
                "(e.g. --set data.roles=zip:categorical)"
            )
            continue
        forced[name.strip()] = IGNORED if role == "ignore" else role
    for name in forced:
        if name not in columns:
            problems.append(
                f"no column {name!r} to leave out or give a role (--ignore / roles)."
                f"{did_you_mean(name, columns)}"
            )
    return forced, problems


def _items(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def decide(name: str, values: Sequence[str], forced: str | None, max_categories: int) -> ColumnRole:
    """The role of a feature column from its sampled values (raw fields)."""
    if forced == IGNORED:
        return ColumnRole(name, IGNORED, "left out (--ignore)")
    filled = [v for v in (value.strip() for value in values) if v]
    numbers = [v for v in filled if v.lower() not in MISSING_WORDS]
    if forced:
        parts = DATE_PARTS + ("hour",) if forced == DATE else ()
        return ColumnRole(
            name, forced, "" if forced in USED else f"left out (role {forced})", parts
        )
    if len(set(filled)) <= 1:
        only = f"{filled[0]!r} on every row" if filled else "empty on every row"
        return ColumnRole(name, CONSTANT, f"left out: {only}")
    if numbers and _mostly_numbers(numbers):
        return _numeric_role(name, numbers)
    return _text_role(name, filled, max_categories)


def _mostly_numbers(values: Sequence[str]) -> bool:
    count = sum(1 for value in values if _is_number(value))
    return 2 * count >= len(values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numeric_role(name: str, values: Sequence[str]) -> ColumnRole:
    """An integer key named like one (``id``, ``customer_id``, ``index``) that is unique per
    row is an ID; other numbers, unique or not, may well be measurements."""
    numbers = [float(v) for v in values if _is_number(v)]
    whole = all(n.is_integer() for n in numbers)
    unique = len(set(numbers)) == len(numbers) >= MIN_ROWS_FOR_ID
    if whole and unique and _ID_NAME.search(name):
        monotone = all(a < b for a, b in zip(numbers, numbers[1:], strict=False))
        why = "a row key counting up" if monotone else "unique per row, named like an ID"
        return ColumnRole(name, ID, f"left out: {why} (force it with roles={name}:numeric)")
    return ColumnRole(name, NUMERIC)


def _text_role(name: str, filled: Sequence[str], max_categories: int) -> ColumnRole:
    counts = Counter(filled)
    dates = [m for m in map(_DATE.match, filled) if m]
    if len(dates) >= DATE_SHARE * len(filled):
        parts = DATE_PARTS + (("hour",) if any(m.group(1) for m in dates) else ())
        return ColumnRole(name, DATE, f"parsed into {', '.join(parts)}", parts)
    if len(counts) == len(filled) >= MIN_ROWS_FOR_ID:
        return ColumnRole(
            name, ID, f"left out: unique per row (force with roles={name}:categorical)"
        )
    if len(counts) <= max_categories:
        return ColumnRole(name, CATEGORICAL)
    if len(counts) >= FREE_TEXT_SHARE * len(filled):
        return ColumnRole(
            name,
            TEXT,
            f"left out: free text ({len(counts):,} distinct values in {len(filled):,} rows)",
        )
    return ColumnRole(
        name,
        CATEGORICAL,
        f"{len(counts):,} categories: the {max_categories} most common kept, the rest share "
        "the unknown slot (--set data.max_categories=N)",
    )


def roles_table(roles: Sequence[ColumnRole]) -> list[dict[str, str]]:
    """JSON-ready rows of the roles, for ``zoo run --dry-run``, ``zoo info`` and the schema."""
    return [{"name": r.name, "role": r.role, "note": r.note} for r in roles]
