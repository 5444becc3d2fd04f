"""The fast path for plain numeric CSV lines: pyarrow's C++ reader.

Plain means what most large files are: numbers only, no quotes, no empty lines, every row
as wide as the header. pyarrow parses such lines several times faster than NumPy's reader.
Anything else (a quote, text, a ragged row, a value pyarrow reads differently) is refused
here with None, and the careful parser of ``parse`` takes over: it finds and words every
problem with its line and column, exactly as before. Only the empty field is read as
missing (NaN), as the careful parser reads it; other spellings of "missing" that pyarrow
knows (``NA``, ``null``) are refused, so that they are reported as text in a numeric column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


ARROW_BLOCK_BYTES = 1 << 17


def arrow_numbers(lines: Sequence[str], delimiter: str, width: int) -> np.ndarray | None:
    """A (rows, width) float64 table of ``lines``, or None to send them to the careful path."""
    if not lines:
        return None
    text = "\n".join(lines)
    if '"' in text:
        return None
    try:
        import pyarrow as pa
        from pyarrow import csv
    except ImportError:  # pyarrow is optional: the careful path serves without it
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        table = csv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            # Small blocks, so that pyarrow's threads share even one 1 MiB batch of lines.
            read_options=csv.ReadOptions(
                column_names=names, use_threads=True, block_size=ARROW_BLOCK_BYTES
            ),
            parse_options=csv.ParseOptions(
                delimiter=delimiter, quote_char=False, ignore_empty_lines=False
            ),
            convert_options=csv.ConvertOptions(
                column_types={name: pa.float64() for name in names},
                null_values=[""],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    return _as_array(table)


def _as_array(table: object) -> np.ndarray:
    """The table's columns side by side; missing (null) values as NaN.

    Arrow joins the chunks and lays the columns out row by row in C++ (``to_tensor``);
    its other conversions (``to_numpy``, ``fill_null``) import pandas, a second of start-up
    and tens of megabytes for nothing here. Without ``to_tensor`` (older pyarrow) the
    columns are read from Arrow's buffers chunk by chunk.
    """
    import numpy as np

    batches = table.combine_chunks().to_batches()  # type: ignore[attr-defined]
    if len(batches) == 1 and hasattr(batches[0], "to_tensor"):
        try:
            return np.asarray(batches[0].to_tensor(null_to_nan=True, row_major=True))
        except TypeError:  # a pyarrow without these arguments
            pass
    columns = [
        np.concatenate([_chunk_values(chunk) for chunk in column.chunks])
        for column in table.columns  # type: ignore[attr-defined]
    ]
    return np.column_stack(columns) if columns else np.empty((0, 0))


def _chunk_values(chunk: object) -> np.ndarray:
    """One float64 chunk's values, NaN where the validity bitmap says null."""
    import numpy as np

    size, offset = len(chunk), chunk.offset  # type: ignore[arg-type, attr-defined]
    validity, data = chunk.buffers()  # type: ignore[attr-defined]
    values = np.frombuffer(data, dtype="float64", count=size, offset=offset * 8).copy()
    if chunk.null_count:  # type: ignore[attr-defined]
        bits = np.unpackbits(np.frombuffer(validity, dtype="uint8"), bitorder="little")
        values[~bits[offset : offset + size].astype(bool)] = np.nan
    return values
