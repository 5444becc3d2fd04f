"""Loading a plan's data set, checked against its registration, and cutting its parts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.core.parts import DataParts, DataSource, SplitSpec
from zoo.plan.planning import Plan
from zoo.train import contract

if TYPE_CHECKING:
    from zoo.core.config import RunConfig


def load_checked(checked: Plan) -> DataSource:
    """Load the data set and check it is what its plugin declared (``zoo.train.contract``)."""
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
    return source.split(spec)
