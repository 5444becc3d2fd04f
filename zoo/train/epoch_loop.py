"""Training under JAX from in-memory arrays, a whole epoch per compiled call.

Keras's ``fit`` under JAX costs more in Python per epoch than a small model's arithmetic:
it builds an epoch iterator, slices and transfers every batch from NumPy, dispatches one
call per step block, and runs a full ``evaluate()`` (callbacks, iterator, its own compiled
function) for validation. Here the arrays go to the device once; each epoch draws a
permutation on the host and runs, in one jitted function, a ``lax.scan`` of the model's own
``train_step`` over the shuffled batches, the last partial batch, and the model's own
``test_step`` on the whole validation part. The numbers are those ``fit`` reports: the same
steps, losses and metrics, batch for batch. Callbacks see the usual events, with one
``on_train_batch_end`` per compiled block, as with ``steps_per_execution``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import keras
import numpy as np

# Steps per compiled call: long enough to amortize a dispatch, short enough that a stop
# request (Ctrl-C) is seen within a second or so on a large in-memory data set.
MAX_BLOCK_STEPS = 256
# Validation parts up to this many values run in one call; larger ones use Keras's fit.
MAX_VALIDATION_VALUES = 50_000_000

State = tuple[list[Any], list[Any], list[Any], list[Any]]


def fit_arrays(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    batch_size: int,
    epochs: int,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback],
    initial_epoch: int = 0,
) -> dict[str, list[float]]:
    """Train a compiled model on arrays; returns the per-epoch history, as ``fit`` would.

    Args:
        model: compiled (``model.compile``) under the JAX backend.
        train: inputs and targets.
        validation: inputs and targets scored after each epoch, or None.
        batch_size: rows per step; the last step of an epoch takes the rest.
        epochs: the epoch to stop after (counting from 0, as ``fit``'s ``epochs``).
        seed: seeds the per-epoch shuffling.
        callbacks: Keras callbacks, called as ``fit`` calls them.
        initial_epoch: the epoch to start from (resuming).
    """
    loop = EpochLoop(model, train, validation, batch_size, seed)
    return loop.run(epochs, initial_epoch, callbacks)


def fits_in_one_call(validation: tuple[np.ndarray, np.ndarray] | None) -> bool:
    """Whether a validation part is small enough to be scored in one compiled call."""
    return validation is None or validation[0].size <= MAX_VALIDATION_VALUES


class EpochLoop:
    """The compiled epoch and the Python loop around it; see the module docstring."""

    def __init__(
        self,
        model: keras.Model,
        train: tuple[np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray] | None,
        batch_size: int,
        seed: int,
    ) -> None:
        self.model = model
        self.x, self.y = (_on_device(a) for a in train)
        self.validation = tuple(_on_device(a) for a in validation) if validation else None
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        # Build the model, its compiled metrics and the optimizer, as fit does first.
        model._symbolic_build(data_batch=(train[0][:1], train[1][:1]))
        self._block = jax.jit(self._run_block)

    def run(
        self, epochs: int, initial_epoch: int, callbacks: Sequence[keras.callbacks.Callback]
    ) -> dict[str, list[float]]:
        model = self.model
        history = keras.callbacks.History()
        listed = keras.callbacks.CallbackList(
            [*callbacks, history], model=model, epochs=epochs, steps=self.steps
        )
        model.stop_training = False
        logs: dict[str, float] = {}
        listed.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            listed.on_epoch_begin(epoch)
            logs = self._epoch(listed)
            listed.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        if model.optimizer is not None and epochs > initial_epoch:
            model.optimizer.finalize_variable_values(model.trainable_weights)
        listed.on_train_end(logs)
        return {k: [float(v) for v in values] for k, values in history.history.items()}

    @property
    def steps(self) -> int:
        return max(1, -(-len(self.x) // self.batch_size))

    def _epoch(self, listed: keras.callbacks.CallbackList) -> dict[str, float]:
        """One epoch's blocks; the epoch's logs, validation included."""
        state = _read_state(self.model)
        fresh_metrics = state[3]
        blocks = _blocks(self.rng.permutation(len(self.x)), self.batch_size)
        train_logs: dict[str, Any] = {}
        val_logs: dict[str, Any] = {}
        step = 0
        for number, (full, tail) in enumerate(blocks):
            last = number == len(blocks) - 1
            validation = self.validation if last else None
            listed.on_train_batch_begin(step)
            state, train_logs, val_logs = self._block(
                state, self.x, self.y, full, tail, validation, fresh_metrics
            )
            step += (0 if full is None else len(full)) + (0 if tail is None else 1)
            listed.on_train_batch_end(step - 1, train_logs)
            if self.model.stop_training and not last:
                # Stopped within the epoch: score it anyway, so every epoch has its numbers.
                _, _, val_logs = self._block(
                    state, self.x, self.y, None, None, self.validation, fresh_metrics
                )
                break
        _write_state(self.model, state)
        logs = {k: float(v) for k, v in train_logs.items()}
        logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
        return logs

    def _run_block(
        self,
        state: State,
        x: Any,
        y: Any,
        full: Any,
        tail: Any,
        validation: Any,
        fresh_metrics: list[Any],
    ) -> tuple[State, dict[str, Any], dict[str, Any]]:
        """Traced once per block shape: the scan over full batches, the tail, validation."""
        model = self.model
        logs: dict[str, Any] = {}
        if full is not None:

            def step(carry: State, rows: Any) -> tuple[State, dict[str, Any]]:
                step_logs, carry = model.train_step(carry, (x[rows], y[rows]))
                return carry, step_logs

            state, stacked = jax.lax.scan(step, state, full)
            logs = jax.tree_util.tree_map(lambda values: values[-1], stacked)
        if tail is not None:
            logs, state = model.train_step(state, (x[tail], y[tail]))
        val_logs: dict[str, Any] = {}
        if validation is not None:
            trainable, non_trainable = state[0], state[1]
            val_logs, _ = model.test_step((trainable, non_trainable, fresh_metrics), validation)
        return state, logs, val_logs


def _blocks(order: np.ndarray, batch_size: int) -> list[tuple[Any, Any]]:
    """The epoch's row order cut into compiled blocks: (full batches, last partial batch).

    Blocks hold at most ``MAX_BLOCK_STEPS`` full batches; the partial batch, if any, rides
    with the last block, so a small data set's epoch is a single call.
    """
    whole = len(order) // batch_size * batch_size
    full = order[:whole].reshape(-1, batch_size).astype("int32")
    tail = order[whole:].astype("int32") if whole < len(order) else None
    cuts = list(range(0, len(full), MAX_BLOCK_STEPS)) or [0]
    blocks: list[tuple[Any, Any]] = [
        (full[start : start + MAX_BLOCK_STEPS] if len(full) else None, None) for start in cuts
    ]
    blocks[-1] = (blocks[-1][0], tail)
    return blocks


def _on_device(array: np.ndarray) -> Any:
    """A device copy of ``array``; floating inputs in Keras's float type, as fit casts them."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(keras.config.floatx(), copy=False)
    return jax.device_put(array)


def _read_state(model: keras.Model) -> State:
    optimizer = model.optimizer.variables if model.optimizer is not None else []
    return (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer],
        [v.value for v in model.metrics_variables],
    )


def _write_state(model: keras.Model, state: State) -> None:
    """Put the new values back into the model's variables, where callbacks look for them."""
    optimizer = model.optimizer.variables if model.optimizer is not None else []
    groups = (model.trainable_variables, model.non_trainable_variables, optimizer)
    for variables, values in zip(groups, state[:3], strict=True):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
    for variable, value in zip(model.metrics_variables, state[3], strict=True):
        variable.assign(value)
