"""A run's full configuration: every choice explicit, so a run folder can repeat it; the
words that switch a setting on or off, in ``--set`` values and environment variables; and the
options of one training phase (``FitOptions``) and of one execution (``ExecuteOptions``:
progress, saving, resuming), kept apart from Keras so that planning can name them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from zoo.core.errors import InvalidParameterError, did_you_mean, shown

# Upper bounds the backend can take: TensorFlow counts epochs and steps in 32-bit integers in
# places, a batch holds at most 2**24 rows long before memory runs out, and NumPy seeds are
# 32-bit. Refused in __post_init__, before anything is written or loaded.
LIMITS = {"epochs": 1_000_000, "batch_size": 2**24, "patience": 1_000_000}
SEED_LIMIT = 2**32 - 1
# The fraction of the training part a run validates on, unless told otherwise.
DEFAULT_VALIDATION_SIZE = 0.1
# Cross-validation folds: more than this leaves validation parts of a row or two.
MAX_FOLDS = 100
# Models a seed ensemble averages: past a few dozen the average no longer moves.
MAX_SEED_ENSEMBLE = 100
# Data-parallel training over several devices (zoo.train.distribute); None trains on one.
DISTRIBUTE_CHOICES = ("mirrored", "multi-worker")
# Class weights: "auto" balances them when the training part is imbalanced
# (zoo.core.tasks.imbalanced: a binary minority under 10 %), "balanced" always, "none" never.
CLASS_WEIGHT_CHOICES = ("auto", "balanced", "none")
# Regression targets: "log1p" trains on log(1 + y) (counts, heavy tails); predictions come back
# through expm1 inside the model, so they are in the target's units either way.
TARGET_TRANSFORMS = ("none", "log1p")
# The default patience: a quarter of the epochs, at least MIN_PATIENCE. A small validation
# part's loss wanders for tens of epochs while the model still improves (housing's 41 rows:
# a tenth of 100 epochs stops most seeds near epoch 40, at a worse test MSE; a fifth still
# stopped the JAX recipe early: 14.64 test MSE against 13.82 with a quarter).
MIN_PATIENCE = 5
PATIENCE_SHARE = 4
# The batch size of a model that declares none (the tutorial's), and the bounds and the steps
# per epoch that a model declaring "auto" gets (zoo.plan.planning.auto_batch_size): small
# files keep the tutorial's small batches, 10,000 rows train in 512-row steps.
DEFAULT_BATCH_SIZE = 32
# The seed ensemble a model declaring "auto" gets (zoo.plan.planning.model_seed_ensemble): on
# a small training part one network's test score swings with its seed (resnet on housing:
# 13.8, 9.3, 9.1 over seeds 0-2; 6.5 to 6.6 averaging 5), and 5 small runs cost seconds.
AUTO_ENSEMBLE_SIZE = 5
AUTO_ENSEMBLE_ROWS = 1_000
AUTO_BATCH_STEPS = 16
AUTO_BATCH_BOUNDS = (32, 512)


def default_patience(epochs: int) -> int:
    """The patience a run gets when none is given: ``max(5, epochs // 4)``."""
    return max(MIN_PATIENCE, epochs // PATIENCE_SHARE)


@dataclass
class RunConfig:
    """Everything one training run needs.

    Args:
        model: model name (short or ``plugin:name``).
        data: data set name (or, for the csv data set, a CSV file; see ``target``).
        target: the target column of a CSV file.
        task: force the task of a CSV file ("regression", "binary", "multiclass").
        preset: loss/optimizer preset; None picks the model's own (``register(...,
            preset=...)``, where it suits the task), else the default for the data set's task.
        epochs: passes over the training part.
        batch_size: rows per gradient step. None (the default) takes the model's own choice:
            the tabular networks that declare ``batch_size="auto"`` get about
            ``AUTO_BATCH_STEPS`` steps per epoch (a power of two from 32 to 512, by the training
            part's rows), every other model ``DEFAULT_BATCH_SIZE`` (the tutorial's 32). The
            plan records the number.
        seed: seeds weights, shuffling and dropout.
        test_size: fraction held out for the test metrics (the tutorial's 0.2).
        validation_size: fraction of the training part held out for validation curves.
        split_seed: random_state of the splits (the tutorial's 42).
        folds: with more than 1, a cross-validated run: the training part is cut into this
            many folds, a model is trained per fold with that fold as its validation part (in
            place of ``validation_size``), and the run's model averages their outputs.
        fold: train only this fold's model (from 0), as ``zoo tune --folds`` does per trial;
            None trains every fold.
        seed_ensemble: with more than 1, the model is trained this many times on the same
            rows, with seeds ``seed`` to ``seed + seed_ensemble - 1``, and the run's model
            averages their outputs (with ``folds``, each fold's model so). On small data sets
            one model's test score swings with its seed; the average is steadier and better.
            None (the default) takes the model's own choice: 1, or for a model declaring
            ``seed_ensemble="auto"`` ``AUTO_ENSEMBLE_SIZE`` when the training part has at
            most ``AUTO_ENSEMBLE_ROWS`` rows (and no folds); the plan records the number.
        model_params, data_params, preset_params: hyperparameter overrides.
        patience: stop when the validation loss has not improved for this many epochs
            (see ``zoo.train.callbacks`` for the weights kept); 0 trains every epoch. None
            (the default) becomes ``max(5, epochs // 4)`` when the configuration is made, so
            the run records the number. A run without a validation part never stops early.
        reduce_lr: halve the learning rate when the validation loss plateaus.
        tensorboard: write TensorBoard logs into the run folder.
        class_weight: classification only: "balanced" weighs each class by the inverse of
            its share of the training part, "none" leaves every row at 1, "auto" (the
            default) is "balanced" when the training part's rarest class holds under a fifth
            of an even split's share (binary: under 10 %).
        target_transform: regression only: "log1p" trains on log(1 + target), for counts
            and heavy-tailed targets (the model gives predictions back in the target's units;
            the validation loss is in those units too); "none" (the default) trains on the
            target standardized.
        distribute: "mirrored" (this machine's devices) or "multi-worker" (the cluster
            TF_CONFIG describes): data-parallel, batch_size being the global batch.
        runs_dir: where run folders are written.
    """

    model: str
    data: str
    preset: str | None = None
    target: str | None = None
    task: str | None = None
    epochs: int = 100
    batch_size: int | None = None
    seed: int = 0
    test_size: float = 0.2
    validation_size: float = DEFAULT_VALIDATION_SIZE
    split_seed: int = 42
    folds: int = 1
    fold: int | None = None
    seed_ensemble: int | None = None
    model_params: dict[str, Any] = field(default_factory=dict)
    data_params: dict[str, Any] = field(default_factory=dict)
    preset_params: dict[str, Any] = field(default_factory=dict)
    patience: int | None = None
    reduce_lr: bool = False
    tensorboard: bool = False
    class_weight: str = "auto"
    target_transform: str = "none"
    runs_dir: str = "runs"
    distribute: str | None = None

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if name == "patience" or (name == "batch_size" and value is None):
                continue
            if not _whole(value, 1, limit):
                raise InvalidParameterError(
                    f"{name} must be a whole number from 1 to {limit:,}; received "
                    f"{name}={shown(value)}."
                )
        for name in ("seed", "split_seed"):
            value = getattr(self, name)
            if not _whole(value, 0, SEED_LIMIT):
                raise InvalidParameterError(
                    f"{name} must be a whole number from 0 to 2**32-1 ({SEED_LIMIT}); received "
                    f"{name}={shown(value)}."
                )
        self._check_patience()
        self._check_class_weight()
        self._check_target_transform()
        self._check_fractions()
        self._check_folds()
        self._check_seed_ensemble()
        self._check_distribute()

    def _check_patience(self) -> None:
        """0 turns early stopping off; None becomes the default for the epochs."""
        if self.patience is None:
            self.patience = default_patience(self.epochs)
        limit = LIMITS["patience"]
        if not _whole(self.patience, 0, limit):
            raise InvalidParameterError(
                f"patience must be a whole number from 0 (no early stopping) to {limit:,}; "
                f"received patience={shown(self.patience)}. Leave it out for max(5, epochs // 4)."
            )

    def _check_class_weight(self) -> None:
        if self.class_weight in CLASS_WEIGHT_CHOICES:
            return
        raise InvalidParameterError(
            f"class_weight must be one of {', '.join(CLASS_WEIGHT_CHOICES)}; received "
            f"class_weight={shown(self.class_weight)}. Give --set class_weight=balanced, or leave "
            f"it out for auto.{did_you_mean(str(self.class_weight), CLASS_WEIGHT_CHOICES)}"
        )

    def _check_target_transform(self) -> None:
        if self.target_transform in TARGET_TRANSFORMS:
            return
        raise InvalidParameterError(
            f"target_transform must be one of {', '.join(TARGET_TRANSFORMS)}; received "
            f"target_transform={shown(self.target_transform)}. Give --set target_transform=log1p "
            f"for counts or heavy-tailed targets, or leave it out."
            f"{did_you_mean(str(self.target_transform), TARGET_TRANSFORMS)}"
        )

    def _check_folds(self) -> None:
        if not _whole(self.folds, 1, MAX_FOLDS):
            raise InvalidParameterError(
                f"folds must be a whole number from 1 (no cross-validation) to {MAX_FOLDS}; "
                f"received folds={shown(self.folds)}."
            )
        if self.fold is not None and not _whole(self.fold, 0, self.folds - 1):
            raise InvalidParameterError(
                f"fold must be a whole number from 0 to folds-1 ({self.folds - 1}), or unset "
                f"for every fold; received fold={shown(self.fold)}."
            )
        if self.folds > 1 and self.distribute is not None:
            raise InvalidParameterError(
                "folds and distribute cannot be combined: a cross-validated run trains its "
                "fold models one after another on this machine. Leave out one of them."
            )

    def _check_seed_ensemble(self) -> None:
        if self.seed_ensemble is None:  # the model's own, resolved by the plan
            return
        count = self.seed_ensemble
        if not _whole(count, 1, MAX_SEED_ENSEMBLE) or self.seed + count - 1 > SEED_LIMIT:
            raise InvalidParameterError(
                f"seed_ensemble must be a whole number from 1 (one model) to "
                f"{MAX_SEED_ENSEMBLE}, and seed + seed_ensemble - 1 at most 2**32-1; received "
                f"seed_ensemble={shown(count)} with seed={self.seed}."
            )
        if count > 1 and self.distribute is not None:
            raise InvalidParameterError(
                "seed_ensemble and distribute cannot be combined: a seed ensemble trains its "
                "models one after another on this machine. Leave out one of them."
            )

    @property
    def cross_validated(self) -> bool:
        """Whether this run trains a model per fold and averages them."""
        return self.folds > 1 and self.fold is None

    @property
    def averaged(self) -> bool:
        """Whether this run's model averages several trained ones (folds, seed_ensemble)."""
        return self.cross_validated or (self.seed_ensemble or 1) > 1

    def members(self) -> list[RunConfig]:
        """The single runs an averaged run trains: each fold's model (or the one split's),
        once per seed, ``seed`` to ``seed + seed_ensemble - 1``."""
        folds: list[int | None] = list(range(self.folds)) if self.cross_validated else [self.fold]
        seeds = range(self.seed, self.seed + (self.seed_ensemble or 1))
        return [replace(self, fold=f, seed_ensemble=1, seed=s) for f in folds for s in seeds]

    def _check_distribute(self) -> None:
        if self.distribute is None or self.distribute in DISTRIBUTE_CHOICES:
            return
        raise InvalidParameterError(
            f"distribute must be one of {', '.join(DISTRIBUTE_CHOICES)} (or unset for one "
            f"device); received distribute={shown(self.distribute)}. Give --distribute mirrored or "
            f"--distribute multi-worker, or leave it out."
            f"{did_you_mean(str(self.distribute), DISTRIBUTE_CHOICES)}"
        )

    def _check_fractions(self) -> None:
        """test_size in (0, 1) and validation_size in [0, 1), as the CLI flags allow."""
        for name, low_open in (("test_size", True), ("validation_size", False)):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not (0 < value < 1 if low_open else 0 <= value < 1):
                bounds = "between 0 and 1" if low_open else "from 0 up to (not including) 1"
                raise InvalidParameterError(
                    f"{name} must be a fraction {bounds}; received {name}={shown(value)}."
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _whole(value: Any, low: int, high: int) -> bool:
    """Whether ``value`` is an int (not a bool) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def switched_off(variable: str) -> bool:
    """Whether the environment variable ``variable`` says off (``off``, ``0``, ``no``...)."""
    return os.environ.get(variable, "").strip().lower() in FALSE_WORDS


@dataclass(frozen=True)
class FitOptions:
    """How long and in what batches one training phase runs: up to ``epochs`` (counting
    from 0, as Keras's ``fit``), from ``initial_epoch`` (resuming), the training rows' losses
    weighed by ``class_weight`` (class index -> weight)."""

    epochs: int
    batch_size: int
    seed: int
    initial_epoch: int = 0
    class_weight: dict[int, float] | None = None


@dataclass(frozen=True)
class ExecuteOptions:
    """How one plan is executed, beside what the plan says to train.

    Attributes:
        progress: given the epoch count, returns a Keras callback that shows progress.
        save: write a run folder under ``config.runs_dir``.
        resume: an interrupted run folder to continue.
        plugin_versions: recorded in environment.json (plugin name -> version, status).
        on_start: called with the first epoch's index once training really starts (every
            check passed, the model built), e.g. to announce it.
        allow_unverified: resume from a model whose checksum cannot be verified.
    """

    progress: Callable[[int], Any] | None = None
    save: bool = True
    resume: str | Path | None = None
    plugin_versions: dict[str, dict[str, str]] = field(default_factory=dict)
    on_start: Callable[[int], None] | None = None
    allow_unverified: bool = False
