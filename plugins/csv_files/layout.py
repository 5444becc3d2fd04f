"""A CSV file's layout, read from its header and a sample: columns, kinds, target and task.

Everything here reads only the top of the file (and a few probes further down) and imports
no TensorFlow, so a run is planned at once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from zoo.plugins.csv_files.columns import (
    CATEGORICAL,
    MISSING_WORDS,
    NUMERIC,
    TARGET,
    USED,
    ColumnRole,
    TargetSummary,
    decide,
    parse_choices,
)
from zoo.plugins.csv_files.parse import (
    check_widths,
    is_number,
    not_utf8,
    open_text,
    split_fields,
    where,
)

from zoo.plugin import MULTICLASS, REGRESSION, TASKS, DataError, did_you_mean, shown

SNIFF_LINES = 10_000  # rows read from the top of the file to tell column kinds and the task
PROBES, PROBE_BYTES = 16, 64 * 1024  # and samples across a larger file (sorted files)
OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class CsvLayout:
    """What sniffing found: the columns, their kinds and the task.

    Args:
        path: the file.
        delimiter: the field separator.
        columns: the header's column names.
        kinds: per column, "number", "text" (categories, dates) or "skip" (not read).
        target: index of the target column; None when reading prediction inputs.
        task: the task, forced or inferred from a sample of the target.
        task_inferred: whether ``task`` was inferred (and so must hold over the whole file).
        sampled_all: whether the sample was the whole file.
        roles: per column, its role (``columns.ColumnRole``); empty for prediction inputs.
    """

    path: str
    delimiter: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    target: int | None = None
    task: str = REGRESSION
    task_inferred: bool = False
    sampled_all: bool = True
    roles: tuple[ColumnRole, ...] = ()

    @property
    def features(self) -> list[int]:
        return [i for i, kind in enumerate(self.kinds) if i != self.target and kind != "skip"]

    @property
    def target_name(self) -> str:
        return self.columns[self.target] if self.target is not None else ""


# -- sniffing -----------------------------------------------------------------------------


# What a path that is not a regular file is, for the message (it is never read: a FIFO or
# /dev/zero would be read forever).
FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_readable(path: str) -> None:
    """Raise a one-line DataError unless ``path`` is a non-empty regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(
            f"{path}: no such file. Check the path (relative to {os.getcwd()})."
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in FILE_KINDS if test(mode)), "not a regular file")
        raise DataError(f"{path} is {kind}; expected a CSV file (a regular file).")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path} is empty: expected a header row, then one row per example.")


def sniff(
    path: str | None,
    target: str | None,
    task: str | None = None,
    delimiter: str = ",",
    ignore: str = "",
    roles: str = "",
    max_categories: int = 50,
) -> CsvLayout:
    """Read the header and a sample: column roles, the target and the task, cheaply.

    Raises:
        DataError: no file, empty, header only, wrong delimiter, no such target column,
            a ragged row in the sample, a task that cannot fit the target, unknown columns
            in ``ignore`` / ``roles``: every problem of the choices at once, one per line.
    """
    key = _sniff_key(path, target, task, delimiter, ignore, roles, max_categories)
    if key in _SNIFFED:
        return _SNIFFED[key]
    path = _checked_path(path)
    header, rows, sampled_all = _sample(path, delimiter)
    columns = _checked_header(path, header, delimiter)
    forced, problems = parse_choices(path, columns, ignore, roles)
    index = _target_index(path, columns, target, forced, problems)
    if problems:
        raise DataError(problem_lines(path, problems))
    if len(columns) < 2:
        raise DataError(f"{path}: only the target column {shown(columns[0])}; add feature columns.")
    found_roles = tuple(
        ColumnRole(name, TARGET)
        if i == index
        else decide(name, [row[i] for row in rows], forced.get(name), max_categories)
        for i, name in enumerate(columns)
    )
    values = [row[index] for row in rows]
    found_roles = tuple(
        _unless_leak(role, [row[i] for row in rows], values, role.name in forced)
        for i, role in enumerate(found_roles)
    )
    _check_some_feature(path, found_roles)
    kinds = tuple(
        _column_kind(values) if i == index else role.kind for i, role in enumerate(found_roles)
    )
    layout = CsvLayout(
        path, delimiter, columns, kinds, index, sampled_all=sampled_all, roles=found_roles
    )
    found = _with_task(layout, values, task)
    if key is not None:
        _SNIFFED.clear()  # one file at a time is what a run needs
        _SNIFFED[key] = found
    return found


MAX_PROBLEM_LINES = 10


def problem_lines(path: str, problems: list[str]) -> str:
    """One message for every problem found: one line each, capped."""
    if len(problems) == 1:
        return f"{path}: {problems[0]}"
    shown = problems[:MAX_PROBLEM_LINES]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more else ""
    return f"{path}: {len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in shown) + tail


