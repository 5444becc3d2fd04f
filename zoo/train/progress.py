"""Progress shown while a model trains: one line that fits the terminal, redrawn in place.

The line holds the epoch count, a bar with the elapsed time and the time left, and as many of
the latest losses and metrics as fit, under short names (``rmse``, not
``root_mean_squared_error``). rich draws it; it is imported only here, when training starts,
so that listing and help stay fast.
"""

from __future__ import annotations

import math
import shutil
import sys
from typing import Any

import keras

SHORT_NAMES = {
    "root_mean_squared_error": "rmse",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "mean_absolute_percentage_error": "mape",
    "sparse_categorical_accuracy": "acc",
    "categorical_accuracy": "acc",
    "binary_accuracy": "acc",
    "accuracy": "acc",
    "sparse_categorical_crossentropy": "xent",
    "categorical_crossentropy": "xent",
    "binary_crossentropy": "xent",
}
HIDDEN = {"learning_rate"}
# The times and the gaps between columns take this many; the metrics get what is left.
TIME_COLUMNS = 21
MIN_BAR, MAX_BAR = 8, 24


def short_name(key: str) -> str:
    """``val_root_mean_squared_error`` -> ``val_rmse``; names without a short form unchanged."""
    prefix = "val_" if key.startswith("val_") else ""
    name = key[len(prefix) :]
    return prefix + SHORT_NAMES.get(name, name)


def metrics_text(logs: dict[str, Any], width: int) -> str:
    """The logs as ``loss 13.2  val_loss 14.1  mae 2.61 ...``, cut at a whole metric to fit
    ``width`` characters. Losses come first: they matter most when space is short."""
    keys = [k for k in logs if k not in HIDDEN]
    keys.sort(key=lambda k: (k not in ("loss", "val_loss"), k.startswith("val_")))
    shown = ""
    for key in keys:
        part = f"{short_name(key)} {_number(logs[key])}"
        candidate = f"{shown}  {part}" if shown else part
        if len(candidate) > width:
            break
        shown = candidate
    return shown


def _number(value: Any) -> str:
    value = float(value)
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def terminal_width() -> int:
    """Columns of the terminal (the COLUMNS variable wins), 80 when unknown."""
    return shutil.get_terminal_size((80, 24)).columns


class EpochProgress(keras.callbacks.Callback):
    """A one-line progress bar over the epochs of one training phase, on stderr.

    Args:
        epochs: the last epoch of the phase (a resumed run starts part-way).
        stream: where to draw; stderr by default.
        width: columns to fit; the terminal's width by default.
    """

    def __init__(self, epochs: int, stream: Any = None, width: int | None = None) -> None:
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stderr
        self.width = max(40, width or terminal_width())
        self._bar: Any = None
        self._task: Any = None
        self._epoch, self._first, self._bar_width = 0, True, MIN_BAR
        self._logs: dict[str, Any] = {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(file=self.stream, width=self.width, highlight=False)
        self._bar_width = bar = max(MIN_BAR, min(MAX_BAR, self.width // 5))
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=bar),
            TimeElapsedColumn(),
            TextColumn("<"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console,
            auto_refresh=False,  # redrawn by the callbacks below: no thread competing with TF
        )
        self._task = self._bar.add_task(self._description(0), total=self.epochs, metrics="")
        self._bar.start()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._first and epoch:
            # A resumed run: count from where it stopped, and time only the epochs left.
            self._bar.reset(self._task, completed=epoch, description=self._description(epoch))
        self._first, self._epoch = False, epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        steps = (self.params or {}).get("steps") or 0
        if steps and self._bar is not None:
            done = self._epoch + min(1.0, (batch + 1) / steps)
            self._bar.update(self._task, completed=done, refresh=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch, self._logs = epoch + 1, dict(logs or {})
        budget = self.width - TIME_COLUMNS - self._bar_width - len(self._description(epoch + 1))
        self._bar.update(
            self._task,
            completed=epoch + 1,
            description=self._description(epoch + 1),
            metrics=metrics_text(self._logs, budget),
            refresh=True,
        )

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _description(self, done: int) -> str:
        return f"epoch {done}/{self.epochs}"


def early_stop_note(
    history: dict[str, list[float]], planned: int, patience: int | None
) -> str | None:
    """One line saying that early stopping ended the run and whose weights were kept.

    A run that returns with fewer epochs than planned was stopped by early stopping (an
    interruption or a NaN loss raises instead). Early stopping goes back to the first epoch
    with the lowest validation loss only when the loss clearly rose after it
    (``zoo.train.callbacks.restores_best``); a run that trained every epoch says so only
    when it went back.

    Args:
        history: the run's per-epoch history.
        planned: the epochs the run was asked for (both phases when fine-tuning).
        patience: the run's ``--patience``; 0 (or None) means early stopping was off.
    """
    from zoo.train.callbacks import restores_best

    values = history.get("val_loss", [])
    if not patience or not values:
        return None
    best = min(range(len(values)), key=values.__getitem__)
    back = restores_best(values, best)
    kept = (
        f"kept the weights of epoch {best + 1} (val_loss {values[best]:.4g})"
        if back
        else f"kept the last weights: val_loss only wandered since its lowest, "
        f"{values[best]:.4g} at epoch {best + 1}"
    )
    if len(values) < planned:
        return (
            f"early stopping: val_loss did not improve for {patience} epochs, so training "
            f"stopped after epoch {len(values)} of {planned}; {kept}"
        )
    if back:
        return f"early stopping: val_loss rose after epoch {best + 1}, so {kept}"
    return None
