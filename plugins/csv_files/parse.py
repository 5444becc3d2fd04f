"""Reading a CSV file in chunks of lines and parsing them into NumPy arrays, with every
problem reported as one line naming the file, the line and the column.

Lines are numbered as an editor shows them (the header is line 1); blank lines are skipped
but keep their numbers. Fields cannot hold line breaks, so a line is a row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from zoo.plugins.csv_files.wide import column_table

from zoo.plugin import DataError, shown

if TYPE_CHECKING:
    import numpy as np

QUOTE = '"'
# Spellings of a missing number (lower case), read as NaN like an empty field.
MISSING_NUMBER_WORDS = ("na", "n/a", "nan", "null", "none", "?", "-", ".", "#n/a", "missing")


def where(path: str, line: int | None = None, column: str | None = None) -> str:
    """``path, line 7, column 'age'``: the start of an error message."""
    text = str(path)
    if line is not None:
        text += f", line {line}"
    if column is not None:
        text += f", column {shown(column)}"
    return text


def open_text(path: str) -> IO[str]:
    """Open for reading as UTF-8; a byte-order mark (BOM) is dropped."""
    try:
        return open(path, encoding="utf-8-sig", newline=None)  # noqa: SIM115 - caller closes
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}).") from None


def not_utf8(path: str, line: int | None, exc: UnicodeDecodeError) -> DataError:
    """The error for a byte that is not UTF-8, on ``line``; None: a text reader failed a
    buffer ahead of it, and the byte blocks find it (the header, line 1, if they do not)."""
    if line is None:
        for _ in line_batches(path):
            pass  # raises this error with the line
    return DataError(
        f"{path}: not UTF-8 text on line {line or 1} ({exc.reason}); save the file as UTF-8 CSV."
    )


FIELD_LIMIT = 1 << 30  # the csv module's default (128 KiB) refuses long text fields


def split_fields(
    path: str, lines: Sequence[str], delimiter: str, numbers: Sequence[int] = ()
) -> list[list[str]]:
    """Split lines into fields, honouring double quotes as the csv module does.

    Args:
        path, lines, delimiter: the file, its lines, the field separator.
        numbers: the lines' numbers in the file, to say where an unreadable line is.

    Raises:
        DataError: a line the csv module cannot read (a stray carriage return, a NUL byte).
    """
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    try:
        return list(csv.reader(lines, delimiter=delimiter, quotechar=QUOTE))
    except csv.Error as exc:
        line = _unreadable_line(lines, delimiter, numbers)
        raise DataError(
            f"{where(path, line)}: not readable as CSV ({exc}); check the line endings and "
            "the quotes."
        ) from None


def _unreadable_line(lines: Sequence[str], delimiter: str, numbers: Sequence[int]) -> int | None:
    """The number of the first line the csv module cannot read on its own."""
    for line, number in zip(lines, numbers, strict=False):
        try:
            list(csv.reader([line], delimiter=delimiter, quotechar=QUOTE))
        except csv.Error:
            return int(number)
    return None


BLOCK_BYTES = 1 << 20  # about 5,000 lines of 200 characters per block


@dataclass(frozen=True)
class Block:
    """Where a block of whole lines lies in a file: its first line number and byte range."""

    first_line: int
    offset: int
    size: int


def byte_blocks(path: str, size: int = BLOCK_BYTES) -> Iterator[tuple[Block, bytes]]:
    """The file after its header in blocks of whole lines (see :func:`read_block`).

    Splitting bytes in C is many times faster than reading a line at a time. The streamed
    training pipeline re-reads the blocks the scan saw, so both count lines alike.
    """
    with open(path, "rb") as handle:
        offset = len(handle.readline())
        line, rest = 2, b""
        while data := handle.read(size):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut:
                text = normalised(data[:cut])
                yield Block(line, offset, cut), text
                line, offset = line + text.count(b"\n"), offset + cut
            rest = data[cut:]
        if rest.strip():
            yield Block(line, offset, len(rest)), normalised(rest)


def read_block(path: str, block: Block) -> bytes:
    """The lines of ``block``, as :func:`byte_blocks` gave them."""
    with open(path, "rb") as handle:
        handle.seek(block.offset)
        return normalised(handle.read(block.size))


def normalised(raw: bytes) -> bytes:
    """Lines ending in ``\\n`` only (Windows line endings converted, the last one added)."""
    raw = raw.replace(b"\r\n", b"\n") if b"\r" in raw else raw
    return raw if raw.endswith(b"\n") else raw.rstrip(b"\r") + b"\n"


@dataclass
class LineBatch:
    """Non-blank lines of a file with their line numbers."""

    numbers: np.ndarray  # int64
    lines: list[str]
    block: Block | None = None


def line_batches(path: str, size: int = BLOCK_BYTES) -> Iterator[LineBatch]:
    """The data lines after the header, about ``size`` bytes at a time; blank lines skipped."""
    import numpy as np

    for block, raw in byte_blocks(path, size):
        first = block.first_line
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise not_utf8(path, first + raw.count(b"\n", 0, exc.start), exc) from None
        lines = text.split("\n")[:-1]
        numbers = np.arange(first, first + len(lines), dtype="int64")
        if "" in lines or any(map(str.isspace, lines)):
            # ASCII whitespace only, as bytes.strip in the tf.data pipeline: both skip the same
            # lines.
            kept = [i for i, line in enumerate(lines) if line.strip(" \t\r\x0b\x0c")]
            numbers, lines = numbers[kept], [lines[i] for i in kept]
        if lines:
            yield LineBatch(numbers, lines, block)


@dataclass
class RawChunk:
    """One batch of rows as arrays: numeric columns as float64, text columns as str."""

    lines: np.ndarray  # int64 line numbers, one per row
    numbers: np.ndarray  # (rows, numeric columns), NaN where a field was empty
    texts: np.ndarray  # (rows, text columns), whitespace stripped
    block: Block | None = None  # where in the file the rows are


def parse_batch(
    path: str,
    batch: LineBatch,
    columns: Sequence[str],
    kinds: Sequence[str],
    delimiter: str,
    problems: Problems | None = None,
) -> RawChunk:
    """Parse a batch of lines whose columns have the given kinds ("number", "text", "skip").

    With ``problems``, a ragged row is recorded there and left out, and a field of a numeric
    column that is not a number is recorded and read as missing; without, they raise.

    Raises:
        DataError: a row with the wrong number of fields, or text in a numeric column.
    """
    import numpy as np

    lines = np.asarray(batch.numbers, dtype="int64")
    if all(kind == "number" for kind in kinds):
        table = _fast_numbers(batch.lines, delimiter, len(columns))
        if table is not None:
            table = _infinities_missing(table)
            return RawChunk(lines, table, np.empty((len(lines), 0), dtype=str), batch.block)
    rows = split_fields(path, batch.lines, delimiter, batch.numbers)
    if problems is None:
        check_widths(path, rows, batch.numbers, len(columns), batch.lines)
    else:
        rows, lines = _even_rows(path, rows, lines, len(columns), batch.lines, problems)
    numeric = [i for i, kind in enumerate(kinds) if kind == "number"]
    text = [i for i, kind in enumerate(kinds) if kind == "text"]
    names = [columns[i] for i in numeric]
    table = column_table(path, rows, numeric, names, lines, numeric=True)
    numbers = _infinities_missing(to_numbers(path, table, names, lines, problems))
    texts = column_table(path, rows, text, [columns[i] for i in text], lines, False)
    return RawChunk(lines, numbers, np.char.strip(texts), batch.block)


def _infinities_missing(table: np.ndarray) -> np.ndarray:
    """``inf`` in a file is no measurement: read as missing, like an empty field."""
    import numpy as np

    infinite = np.isinf(table)
    if infinite.any():
        table[infinite] = np.nan
    return table


def _even_rows(
    path: str,
    rows: list[list[str]],
    lines: np.ndarray,
    width: int,
    texts: Sequence[str],
    problems: Problems,
) -> tuple[list[list[str]], np.ndarray]:
    """The rows with ``width`` fields; the others recorded as problems."""
    if len(rows) != len(lines):
        check_widths(path, rows, lines, width, texts)  # a quote over a line break: fatal
    even = [i for i, row in enumerate(rows) if len(row) == width]
    if len(even) == len(rows):
        return rows, lines
    for i in (i for i, row in enumerate(rows) if len(row) != width):
        problems.add(
            "ragged",
            int(lines[i]),
            f"{len(rows[i])} fields, but the header has {width} columns; every row needs one "
            "value per column (look for a stray or missing delimiter)",
        )
    return [rows[i] for i in even], lines[even]


class Problems:
    """Problems of a file's rows, gathered over the whole file: one line per kind (and
    column), with how often it occurs and where it occurs first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.found: dict[str, list[object]] = {}  # key -> [count, first line, message]
        # Not a problem: numeric columns where a missing value is spelled out (NA, null),
        # which the streamed reader must read as text first.
        self.spelled_missing: set[str] = set()

    def add(
        self, key: str, line: int, message: str, count: int = 1, column: str | None = None
    ) -> None:
        if key in self.found:
            self.found[key][0] = int(self.found[key][0]) + count  # type: ignore[call-overload]
        else:
            self.found[key] = [count, where("", line, column).lstrip(", "), message]

    def lines(self) -> list[str]:
        """One line per problem: ``line 7, column 'a': ... (3 in all)``."""
        return [self.line(key) for key in self.found]

    def line(self, key: str) -> str:
        count, place, message = self.found[key]
        many = int(count) > 1  # type: ignore[call-overload]
        return f"{place}: {message}{f' ({count:,} in all)' if many else ''}."


