"""What a CSV file's target column holds: its kind, its distinct values, and so its task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from zoo.plugins.csv_files.parse import is_number, where

from zoo.plugin import BINARY, MULTICLASS, REGRESSION, DataError

if TYPE_CHECKING:
    import numpy as np

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
                only = f" ({next(iter(self.labels))!r})" if self.labels else ""
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
