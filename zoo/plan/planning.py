"""One plan per run: every name resolved once, every override typed and checked once.

:func:`plan` turns a :class:`~zoo.core.config.RunConfig` (plus ``--set`` strings) into an
immutable :class:`Plan` holding the resolved entries, their final parameters and the task.
Everything after it (training, saving, bench, search, remote execution) takes a plan and
never resolves a name again. ``Plan.to_dict()`` is the run's ``config.json``; feeding it back
through :meth:`Plan.from_dict` gives the same plan in another process or on another machine.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zoo.catalog.entries import AUTO, INFERRED, Entry, check_overrides, check_ranges, factory_role
from zoo.catalog.keras_names import check_settings_names
from zoo.core.config import (
    AUTO_BATCH_BOUNDS,
    AUTO_BATCH_STEPS,
    AUTO_ENSEMBLE_ROWS,
    AUTO_ENSEMBLE_SIZE,
    DEFAULT_BATCH_SIZE,
    SEED_LIMIT,
    RunConfig,
)
from zoo.core.errors import DataError, IncompatibleError, PluginError, ZooError, shown
from zoo.core.parts import SplitSpec, too_few_rows
from zoo.core.spec import CompileSettings
from zoo.plan.data_choice import data_entry, resolve_data
from zoo.plan.overrides import SECTIONS, apply_sets

if TYPE_CHECKING:
    from zoo.catalog.registry import Registry


@dataclass(frozen=True)
class Plan:
    """A run resolved and checked, before anything heavy happens.

    Args:
        config: the run's configuration, with ``--set`` values and a claimed file's path
            folded into its parameter dicts.
        data, model, preset: the resolved entries (the data set's metadata as inspected
            for its parameters).
        task: the data set's task.
        settings: the preset's compile settings, filled in and checked for the task.
    """

    config: RunConfig
    data: Entry
    model: Entry
    preset: Entry
    task: str
    settings: CompileSettings

    def params(self, section: str) -> Mapping[str, Any]:
        """The final hyperparameters of ``section`` ("data", "model" or "preset"):
        every default, with the overrides applied."""
        entry: Entry = getattr(self, section)
        final = {p.name: p.default for p in entry.params}
        final.update(getattr(self.config, f"{section}_params"))
        return MappingProxyType(final)

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        """Only the parameters the run overrides, per section: what factories are called with."""
        return {s: dict(getattr(self.config, f"{s}_params")) for s in SECTIONS}

    @property
    def model_label(self) -> str:
        """The model's short name, for folder names and messages."""
        return self.model.name

    @property
    def data_label(self) -> str:
        """The data set's short name, or a claimed file's stem (``houses`` for houses.csv)."""
        path = self.config.data_params.get("path")
        return Path(str(path)).stem if path else self.data.name

    def to_dict(self) -> dict[str, Any]:
        """The configuration (names already qualified) with every hyperparameter explicit."""
        values = self.config.to_dict()
        for section in SECTIONS:
            values[f"{section}_params"] = dict(self.params(section))
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], registry: Registry) -> Plan:
        """The plan of a ``to_dict()`` (a run folder's config.json), resolved in ``registry``."""
        return plan(RunConfig(**values), registry)


def plan(
    config: RunConfig, registry: Registry, sets: Iterable[str] = (), *, split: bool = True
) -> Plan:
    """Resolve every name, apply ``sets`` and check that data, model and preset fit together.

    Raises:
        UnknownNameError, AmbiguousNameError: a name does not resolve to one entry.
        InvalidParameterError: an override names a key the entry does not have, or gives a
            value outside the range its plugin declares.
        PluginError: the preset's factory fails, returns no CompileSettings, or names an
            optimizer, loss or metric Keras does not know.
        IncompatibleError: the model or preset cannot handle the data set.
        DataError: inspecting the data set's parameters found it unusable, or (with
            ``split``, unless only the whole data set is to be scored) its rows are too few
            for the split.
    """
    sets = tuple(sets)
    model = registry.get(config.model, "models")
    preset = registry.get(config.preset, "presets") if config.preset else None
    config = _with_data_sets(config, registry, model, preset, sets)
    data, data_params = resolve_data(
        registry, config.data, config.data_params, config.target, config.task
    )
    task = data.metadata["task"]
    preset = preset or model_preset(registry, model, task)
    preset = preset or registry.get(registry.default_preset(task), "presets")
    values = {**config.to_dict(), "data_params": data_params}
    apply_sets(values, sets, _sections(data, model, preset))
    # Names resolve once: from here on the configuration names entries, never the typed text.
    values.update(model=model.qualified_name, data=data.qualified_name)
    values["preset"] = preset.qualified_name
    config = RunConfig(**values)
    if config.batch_size is None:
        config = replace(config, batch_size=model_batch_size(model, config, data.metadata))
    if config.seed_ensemble is None:
        seeds = model_seed_ensemble(model, config, data.metadata)
        config = replace(config, seed_ensemble=seeds)
    for entry, overrides in ((model, config.model_params), (preset, config.preset_params)):
        check_overrides(f"{entry.singular} {shown(entry.name)}", entry.params, overrides)
    _check_ranges(config, data, model, preset)
    _check_fit(registry, data, model, preset)
    if split:
        _check_rows(config, data)
    _check_model(model, config)
    settings = _settings(preset, config, task, data.name)
    _check_extras(config, task)
    return Plan(config, data, model, preset, task, settings)