def _fast_numbers(lines: list[str], delimiter: str, width: int) -> np.ndarray | None:
    """pyarrow's or NumPy's C parser for an all-numeric batch; None sends the batch to the
    careful path."""
    import numpy as np
    from zoo.plugins.csv_files.arrow_parse import arrow_numbers

    table = arrow_numbers(lines, delimiter, width)
    if table is not None:
        return table
    try:
        table = np.loadtxt(
            lines, delimiter=delimiter, dtype="float64", comments=None, quotechar=QUOTE, ndmin=2
        )
    except ValueError:
        return None  # an empty field, text or a ragged row: located precisely by the slow path
    return table if table.shape[1] == width else None


def check_widths(
    path: str,
    rows: list[list[str]],
    numbers: Sequence[int],
    width: int,
    lines: Sequence[str] = (),
) -> None:
    """Raise for the first row whose field count is not ``width``.

    Raises:
        DataError: a quoted field that runs over a line break (on the line where its quote
            opens), or a row with the wrong number of fields.
    """
    if len(rows) != len(numbers):
        # A line with an odd number of quotes opens a field that the line does not close.
        odd = [n for n, line in zip(numbers, lines, strict=False) if line.count(QUOTE) % 2]
        line = int(odd[0]) if odd else int(numbers[0])
        raise DataError(
            f"{where(path, line)}: a quoted field runs over a line break (its quote opens on "
            "this line and does not close); fields cannot hold line breaks. Check the quotes."
        )
    for row, line in zip(rows, numbers, strict=True):
        if len(row) != width:
            raise DataError(
                f"{where(path, line)}: {len(row)} fields, but the header has {width} columns; "
                "every row needs one value per column (look for a stray or missing "
                "delimiter)."
            )


