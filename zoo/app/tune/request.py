"""What ``zoo tune`` is asked to do, checked: everything that can be wrong with a request
is found here, before a study is opened or a trial runs.

Where the request says to log (``--track URI``), its MLflow logging lives here too: a parent
run for the study and a child per trial, through the tracker ``zoo run`` and ``zoo bench``
share (:mod:`zoo.app.tracking`). A trial's child run holds its parameters and per-epoch
losses, never test metrics: only the best trial's re-run, scored once on the test part, is
logged with them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.app.tracking import RunLog, Tracker, open_tracker
from zoo.app.tune import study as studies
from zoo.app.tune.space import Space, apply, build_space
from zoo.core.errors import InvalidParameterError, shown

if TYPE_CHECKING:
    from zoo import Registry, RunConfig, RunResult

DEFAULT_PATIENCE = 50


@dataclass
class TuneRequest:
    """What to search, how long, and where to keep the study.

    Args:
        base: the configuration every trial starts from; its hyperparameters are the
            defaults (``patience`` None becomes 50: trials stop early; ``seed_ensemble``
            None becomes 1: a trial trains one model, or one per fold).
        trials: trials to run (more trials on a resumed study).
        timeout: stop starting trials after this many seconds.
        space: the space file's contents (see :mod:`zoo.app.tune.space`).
        fixed_keys: ``section.name`` keys fixed with ``--set``, never searched.
        jobs: worker processes sharing the storage (1: trials run in this process).
        storage: an Optuna storage URL; by default SQLite in the tune folder.
        tune_dir: where the tune folder is created.
        startup_trials, warmup_epochs: the median pruner prunes only after this many
            completed trials, and never before this epoch.
        track: an MLflow tracking URI, or None.
        baselines: score the scikit-learn baselines beside the best trial.
        cluster: a :class:`zoo.app.cluster.ClusterOptions`: each trial runs as a Ray task
            there, driven by the study in this process (``jobs`` is then ignored).
        ensemble: K (or ``"top-K"``), to also score the K best trials' models averaged
            (saved as a run); None for the best trial alone.
        refit: N, to score each chosen configuration as ``zoo run --seed-ensemble N``
            trains it (zoo run's validation part, no folds); 0 scores it as its trials ran.
    """

    base: RunConfig
    trials: int = 20
    timeout: float | None = None
    space: Mapping[str, Any] = field(default_factory=dict)
    fixed_keys: frozenset[str] = frozenset()
    jobs: int = 1
    storage: str | None = None
    tune_dir: str = "runs"
    startup_trials: int = 5
    warmup_epochs: int = 30
    track: str | None = None
    baselines: bool = True
    cluster: Any = None
    ensemble: int | str | None = None
    refit: int = 0


@dataclass
class Prepared:
    """A checked request: the space, the open study and its folder.

    ``storage_url`` is the study's storage as opened (the folder's own ``study.db`` as an
    absolute URL); ``stale`` counts the trials a dead process had left running, marked
    failed on resume; ``on_stage`` is told what the search does after its trials.
    """

    request: TuneRequest
    base: RunConfig
    space: Space
    folder: Path
    study: Any
    record: dict[str, Any]
    task: str
    storage_url: str = ""
    stale: int = 0
    on_stage: Callable[[str], None] | None = None


TrialNotice = Callable[[Any, float | None], None]


def check_request(request: TuneRequest, registry: Registry) -> tuple[RunConfig, Space, str]:
    """Everything about a request that can be checked without a study.

    Raises:
        InvalidParameterError, UnknownNameError, IncompatibleError: a bad request.
    """
    from dataclasses import replace

    from zoo import plan

    if isinstance(request.trials, bool) or request.trials < 1:
        raise InvalidParameterError(
            f"--trials must be at least 1; received {shown(request.trials)}. Give the number of "
            "trials to run, e.g. --trials 50."
        )
    from zoo.app.saved import ensemble_size

    ensemble_size(request.ensemble)  # K below 2 is no ensemble
    _check_refit(request.refit, request.base)
    if request.jobs < 1:
        raise InvalidParameterError(f"--jobs must be at least 1; received {shown(request.jobs)}.")
    if request.timeout is not None and request.timeout <= 0:
        raise InvalidParameterError(
            f"--timeout must be positive; received {shown(request.timeout)}."
        )
    from zoo.app.tracking import check_tracking_uri

    check_tracking_uri(request.track)  # before the study's folder exists
    base = request.base
    if base.patience is None:
        base = replace(base, patience=DEFAULT_PATIENCE)
    if base.seed_ensemble is None:  # a trial trains one model (per fold); --refit N averages
        base = replace(base, seed_ensemble=1)
    if base.folds <= 1 and not base.validation_size:
        raise InvalidParameterError(
            "zoo tune selects on the validation part, so --validation-size must be above 0 "
            "(or give --folds N to cross-validate)."
        )
    checked = plan(base, registry)
    space = build_space(
        checked.config, checked.model, checked.preset, request.space, request.fixed_keys
    )
    base = apply(checked.config, space.fixed)
    plan(base, registry)  # the space file's fixed values must suit the entries too
    return base, space, checked.data.metadata["task"]


def _check_refit(refit: Any, base: RunConfig) -> None:
    """0 (score as the trials ran) or a seed ensemble's size that ``base`` can take."""
    from dataclasses import replace

    from zoo.core.config import MAX_SEED_ENSEMBLE

    if isinstance(refit, bool) or not isinstance(refit, int) or not 0 <= refit <= MAX_SEED_ENSEMBLE:
        raise InvalidParameterError(
            f"--refit must be a whole number from 0 (score each choice as its trials ran) to "
            f"{MAX_SEED_ENSEMBLE}; received {shown(refit)}. Give e.g. --refit 5."
        )
    if refit:
        replace(base, folds=1, seed_ensemble=refit)  # RunConfig refuses seeds past its limit


