"""``zoo tune --cluster``: each trial one Ray task, driven by the study here (ask and tell).

Optuna's ask-and-tell interface lets this process keep the study, its storage and its
sampler exactly as in a local search, while the trials train on the cluster: as many run at
once as the cluster has room for, and each finished one makes room for the next. A trial's
worker cannot reach the study's storage, so its per-epoch validation losses are reported
when it returns: trials are not pruned mid-run on a cluster (early stopping still applies).
"""

from __future__ import annotations

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
from zoo.core.errors import ZooError

if TYPE_CHECKING:
    from zoo import Registry
    from zoo.app.tune.request import Prepared, TrialNotice


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
        return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())}
    return {"history": histories[0], "histories": histories, "timings": {"fit_s": fit_s}}


@lru_cache(maxsize=1)
def _registry() -> Registry:
    from zoo import Registry

    return Registry.discover(warn=False)


def run_on_cluster(
    session: Any, prepared: Prepared, tracking: Any, on_trial: TrialNotice | None
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

    def __init__(self, prepared: Prepared, tracking: Any, on_trial: TrialNotice | None) -> None:
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