def to_numbers(
    path: str,
    table: np.ndarray,
    names: Sequence[str],
    numbers: Sequence[int],
    problems: Problems | None = None,
) -> np.ndarray:
    """Convert text fields to float64; empty fields and spellings of a missing value (NA,
    null, ?, ...) become NaN.

    Raises:
        DataError: without ``problems``, the first field (in file order) that is not a
            number; with it, every such field is recorded there and read as missing.
    """
    import numpy as np

    cleaned = np.char.strip(table)
    cleaned[cleaned == ""] = "nan"
    try:
        return cleaned.astype("float64")  # the common case: numbers and empty fields
    except ValueError:
        pass
    lowered = np.char.lower(cleaned)
    missing = np.isin(lowered, MISSING_NUMBER_WORDS)
    if problems is not None:  # "nan" itself parses everywhere; NA, null, ... do not
        spelled = (missing & (lowered != "nan")).any(axis=0)
        problems.spelled_missing.update(n for n, s in zip(names, spelled, strict=True) if s)
    cleaned[missing] = "nan"
    try:
        return cleaned.astype("float64")
    except ValueError:
        if problems is not None:
            return _numbers_noting(cleaned, names, numbers, problems)
        row, column = _first_non_number(cleaned)
        raise DataError(
            f"{where(path, numbers[row], names[column])}: {_shown(table[row, column])} is not a "
            "number, but the column holds numbers. Fix or remove that value."
        ) from None


