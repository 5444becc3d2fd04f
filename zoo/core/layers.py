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


# -- numerical-feature embeddings and ensembles, for tabular networks ------------------------

EMBEDDINGS = ("linear", "piecewise", "periodic")


@keras.saving.register_keras_serializable(package=PACKAGE)
class NumericEmbedding(keras.layers.Layer):
    """One vector per prepared column: (batch, columns) -> (batch, columns, dim).

    ``linear``: ``x * w + b`` per column (FT-Transformer's feature tokens). ``piecewise``:
    the piecewise-linear encoding of ``x`` over ``bins`` quantile bins, then a per-column
    linear map (Gorishniy et al. 2022, PLE); the bin edges are fitted on the training rows
    (:meth:`fit_edges`, called before training) and saved as a weight. ``periodic``:
    ``sin`` / ``cos`` of trainable frequencies, then a per-column linear map and ReLU (PLR).

    Args:
        kind: "linear", "piecewise" or "periodic".
        dim: size of each column's vector.
        bins: piecewise bins per column.
        frequencies: periodic frequencies per column.
        sigma: standard deviation of the periodic frequencies' initial values.
    """

    def __init__(
        self,
        kind: str,
        dim: int = 16,
        bins: int = 32,
        frequencies: int = 24,
        sigma: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in EMBEDDINGS:
            raise ValueError(f"kind must be one of {EMBEDDINGS}, not {kind!r}")
        self.kind, self.dim, self.bins = kind, int(dim), int(bins)
        self.frequencies, self.sigma = int(frequencies), float(sigma)

    def build(self, input_shape: tuple[Any, ...]) -> None:
        columns = int(input_shape[-1])
        add = self.add_weight
        if self.kind == "piecewise":
            # Until fitted: the standard normal's quantiles (the columns are standardized).
            grid = _normal_quantiles(self.bins + 1)
            self.edges = add(
                shape=(columns, self.bins + 1),
                initializer=lambda shape, dtype=None: np.tile(grid, (shape[0], 1)),
                trainable=False,
                name="edges",
            )
            inner = self.bins
        elif self.kind == "periodic":
            self.coefficients = add(
                shape=(columns, self.frequencies),
                initializer=keras.initializers.RandomNormal(stddev=self.sigma),
                name="frequencies",
            )
            inner = 2 * self.frequencies
        else:
            inner = 1
        limit = 1.0 / np.sqrt(inner)
        uniform = keras.initializers.RandomUniform(-limit, limit)
        self.kernel = add(shape=(columns, inner, self.dim), initializer=uniform, name="kernel")
        self.bias = add(shape=(columns, self.dim), initializer=uniform, name="bias")

    def fit_edges(self, prepared: np.ndarray) -> None:
        """Bin edges at the quantiles of ``prepared`` (training rows as this layer sees them).

        Repeated quantiles (a column with few distinct values) are pulled apart by a small
        step, so that every bin has a width and the encoding stays finite."""
        if self.kind != "piecewise":
            return
        values = np.asarray(prepared, dtype="float64")
        edges = np.quantile(values, np.linspace(0.0, 1.0, self.bins + 1), axis=0).T
        for j in range(1, edges.shape[1]):
            edges[:, j] = np.maximum(edges[:, j], edges[:, j - 1] + 1e-3)
        self.edges.assign(edges.astype("float32"))

    def call(self, inputs: Any) -> Any:
        x = ops.expand_dims(inputs, -1)  # (batch, columns, 1)
        if self.kind == "linear":
            return x * ops.squeeze(self.kernel, 1) + self.bias
        if self.kind == "piecewise":
            left, right = self.edges[:, :-1], self.edges[:, 1:]
            ratio = (x - left) / (right - left)
            # The first bin extends below, the last above the training range (PLE).
            low = np.r_[-np.inf, np.zeros(self.bins - 1)].astype("float32")
            high = np.r_[np.ones(self.bins - 1), np.inf].astype("float32")
            encoded = ops.minimum(ops.maximum(ratio, low), high)
            return ops.einsum("bci,cid->bcd", encoded, self.kernel) + self.bias
        angles = 2.0 * np.pi * x * self.coefficients
        periodic = ops.concatenate([ops.sin(angles), ops.cos(angles)], -1)
        return ops.relu(ops.einsum("bci,cid->bcd", periodic, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*input_shape, self.dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kind": self.kind,
            "dim": self.dim,
            "bins": self.bins,
            "frequencies": self.frequencies,
            "sigma": self.sigma,
        }


def _normal_quantiles(count: int) -> np.ndarray:
    """``count`` evenly spaced quantiles of the standard normal, 0.5% to 99.5%."""
    from statistics import NormalDist

    normal = NormalDist()
    return np.array([normal.inv_cdf(p) for p in np.linspace(0.005, 0.995, count)], "float32")


# What a builder's ``num_embeddings`` hyperparameter may say ("none": the columns as they are).
EMBEDDING_CHOICES = ("none", *EMBEDDINGS)


def column_embedding(
    kind: str, dim: int, input_shape: tuple[int, ...], frequency_scale: float = 0.1
) -> NumericEmbedding | None:
    """The embedding layer a builder's ``num_embeddings=kind`` names, None for ``"none"``;
    ``frequency_scale`` is the periodic frequencies' initial spread (``sigma``).

    Raises:
        InvalidParameterError: ``kind`` is not one of EMBEDDING_CHOICES, or the inputs are not
            tabular rows (one dimension) to embed column by column.
    """
    from zoo.core.errors import InvalidParameterError

    if kind not in EMBEDDING_CHOICES:
        raise InvalidParameterError(
            f"num_embeddings={kind!r} is not one of {', '.join(EMBEDDING_CHOICES)}; "
            "pick one, e.g. --set num_embeddings=piecewise."
        )
    if kind == "none":
        return None
    if len(input_shape) != 1:
        raise InvalidParameterError(
            f"num_embeddings={kind} embeds the columns of tabular rows; received input shape "
            f"{input_shape}. Leave num_embeddings at none for images."
        )
    return NumericEmbedding(kind, dim=dim, sigma=frequency_scale, name="embedding")


def piecewise_embeddings(model: keras.Model) -> list[NumericEmbedding]:
    """The piecewise :class:`NumericEmbedding` layers of ``model``, nested models included:
    the ones whose bin edges are fitted on the training rows."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, NumericEmbedding) and layer.kind == "piecewise"
    ]


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClassToken(keras.layers.Layer):
    """Put one trainable token before the column tokens: (batch, n, d) -> (batch, n + 1, d);
    a transformer reads its prediction off that token."""

    def build(self, input_shape: tuple[Any, ...]) -> None:
        limit = 1.0 / np.sqrt(int(input_shape[-1]))
        self.token = self.add_weight(
            shape=(1, 1, int(input_shape[-1])),
            initializer=keras.initializers.RandomUniform(-limit, limit),
            name="token",
        )

    def call(self, inputs: Any) -> Any:
        token = ops.broadcast_to(self.token, (ops.shape(inputs)[0], 1, inputs.shape[-1]))
        return ops.concatenate([ops.cast(token, inputs.dtype), inputs], axis=1)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        rest = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], rest, input_shape[2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleMLP(keras.layers.Layer):
    """``members`` MLPs sharing their weights, BatchEnsemble-style (TabM, Gorishniy et al.
    2025): member i's layer computes ``((x * r_i) @ W) * s_i + b_i``, so k members cost
    k adapter vectors per layer, not k weight matrices.

    Training splits each batch among the members (row j trains member j mod k; batches are
    shuffled), so an epoch costs what one MLP's does, and in expectation each member's
    gradient is that of its own loss. Outside training every member predicts every row and
    the outputs (after the task's activation: probabilities, not logits) are averaged.

    Args:
        width: units of each hidden layer.
        depth: number of hidden layers.
        members: the ensemble's size k.
        dropout: dropout after each hidden layer.
        units: output units; activation: the task's output activation.
    """

    def __init__(
        self,
        width: int,
        depth: int,
        members: int,
        dropout: float,
        units: int,
        activation: str = "linear",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.width, self.depth, self.members = int(width), int(depth), int(members)
        self.dropout, self.units, self.activation = float(dropout), int(units), activation
        self.drops = [keras.layers.Dropout(self.dropout) for _ in range(self.depth)]

    def build(self, input_shape: tuple[Any, ...]) -> None:
        sizes = [int(input_shape[-1])] + [self.width] * self.depth
        k, add = self.members, self.add_weight
        self.blocks = []
        for i in range(self.depth):
            # The first layer's input adapters start as random signs, so the members differ
            # from the first step; the others start as ones (TabM's initialization).
            first = keras.initializers.RandomUniform(-1.0, 1.0) if i == 0 else "ones"
            self.blocks.append(
                (
                    add(shape=(k, sizes[i]), initializer=first, name=f"r{i}"),
                    add(shape=(sizes[i], self.width), initializer="he_uniform", name=f"w{i}"),
                    add(shape=(k, self.width), initializer="ones", name=f"s{i}"),
                    add(shape=(k, self.width), initializer="zeros", name=f"b{i}"),
                )
            )
        self.head = add(shape=(k, sizes[-1], self.units), initializer="glorot_uniform", name="head")
        self.head_bias = add(shape=(k, self.units), initializer="zeros", name="head_bias")
        if self.depth:
            signs = ops.sign(self.blocks[0][0])
            self.blocks[0][0].assign(ops.where(signs == 0, 1.0, signs))

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        out = keras.activations.get(self.activation)
        if training:
            member = ops.arange(ops.shape(inputs)[0]) % self.members
            h = inputs
            for (r, w, s, b), drop in zip(self.blocks, self.drops, strict=True):
                h = ops.matmul(h * ops.take(r, member, 0), w)
                h = drop(
                    ops.relu(h * ops.take(s, member, 0) + ops.take(b, member, 0)), training=True
                )
            h = ops.einsum("bd,bdo->bo", h, ops.take(self.head, member, 0))
            return out(h + ops.take(self.head_bias, member, 0))
        h = ops.expand_dims(inputs, 1)  # (batch, 1, d): every member sees every row
        for r, w, s, b in self.blocks:
            h = ops.relu(ops.matmul(h * r, w) * s + b)
        h = ops.einsum("bkd,kdo->bko", h, self.head) + self.head_bias
        return ops.mean(out(h), axis=1)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (input_shape[0], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "width": self.width,
            "depth": self.depth,
            "members": self.members,
            "dropout": self.dropout,
            "units": self.units,
            "activation": self.activation,
        }
