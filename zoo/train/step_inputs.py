"""What the compiled epoch loop's two halves share: arrays in, cast as ``fit`` casts them,
and class weights turned into per-row weights, as ``fit(class_weight=...)`` turns them."""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np

Arrays = tuple[np.ndarray, np.ndarray]


def floats_as_floatx(array: np.ndarray) -> np.ndarray:
    """Floating arrays in Keras's float type, as ``fit`` casts them; others unchanged."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(keras.config.floatx(), copy=False)
    return array


def row_weights(y: np.ndarray, class_weight: Mapping[int, float] | None) -> np.ndarray | None:
    """Each row's weight, its class's in ``class_weight`` (1 for a class it leaves out), in
    Keras's float type; None without class weights. Targets are class indices, or one-hot."""
    if not class_weight:
        return None
    y = np.asarray(y).reshape(len(y), -1)
    index = y.argmax(axis=1) if y.shape[1] > 1 else np.rint(y[:, 0]).astype("int64")
    size = max(max(class_weight) + 1, int(index.max(initial=0)) + 1)
    table = np.ones(size, keras.config.floatx())
    for label, weight in class_weight.items():
        table[label] = weight
    return table[index]
