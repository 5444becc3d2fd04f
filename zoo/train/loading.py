"""Loading a plan's data set, checked against its registration, and cutting its parts."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from zoo.catalog import contract
from zoo.core.dataset import ArrayParts
from zoo.core.errors import DataError
from zoo.core.parts import TRAIN, DataParts, DataSource, SplitSpec
from zoo.plan.planning import Plan

if TYPE_CHECKING:
    from zoo.core.config import RunConfig


def load_checked(checked: Plan) -> DataSource:
    """Load the data set and check it is what its plugin declared (``zoo.catalog.contract``)."""
    params = checked.config.data_params
    data = contract.call_plugin(checked.data, **params)
    return contract.check_data(checked.data, data, params)


def split_for_training(source: DataSource, config: RunConfig) -> DataParts:
    """Train / validation / test parts of the loaded data, by the run's split options."""
    if config.cross_validated:  # the run's own parts: the whole training part, the test part
        return source.split(SplitSpec(config.test_size, 0.0, config.split_seed))
    fold = config.fold or 0
    spec = SplitSpec(
        config.test_size, config.validation_size, config.split_seed, config.folds, fold
    )
    return transformed_targets(source.split(spec), config.target_transform)


def transformed_targets(parts: DataParts, transform: str) -> DataParts:
    """``parts`` whose training targets are log(1 + y) for ``transform="log1p"``.

    Only the training part changes: the model's ``TargetScale`` undoes the transform outside
    training, so validation, scoring and prediction stay in the target's units.

    Raises:
        DataError: a target at or below -1, or a streamed file (its rows are not in memory).
    """
    if transform == "none":
        return parts
    import numpy as np

    train = parts.arrays(TRAIN)
    if not isinstance(parts, ArrayParts) or train is None:
        raise DataError(
            f"{parts.info.source}: target_transform={transform} needs the rows in memory, and "
            "this file is streamed. Load it (--set stream=false), or leave the transform out."
        )
    low = float(np.min(train[1])) if len(train[1]) else 0.0
    if low <= -1:
        raise DataError(
            f"{parts.info.source}: target_transform=log1p needs targets above -1 (counts, "
            f"amounts); the smallest training target is {low:g}. Leave the transform out."
        )
    return replace(parts, y_train=np.log1p(train[1].astype("float64")).astype("float32"))
