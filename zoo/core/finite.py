"""Numbers a model can train on: finite, and within float32, the precision training uses.

A value such as 1e300 is finite in float64 but becomes infinity once cast to float32, and
then every loss is NaN; so it is refused like NaN and infinities, before anything trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from zoo.core.errors import DataError

if TYPE_CHECKING:
    import numpy as np

FLOAT32_MAX = 3.4028234663852886e38


def unusable(values: np.ndarray) -> np.ndarray:
    """A mask of the entries that are NaN, infinite or beyond float32's range."""
    import numpy as np

    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        return ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)


def check_usable(
    what: str, values: np.ndarray, names: Sequence[str] = (), *, missing_ok: bool = False
) -> None:
    """Refuse ``values`` (rows first) holding NaN, infinities or numbers beyond float32.

    Args:
        what: how the message names the array, e.g. "Data set 'x': the features".
        values: the array, one row per example.
        names: the feature names, to say which column the first bad value is in.
        missing_ok: NaN is a missing value (tabular features: the model imputes it).

    Raises:
        DataError: how many values are unusable, and where the first one is.
    """
    import numpy as np

    bad = unusable(values)
    if missing_ok and bad.any():
        bad &= ~np.isnan(values)
    count = int(bad.sum())
    if not count:
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    column = ""
    if len(first) > 1:
        flat = int(np.ravel_multi_index(first[1:], bad.shape[1:]))
        column = f", column {names[flat]!r}" if flat < len(names) else f", column {flat}"
    raise DataError(
        f"{what}: {count} value(s) that are {'' if missing_ok else 'NaN, '}infinite or beyond "
        f"float32's range (±3.4e38); the first is in row {first[0]}{column}. Clean or "
        "rescale the data."
    )
