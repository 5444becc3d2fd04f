"""The TensorFlow half of the compiled epoch loop (``zoo.train.epoch_loop``).

One ``tf.function`` runs a block: a ``tf.while_loop`` of the model's own ``train_step`` over
the given rows, batch by batch (the last batch may be short; one trace serves every size),
then, when asked, the model's own ``test_step`` on the whole validation part. With class
weights, each batch carries its rows' sample weights. Variables are TensorFlow's, updated in
place, so callbacks see them as they are.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.core.dataset import Arrays, floats_as_floatx


class TfSteps:
    """See the module docstring; implements ``epoch_loop.Steps``."""

    def __init__(
        self,
        model: keras.Model,
        train: Arrays,
        validation: Arrays | None,
        batch_size: int,
        weights: np.ndarray | None = None,
    ) -> None:
        self.model = model
        self.x, self.y = (tf.convert_to_tensor(floats_as_floatx(a)) for a in train)
        self.weights = tf.convert_to_tensor(weights) if weights is not None else None
        self.validation = (
            tuple(tf.convert_to_tensor(floats_as_floatx(a)) for a in validation)
            if validation
            else None
        )
        self.batch_size = batch_size
        # No autograph: the loop is written out, and Keras's steps must not be rewritten.
        self._run = tf.function(self._run_block, autograph=False, reduce_retracing=True)
        self._first = True

    def start_epoch(self) -> None:
        # The metrics are reset inside the epoch's first call: eagerly, resetting them costs
        # several small dispatches, as much as a small model's whole epoch.
        self._first = True

    def block(self, full: Any, tail: Any, *, validate: bool) -> tuple[dict, dict]:
        parts = [np.ravel(rows) for rows in (full, tail) if rows is not None]
        rows = np.concatenate(parts) if parts else np.zeros(0, "int32")
        first, self._first = self._first, False
        validate = validate and self.validation is not None
        return self._run(tf.constant(rows, tf.int32), tf.constant(first), validate)

    def end_epoch(self) -> None:
        """Nothing to do: the variables were updated in place."""

    def _run_block(self, rows: tf.Tensor, first: tf.Tensor, validate: bool) -> tuple[dict, dict]:
        model, x, y, weights, size = self.model, self.x, self.y, self.weights, self.batch_size
        count = tf.shape(rows)[0]
        tf.cond(first, lambda: _reset(model), lambda: tf.constant(False))

        def step(start: tf.Tensor) -> tuple[tf.Tensor]:
            batch = rows[start : tf.minimum(start + size, count)]
            data = (tf.gather(x, batch), tf.gather(y, batch))
            if weights is not None:
                data = (*data, tf.gather(weights, batch))
            model.train_step(data)
            return (start + size,)

        tf.while_loop(lambda start: start < count, step, (tf.constant(0),))
        # Read before validation resets the metrics; automatic control dependencies keep
        # the reads, the resets and the updates in program order.
        train_logs = model.get_metrics_result()
        val_logs: dict[str, Any] = {}
        if validate:
            for metric in model.metrics:
                metric.reset_state()
            val_logs = model.test_step(self.validation)
        return train_logs, val_logs


def _reset(model: keras.Model) -> tf.Tensor:
    for metric in model.metrics:
        metric.reset_state()
    return tf.constant(True)
