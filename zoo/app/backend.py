"""What the CLI needs of the execution layer beside a run: the backend imported quietly, the
progress bar while training, and the early-stopping note after it.

Every import here is lazy: ``zoo list`` and ``zoo --help`` import this module's callers
without loading Keras or TensorFlow.
"""

from __future__ import annotations

from typing import Any


def quiet_backend() -> None:
    """Import Keras now, without TensorFlow's native start-up notices."""
    from zoo.train.backend import import_backend_quietly

    import_backend_quietly()


def progress_bar(epochs: int) -> Any:
    """The Keras callback that draws a progress bar over ``epochs`` on stderr."""
    from zoo.train.callbacks import EpochProgress

    return EpochProgress(epochs)


def early_stop_note(
    history: dict[str, list[float]], planned: int, patience: int | None
) -> str | None:
    """One line saying that early stopping ended the run (see
    :func:`zoo.train.callbacks.early_stop_note`), or None."""
    from zoo.train.callbacks import early_stop_note as note

    return note(history, planned, patience)