def model_preset(registry: Registry, model: Entry, task: str) -> Entry | None:
    """The preset ``model`` declares for runs that name none, where it exists and fits
    ``task``; else None (the task's default preset applies)."""
    name = model.metadata.get("preset")
    if not name:
        return None
    try:
        entry = registry.get(name, "presets")
    except ZooError:  # its plugin is disabled or not installed
        return None
    return entry if task in entry.metadata["tasks"] else None


def model_batch_size(model: Entry, config: RunConfig, metadata: Mapping[str, Any]) -> int:
    """The batch size a run of ``model`` gets when it names none: the model's declared one,
    by the training part's size for ``"auto"``, else the tutorial's."""
    declared = model.metadata.get("batch_size")
    if declared is None:
        return DEFAULT_BATCH_SIZE
    if declared != AUTO:
        return int(declared)
    rows = training_rows(config, metadata)
    if rows is None:
        return DEFAULT_BATCH_SIZE  # unknown until a streamed file is scanned
    return auto_batch_size(rows)


def model_seed_ensemble(model: Entry, config: RunConfig, metadata: Mapping[str, Any]) -> int:
    """How many seeds' models a run of ``model`` averages when it names no number: the
    model's declared one; for ``"auto"`` ``AUTO_ENSEMBLE_SIZE`` on a training part of at
    most ``AUTO_ENSEMBLE_ROWS`` rows, unless the run already averages folds or is
    distributed; else 1."""
    declared = model.metadata.get("seed_ensemble")
    if declared is None:
        return 1
    if declared != AUTO:
        return int(declared)
    rows = training_rows(config, metadata)
    alone = config.folds == 1 and config.distribute is None
    if rows is None or not alone or rows > AUTO_ENSEMBLE_ROWS:
        return 1
    return min(AUTO_ENSEMBLE_SIZE, SEED_LIMIT - config.seed + 1)  # seeds stay 32-bit


def training_rows(config: RunConfig, metadata: Mapping[str, Any]) -> float | None:
    """The rows one model of the run trains on (a fold's, with folds), or None while the
    data set's row count is unknown (a streamed file)."""
    rows = metadata.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool):
        return None
    held_out = 1 / config.folds if config.folds > 1 else config.validation_size
    return rows * (1 - config.test_size) * (1 - held_out)


def auto_batch_size(training_rows: float) -> int:
    """A power of two giving about ``AUTO_BATCH_STEPS`` steps per epoch, within
    ``AUTO_BATCH_BOUNDS``: housing's 363 training rows train in batches of 32, 7,200 in 512."""
    low, high = AUTO_BATCH_BOUNDS
    wanted = max(training_rows / AUTO_BATCH_STEPS, 1.0)
    return int(min(max(2 ** round(math.log2(wanted)), low), high))


def _with_data_sets(
    config: RunConfig,
    registry: Registry,
    model: Entry,
    preset: Entry | None,
    sets: tuple[str, ...],
) -> RunConfig:
    """``config`` with the ``--set`` values that belong to the data set applied.

    The data parameters (and the run's target and task) come first because the data set's
    task (and so the default preset, whose hyperparameters the other keys may name) can
    depend on them.
    """
    if not sets:
        return config
    entry, _ = data_entry(registry, config.data)
    values = config.to_dict()
    sections = _sections(entry, model, preset)
    for item in sets:
        try:
            apply_sets(values, [item], sections)
        except ZooError:
            continue  # reported, with every valid key, once all three entries are known
    # --set target=COL / task=... choose the data as --target / --task do: checked the same way.
    return replace(
        config, data_params=values["data_params"], target=values["target"], task=values["task"]
    )


