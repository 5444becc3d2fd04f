"""A run's full configuration: every choice explicit, so a run folder can repeat it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from zoo.core.errors import InvalidParameterError


@dataclass
class RunConfig:
    """Everything one training run needs.

    Args:
        model: model name (short or ``plugin:name``).
        data: data set name (or, for the csv data set, a CSV file; see ``target``).
        target: the target column of a CSV file.
        task: force the task of a CSV file ("regression", "binary", "multiclass").
        preset: loss/optimizer preset; None picks the default for the data set's task.
        epochs: passes over the training part.
        batch_size: rows per gradient step.
        seed: seeds weights, shuffling and dropout.
        test_size: fraction held out for the test metrics (the tutorial's 0.2).
        validation_size: fraction of the training part held out for validation curves.
        split_seed: random_state of the splits (the tutorial's 42).
        model_params, data_params, preset_params: hyperparameter overrides.
        patience: stop when the validation loss has not improved for this many epochs
            (and keep the best weights); None trains every epoch.
        reduce_lr: halve the learning rate when the validation loss plateaus.
        tensorboard: write TensorBoard logs into the run folder.
        runs_dir: where run folders are written.
    """

    model: str
    data: str
    preset: str | None = None
    target: str | None = None
    task: str | None = None
    epochs: int = 100
    batch_size: int = 32
    seed: int = 0
    test_size: float = 0.2
    validation_size: float = 0.1
    split_seed: int = 42
    model_params: dict[str, Any] = field(default_factory=dict)
    data_params: dict[str, Any] = field(default_factory=dict)
    preset_params: dict[str, Any] = field(default_factory=dict)
    patience: int | None = None
    reduce_lr: bool = False
    tensorboard: bool = False
    runs_dir: str = "runs"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if name == "patience" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"{name} must be a whole number of at least 1; received {name}={value!r}."
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