def _target_index(
    path: str,
    columns: Sequence[str],
    target: str | None,
    forced: dict[str, str],
    problems: list[str],
) -> int:
    try:
        index = find_target(path, columns, target)
    except DataError as exc:
        problems.insert(0, str(exc).removeprefix(f"{path}: ").removeprefix(f"{path} "))
        return -1
    if columns[index] in forced:
        problems.append(
            f"{shown(columns[index])} is the target; it cannot be left out or given a role."
        )
    return index


MIN_ROWS_FOR_LEAK = 20


def _unless_leak(
    role: ColumnRole, column: Sequence[str], target: Sequence[str], forced: bool
) -> ColumnRole:
    """A feature that gives the target away on every sampled row (the target again in other
    units, or a code of its classes) is flagged: a model trained on it scores perfectly on
    the file and fails on any row that lacks it. It stays in (a teaching file's y = 2x is no
    leak); the note says how to leave it out."""
    if forced or role.role not in (NUMERIC, CATEGORICAL):
        return role
    pairs = [(c.strip(), t.strip()) for c, t in zip(column, target, strict=True)]
    pairs = [(c, t) for c, t in pairs if c and t]
    if len(pairs) < MIN_ROWS_FOR_LEAK or not _gives_away(pairs, role.role):
        return role
    return ColumnRole(
        role.name,
        role.role,
        f"gives the target away on every sampled row: a leak? If it would not be known when "
        f"predicting, leave it out (--ignore {role.name})",
    )


def _gives_away(pairs: list[tuple[str, str]], role: str) -> bool:
    import numpy as np

    classes = {t for _, t in pairs}
    if 1 < len(classes) <= MAX_LEAK_CLASSES:  # each value names one class, each class one value
        forward: dict[str, set[str]] = {}
        backward: dict[str, set[str]] = {}
        for c, t in pairs:
            forward.setdefault(c, set()).add(t)
            backward.setdefault(t, set()).add(c)
        if all(len(v) == 1 for v in (*forward.values(), *backward.values())):
            return True
    if role == CATEGORICAL:
        return False
    try:
        x, y = np.asarray(pairs, dtype="float64").T
    except ValueError:
        return False
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or x.std() == 0 or y.std() == 0:
        return False
    return abs(float(np.corrcoef(x, y)[0, 1])) > LEAK_CORRELATION


LEAK_CORRELATION = 0.9999
MAX_LEAK_CLASSES = 20


def _check_some_feature(path: str, roles: Sequence[ColumnRole]) -> None:
    if any(role.role in USED for role in roles):
        return
    left = "; ".join(f"{r.name}: {r.note}" for r in roles if r.role != TARGET)
    raise DataError(
        f"{path}: no column is left to learn from ({left}). Give columns a role "
        "(--set data.roles=COL:numeric) or add feature columns."
    )


# The last sniffed file's layout: planning and loading both sniff the same file in one run.
_SNIFFED: dict[tuple[Any, ...] | None, CsvLayout] = {}


def _sniff_key(path: str | None, *choices: Any) -> tuple[Any, ...] | None:
    """What a layout depends on, the file's size and modification time included; None
    (never cached) when the file cannot be read."""
    try:
        found = os.stat(os.fspath(path)) if path else None
    except (OSError, TypeError, ValueError):
        return None
    if found is None:
        return None
    given = os.fspath(path)  # type: ignore[arg-type]
    # The layout keeps the path as given (messages name it so): the same text from another
    # folder, or the same file by another path, is sniffed anew.
    where = os.path.abspath(given)
    return (given, where, found.st_mtime_ns, found.st_size, *choices)


def _checked_path(path: str | None) -> str:
    if not path:
        raise DataError(
            "The csv data set needs a file: --data PATH.csv --target COLUMN "
            "(or data_params path=...)."
        )
    path = os.fspath(path)
    check_readable(path)
    return path


def _sample(path: str, delimiter: str) -> tuple[list[str], list[list[str]], bool]:
    """The header, sample rows (the top, checked, then probes across the file), and
    whether the top was the whole file."""
    header_line, numbered = _head(path)
    if not header_line.strip():
        raise DataError(f"{where(path, 1)}: empty; the first line must be the header row.")
    header = split_fields(path, [header_line], delimiter)[0]
    if not numbered:
        raise DataError(
            f"{path} has a header row but no data rows; add one row per example below line 1."
        )
    rows = split_fields(path, [line for _, line in numbered], delimiter, [n for n, _ in numbered])
    if len(header) > 1 or not _other_delimiter(header_line, delimiter):
        rows = _even_sample(path, rows, numbered, len(header))
    sampled_all = len(numbered) < SNIFF_LINES
    probes = [] if sampled_all else _probe_rows(path, delimiter, len(header))
    return header, rows + probes, sampled_all


def _even_sample(
    path: str, rows: list[list[str]], numbered: list[tuple[int, str]], width: int
) -> list[list[str]]:
    """The sample's rows with one field per column. A few ragged rows are left to the full
    pass, which reports every one of them with the file's other problems; a sample mostly
    ragged (a wrong delimiter, a broken quote) is reported now."""
    even = [row for row in rows if len(row) == width]
    if len(rows) != len(numbered) or 2 * len(even) < len(rows):
        check_widths(path, rows, [n for n, _ in numbered], width, [x for _, x in numbered])
    return even