def _sections(data: Entry, model: Entry, preset: Entry | None) -> dict[str, tuple[Any, ...]]:
    return {"data": data.params, "model": model.params, "preset": preset.params if preset else ()}


def _settings(preset: Entry, config: RunConfig, task: str, data_name: str) -> CompileSettings:
    """The preset's settings with the task's loss and metrics filled in and checked."""
    try:
        settings = preset.factory(**config.preset_params)
    except ZooError:
        raise
    except Exception as exc:
        raise PluginError(
            f"{preset.owner}: its {factory_role('presets')} "
            f"raised {type(exc).__name__}: {_first_line(exc)}"
        ) from exc
    if not isinstance(settings, CompileSettings):
        raise PluginError(
            f"{preset.owner} returned "
            f"{type(settings).__name__}; expected zoo.plugin.CompileSettings."
        )
    filled = settings.for_task(task, data_name)
    check_settings_names(preset, filled)
    return filled


def _check_ranges(config: RunConfig, data: Entry, model: Entry, preset: Entry) -> None:
    """Every hyperparameter value inside the range its plugin declares."""
    for section, entry in (("data", data), ("model", model), ("preset", preset)):
        values = getattr(config, f"{section}_params")
        owner = entry.owner
        check_ranges(owner, entry.metadata.get("ranges"), values)


def _check_rows(config: RunConfig, data: Entry) -> None:
    """Refuse a data set whose known row count is too few for the run's split (a streamed
    file's count is known once it is scanned, and checked there)."""
    rows = data.metadata.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool):
        return
    spec = SplitSpec(config.test_size, config.validation_size, config.split_seed, config.folds)
    problem = too_few_rows(rows, spec)
    if problem:
        path = config.data_params.get("path")
        raise DataError(f"{path or f'data set {shown(data.name)}'}: {problem}.")


def _check_model(model: Entry, config: RunConfig) -> None:
    """The model's own ``check`` of its final hyperparameters, before TensorFlow loads."""
    check = model.metadata.get("check")
    if check is None:
        return
    params = {p.name: p.default for p in model.params} | dict(config.model_params)
    try:
        check(**params)
    except ZooError:
        raise
    except Exception as exc:
        raise PluginError(
            f"{model.owner}: its check callable raised {type(exc).__name__}: {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_extras(config: RunConfig, task: str) -> None:
    if config.target_transform != "none" and task != "regression":
        raise IncompatibleError(
            f"target_transform={config.target_transform} transforms a regression target, but "
            f"the data set is {task}. Leave the transform out."
        )
    if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise IncompatibleError(
            "--tensorboard needs the tensorboard package, which is not installed; "
            "run: pip install 'keras-zoo[tensorboard]'."
        )


def _check_fit(registry: Registry, data: Entry, model: Entry, preset: Entry) -> None:
    task, kind = data.metadata["task"], data.metadata["input_kind"]
    if task == INFERRED:  # pragma: no cover - resolve_data inspects inferred tasks
        raise IncompatibleError(f"data set {shown(data.name)} did not say its task")
    if task not in model.metadata["tasks"] or kind not in model.metadata["input_kinds"]:
        fitting = [
            registry.display_name(m)
            for m in registry.list("models")
            if task in m.metadata["tasks"] and kind in m.metadata["input_kinds"]
        ]
        raise IncompatibleError(
            f"Model {shown(model.name)} takes {'/'.join(model.metadata['input_kinds'])} data for "
            f"{'/'.join(model.metadata['tasks'])} tasks, but data set {shown(data.name)} is {kind} "
            f"{task}. Models that fit: {', '.join(fitting) or 'none installed'}."
        )
    if task not in preset.metadata["tasks"]:
        fitting = [
            registry.display_name(p)
            for p in registry.list("presets")
            if task in p.metadata["tasks"]
        ]
        raise IncompatibleError(
            f"Preset {shown(preset.name)} is for {'/'.join(preset.metadata['tasks'])} tasks, but "
            f"data set {shown(data.name)} is {task}. Presets that fit: {', '.join(fitting)}."
        )
