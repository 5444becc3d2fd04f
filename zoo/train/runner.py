"""The runner: resolve names, check the combination, then load -> build -> compile -> fit ->
evaluate -> save. Every check that can fail runs before TensorFlow is imported."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.catalog.entries import Entry
from zoo.catalog.registry import Registry
from zoo.core.compile import DEFAULT_PRESETS
from zoo.core.config import RunConfig
from zoo.core.dataset import Dataset, Split, split_dataset
from zoo.core.errors import DataError, IncompatibleError
from zoo.core.params import check_overrides
from zoo.core.spec import ModelSpec, fine_tune_of
from zoo.plan.data_choice import resolve_data
from zoo.runs.folder import RunFolder
from zoo.train.job import Job
from zoo.train.scoring import score

if TYPE_CHECKING:
    import keras


@dataclass
class Plan:
    """A run's resolved entries, checked for compatibility, before anything heavy happens."""

    config: RunConfig
    data: Entry
    model: Entry
    preset: Entry


@dataclass
class RunResult:
    """What a finished run gives back."""

    config: RunConfig
    task: str
    metrics: dict[str, float]
    history: dict[str, list[float]]
    model: keras.Model
    folder: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def plan(config: RunConfig, registry: Registry) -> Plan:
    """Resolve every name and check that data, model and preset fit together.

    Raises:
        UnknownNameError, AmbiguousNameError: a name does not resolve to one entry.
        InvalidParameterError: an override names a key the entry does not have.
        IncompatibleError: the model or preset cannot handle the data set.
    """
    # A CSV path becomes the csv entry with its options as data params; a data set whose
    # task depends on its params (a CSV file's target) is inspected now, before TensorFlow.
    config, data = resolve_data(config, registry)
    model = registry.get(config.model, "models")
    task = data.metadata["task"]
    preset = registry.get(config.preset or DEFAULT_PRESETS[task], "presets")
    for entry, overrides in (
        (data, config.data_params),
        (model, config.model_params),
        (preset, config.preset_params),
    ):
        check_overrides(f"{entry.singular} {entry.name!r}", entry.params, overrides)
    _check_fit(registry, data, model, preset)
    _check_preset_loss(registry, config, preset, data)
    _check_extras(config)
    return Plan(config, data, model, preset)


def _check_extras(config: RunConfig) -> None:
    import importlib.util

    if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise IncompatibleError(
            "--tensorboard needs the tensorboard package, which is not installed; "
            "run: pip install 'keras-zoo[tensorboard]'."
        )


def _check_fit(registry: Registry, data: Entry, model: Entry, preset: Entry) -> None:
    task, kind = data.metadata["task"], data.metadata["input_kind"]
    if task not in model.metadata["tasks"] or kind not in model.metadata["input_kinds"]:
        fitting = [
            registry.display_name(m)
            for m in registry.list("models")
            if task in m.metadata["tasks"] and kind in m.metadata["input_kinds"]
        ]
        raise IncompatibleError(
            f"Model {model.name!r} takes {'/'.join(model.metadata['input_kinds'])} data for "
            f"{'/'.join(model.metadata['tasks'])} tasks, but data set {data.name!r} is {kind} "
            f"{task}. Models that fit: {', '.join(fitting) or 'none installed'}."
        )
    if task not in preset.metadata["tasks"]:
        fitting = [
            registry.display_name(p)
            for p in registry.list("presets")
            if task in p.metadata["tasks"]
        ]
        raise IncompatibleError(
            f"Preset {preset.name!r} is for {'/'.join(preset.metadata['tasks'])} tasks, but "
            f"data set {data.name!r} is {task}. Presets that fit: {', '.join(fitting)}."
        )


def _check_preset_loss(registry: Registry, config: RunConfig, preset: Entry, data: Entry) -> None:
    """A preset's loss (e.g. a Keras name given to 'custom') must suit the data set's task."""
    settings = registry.create("presets", preset.qualified_name, **config.preset_params)
    settings.for_task(data.metadata["task"], data.name)


