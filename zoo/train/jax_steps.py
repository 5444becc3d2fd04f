"""The JAX half of the compiled epoch loop (``zoo.train.epoch_loop``).

One jitted function per block shape runs a ``lax.scan`` of the model's pure ``train_step``
over the full batches, one more step for the partial batch, and ``test_step`` on the whole
validation part; with class weights, each batch carries its rows' sample weights. The model's
variables are gathered before an epoch and written back after it, where callbacks (early
stopping, best weights) look for them.
"""

from __future__ import annotations

from typing import Any

import jax
import keras
import numpy as np

from zoo.core.dataset import Arrays, floats_as_floatx

State = tuple[list[Any], list[Any], list[Any], list[Any]]


class JaxSteps:
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
        self.x, self.y = (jax.device_put(floats_as_floatx(a)) for a in train)
        self.weights = jax.device_put(weights) if weights is not None else None
        self.validation = (
            tuple(jax.device_put(floats_as_floatx(a)) for a in validation) if validation else None
        )
        self._run = jax.jit(self._run_block)
        self.state: State = ([], [], [], [])
        self.fresh_metrics: list[Any] = []

    def start_epoch(self) -> None:
        if not self.fresh_metrics:
            # Reset values, taken once: resetting the variables every epoch dispatches a
            # handful of small computations each time.
            self.model.reset_metrics()
            self.fresh_metrics = [v.value for v in self.model.metrics_variables]
        # Read back every epoch: a callback may have changed a weight or the learning rate.
        trainable, non_trainable, optimizer, _ = _read_state(self.model)
        self.state = (trainable, non_trainable, optimizer, self.fresh_metrics)

    def block(self, full: Any, tail: Any, *, validate: bool) -> tuple[dict, dict]:
        validation = self.validation if validate else None
        self.state, train_logs, val_logs = self._run(
            self.state, self.x, self.y, self.weights, full, tail, validation, self.fresh_metrics
        )
        return train_logs, val_logs

    def end_epoch(self) -> None:
        _write_state(self.model, self.state)

    def _run_block(
        self,
        state: State,
        x: Any,
        y: Any,
        weights: Any,
        full: Any,
        tail: Any,
        validation: Any,
        fresh_metrics: list[Any],
    ) -> tuple[State, dict[str, Any], dict[str, Any]]:
        """Traced once per block shape: the scan over full batches, the tail, validation."""
        model = self.model
        logs: dict[str, Any] = {}

        def batch(rows: Any) -> tuple[Any, ...]:
            return (x[rows], y[rows]) if weights is None else (x[rows], y[rows], weights[rows])

        if full is not None:

            def step(carry: State, rows: Any) -> tuple[State, dict[str, Any]]:
                step_logs, carry = model.train_step(carry, batch(rows))
                return carry, step_logs

            state, stacked = jax.lax.scan(step, state, full)
            logs = jax.tree_util.tree_map(lambda values: values[-1], stacked)
        if tail is not None:
            logs, state = model.train_step(state, batch(tail))
        val_logs: dict[str, Any] = {}
        if validation is not None:
            trainable, non_trainable = state[0], state[1]
            val_logs, _ = model.test_step((trainable, non_trainable, fresh_metrics), validation)
        return state, logs, val_logs


def _read_state(model: keras.Model) -> State:
    optimizer = model.optimizer.variables if model.optimizer is not None else []
    return (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer],
        [v.value for v in model.metrics_variables],
    )


def _write_state(model: keras.Model, state: State) -> None:
    optimizer = model.optimizer.variables if model.optimizer is not None else []
    groups = (
        model.trainable_variables,
        model.non_trainable_variables,
        optimizer,
        model.metrics_variables,
    )
    for variables, values in zip(groups, state, strict=True):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
