"""Running a study's trials in parallel: ``--jobs N`` worker processes here, or ``--cluster``,
each trial one Ray task.

``--jobs N`` is the way Optuna documents for parallel search: each process loads the study
from the same database and calls ``optimize``. Workers are started fresh ("spawn", never a
fork of a process that may hold TensorFlow threads), each imports Keras once, and each gets
its own sampler seed so that they do not propose the same trials. This process watches the
storage and reports each finished trial.

``--cluster`` uses Optuna's ask-and-tell interface, so that this process keeps the study, its
storage and its sampler exactly as in a local search, while the trials train on the cluster:
as many run at once as the cluster has room for, and each finished one makes room for the
next. A trial's worker cannot reach the study's storage, so its per-epoch validation losses
are reported when it returns: trials are not pruned mid-run on a cluster (early stopping
still applies).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from zoo.app.tune.objective import (
    VALIDATION_LOSS,
    fold_configs,
    record_score,
    train,
    trial_score,
)
from zoo.app.tune.space import apply
from zoo.core.errors import RunInterrupted, ZooError, one_line
from zoo.runs.records import Terminated, terminate_as_interrupt

if TYPE_CHECKING:
    from zoo import Registry
    from zoo.app.tune.request import Prepared, TrialNotice, TuneTracking


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
    options["storage"] = prepared.storage_url  # as this process opened it
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
    except KeyboardInterrupt as stop:
        for process in processes:
            if isinstance(stop, Terminated) and process.is_alive():
                process.terminate()  # SIGTERM came to this process only: pass it on
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

    from zoo.train.backend import import_backend_quietly

    import_backend_quietly()  # TensorFlow's start-up notices stay off the terminal
    try:
        with terminate_as_interrupt():
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
    from zoo.app.tune.request import check_request, resume_request, tracking_for
    from zoo.core.errors import TrainingDiverged

    _limit_threads(options["threads"])
    registry = Registry.discover(warn=False)  # the driver already warned
    record = studies.read_record(folder)
    request = resume_request(folder, None, None, trials=trials)
    base, space, _ = check_request(request, registry)
    storage = studies.open_storage(options["storage"])
    sampler = studies.make_sampler(sampler_seed)
    pruner = studies.make_pruner(request.startup_trials, request.warmup_epochs)
    study = studies.load_study(storage, record["study_name"], sampler, pruner, folder)
    tracking = tracking_for(record.get("mlflow_uri"), folder, record, several=True)
    objective = make_objective(
        base, space, registry, tracking.log_trial, warmup_epochs=request.warmup_epochs
    )
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


def connect(request: Any, registry: Registry) -> Any:
    """A checked :class:`zoo.app.cluster.ClusterSession` when the request names a cluster."""
    if request.cluster is None:
        return None
    from zoo.app.cluster import ClusterSession
    from zoo.app.cluster.options import registry_versions

    return ClusterSession(request.cluster, registry_versions(registry))


def train_trial(payload: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """The worker side: train one trial's configuration (each fold), without a run folder."""
    from zoo import RunConfig

    histories, fit_s = [], 0.0
    try:
        for fold in fold_configs(RunConfig(**payload["config"])):
            result = train(fold, _registry())
            histories.append(result.history)
            fit_s += result.timings.get("fit_s") or 0.0
    except ZooError as exc:  # a diverged or refused trial fails; the search goes on
        return {"error": one_line(exc)}
    return {"history": histories[0], "histories": histories, "timings": {"fit_s": fit_s}}


@lru_cache(maxsize=1)
def _registry() -> Registry:
    from zoo import Registry

    return Registry.discover(warn=False)


def run_on_cluster(
    session: Any, prepared: Prepared, tracking: TuneTracking, on_trial: TrialNotice | None
) -> None:
    """Run ``prepared.request.trials`` trials on the cluster; the study records each.

    Raises:
        KeyboardInterrupt: Ctrl-C; finished trials are kept, the running ones cancelled
            and recorded as failed.
    """
    trials = _Trials(prepared, tracking, on_trial)
    first = [p for p in (trials.ask() for _ in range(session.slots())) if p is not None]
    try:
        session.run(train_trial, first, trials.tell, more=trials.ask)
    except KeyboardInterrupt:
        trials.fail_running("cancelled by Ctrl-C")
        raise
    finally:
        session.close()


class _Trials:
    """Asks the study for trials while the budget lasts; tells it how each one ended."""

    def __init__(
        self, prepared: Prepared, tracking: TuneTracking, on_trial: TrialNotice | None
    ) -> None:
        self.prepared, self.tracking, self.on_trial = prepared, tracking, on_trial
        self.study = prepared.study
        self.asked = 0
        self.deadline = (
            time.monotonic() + prepared.request.timeout if prepared.request.timeout else None
        )
        self.running: dict[int, Any] = {}

    def ask(self) -> dict[str, Any] | None:
        """The next trial as plain data, or None once the trials or the time are used up."""
        out_of_time = self.deadline is not None and time.monotonic() >= self.deadline
        if self.asked >= self.prepared.request.trials or out_of_time:
            return None
        trial = self.study.ask()
        config = apply(self.prepared.base, self.prepared.space.sample(trial))
        self.asked += 1
        self.running[trial.number] = trial
        return {"trial": trial.number, "config": config.to_dict()}

    def tell(self, payload: dict[str, Any], outcome: Any) -> None:
        trial = self.running.pop(payload["trial"])
        record = outcome.record or {}
        error = outcome.error or record.get("error")
        if error:
            trial.set_user_attr("error", error)
            self.study.tell(trial, state=_state("FAIL"))
        else:
            self._complete(trial, record, outcome.node)
        if self.on_trial:
            from zoo.app.tune.request import best_value

            finished = self.study.get_trials(deepcopy=False)[trial.number]
            self.on_trial(finished, best_value(self.study))

    def _complete(self, trial: Any, record: dict[str, Any], node: str) -> None:
        history = record["history"]  # the first fold's, as a local search reports it
        for epoch, value in enumerate(history.get(VALIDATION_LOSS) or [], 1):
            trial.report(float(value), step=epoch)  # for the plots; too late to prune
        score = trial_score(record.get("histories") or [history])
        record_score(trial, score, record.get("timings", {}).get("fit_s"))
        trial.set_user_attr("process", node)  # which Ray worker ran it
        self.tracking.log_trial(trial, SimpleNamespace(history=history))
        self.study.tell(trial, score.value)

    def fail_running(self, reason: str) -> None:
        for trial in self.running.values():
            trial.set_user_attr("error", reason)
            self.study.tell(trial, state=_state("FAIL"))
        self.running.clear()


def _state(name: str) -> Any:
    import optuna

    return getattr(optuna.trial.TrialState, name)
