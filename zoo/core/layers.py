"""The Keras layers a saved tabular model carries so that it takes raw rows.

:class:`TabularPreparation` turns raw input columns (numbers with NaN for a missing value,
category codes, see ``zoo.core.schema``) into what a network can learn from, with statistics
fitted on the training part only; :class:`TargetScale` gives a regression model's outputs back
in the target's own units. Both are written with ``keras.ops`` alone, so a model trains on
every backend (Keras's ``StringLookup`` / ``IntegerLookup`` / ``Hashing`` run on TensorFlow
only), and both are registered as serializable, so a run's model reloads in safe mode.

Importing this module imports Keras: only code that is about to build or load a model does.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

PACKAGE = "zoo"


@keras.saving.register_keras_serializable(package=PACKAGE)
class TabularPreparation(keras.layers.Layer):
    """Impute, flag, standardize and one-hot encode raw tabular columns.

    Per numeric column: a missing value (NaN) becomes ``fill`` (the training median), a
    column that had missing values in training gets a 0/1 indicator column, and the value is
    standardized as Keras's ``Normalization`` does. A column constant in training is
    multiplied by 0: it taught the model nothing, so no later value of it can move the
    output (dividing by its ~0 deviation would). Per categorical column: the code's slot
    among the categories seen in training, one-hot; a code never seen in training (a
    category only in the test rows, or new at prediction) falls in the out-of-vocabulary
    bucket, encoded as all zeros.

    Args:
        numeric: input column indices of the numeric columns.
        mean, variance, fill: per numeric column, from the training rows.
        keep: per numeric column, 1.0, or 0.0 for a column constant in training.
        indicate: positions (among ``numeric``) of the columns that get a missing indicator.
        categorical: input column indices of the categorical columns.
        vocabularies: per categorical column, the codes seen in training (sorted).
    """

    def __init__(
        self,
        numeric: list[int],
        mean: list[float],
        variance: list[float],
        fill: list[float],
        keep: list[float],
        indicate: list[int],
        categorical: list[int],
        vocabularies: list[list[int]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.mean, self.variance = list(mean), list(variance)
        self.fill, self.keep, self.indicate = list(fill), list(keep), list(indicate)
        self.vocabularies = [list(v) for v in vocabularies]
        self._tables = [_slot_table(v) for v in self.vocabularies]

    @property
    def output_width(self) -> int:
        """Columns out: numeric, indicators, then one per training category."""
        return len(self.numeric) + len(self.indicate) + sum(map(len, self.vocabularies))

    def call(self, inputs: Any) -> Any:
        parts = []
        if self.numeric:
            parts += self._numeric(inputs)
        for column, table, vocabulary in zip(
            self.categorical, self._tables, self.vocabularies, strict=True
        ):
            parts.append(_one_hot(inputs[:, column], table, len(vocabulary)))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=1)

    def _numeric(self, inputs: Any) -> list[Any]:
        every = self.numeric == list(range(inputs.shape[-1]))
        values = inputs if every else ops.take(inputs, self.numeric, axis=1)
        missing = ops.isnan(values)
        values = ops.where(missing, ops.convert_to_tensor(self.fill, values.dtype), values)
        mean = ops.convert_to_tensor(self.mean, values.dtype)
        deviation = ops.sqrt(ops.convert_to_tensor(self.variance, values.dtype))
        scaled = (values - mean) / ops.maximum(deviation, keras.config.epsilon())
        if min(self.keep) < 1.0:
            scaled = scaled * ops.convert_to_tensor(self.keep, values.dtype)
        if not self.indicate:
            return [scaled]
        flags = ops.cast(ops.take(missing, self.indicate, axis=1), values.dtype)
        return [scaled, flags]

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (input_shape[0], self.output_width)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "numeric": self.numeric,
            "mean": self.mean,
            "variance": self.variance,
            "fill": self.fill,
            "keep": self.keep,
            "indicate": self.indicate,
            "categorical": self.categorical,
            "vocabularies": self.vocabularies,
        }


def _slot_table(vocabulary: list[int]) -> np.ndarray:
    """code + 1 -> slot (1-based; 0 is the out-of-vocabulary bucket), for codes -1..max."""
    table = np.zeros(max(vocabulary, default=-1) + 2, dtype="int32")
    for slot, code in enumerate(vocabulary, start=1):
        table[code + 1] = slot
    return table


def _one_hot(codes: Any, table: np.ndarray, size: int) -> Any:
    """One-hot slots of ``codes``; unknown, out-of-range and NaN codes give all zeros."""
    codes = ops.where(ops.isnan(codes), -1.0, codes)
    outside = ops.logical_or(codes < -1.0, codes > float(len(table) - 2))
    index = ops.where(outside, 0, ops.cast(codes, "int32") + 1)
    slots = ops.take(ops.convert_to_tensor(table), index)
    return ops.one_hot(slots, size + 1, dtype=codes.dtype)[:, 1:]


@keras.saving.register_keras_serializable(package=PACKAGE)
class TargetScale(keras.layers.Layer):
    """``outputs * std + mean``: a regression network learns a standardized target, and its
    predictions come back in the target's units. With ``inverse="log1p"`` the network learns
    log(1 + target), and outside training the layer gives ``expm1`` of that."""

    def __init__(self, mean: float, std: float, inverse: str = "none", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_mean, self.target_std, self.inverse = float(mean), float(std), inverse

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        values = inputs * self.target_std + self.target_mean
        # Training fits log(1 + y) (the training targets are transformed); everything else,
        # validation, scoring and prediction, sees the target's own units.
        return values if training or self.inverse != "log1p" else ops.expm1(values)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "mean": self.target_mean,
            "std": self.target_std,
            "inverse": self.inverse,
        }
