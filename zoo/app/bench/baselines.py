"""scikit-learn reference rows, fitted and scored on the very split the networks get.

The test part is the networks' own; the estimators fit on everything else, the training and
the validation part (they have no use for a validation part; gradient boosting's test MSE of
about 6.2 on housing is for that whole 80 %). A linear model (linear or logistic regression on
standardized inputs) and gradient boosting, scored by the same NumPy metrics as every zoo run,
so a leaderboard shows at once whether a network beats a one-line baseline.

Tabular inputs arrive raw (``zoo.core.schema``): NaN for a missing number, a category's code
(-1 unknown) in a categorical column. The linear model imputes (the median, plus a missing-value
indicator), one-hot encodes the codes and standardizes; gradient boosting takes NaN as it is and
the codes as categories (histogram gradient boosting: the exact variant accepts neither).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from zoo import Registry, RunConfig, plan
from zoo.core.parts import TEST, TRAIN, VALIDATION, SplitSpec
from zoo.core.schema import UNKNOWN_CODE, categorical_mask
from zoo.train.runner import load_checked
from zoo.train.scoring import score

if TYPE_CHECKING:
    import numpy as np

    from zoo.core.parts import DataInfo

# Exact gradient boosting up to this many training rows; the histogram variant beyond, and
# whenever the inputs have missing values or categorical columns.
EXACT_BOOSTING_ROWS = 20_000
# Histogram gradient boosting takes category codes below its bin count (255) only; a column
# with more categories is given to it as a number.
MAX_BOOSTING_CATEGORIES = 255


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
    result = fit_and_score(name, parts.info, train, test, run_config.seed)
    result["timings"]["total_s"] = round(time.perf_counter() - started, 3)
    return result


def fit_and_score(
    name: str,
    info: DataInfo,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    seed: int,
) -> dict[str, Any]:
    """Fit baseline ``name`` on ``train`` (inputs, targets) and score it on ``test``, for a
    data set described by ``info`` (a DataInfo: its task, classes and schema)."""
    import numpy as np

    x_train, x_test = _flat(train[0]), _flat(test[0])
    mask = categorical_mask(info.schema, x_train.shape[1])  # all False for images
    x_train, x_test = _codes_as_missing(x_train, mask), _codes_as_missing(x_test, mask)
    missing = bool(np.isnan(x_train).any() or np.isnan(x_test).any())
    if name == "sklearn-gboost":
        mask = _boosting_categories(x_train, mask)
    estimator = make_estimator(name, info.task, seed, len(x_train), mask, missing=missing)
    with _threads(len(x_train)):
        fit_started = time.perf_counter()
        estimator.fit(x_train, train[1])
        fit_s = time.perf_counter() - fit_started
        outputs = _outputs(estimator, x_test, info.task, info.n_classes)
    return {
        "task": info.task,
        "metrics": score(info.task, test[1], outputs),
        "timings": {"fit_s": round(fit_s, 3)},
        "params": None,
    }


def make_estimator(
    name: str,
    task: str,
    seed: int,
    rows: int,
    categorical: list[bool] | None = None,
    *,
    missing: bool = False,
) -> Any:
    """The scikit-learn estimator behind baseline ``name`` for ``task``.

    Args:
        name: "sklearn-linear" or "sklearn-gboost".
        task: the data set's task.
        seed: the estimator's random_state.
        rows: training rows (exact gradient boosting up to EXACT_BOOSTING_ROWS).
        categorical: per input column, whether it holds category codes (missing: none).
        missing: whether the inputs have NaN (a missing value).
    """
    from sklearn import ensemble, linear_model
    from sklearn.pipeline import make_pipeline

    regression = task == "regression"
    mask = list(categorical or [])
    if name == "sklearn-linear":
        model = (
            linear_model.LinearRegression()
            if regression
            else linear_model.LogisticRegression(max_iter=2000)
        )
        return make_pipeline(_linear_preparation(mask), model)
    if name == "sklearn-gboost":
        histogram = missing or any(mask) or rows > EXACT_BOOSTING_ROWS
        kind = "HistGradientBoosting" if histogram else "GradientBoosting"
        suffix = "Regressor" if regression else "Classifier"
        options: dict[str, Any] = {"random_state": seed}
        if any(mask):
            options["categorical_features"] = mask
        return getattr(ensemble, kind + suffix)(**options)
    raise KeyError(name)


def _linear_preparation(mask: list[bool]) -> Any:
    """Numbers: the median for a missing one (plus an indicator column where training had
    one missing), then standardized; category codes: one-hot (unknown ones all zero)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    if not any(mask):
        return numbers
    numeric = [i for i, is_code in enumerate(mask) if not is_code]
    codes = [i for i, is_code in enumerate(mask) if is_code]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    parts = [("categorical", encoder, codes)]
    if numeric:
        parts.insert(0, ("numeric", numbers, numeric))
    return ColumnTransformer(parts)


def _threads(rows: int) -> Any:
    """One OpenMP thread on small data: histogram gradient boosting's threads wait on each
    other far longer than 64 rows take to fit (seconds instead of milliseconds on a busy
    machine)."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(1) if rows <= EXACT_BOOSTING_ROWS else nullcontext()


def _codes_as_missing(x: np.ndarray, mask: list[bool]) -> np.ndarray:
    """``x`` (as float64) with the unknown code (-1) of categorical columns made NaN."""
    import numpy as np

    x = np.asarray(x, dtype="float64")
    columns = [i for i, is_code in enumerate(mask) if is_code]
    if columns:
        x = x.copy()
        part = x[:, columns]
        part[part == UNKNOWN_CODE] = np.nan
        x[:, columns] = part
    return x


def _boosting_categories(x: np.ndarray, mask: list[bool]) -> list[bool]:
    """The categorical columns histogram gradient boosting can take as categories."""
    import numpy as np

    fits = []
    for column, is_code in zip(x.T, mask, strict=True):
        known = column[~np.isnan(column)]
        fits.append(is_code and (not len(known) or known.max() < MAX_BOOSTING_CATEGORIES))
    return fits


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
