"""The options of one training phase, kept apart from Keras so that planning can name them,
and of one execution (progress, saving, resuming)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FitOptions:
    """How long and in what batches one training phase runs: up to ``epochs`` (counting
    from 0, as Keras's ``fit``), from ``initial_epoch`` (resuming), the training rows' losses
    weighed by ``class_weight`` (class index -> weight)."""

    epochs: int
    batch_size: int
    seed: int
    initial_epoch: int = 0
    class_weight: dict[int, float] | None = None


@dataclass(frozen=True)
class ExecuteOptions:
    """How one plan is executed, beside what the plan says to train.

    Attributes:
        progress: given the epoch count, returns a Keras callback that shows progress.
        save: write a run folder under ``config.runs_dir``.
        resume: an interrupted run folder to continue.
        plugin_versions: recorded in environment.json (plugin name -> version, status).
        on_start: called with the first epoch's index once training really starts (every
            check passed, the model built), e.g. to announce it.
        allow_unverified: resume from a model whose checksum cannot be verified.
    """

    progress: Callable[[int], Any] | None = None
    save: bool = True
    resume: str | Path | None = None
    plugin_versions: dict[str, dict[str, str]] = field(default_factory=dict)
    on_start: Callable[[int], None] | None = None
    allow_unverified: bool = False
