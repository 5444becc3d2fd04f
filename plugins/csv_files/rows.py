"""A streamed file's per-row split: a row's part (train / validation / test) is a hash of its
line number and the split seed, so the checking scan (``scan``) and the tf.data pipeline
(``pipeline``) agree on every row without storing an assignment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

TRAIN, VALIDATION, TEST = 0, 1, 2  # indices of PART_NAMES
# Multipliers of the 32-bit hash (MurmurHash3's finaliser).
GOLDEN, MIX1, MIX2 = 0x9E3779B1, 0x85EBCA6B, 0xC2B2AE35


@dataclass(frozen=True)
class RowSplit:
    """The split of a streamed file: fractions and seed, as for the in-memory split."""

    test_size: float
    validation_size: float
    seed: int

    @property
    def bounds(self) -> tuple[float, float]:
        """A row whose uniform hash u is below the first bound is test, below the second
        validation (a ``validation_size`` share of what is not test), else train."""
        return self.test_size, self.test_size + (1 - self.test_size) * self.validation_size


def row_hash(lines: np.ndarray, seed: int) -> np.ndarray:
    """A 32-bit hash of each line number (uint32 arithmetic wraps around)."""
    import numpy as np

    h = (lines.astype("uint64") & 0xFFFFFFFF).astype("uint32")
    h = (h * np.uint32(GOLDEN)) ^ np.uint32(seed & 0xFFFFFFFF)
    h ^= h >> np.uint32(16)
    h *= np.uint32(MIX1)
    h ^= h >> np.uint32(13)
    h *= np.uint32(MIX2)
    h ^= h >> np.uint32(16)
    return h


def part_of_lines(lines: np.ndarray, split: RowSplit) -> np.ndarray:
    """TRAIN, VALIDATION or TEST for each line number."""
    import numpy as np

    u = row_hash(lines, split.seed).astype("float64") / 2.0**32
    low, high = split.bounds
    return np.where(u < low, TEST, np.where(u < high, VALIDATION, TRAIN)).astype("uint8")
