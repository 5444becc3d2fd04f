"""Progress shown while a model trains, as a Keras callback."""

from __future__ import annotations

import sys
from typing import Any

import keras


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
