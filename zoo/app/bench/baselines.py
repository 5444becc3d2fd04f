"""scikit-learn reference rows, fitted and scored on the very split the networks get.

The test part is the networks' own; the estimators fit on everything else, the training and
the validation part (they have no use for a validation part; gradient boosting's test MSE of
about 6.2 on housing is for that whole 80 %). A linear model (linear or logistic regression on
standardized inputs) and gradient boosting, scored by the same NumPy metrics as every zoo run,
so a leaderboard shows at once whether a network beats a one-line baseline.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from zoo import Registry, RunConfig, plan
from zoo.core.parts import TEST, TRAIN, VALIDATION, SplitSpec
from zoo.train.loading import load_checked
from zoo.train.scoring import score

if TYPE_CHECKING:
    import numpy as np

# Exact gradient boosting up to this many training rows; the histogram variant beyond.
EXACT_BOOSTING_ROWS = 20_000


class BaselineSkipped(Exception):
    """A baseline that cannot run on this data set (it is streamed from disk)."""


def run_baseline(name: str, config: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """Fit baseline ``name`` on the training and validation parts, score it on the test part.

    Returns:
        ``task``, ``metrics``, ``timings`` (``fit_s``, ``total_s``) and ``params`` (None).

    Raises:
        BaselineSkipped: the data set is streamed, so its split is not in memory.
    """
    started = time.perf_counter()
    run_config = RunConfig(**config)
    source = load_checked(plan(run_config, registry))
    spec = SplitSpec(run_config.test_size, run_config.validation_size, run_config.split_seed)
    parts = source.split(spec)  # the very split the networks get
    train, test = _fitting_rows(parts), parts.arrays(TEST)
    if train is None or test is None:
        raise BaselineSkipped(
            f"{parts.info.source} is streamed from disk; scikit-learn baselines need it in memory"
        )
    task = parts.info.task
    estimator = make_estimator(name, task, run_config.seed, len(train[0]))
    fit_started = time.perf_counter()
    estimator.fit(_flat(train[0]), train[1])
    fit_s = time.perf_counter() - fit_started
    outputs = _outputs(estimator, _flat(test[0]), task, parts.info.n_classes)
    return {
        "task": task,
        "metrics": score(task, test[1], outputs),
        "timings": {"fit_s": round(fit_s, 3), "total_s": round(time.perf_counter() - started, 3)},
        "params": None,
    }


def make_estimator(name: str, task: str, seed: int, rows: int) -> Any:
    """The scikit-learn estimator behind baseline ``name`` for ``task``."""
    from sklearn import ensemble, linear_model
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    regression = task == "regression"
    if name == "sklearn-linear":
        model = (
            linear_model.LinearRegression()
            if regression
            else linear_model.LogisticRegression(max_iter=2000)
        )
        return make_pipeline(StandardScaler(), model)
    if name == "sklearn-gboost":
        kind = "HistGradientBoosting" if rows > EXACT_BOOSTING_ROWS else "GradientBoosting"
        suffix = "Regressor" if regression else "Classifier"
        return getattr(ensemble, kind + suffix)(random_state=seed)
    raise KeyError(name)


def _fitting_rows(parts: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Training and validation rows together, or None for parts not held in memory."""
    import numpy as np

    train, validation = parts.arrays(TRAIN), parts.arrays(VALIDATION)
    if train is None or validation is None or not len(validation[0]):
        return train
    return np.concatenate([train[0], validation[0]]), np.concatenate([train[1], validation[1]])


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _outputs(estimator: Any, x: np.ndarray, task: str, n_classes: int) -> np.ndarray:
    """What a network would output: values, P(class 1), or one probability per class."""
    import numpy as np

    if task == "regression":
        return np.asarray(estimator.predict(x), dtype="float64")
    probs = estimator.predict_proba(x)
    full = np.zeros((len(x), max(n_classes, 2)))
    full[:, np.asarray(estimator.classes_, dtype="int64")] = probs  # classes absent in training
    return full[:, 1] if task == "binary" else full
