"""Compile settings a preset returns, and the task-aware default preset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The preset used when none is named, per task.
DEFAULT_PRESETS = {
    "regression": "adam-mse",
    "binary": "adam-binary",
    "multiclass": "adam-multiclass",
}


@dataclass(frozen=True)
class CompileSettings:
    """What ``model.compile`` needs, as identifiers Keras resolves itself.

    Args:
        optimizer: a name or config dict for ``keras.optimizers.get``.
        loss: a name or config dict for ``keras.losses.get``.
        metrics: metric names for ``model.compile``.
    """

    optimizer: Any
    loss: Any
    metrics: list[Any] = field(default_factory=list)

    def resolve(self) -> dict[str, Any]:
        """Keyword arguments for ``model.compile``, with Keras objects built."""
        import keras

        return {
            "optimizer": keras.optimizers.get(self.optimizer),
            "loss": keras.losses.get(self.loss),
            "metrics": list(self.metrics),
        }
