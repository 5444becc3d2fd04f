"""``zoo tune`` as a use case: check everything, run the trials, then score and report once.

Every check that can fail (names, the space, the storage, a resumed study's model and data)
runs before the first trial. Trials run in this process by default (Keras imported once);
``jobs > 1`` starts that many worker processes on the same storage, as Optuna documents.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.app.tune import study as studies
from zoo.app.tune.request import Prepared, TrialNotice, TuneRequest, best_value, check_request
from zoo.core.errors import RunInterrupted, TrainingDiverged, ZooError
from zoo.runs.records import hold

if TYPE_CHECKING:
    from zoo import Registry
    from zoo.app.tune.request import TuneTracking


def prepare(
    request: TuneRequest,
    registry: Registry,
    resume: Path | None = None,
    held: contextlib.ExitStack | None = None,
) -> Prepared:
    """Check the request, then create (or reopen) the tune folder and its study; ``held``
    keeps the folder held (``zoo.runs.records``) until it closes."""
    base, space, task = check_request(request, registry)
    sampler = studies.make_sampler(base.seed)
    pruner = studies.make_pruner(request.startup_trials, request.warmup_epochs)
    if resume is not None:
        record = studies.read_record(resume)
        if held is not None:
            held.enter_context(hold(resume))
        url = studies.resumed_storage(resume, record, request.storage)
        storage = studies.open_storage(url)
        study = studies.load_study(storage, record["study_name"], sampler, pruner, resume)
        with studies.storage_errors(url):  # held: no other process runs its trials
            stale = studies.fail_stale_trials(storage, record["study_name"])
        # A new seed for the new trials, so that they do not repeat the first session's draws.
        study.sampler = studies.make_sampler(base.seed + len(study.trials))
        return Prepared(request, base, space, resume, study, record, task, url, stale=stale)
    storage = studies.open_storage(request.storage) if request.storage else None
    folder = studies.new_folder(request.tune_dir, base.model, base.data)
    if held is not None:
        held.enter_context(hold(folder))
    url = request.storage or studies.default_storage(folder)
    try:
        storage = storage or studies.open_storage(url)
        record = _new_record(folder, studies.recorded_storage(request.storage), request)
        attrs = {"model": base.model, "data": base.data, "folder": folder.name}
        with studies.storage_errors(url):
            study = studies.create_study(storage, folder.name, sampler, pruner, attrs)
            defaults = space.defaults()
            if defaults:  # the default configuration is trial 0: the search starts from it
                study.enqueue_trial(defaults)
        studies.write_record(folder, record)
    except ZooError:
        shutil.rmtree(folder, ignore_errors=True)  # nothing half-made is left behind
        raise
    return Prepared(request, base, space, folder, study, record, task, url)


def _new_record(folder: Path, storage: str, request: TuneRequest) -> dict[str, Any]:
    return {
        "version": 1,
        "study_name": folder.name,
        "storage": storage,
        "base": request.base.to_dict(),
        "space": dict(request.space),
        "fixed_keys": sorted(request.fixed_keys),
        "startup_trials": request.startup_trials,
        "warmup_epochs": request.warmup_epochs,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def tune(
    request: TuneRequest,
    registry: Registry,
    *,
    resume: str | Path | None = None,
    on_trial: TrialNotice | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run a study (or continue one) and write its tune folder.

    The tune folder is held while this runs (``zoo.runs.records``): a second command on it fails
    at once, and SIGTERM stops it as Ctrl-C does. ``on_stage`` is told what the search does
    after its trials (scoring the best and the default configuration).

    Returns:
        The summary written to ``summary.json``: best trial, test scores, baselines, files.

    Raises:
        RunInterrupted: Ctrl-C or SIGTERM; every finished trial is kept and reported.
        RunFolderError: the folder to resume is damaged, or another command holds it.
    """
    from zoo.app.tune.parallel import connect

    session = connect(request, registry)  # --cluster: connected and checked before the folder
    with contextlib.ExitStack() as held:
        prepared = prepare(request, registry, Path(resume) if resume else None, held)
        prepared.on_stage = on_stage
        return _search(prepared, registry, on_trial, session)


def _search(
    prepared: Prepared, registry: Registry, on_trial: TrialNotice | None, session: Any
) -> dict[str, Any]:
    from zoo.app.tune.finish import finish
    from zoo.app.tune.request import open_tracking

    tracking = open_tracking(prepared, registry)
    try:
        with tracking.parent():  # trials log as its children
            _optimize(prepared, registry, tracking, on_trial, session)
        # after it: MLflow logs the best model through a run of its own, one at a time
        return finish(prepared, registry, tracking)
    except (RunInterrupted, KeyboardInterrupt):
        finish(prepared, registry, tracking, score=False)
        trials = prepared.study.get_trials(deepcopy=False)
        done = sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
        raise RunInterrupted(
            f"Tuning interrupted; {done} finished trials are kept in {prepared.folder}. Continue "
            f"with 'zoo tune --resume {prepared.folder}'."
        ) from None


def _optimize(
    prepared: Prepared,
    registry: Registry,
    tracking: TuneTracking,
    on_trial: Any,
    session: Any = None,
) -> None:
    request = prepared.request
    if session is not None:
        from zoo.app.tune.parallel import run_on_cluster

        run_on_cluster(session, prepared, tracking, on_trial)
        return
    if request.jobs > 1:
        from zoo.app.tune.parallel import run_workers

        run_workers(prepared, on_trial)
        return
    from zoo.app.tune.objective import make_objective

    objective = make_objective(
        prepared.base,
        prepared.space,
        registry,
        tracking.log_trial,
        warmup_epochs=request.warmup_epochs,
    )
    prepared.study.optimize(
        objective,
        n_trials=request.trials,
        timeout=request.timeout,
        catch=(TrainingDiverged,),
        callbacks=[_notifier(on_trial)] if on_trial else None,
    )


def _notifier(on_trial: TrialNotice) -> Callable[[Any, Any], None]:
    def notify(study: Any, trial: Any) -> None:
        on_trial(trial, best_value(study))

    return notify
