"""``zoo evaluate``: a saved model scored again, on its test part or on another data set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.core.errors import IncompatibleError
from zoo.plan.data_choice import data_entry

if TYPE_CHECKING:
    from zoo.app.saved import SavedRun
    from zoo.catalog.registry import Registry


def evaluate_run(
    run: SavedRun, registry: Registry, data: str | None = None, target: str | None = None
) -> tuple[str, dict[str, float]]:
    """Score a saved model on its own test part, or on all rows of another data set.

    Returns:
        A description of the rows scored, and the metrics.
    """
    from zoo.app.saved import saved_plan
    from zoo.train.backend import import_backend_quietly

    values = dict(run.config)
    if data is not None:
        values.update(data=data, data_params={}, **_data_options(run, registry, data, target))
    checked = saved_plan(run, values, registry)  # settings from disk: checked, one line
    import_backend_quietly()  # before the imports below load Keras, so that it loads quietly
    from zoo.train.fitting import part_outputs
    from zoo.train.loading import load_checked, split_for_training
    from zoo.train.scoring import score

    source = load_checked(checked)
    parts = split_for_training(source, checked.config) if data is None else source.whole()
    _check_same_inputs(run, parts.info.input_shape, checked.config.data)
    y, outputs = part_outputs(run.model, parts)
    name = checked.config.data
    part = (
        f"the test part of {name} ({len(y)} rows)"
        if data is None
        else f"all {len(y)} rows of {name}"
    )
    return part, score(checked.task, y, outputs)


def _data_options(
    run: SavedRun, registry: Registry, data: str, target: str | None
) -> dict[str, str | None]:
    """``target`` and ``task`` for another data set: by default the run's own, when that data
    set takes them (a CSV file), since the model was trained to predict that column."""
    entry, _ = data_entry(registry, data)
    takes = {p.name for p in entry.params}
    options: dict[str, str | None] = {"target": target, "task": None}
    if target is None and "target" in takes:
        options["target"] = run.data.get("target_name") or None
    if "task" in takes:
        options["task"] = run.data.get("task") or None
    return options


def _check_same_inputs(run: SavedRun, shape: tuple[int, ...], name: str) -> None:
    expected = list(run.data.get("input_shape", shape))
    if list(shape) != expected:
        raise IncompatibleError(
            f"The model takes inputs of shape {tuple(expected)} but {name} has "
            f"{tuple(shape)}; evaluate on data with the same features."
        )
