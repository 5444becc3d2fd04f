"""The Keras side of a run: input scaling inside the model, fast input pipelines, progress.

Everything here imports Keras or TensorFlow, so only the runner imports this module, and only
once it is about to train.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

PREDICT_BATCH = 4096
MAX_STEPS_PER_EXECUTION = 256


def with_input_scaling(
    body: keras.Model, x_train: np.ndarray, input_kind: str, name: str
) -> keras.Model:
    """Put the scaling fitted on the training part in front of ``body``.

    Tabular inputs are standardized per feature; images are scaled to [0, 1]. The statistics
    live in the saved model, so it takes raw inputs.
    """
    inputs = keras.Input(x_train.shape[1:], name="features")
    if input_kind == "image":
        peak = float(np.max(x_train)) or 1.0
        scale = keras.layers.Rescaling(1.0 / peak, name="scale_to_unit")
    else:
        x64 = x_train.astype("float64")
        scale = keras.layers.Normalization(
            mean=x64.mean(axis=0), variance=x64.var(axis=0), name="standardize"
        )
    return keras.Model(inputs, body(scale(inputs)), name=name)


def training_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """An endless, reshuffled stream of batches.

    Keras rebuilds its iterator every epoch for a finite input, which costs more than the
    epoch itself on small data; an endless stream with ``steps_per_epoch`` is built once.
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)


def validation_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[Any, int]:
    """An endless stream over the validation part and the steps that cover it once."""
    import tensorflow as tf

    batch = max(batch_size, min(len(x), PREDICT_BATCH))
    steps = math.ceil(len(x) / batch)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache().repeat()
    return data, steps


def steps_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / batch_size))


class EpochProgress(keras.callbacks.Callback):
    """One line on a terminal, redrawn each epoch: epoch count and the latest losses."""

    def __init__(self, epochs: int, stream: Any = None) -> None:
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stderr

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        shown = "  ".join(f"{k} {v:.4g}" for k, v in (logs or {}).items() if k != "learning_rate")
        self.stream.write(f"\r\033[Kepoch {epoch + 1}/{self.epochs}  {shown}")
        self.stream.flush()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self.stream.write("\n")
        self.stream.flush()


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Model outputs for ``x``; one direct call when it fits in a single batch.

    ``model.predict`` builds a prediction function and an iterator first, which costs more
    than the prediction itself on a small test part.
    """
    if len(x) <= PREDICT_BATCH:
        return keras.ops.convert_to_numpy(model(x, training=False))
    return np.asarray(model.predict(x, batch_size=PREDICT_BATCH, verbose=0))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def fit(
    model: keras.Model,
    settings: Any,
    parts: Any,
    config: Any,
    callbacks: list[Any],
    initial_epoch: int = 0,
) -> dict[str, list[float]]:
    """Compile with the preset and train; returns the per-epoch history of this call."""
    steps = steps_per_epoch(len(parts.x_train), config.batch_size)
    compile_args = settings.resolve()
    if initial_epoch and getattr(model, "optimizer", None) is not None:
        # Resuming: keep the optimizer the saved model came with, and its state.
        compile_args["optimizer"] = model.optimizer
    # One compiled call per epoch (capped, so that a stop request is seen often enough):
    # the per-step Python overhead is the main cost on small data.
    model.compile(**compile_args, steps_per_execution=min(steps, MAX_STEPS_PER_EXECUTION))
    history = model.fit(
        **_fit_inputs(parts, config, callbacks, steps),
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        verbose=0,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _fit_inputs(parts: Any, config: Any, callbacks: list[Any], steps: int) -> dict[str, Any]:
    """The data arguments of ``model.fit``: the fastest feed for the data and the backend."""
    if getattr(parts, "streamed", False):  # rows read from disk each epoch (zoo.plugins.csv_files.scan)
        from zoo.plugins.csv_files.pipeline import streamed_inputs

        train, validation = streamed_inputs(parts, config)
        return {
            "x": train,
            "validation_data": validation,
            "steps_per_epoch": steps,
            "callbacks": callbacks,
            "shuffle": False,
        }
    validation = (parts.x_val, parts.y_val) if len(parts.x_val) else None
    if keras.backend.backend() != "tensorflow":
        # JAX and PyTorch iterate NumPy arrays directly, faster than through tf.data.
        return {
            "x": parts.x_train,
            "y": parts.y_train,
            "batch_size": config.batch_size,
            "validation_data": validation,
            "callbacks": callbacks,
            "shuffle": True,
        }
    train = training_pipeline(parts.x_train, parts.y_train, config.batch_size, config.seed)
    inputs = {"x": train, "steps_per_epoch": steps, "callbacks": callbacks, "shuffle": False}
    if _fast_validation_fits(parts.x_val):
        inputs["callbacks"] = [OneCallValidation(parts.x_val, parts.y_val), *callbacks]
    elif validation is not None:
        inputs["validation_data"], inputs["validation_steps"] = validation_pipeline(
            parts.x_val, parts.y_val, config.batch_size
        )
    return inputs


FAST_VALIDATION_MAX_VALUES = 50_000_000


def _fast_validation_fits(x_val: np.ndarray) -> bool:
    return keras.backend.backend() == "tensorflow" and 0 < x_val.size <= FAST_VALIDATION_MAX_VALUES


class OneCallValidation(keras.callbacks.Callback):
    """Validation loss and metrics after each epoch, in one compiled call.

    Keras's own per-epoch ``evaluate()`` sets up callbacks and iterators every epoch, which on
    small data costs as much as the training epoch. This runs the model's own ``test_step`` on
    the whole validation part at once, so the numbers are the ones ``evaluate()`` reports. It
    must come first among the callbacks, so that early stopping and the history see them.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        self.x, self.y = x, y
        self._step: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        import tensorflow as tf

        self.x, self.y = tf.constant(self.x), tf.constant(self.y)
        self._step = tf.function(lambda x, y: self.model.test_step((x, y)))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # The training metrics are already in ``logs``; fit resets them before the next epoch.
        self.model.reset_metrics()
        results = self._step(self.x, self.y)
        if logs is not None:
            logs.update({f"val_{k}": float(v) for k, v in results.items()})