def _head(path: str) -> tuple[str, list[tuple[int, str]]]:
    numbered: list[tuple[int, str]] = []
    with open_text(path) as handle:
        try:
            header = handle.readline()
            for number, line in enumerate(handle, start=2):
                if line.strip():
                    numbered.append((number, line))
                if len(numbered) >= SNIFF_LINES:
                    break
        except UnicodeDecodeError as exc:
            raise not_utf8(path, None, exc) from None
    return header, numbered


def _probe_rows(path: str, delimiter: str, width: int) -> list[list[str]]:
    """Rows read at evenly spaced offsets of a large file, for a representative sample."""
    size = os.path.getsize(path)
    found: list[list[str]] = []
    with open(path, "rb") as handle:
        for k in range(1, PROBES + 1):
            handle.seek(size * k // (PROBES + 1))
            handle.readline()  # the rest of a line cut by the seek
            text = handle.read(PROBE_BYTES).decode("utf-8", errors="replace")
            lines = [line for line in text.splitlines()[:-1] if line.strip()]
            try:
                found += [r for r in split_fields(path, lines, delimiter) if len(r) == width]
            except DataError:
                continue  # a probe is only a hint; the full pass reports the line
    return found


def _other_delimiter(header_line: str, delimiter: str) -> str | None:
    return next((d for d in OTHER_DELIMITERS if d != delimiter and d in header_line), None)


def _checked_header(path: str, header: list[str], delimiter: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in header)
    if len(names) == 1:
        other = _other_delimiter(header[0], delimiter)
        if other:
            named = "tab" if other == "\t" else repr(other)
            raise DataError(
                f"{where(path, 1)}: the header has no {shown(delimiter)} but contains {named}; "
                f"keras-zoo reads comma-separated files. Re-save it with commas, or set the "
                f"delimiter (--set data.delimiter={shown(other)})."
            )
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{where(path, 1)}: column {i + 1} has no name; name every column.")
        if names.index(name) != i:
            raise DataError(
                f"{where(path, 1)}: the column name {shown(name)} appears twice (columns "
                f"{names.index(name) + 1} and {i + 1}); column names must be unique."
            )
    return names


def find_target(path: str, columns: Sequence[str], target: str | None) -> int:
    """The index of the target column.

    Raises:
        DataError: no target given, or no column of that name (close names suggested).
    """
    listing = ", ".join(c if len(c) <= 40 else f"{c[:40]}..." for c in columns[:12])
    listing += ", ..." if len(columns) > 12 else ""
    if not target:
        raise DataError(f"{path}: which column is the target? Pass --target, one of: {listing}.")
    if target in columns:
        return list(columns).index(target)
    folded = [c for c in columns if c.lower() == target.lower()]
    hint = f" Did you mean: {folded[0]}?" if folded else did_you_mean(target, columns)
    raise DataError(f"{path} has no column {shown(target)} (--target).{hint} Columns: {listing}.")


def _column_kind(values: Sequence[str]) -> str:
    """ "text" when most non-empty values are not numbers, else "number"."""
    filled = [v for v in (value.strip() for value in values) if v]
    filled = [v for v in filled if v.lower() not in MISSING_WORDS]
    if _all_numbers(filled):
        return "number"
    numeric = sum(1 for value in filled if is_number(value))
    return "text" if filled and 2 * numeric < len(filled) else "number"


def _all_numbers(values: Sequence[str]) -> bool:
    """Whether every value reads as a number; NumPy's C loop, the same rules as ``float``.

    The common case, and on a sample of tens of thousands of rows it saves a Python call
    per value.
    """
    import numpy as np

    try:
        np.asarray(values, dtype="float64")
    except ValueError:
        return False
    return True


# -- the task -----------------------------------------------------------------------------


def _with_task(layout: CsvLayout, values: list[str], task: str | None) -> CsvLayout:
    text = layout.kinds[layout.target] == "text"
    if task is not None:
        return replace(layout, task=_checked_forced_task(layout, values, task, text))
    summary = TargetSummary(text, track_labels=True)
    summary.add_strings(values)
    inferred = summary.inferred_task()
    if inferred is None and layout.sampled_all:
        summary.check_varies(layout)
    # One value in a sample of a large file: the whole file decides (see final_task).
    fallback = MULTICLASS if text else REGRESSION
    return replace(layout, task=inferred or fallback, task_inferred=True)


def _checked_forced_task(layout: CsvLayout, values: list[str], task: str, text: bool) -> str:
    if task not in TASKS:
        raise DataError(f"Unknown task {shown(task)}; expected one of {', '.join(TASKS)}.")
    if task == REGRESSION and text:
        example = next(v.strip() for v in values if v.strip() and not is_number(v))
        raise DataError(
            f"{where(layout.path, column=layout.target_name)}: --task regression needs "
            f"numbers, but the target holds text such as {shown(example)}. Use --task binary or "
            "multiclass, or another --target."
        )
    return task