def _numbers_noting(
    cleaned: np.ndarray, names: Sequence[str], numbers: Sequence[int], problems: Problems
) -> np.ndarray:
    """Column by column: the numbers, with every field that is not one recorded."""
    import numpy as np

    found = np.full(cleaned.shape, np.nan)
    for column, name in enumerate(names):
        values = cleaned[:, column]
        try:
            found[:, column] = values.astype("float64")
            continue
        except ValueError:
            pass
        bad = np.array([not is_number(v) for v in values])
        row = int(np.argmax(bad))
        problems.add(
            f"number:{name}",
            int(numbers[row]),
            f"{_shown(values[row])} is not a number, but the column holds numbers; fix such "
            f"values, or read the column as categories (--set data.roles={name}:categorical)",
            int(bad.sum()),
            name,
        )
        found[~bad, column] = values[~bad].astype("float64")
    return found


def _first_non_number(table: np.ndarray) -> tuple[int, int]:
    for row, values in enumerate(table):
        for column, value in enumerate(values):
            if not is_number(value):
                return row, column
    raise AssertionError("astype failed, yet every field parses")  # pragma: no cover


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


FLOAT32_MAX = 3.4028234663852886e38  # finite in float64 beyond this, infinite in float32


class MissingValues:
    """Counts empty, NaN and infinite values over a whole file, keeping the first; and,
    apart, values too large for float32 (training's precision), which would become inf."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self.first: tuple[int, str] | None = None
        self.too_large: MissingValues | None = None

    def add(self, values: np.ndarray, lines: np.ndarray, names: Sequence[str]) -> None:
        """Record the non-finite entries of ``values`` (rows x ``names``), and those beyond
        float32's range."""
        import numpy as np

        bad = ~np.isfinite(values)
        self.add_mask(bad, lines, names)
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) > FLOAT32_MAX
        if huge.any():
            self.too_large = self.too_large or MissingValues(self.path)
            self.too_large.add_mask(huge, lines, names)

    def add_mask(self, bad: np.ndarray, lines: np.ndarray, names: Sequence[str]) -> None:
        import numpy as np

        found = int(bad.sum())
        if not found:
            return
        if self.first is None:
            row, column = np.argwhere(bad)[0]
            self.first = (int(lines[row]), names[column])
        self.count += found

    def check(self) -> None:
        """Raise if any value was missing, non-finite or too large for float32."""
        if self.first is None:
            if self.too_large is not None and self.too_large.first is not None:
                line, column = self.too_large.first
                raise DataError(
                    f"{self.path}: {self.too_large.count} value(s) too large for float32 "
                    f"(beyond ±3.4e38, they would become infinite in training); the first is on "
                    f"line {line}, column {shown(column)}. Rescale that column or drop those rows."
                )
            return
        line, column = self.first
        raise DataError(
            f"{self.path}: {self.count} missing or non-finite value(s) (empty, NaN or inf); "
            f"the first is on line {line}, column {shown(column)}. Fill them in or drop those rows."
        )


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes: a streamed file's fingerprint."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown(value: object, limit: int = 64) -> str:
    """A field as an error message quotes it: cut short, so a long field keeps it one line."""
    text = str(value)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"
