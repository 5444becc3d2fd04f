"""``zoo run`` as a use case: plan a configuration (once), then execute the plan; and what
the CLI needs of the execution layer beside a run (the backend imported quietly, the progress
bar while training, the early-stopping note after it), each imported lazily so that
``zoo list`` and ``zoo --help`` load no Keras or TensorFlow."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from zoo.catalog.registry import Registry
from zoo.core.config import ExecuteOptions, RunConfig
from zoo.plan.planning import Plan, plan
from zoo.train.runner import RunResult, execute

__all__ = ["ExecuteOptions", "RunResult", "plan_run", "plugin_versions", "run", "train_plan"]


def run(
    config: RunConfig | Plan,
    registry: Registry | None = None,
    *,
    sets: Iterable[str] = (),
    progress: Callable[[int], Any] | None = None,
    save: bool = True,
    resume: str | Path | None = None,
) -> RunResult:
    """Train, evaluate and (by default) save one model.

    Args:
        config: what to run, or a :class:`Plan` already checked with :func:`zoo.plan`.
        registry: where names resolve; the installed plugins by default.
        sets: ``KEY=VALUE`` overrides, as ``zoo run --set`` takes them.
        progress: given the epoch count, returns a Keras callback that shows progress.
        save: write a run folder under ``config.runs_dir``.
        resume: an interrupted run folder to continue (its own config is used).

    Raises:
        ZooError: the configuration does not plan (see :func:`zoo.plan`).
        RunInterrupted: SIGINT/SIGTERM stopped training; the folder keeps what was done.
        TrainingDiverged: the loss became NaN or infinite.
    """
    registry = registry or Registry.discover()
    checked = config if isinstance(config, Plan) else plan(config, registry, sets)
    options = ExecuteOptions(progress=progress, save=save, resume=resume)
    return train_plan(checked, registry, options)


def train_plan(checked: Plan, registry: Registry, options: ExecuteOptions) -> RunResult:
    """Execute a plan, recording the registry's plugin versions with it."""
    return execute(checked, replace(options, plugin_versions=plugin_versions(registry)))


def plan_run(
    config: RunConfig,
    registry: Registry,
    sets: tuple[str, ...] = (),
    resume: str | Path | None = None,
) -> Plan:
    """The plan of a run; for one to ``resume`` (``config``: its config.json with the changes
    allowed), settings read back are checked like a saved run's
    (:func:`zoo.app.saved.resumed_plan`)."""
    if resume is None:
        return plan(config, registry, sets)
    from zoo.app.saved import resumed_plan

    return resumed_plan(resume, config, registry, sets)


def plugin_versions(registry: Registry) -> dict[str, dict[str, str]]:
    """What environment.json records of the plugins: name -> version and status."""
    return {
        name: {"version": record.version, "status": record.status}
        for name, record in registry.plugins.items()
    }


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
