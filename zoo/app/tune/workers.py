"""``--jobs N``: N worker processes run trials of one study, sharing its storage.

This is the way Optuna documents for parallel search: each process loads the study from the
same database and calls ``optimize``. Workers are started fresh ("spawn", never a fork of a
process that may hold TensorFlow threads), each imports Keras once, and each gets its own
sampler seed so that they do not propose the same trials. This process watches the storage
and reports each finished trial.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunInterrupted, ZooError

if TYPE_CHECKING:
    from zoo.app.tune.request import Prepared, TrialNotice

POLL_S = 0.5


class WorkerFailed(ZooError):
    """A worker process stopped with an error (its message is above, on stderr)."""


def run_workers(prepared: Prepared, on_trial: TrialNotice | None) -> None:
    """Run ``prepared.request.trials`` trials across ``jobs`` processes; return when all end."""
    request = prepared.request
    jobs = request.jobs
    shares = [request.trials // jobs + (i < request.trials % jobs) for i in range(jobs)]
    threads = max(1, (os.cpu_count() or 1) // jobs)
    # Each worker draws from its own seed, never one an earlier session or worker used.
    seed = prepared.base.seed + len(prepared.study.trials)
    context = multiprocessing.get_context("spawn")
    options = {"timeout": request.timeout, "threads": threads, "track": request.track}
    processes = [
        context.Process(
            target=work,
            args=(str(prepared.folder), share, seed + i, options),
            name=f"zoo-tune-worker-{i}",
        )
        for i, share in enumerate(shares)
        if share
    ]
    for process in processes:
        process.start()
    try:
        _watch(prepared.study, processes, on_trial)
    except KeyboardInterrupt:
        for process in processes:
            process.join(timeout=30)
        raise
    codes = [p.exitcode for p in processes]
    if any(code == 130 for code in codes):
        raise RunInterrupted("A tune worker was interrupted.")
    failed = [(p.name, p.exitcode) for p in processes if p.exitcode]
    if failed:
        raise WorkerFailed(
            f"Tune worker {failed[0][0]} stopped with exit code {failed[0][1]} (its error is "
            "printed above); finished trials are kept in the study."
        )


def _watch(study: Any, processes: list[Any], on_trial: TrialNotice | None) -> None:
    from zoo.app.tune.request import best_value

    seen: set[int] = set()
    while True:
        alive = any(p.is_alive() for p in processes)
        for trial in study.get_trials(deepcopy=False):
            if trial.state.is_finished() and trial.number not in seen:
                seen.add(trial.number)
                if on_trial:
                    on_trial(trial, best_value(study))
        if not alive:
            return
        time.sleep(POLL_S)


def work(folder: str, trials: int, sampler_seed: int, options: dict[str, Any]) -> None:
    """One worker process: reopen the study from the folder's record and run its share."""
    import sys

    try:
        _work(Path(folder), trials, sampler_seed, options)
    except (RunInterrupted, KeyboardInterrupt):
        sys.exit(130)
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        sys.exit(1)


def _work(folder: Path, trials: int, sampler_seed: int, options: dict[str, Any]) -> None:
    from zoo import Registry
    from zoo.app.tune import study as studies
    from zoo.app.tune.objective import make_objective
    from zoo.app.tune.request import check_request, resume_request
    from zoo.app.tune.tracking import tracking_for
    from zoo.core.errors import TrainingDiverged

    _limit_threads(options["threads"])
    registry = Registry.discover(warn=False)  # the driver already warned
    record = studies.read_record(folder)
    request = resume_request(folder, None, None, trials=trials)
    base, space, _ = check_request(request, registry)
    storage = studies.open_storage(record["storage"])
    sampler = studies.make_sampler(sampler_seed)
    pruner = studies.make_pruner(request.startup_trials, request.warmup_epochs)
    study = studies.load_study(storage, record["study_name"], sampler, pruner, folder)
    tracking = tracking_for(record.get("mlflow_uri"), folder, record, several=True)
    objective = make_objective(base, space, registry, tracking.log_trial)
    study.optimize(
        objective, n_trials=trials, timeout=options["timeout"], catch=(TrainingDiverged,)
    )


def _limit_threads(threads: int) -> None:
    """Share the cores between the workers instead of each one using all of them."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