def run(
    config: RunConfig | Plan,
    registry: Registry | None = None,
    *,
    progress: Callable[[int], Any] | None = None,
    save: bool = True,
    resume: str | Path | None = None,
) -> RunResult:
    """Train, evaluate and (by default) save one model.

    Args:
        config: what to run, or a :class:`Plan` already checked with :func:`plan`.
        registry: where names resolve; the installed plugins by default.
        progress: given the epoch count, returns a Keras callback that shows progress.
        save: write a run folder under ``config.runs_dir``.
        resume: an interrupted run folder to continue (its own config is used).

    Raises:
        RunInterrupted: SIGINT/SIGTERM stopped training; the folder keeps what was done.
        TrainingDiverged: the loss became NaN or infinite.
    """
    registry = registry or Registry.discover()
    checked = config if isinstance(config, Plan) else plan(config, registry)
    config = checked.config
    from zoo.train import fitting as training  # imports Keras: only now that the plan is sound

    started = time.perf_counter()
    data, parts = split_for_training(load_checked(checked, registry), config)
    job = Job(checked, data, parts, RunFolder(Path(resume)) if resume else None)
    training.seed_everything(config.seed + job.initial_epoch)
    model = job.previous_model() if resume else build_model(checked, registry, data, parts)
    settings = registry.create("presets", checked.preset.qualified_name, **config.preset_params)
    settings = settings.for_task(data.task, checked.data.name)  # the task's loss and metrics
    if save and job.folder is None:
        job.open_folder(registry)
    fit_started = time.perf_counter()
    history = job.fit(model, settings, progress)
    tune = None if resume else fine_tune_of(model)
    if tune:  # a second phase the builder asked for: transfer learning's fine-tuning
        history = job.fine_tune(model, tune, settings, progress, history)
    timings = {"fit_s": _since(fit_started)}
    metrics = score(data.task, *test_outputs(model, parts))
    timings["total_s"] = _since(started)
    result = RunResult(config, data.task, metrics, history, model, job.folder_path, timings)
    if job.folder:
        job.folder.complete(result)
    return result


def build_model(checked: Plan, registry: Registry, data: Dataset, parts: Split) -> keras.Model:
    """The plugin's model with the input scaling fitted on the training part in front."""
    from zoo.train import fitting as training

    spec = ModelSpec.for_dataset(data)
    body = registry.create(
        "models", checked.model.qualified_name, spec, **checked.config.model_params
    )
    name = f"{checked.model.name}_{checked.data.name}".replace("-", "_")
    if getattr(parts, "streamed", False):
        from zoo.plugins.csv_files.pipeline import with_scanned_scaling

        return with_scanned_scaling(body, parts, name)
    return training.with_input_scaling(body, parts.x_train, data.input_kind, name=name)


def split_for_training(data: Dataset, config: RunConfig) -> tuple[Dataset, Any]:
    """Train / validation / test parts: arrays in memory, or a scanned file for streaming.

    Scanning a streamed file checks every row before anything is written, and fits the
    scaling on the training rows; the data set it returns knows the row counts.
    """
    if data.stream is None:
        return data, split_dataset(
            data, config.test_size, config.validation_size, config.split_seed
        )
    from zoo.plugins.csv_files.scan import RowSplit, scan

    parts = scan(data.stream, RowSplit(config.test_size, config.validation_size, config.split_seed))
    return parts.dataset, parts


def test_outputs(model: keras.Model, parts: Any) -> tuple[Any, Any]:
    """The test part's targets and the model's outputs for them."""
    if getattr(parts, "streamed", False):
        from zoo.plugins.csv_files.pipeline import test_outputs as streamed_outputs

        return streamed_outputs(model, parts)
    from zoo.train import fitting as training

    return parts.y_test, training.predict(model, parts.x_test)


def load_checked(checked: Plan, registry: Registry) -> Dataset:
    """Load the data set and check it is what its plugin declared."""
    data = registry.create("datasets", checked.data.qualified_name, **checked.config.data_params)
    declared = checked.data.metadata["task"]
    if not isinstance(data, Dataset) or data.task != declared:
        got = data.task if isinstance(data, Dataset) else type(data).__name__
        raise DataError(
            f"Data set {checked.data.name!r} declared task {declared!r} but its loader returned "
            f"{got!r}; the plugin {checked.data.plugin!r} must return a matching zoo.core.dataset.Dataset."
        )
    return data


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
