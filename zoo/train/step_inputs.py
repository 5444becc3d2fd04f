"""What the compiled epoch loop's two halves share: arrays in, cast as ``fit`` casts them."""

from __future__ import annotations

import keras
import numpy as np

Arrays = tuple[np.ndarray, np.ndarray]


def floats_as_floatx(array: np.ndarray) -> np.ndarray:
    """Floating arrays in Keras's float type, as ``fit`` casts them; others unchanged."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(keras.config.floatx(), copy=False)
    return array
