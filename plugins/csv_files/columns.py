"""What each column of a CSV file is for, decided once from a sample and shown to the user, and
what its target column holds: its kind, its distinct values, and so its task.

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
from typing import TYPE_CHECKING, Any, Protocol

from zoo.plugins.csv_files.parse import MISSING_NUMBER_WORDS, is_number, where

from zoo.plugin import BINARY, MULTICLASS, REGRESSION, DataError, did_you_mean, shown

if TYPE_CHECKING:
    import numpy as np


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
                f"roles: {shown(item)} is not COLUMN:ROLE with ROLE one of {', '.join(FORCEABLE)} "
                "(e.g. --set data.roles=zip:categorical)"
            )
            continue
        forced[name.strip()] = IGNORED if role == "ignore" else role
    for name in forced:
        if name not in columns:
            problems.append(
                f"no column {shown(name)} to leave out or give a role (--ignore / roles)."
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
        only = f"{shown(filled[0])} on every row" if filled else "empty on every row"
        return ColumnRole(name, CONSTANT, f"left out: {only}")
    if numbers and _mostly_numbers(numbers):
        return _numeric_role(name, numbers)
    return _text_role(name, filled, max_categories)


def _mostly_numbers(values: Sequence[str]) -> bool:
    count = sum(1 for value in values if is_number(value))
    return 2 * count >= len(values)


def _numeric_role(name: str, values: Sequence[str]) -> ColumnRole:
    """An integer key named like one (``id``, ``customer_id``, ``index``) that is unique per
    row is an ID; other numbers, unique or not, may well be measurements."""
    numbers = [float(v) for v in values if is_number(v)]
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


MAX_INFERRED_CLASSES = 20  # a whole-number target with more distinct values is regression
MAX_CLASSES = 10_000


class TargetColumn(Protocol):
    """What the task checks read of a file's layout (``layout.CsvLayout`` has it all)."""

    @property
    def path(self) -> str: ...

    @property
    def target_name(self) -> str: ...

    @property
    def task(self) -> str: ...

    @property
    def task_inferred(self) -> bool: ...


class TargetSummary:
    """What the task checks need to know about a target column, gathered chunk by chunk."""

    def __init__(self, text: bool, track_labels: bool) -> None:
        self.text = text
        self.track_labels = track_labels
        self.labels: set[Any] = set()
        self.whole = True  # every numeric value a whole number
        self.low = float("inf")
        self.high = float("-inf")

    def add_strings(self, values: Sequence[str]) -> None:
        """Add raw sample fields (numbers still as text)."""
        import numpy as np

        filled = [v.strip() for v in values if v.strip()]
        if self.text:
            self.add(np.asarray(filled, dtype=str))
        else:
            numbers = [float(v) for v in filled if is_number(v)]
            self.add(np.asarray(numbers, dtype="float64"))

    def add(self, values: np.ndarray) -> None:
        """Add parsed values: strings for a text target, float64 (NaN = missing) otherwise."""
        import numpy as np

        if not self.text:
            values = values[np.isfinite(values)]
            if not len(values):
                return
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))
            self.whole = self.whole and bool(np.all(values == np.floor(values)))
        else:
            values = values[values != ""]
        room = MAX_CLASSES + 1 - len(self.labels)  # enough to tell "too many", no more
        if self.track_labels and room > 0:
            self.labels.update(np.unique(values)[:room].tolist())

    def inferred_task(self) -> str | None:
        """The task the values suggest; None when they are all the same."""
        count = len(self.labels)
        if self.text:
            return None if count < 2 else BINARY if count == 2 else MULTICLASS
        if not self.low < self.high:
            return None
        if self.whole and count <= MAX_INFERRED_CLASSES:
            return BINARY if count == 2 else MULTICLASS
        return REGRESSION

    def check_varies(self, layout: TargetColumn) -> None:
        """Raise if the target has a single value (or no value at all)."""
        at = where(layout.path, column=layout.target_name)
        if self.text or layout.task != REGRESSION:
            if len(self.labels) < 2:
                only = f" ({shown(next(iter(self.labels)))})" if self.labels else ""
                raise DataError(
                    f"{at}: the target has a single class{only}; classification needs at "
                    "least two. Choose another --target."
                )
        elif not self.low < self.high:
            value = "empty" if self.low == float("inf") else f"{self.low:g}"
            raise DataError(
                f"{at}: the target is {value} on every row; there is nothing to learn. "
                "Choose another --target."
            )

    def final_task(self, layout: TargetColumn) -> str:
        """The task over the whole file, checked against the sniffed one.

        Raises:
            DataError: a constant target, a single class, a binary task with more than two
                classes, or a whole-file task that differs from the sampled one.
        """
        self.check_varies(layout)
        task = self._checked_forced(layout) if not layout.task_inferred else self._inferred(layout)
        if task != REGRESSION and len(self.labels) > MAX_CLASSES:
            raise DataError(
                f"{where(layout.path, column=layout.target_name)}: more than {MAX_CLASSES} "
                "classes; is this the right --target (or --task regression)?"
            )
        return task

    def _checked_forced(self, layout: TargetColumn) -> str:
        if layout.task == BINARY and len(self.labels) != 2:
            raise DataError(
                f"{where(layout.path, column=layout.target_name)}: --task binary needs "
                f"exactly 2 classes, the target has {len(self.labels)}. Use --task multiclass."
            )
        return layout.task

    def _inferred(self, layout: TargetColumn) -> str:
        task = self.inferred_task() or layout.task
        if task != layout.task:
            raise DataError(
                f"{where(layout.path, column=layout.target_name)}: the target looked "
                f"{layout.task} in a sample but is {task} over the whole file; pass --task "
                f"{task} (or the task you mean)."
            )
        return task