def resume_request(
    folder: str | Path, model: str | None, data: str | None, **options: Any
) -> TuneRequest:
    """The request a tune folder was started with, for ``--resume``.

    Raises:
        RunFolderError: not a tune folder, or ``model``/``data`` name another study's.
    """
    from zoo import RunConfig

    record = studies.read_record(folder)
    base = record["base"]
    studies.check_same_task(Path(folder), record, model or base["model"], data or base["data"])
    studies.resumed_storage(Path(folder), record, options.get("storage"))  # before Keras loads
    return TuneRequest(
        base=RunConfig(**base),
        space=record.get("space", {}),
        fixed_keys=frozenset(record.get("fixed_keys", ())),
        startup_trials=record.get("startup_trials", 5),
        warmup_epochs=record.get("warmup_epochs", 30),
        **options,
    )


def best_value(study: Any) -> float | None:
    """The best validation score so far, or None before any trial completed."""
    try:
        return float(study.best_value)
    except ValueError:
        return None


LOCK_FILE = "mlflow.lock"


class TuneTracking:
    """Logs a study to MLflow, or does nothing when no tracking URI was given."""

    def __init__(self, tracker: Tracker | None, folder: Path, record: dict[str, Any]) -> None:
        self.tracker = tracker
        self.folder = folder
        self.record = record
        self.parent_id: str | None = record.get("mlflow_parent_run_id")

    @contextlib.contextmanager
    def parent(self) -> Iterator[str | None]:
        """The study's parent run for the duration (reopened when the study is resumed)."""
        if self.tracker is None:
            yield None
            return
        from zoo.app.tune.study import write_record

        params = {"base": self.record["base"], "space": self.record.get("space", {})}
        with self.tracker.parent(self.folder.name, params, run_id=self.parent_id) as run_id:
            self.parent_id = run_id
            self.record["mlflow_parent_run_id"] = run_id
            write_record(self.folder, self.record)
            yield run_id

    def log_trial(self, trial: Any, result: RunResult) -> None:
        if self.tracker is None:
            return
        run = RunLog(
            f"trial-{trial.number}",
            {"trial": trial.number, **trial.params},
            result.history,
            {},
            tags={"zoo.kind": "trial", "zoo.trial": trial.number},
        )
        self.tracker.log_run(run, parent_run_id=self.parent_id)

    def log_tested(self, tested: Mapping[str, RunResult], files: list[Path]) -> None:
        """The runs scored on the test part (``best``: the best trial's re-run; ``ensemble``:
        the top-K average), each with its test metrics and model, and the study's files."""
        if self.tracker is None:
            return
        for kind, result in tested.items():
            run = RunLog(
                kind,
                result.config.to_dict(),
                result.history,
                result.metrics,
                result.folder,
                model=result.model,
                tags={"zoo.kind": kind},
            )
            self.tracker.log_run(run, parent_run_id=self.parent_id)
        if self.parent_id:
            self.tracker.log_artifacts(self.parent_id, files)


def open_tracking(prepared: Prepared, registry: Registry | None = None) -> TuneTracking:
    """Tracking for a prepared study; the URI given now, or the one it was started with."""
    uri = prepared.request.track or prepared.record.get("mlflow_uri")
    return tracking_for(uri, prepared.folder, prepared.record, several=prepared.request.jobs > 1)


def tracking_for(
    uri: str | None, folder: Path, record: dict[str, Any], *, several: bool = False
) -> TuneTracking:
    if not uri:
        return TuneTracking(None, folder, record)
    record["mlflow_uri"] = uri
    # Worker processes writing to one store take turns (SQLite allows one writer).
    tracker = open_tracker(uri, lock=folder / LOCK_FILE if several else None)
    return TuneTracking(tracker, folder, record)
