"""One trial: a configuration sampled from the space, trained, scored on the validation part.

The score is the lowest validation loss of the trial's run (with early stopping, the epoch
whose weights the run keeps). The test part is never looked at here. Each epoch's validation
loss is reported to Optuna, whose pruner may stop a trial that is clearly worse than the
others at the same epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zoo.app.tune.space import Space, apply

if TYPE_CHECKING:
    from zoo import Registry, RunConfig, RunResult

VALIDATION_LOSS = "val_loss"


def validation_score(history: dict[str, list[float]]) -> tuple[float, int]:
    """The best validation loss in ``history`` and its (1-based) epoch."""
    losses = history.get(VALIDATION_LOSS) or []
    if not losses:
        return math.inf, 0
    best = min(range(len(losses)), key=losses.__getitem__)
    return float(losses[best]), best + 1


def train(
    config: RunConfig,
    registry: Registry,
    *,
    save: bool = False,
    callback: Callable[[int], Any] | None = None,
) -> RunResult:
    """Plan and run ``config``; the Keras session is cleared afterwards for the next trial."""
    from zoo import plan, run
    from zoo.train.memory import released_after_run

    checked = plan(config, registry)
    with released_after_run():
        return run(checked, registry, save=save, progress=callback)


def make_objective(
    base: RunConfig,
    space: Space,
    registry: Registry,
    on_result: Callable[[Any, RunResult], None] | None = None,
) -> Callable[[Any], float]:
    """The Optuna objective: sample, train with pruning, return the validation score.

    Args:
        base: the configuration every trial starts from.
        space: what to sample.
        registry: where names resolve.
        on_result: called with (trial, result) after each finished trial (e.g. MLflow).
    """

    def objective(trial: Any) -> float:
        values = space.sample(trial)
        result = train(apply(base, values), registry, callback=lambda _epochs: _pruner(trial))
        score, epoch = validation_score(result.history)
        trial.set_user_attr("epochs", len(result.history.get("loss", [])))
        trial.set_user_attr("best_epoch", epoch)
        trial.set_user_attr("fit_s", result.timings.get("fit_s"))
        trial.set_user_attr("process", os.getpid())  # which worker ran it (--jobs)
        if on_result:
            on_result(trial, result)
        return score

    return objective


def _pruner(trial: Any) -> Any:
    """A Keras callback that reports each epoch's validation loss and stops a poor trial."""
    import keras
    import optuna

    class ReportAndPrune(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            value = (logs or {}).get(VALIDATION_LOSS)
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), step=epoch + 1)
            if trial.should_prune():
                trial.set_user_attr("epochs", epoch + 1)
                raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}")

    return ReportAndPrune()
