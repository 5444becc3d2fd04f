"""Keras callbacks the runner adds to every fit: clean stops, NaN guard, best weights."""

from __future__ import annotations

import math
from typing import Any

import keras


class RunGuard(keras.callbacks.Callback):
    """Stops training on request (a signal) or on a NaN loss, and remembers the best weights.

    The best weights (lowest validation loss, or training loss without validation) are kept
    in memory: copying a small model's weights costs microseconds, saving them every epoch
    would cost more than the epoch.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        super().__init__()
        self.monitor = monitor
        self.stop_signal: int | None = None
        self.diverged = False
        self.nan_epoch: int | None = None
        self.best_value = math.inf
        self.best_weights: list[Any] | None = None
        self.best_epoch: int | None = None

    def request_stop(self, signum: int) -> None:
        self.stop_signal = signum

    @property
    def interrupted(self) -> bool:
        return self.stop_signal is not None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = True
            self.model.stop_training = True
        if self.interrupted:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if self.diverged or (loss is not None and not math.isfinite(float(loss))):
            self.diverged = True
            self.nan_epoch = epoch + 1
            self.model.stop_training = True
            return
        value = logs.get(self.monitor, logs.get("loss"))
        if value is not None and float(value) < self.best_value:
            self.best_value = float(value)
            self.best_epoch = epoch + 1
            self.best_weights = self.model.get_weights()
        if self.interrupted:
            self.model.stop_training = True


def optional_callbacks(
    patience: int | None, reduce_lr: bool, tensorboard_dir: str | None, has_validation: bool
) -> list[keras.callbacks.Callback]:
    """Early stopping, learning-rate reduction and TensorBoard, as asked for."""
    monitor = "val_loss" if has_validation else "loss"
    callbacks: list[keras.callbacks.Callback] = []
    if patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=patience, restore_best_weights=True
            )
        )
    if reduce_lr:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, factor=0.5, patience=max(2, (patience or 10) // 2), min_lr=1e-6
            )
        )
    if tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=tensorboard_dir))
    return callbacks
