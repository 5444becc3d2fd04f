"""One trial: a configuration sampled from the space, trained, scored on the validation part.

The score is the lowest validation loss of the trial's run (with early stopping, the epoch
whose weights the run keeps). With ``folds`` above 1 (cross-validation) the trial trains once
per fold, each fold of the training part serving once as the validation part, and the score
is the mean of the folds' lowest validation losses: on a small data set one validation part
is too few rows to choose between trials. The test part is never looked at here. Each
epoch's validation loss (of the first fold) is reported to Optuna, whose pruner may stop a
trial that is clearly worse than the others at the same epoch, once the trial has taken as
many optimizer steps as the base configuration takes in the warmup epochs: a trial with 4
times the batch size takes 4 times fewer steps per epoch, and judged at the same epoch it
would be stopped for learning slower, not worse.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class TrialScore:
    """A trial's outcome over its folds (one fold without cross-validation).

    Args:
        value: the mean over folds of each fold's lowest validation loss.
        fold_values: each fold's lowest validation loss.
        best_epoch: the (mean, rounded) epoch of the lowest validation loss.
        epochs: the (mean, rounded) epochs each fold trained.
    """

    value: float
    fold_values: tuple[float, ...]
    best_epoch: int
    epochs: int


def fold_configs(config: RunConfig) -> list[RunConfig]:
    """One configuration per fold: ``config`` itself without cross-validation."""
    if config.folds <= 1:
        return [config]
    return [replace(config, fold=number) for number in range(config.folds)]


def trial_score(histories: Sequence[dict[str, list[float]]]) -> TrialScore:
    """Sum up the folds' histories (see :class:`TrialScore`)."""
    scores = [validation_score(history) for history in histories]
    values = tuple(value for value, _ in scores)
    trained = [len(history.get("loss", [])) for history in histories]
    return TrialScore(
        value=sum(values) / len(values),
        fold_values=values,
        best_epoch=round(sum(epoch for _, epoch in scores) / len(scores)),
        epochs=round(sum(trained) / len(trained)),
    )


def record_score(trial: Any, score: TrialScore, fit_s: float | None) -> None:
    """Keep what the trials table and the plots show on the trial."""
    trial.set_user_attr("epochs", score.epochs)
    trial.set_user_attr("best_epoch", score.best_epoch)
    trial.set_user_attr("fit_s", fit_s)
    if len(score.fold_values) > 1:
        trial.set_user_attr("fold_val_losses", list(score.fold_values))


def train(
    config: RunConfig,
    registry: Registry,
    *,
    save: bool = False,
    callback: Callable[[int], Any] | None = None,
) -> RunResult:
    """Plan and run ``config``; the Keras session is cleared afterwards for the next trial."""
    from zoo import plan, run
    from zoo.train.backend import released_after_run

    checked = plan(config, registry)
    with released_after_run():
        return run(checked, registry, save=save, progress=callback)


def first_judged_epoch(config: RunConfig, base: RunConfig, warmup_epochs: int) -> int:
    """The first epoch at which ``config``'s trial may be pruned: the warmup, stretched by
    how much larger its batches are than ``base``'s (fewer optimizer steps per epoch)."""
    if not config.batch_size or not base.batch_size:
        return warmup_epochs
    return math.ceil(warmup_epochs * max(1.0, config.batch_size / base.batch_size))


def make_objective(
    base: RunConfig,
    space: Space,
    registry: Registry,
    on_result: Callable[[Any, RunResult], None] | None = None,
    *,
    warmup_epochs: int = 0,
) -> Callable[[Any], float]:
    """The Optuna objective: sample, train with pruning, return the validation score.

    Args:
        base: the configuration every trial starts from.
        space: what to sample.
        registry: where names resolve.
        on_result: called with (trial, result) after each finished trial (e.g. MLflow).
        warmup_epochs: the pruner's warmup, in the base configuration's epochs.
    """

    def objective(trial: Any) -> float:
        config = apply(base, space.sample(trial))
        judged_from = first_judged_epoch(config, base, warmup_epochs)
        results: list[RunResult] = []
        for number, fold in enumerate(fold_configs(config)):
            # The first fold is reported epoch by epoch: every trial's at the same fold.
            pruning = (lambda _epochs: _pruner(trial, judged_from)) if number == 0 else None
            results.append(train(fold, registry, callback=pruning))
        score = trial_score([result.history for result in results])
        record_score(trial, score, sum(r.timings.get("fit_s") or 0.0 for r in results))
        trial.set_user_attr("process", os.getpid())  # which worker ran it (--jobs)
        if on_result:
            on_result(trial, results[0])
        return score.value

    return objective


def _pruner(trial: Any, judged_from: int) -> Any:
    """A Keras callback that reports each epoch's validation loss and stops a poor trial
    (from epoch ``judged_from`` on)."""
    import keras
    import optuna

    class ReportAndPrune(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            value = (logs or {}).get(VALIDATION_LOSS)
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), step=epoch + 1)
            if epoch + 1 >= judged_from and trial.should_prune():
                trial.set_user_attr("epochs", epoch + 1)
                raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}")

    return ReportAndPrune()
