"""Fields as NumPy text arrays without letting one very long field take all the memory.

A NumPy text array is fixed-width: every cell is as wide as the longest, so one field of
300,000 characters in a batch of 5,000 rows would ask for gigabytes. Only the columns used
are turned into arrays (an ignored free-text column costs nothing), a long field in a numeric
column is shortened to the number it spells (or to a short text the numeric check then
refuses), and a text value too long to be a category is refused with its line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from zoo.plugin import DataError, shown

if TYPE_CHECKING:
    import numpy as np

SHORT = 64  # a number written with more characters is rewritten before it goes in an array
MAX_TEXT = 1_000  # longest value a text (category) column may hold


def column_table(
    path: str,
    rows: list[list[str]],
    indices: Sequence[int],
    names: Sequence[str],
    numbers: Sequence[int],
    numeric: bool,
) -> np.ndarray:
    """The ``indices`` columns of ``rows`` as a (rows, columns) text array of bounded width.

    Raises:
        DataError: a text value longer than MAX_TEXT characters (with line and column).
    """
    import numpy as np

    picked = [[row[i] for i in indices] for row in rows]
    for r, values in enumerate(picked):
        for c, value in enumerate(values):
            if len(value) > SHORT:
                values[c] = _shortened(path, value, names[c], numbers[r], numeric)
    return np.array(picked, dtype=str).reshape(len(rows), len(indices))


def _shortened(path: str, value: str, name: str, line: int, numeric: bool) -> str:
    where = f"{path}, line {line}, column {shown(name)}"
    if not numeric:
        if len(value) <= MAX_TEXT:
            return value
        raise DataError(
            f"{where}: a text value of {len(value):,} characters ({value[:40]!r}...); a "
            f"category holds at most {MAX_TEXT:,}. Shorten the values or drop the column."
        )
    try:
        return repr(float(value))
    except ValueError:
        # Still no number, now short: the numeric check reports it in file order.
        return f"{value[:30]}... ({len(value):,} characters)"  # within SHORT, shown whole
