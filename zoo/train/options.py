"""The options of one training phase, kept apart from Keras so that planning can name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FitOptions:
    """How long and in what batches one training phase runs."""

    epochs: int
    batch_size: int
    seed: int
