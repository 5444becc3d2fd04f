"""Training from in-memory arrays, a whole epoch per compiled call, on TensorFlow or JAX.

Keras's ``fit`` costs more in Python per epoch than a small model's arithmetic: it builds an
epoch iterator, moves every batch through a data adapter, dispatches one call per step block,
gathers the metrics op by op, and runs a full ``evaluate()`` (callbacks, iterator, its own
compiled function) for validation. Here the arrays go to the device once; each epoch draws a
permutation on the host and runs, in one compiled call, the model's own ``train_step`` over
the shuffled batches (the last one partial, as in ``fit``) and the model's own ``test_step``
on the whole validation part. The numbers are those ``fit`` reports for the same batches.
Callbacks see the usual events, with one ``on_train_batch_end`` per compiled block, as with
``steps_per_execution``. The backend's half lives in ``jax_steps`` / ``tf_steps``. Class
weights become per-row sample weights given to ``train_step`` (as ``fit`` gives them), never
to the validation part.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import keras
import numpy as np

from zoo.core.config import FitOptions
from zoo.core.dataset import Arrays, row_weights

# Steps per compiled call: long enough to amortize a dispatch, short enough that a stop
# request (Ctrl-C) is seen within a second or so on a large in-memory data set.
MAX_BLOCK_STEPS = 256
# Validation parts up to this many values are scored in one call; larger ones go to fit.
MAX_VALIDATION_VALUES = 50_000_000


class Steps(Protocol):
    """A backend's compiled half of the loop."""

    def start_epoch(self) -> None:
        """Before an epoch's first block (metrics reset, state gathered)."""

    def block(self, full: Any, tail: Any, *, validate: bool) -> tuple[dict, dict]:
        """Train on ``full`` batches of row indices then the ``tail`` ones (either None);
        score the validation part when asked. Returns (train logs, validation logs)."""

    def end_epoch(self) -> None:
        """After an epoch's last block (state put back into the model's variables)."""


def supported(validation: Arrays | None) -> bool:
    """Whether the loop can train with this validation part: on TensorFlow or JAX, small
    enough to be scored in one call."""
    if keras.backend.backend() not in {"tensorflow", "jax"}:
        return False
    return validation is None or validation[0].size <= MAX_VALIDATION_VALUES


def fit_arrays(
    model: keras.Model,
    train: Arrays,
    validation: Arrays | None,
    options: FitOptions,
    callbacks: Sequence[keras.callbacks.Callback],
) -> dict[str, list[float]]:
    """Train a compiled model on arrays; returns the per-epoch history, as ``fit`` would.

    Args:
        model: compiled (``model.compile``), under the TensorFlow or JAX backend.
        train: inputs and targets.
        validation: inputs and targets scored after each epoch, or None.
        options: the batch size (the last step of an epoch takes the rest), the epoch to
            stop after and the one to start from, the seed (plus the initial epoch) of the
            per-epoch shuffling, the class weights of the training rows.
        callbacks: Keras callbacks, called as ``fit`` calls them.
    """
    # Build the model, its compiled metrics and the optimizer, as fit does first.
    model._symbolic_build(data_batch=(train[0][:1], train[1][:1]))
    if keras.backend.backend() == "jax":
        from zoo.train.jax_steps import JaxSteps as Backend
    else:
        from zoo.train.tf_steps import TfSteps as Backend  # type: ignore[assignment]
    with traced_gradients_released():
        weights = row_weights(train[1], options.class_weight)
        steps = Backend(model, train, validation, options.batch_size, weights)
        seed = options.seed + options.initial_epoch
        loop = EpochLoop(model, steps, len(train[0]), options.batch_size, seed)
        return loop.run(options.epochs, options.initial_epoch, callbacks)


@contextlib.contextmanager
def traced_gradients_released() -> Iterator[None]:
    """Forget the custom gradients that tracing registered, once training is over.

    Each trace of a TensorFlow train step registers a custom gradient (Keras's optimizer
    all-reduces through ``tf.custom_gradient``) in a process-wide registry that is never
    emptied, and it holds the traced graph: some megabytes per run, for good. A traced
    graph's gradients are already built into it, so the entries serve nothing afterwards;
    dropping them keeps memory flat over many runs in one process (``zoo bench``).
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            for name in [k for k in registry if k not in before]:
                if name.startswith("CustomGradient-"):
                    del registry[name]


def _gradient_registry() -> dict[str, Any] | None:
    if keras.backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.framework import ops
    except ImportError:
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


class EpochLoop:
    """The Python side: epochs, shuffling, blocks, callbacks and the history."""

    def __init__(
        self, model: keras.Model, steps: Steps, rows: int, batch_size: int, seed: int
    ) -> None:
        self.model, self.steps = model, steps
        self.rows, self.batch_size = rows, batch_size
        self.rng = np.random.default_rng(seed)

    def run(
        self, epochs: int, initial_epoch: int, callbacks: Sequence[keras.callbacks.Callback]
    ) -> dict[str, list[float]]:
        model = self.model
        history = keras.callbacks.History()
        steps = max(1, -(-self.rows // self.batch_size))
        listed = keras.callbacks.CallbackList(
            [*callbacks, history], model=model, epochs=epochs, steps=steps
        )
        model.stop_training = False
        logs: dict[str, float] = {}
        listed.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            listed.on_epoch_begin(epoch)
            logs = self._epoch(listed)
            listed.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        if model.optimizer is not None and epochs > initial_epoch:
            model.optimizer.finalize_variable_values(model.trainable_weights)
        listed.on_train_end(logs)
        return {k: [float(v) for v in values] for k, values in history.history.items()}

    def _epoch(self, listed: keras.callbacks.CallbackList) -> dict[str, float]:
        """One epoch's blocks; the epoch's logs, validation included."""
        self.steps.start_epoch()
        blocks = _blocks(self.rng.permutation(self.rows), self.batch_size)
        train_logs: dict[str, Any] = {}
        val_logs: dict[str, Any] = {}
        done = 0
        for number, (full, tail) in enumerate(blocks):
            last = number == len(blocks) - 1
            listed.on_train_batch_begin(done)
            train_logs, val_logs = self.steps.block(full, tail, validate=last)
            done += (0 if full is None else len(full)) + (0 if tail is None else 1)
            listed.on_train_batch_end(done - 1, train_logs)
            if self.model.stop_training and not last:
                # Stopped within the epoch: score it anyway, so every epoch has its numbers.
                _, val_logs = self.steps.block(None, None, validate=True)
                break
        self.steps.end_epoch()
        logs = {k: float(v) for k, v in train_logs.items()}
        logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
        return logs


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
