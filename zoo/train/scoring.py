"""Test metrics computed from predictions with NumPy, so every model is scored the same way,
and the results that should not pass silently: a run no better than a trivial baseline.

Classification adds ``balanced_accuracy`` (the mean recall over the classes present: always
answering one class scores 1 / classes, however imbalanced the data) and ``class_balance``,
the test part's rarest class share times the number of classes (1: even; a binary 10 %
minority: 0.2), which says whether accuracy can be trusted (``zoo.core.tasks``).

A model whose test R² is at or below 0 does no better than predicting the mean; a classifier
whose accuracy is at or below the share of the most common class does no better than always
answering that class; a training loss that stopped moving after the first epochs means the
model stopped learning. Each gives one line of advice (``review``), shown by the CLI and
recorded in metrics.json, so that a useless model is never mistaken for a result. The advice
names the cause the run shows: imbalanced classes, overfitting, a flat loss (the learning
rate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zoo.core.parts import TEST
from zoo.core.tasks import BALANCED_ACCURACY, BINARY, CLASS_BALANCE, TASK_TABLE, class_balance

if TYPE_CHECKING:
    import numpy as np

    from zoo.core.parts import DataParts


def score(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Metrics for a task from true targets and raw model outputs."""
    if not TASK_TABLE[task].classification:
        return regression_metrics(y_true, y_pred.reshape(len(y_true)))
    return classification_metrics(task, y_true, y_pred)


# Rows per slice when scoring, about 2 MB of float64 temporaries: a streamed file's large test
# part would otherwise cost several times its size at the peak.
SCORE_CHUNK = 1 << 16


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    import numpy as np

    rows = len(y_true)
    if not rows:
        return {name: float("nan") for name in ("mse", "rmse", "mae", "r2")}
    squared = absolute = target = 0.0
    for start in range(0, rows, SCORE_CHUNK):
        true = y_true[start : start + SCORE_CHUNK].astype("float64")
        error = y_pred[start : start + SCORE_CHUNK].astype("float64") - true
        squared += float(np.dot(error, error))
        absolute += float(np.abs(error).sum())
        target += float(true.sum())
    mean = target / rows
    total = sum(
        float(np.sum((y_true[start : start + SCORE_CHUNK].astype("float64") - mean) ** 2))
        for start in range(0, rows, SCORE_CHUNK)
    )
    mse = squared / rows
    return {
        "mse": mse,
        "rmse": mse**0.5,
        "mae": absolute / rows,
        "r2": 1.0 - squared / total if total else float("nan"),
    }


def classification_metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    y_true = y_true.astype("int64")
    if task == BINARY:
        p1 = np.clip(y_pred.reshape(len(y_true)).astype("float64"), 1e-7, 1 - 1e-7)
        probs = np.stack([1 - p1, p1], axis=1)
    else:
        probs = np.clip(y_pred.astype("float64"), 1e-7, 1.0)
        probs = probs / probs.sum(axis=1, keepdims=True)
    labels = np.arange(probs.shape[1])
    answers = probs.argmax(axis=1)
    counts = np.bincount(y_true, minlength=len(labels))
    present = np.flatnonzero(counts)
    hits = np.bincount(y_true[answers == y_true], minlength=len(counts))
    metrics = {
        "accuracy": float(np.mean(answers == y_true)),
        BALANCED_ACCURACY: float(np.mean(hits[present] / counts[present])),
        "log_loss": float(log_loss(y_true, probs, labels=labels)),
        CLASS_BALANCE: class_balance(counts.tolist()),
    }
    if task == BINARY and len(np.unique(y_true)) == 2:
        metrics["auc"] = float(roc_auc_score(y_true, probs[:, 1]))
    return metrics


# The loss counts as flat when, from this epoch on, it never improved by this fraction.
FLAT_FROM_EPOCH = 3
FLAT_IMPROVEMENT = 0.01
FLAT_MIN_EPOCHS = 10

ADVICE = (
    "try another learning rate (--set learning_rate=0.0001, or 0.01), more epochs, or "
    "another preset, and check that the inputs are on comparable scales"
)
# Overfitting: the validation loss ended at least this fraction above its lowest, at least
# OVERFIT_MIN_EPOCHS after it, while the training loss went on falling.
OVERFIT_RISE = 0.1
OVERFIT_MIN_EPOCHS = 3
# A classifier no better than the common class blames the imbalance when the test part's
# class balance (zoo.core.tasks.class_balance) is under this: its rarest class holds under
# half the share an even split gives (binary: a minority under 25 %).
SKEWED_BELOW = 0.5


def review(
    task: str,
    metrics: dict[str, float],
    history: dict[str, list[float]],
    parts: DataParts | None = None,
) -> list[str]:
    """One line of advice for each way the run did no better than a trivial baseline.

    The advice names the likely cause: imbalanced classes (class weights, balanced accuracy),
    overfitting (the validation loss rose while the training loss fell: early stopping,
    fewer epochs, regularisation), a flat training loss (the learning rate).

    Args:
        task: the run's task.
        metrics: its test metrics.
        history: its per-epoch training history.
        parts: its data parts, for the share of the most common class in the test part
            (skipped when the test part is not held in memory).

    Returns:
        The warnings, empty for a run that learned something.
    """
    found = []
    if TASK_TABLE[task].classification:
        found.append(_accuracy_warning(task, metrics, history, parts))
    else:
        found.append(_r2_warning(metrics, history))
    found.append(_flat_loss_warning(history.get("loss", [])))
    return [w for w in found if w]


def _r2_warning(metrics: dict[str, float], history: dict[str, list[float]]) -> str | None:
    r2 = metrics.get("r2")
    if r2 is None or math.isnan(r2) or r2 > 0:
        return None
    causes = [cause for cause in (_overfitting(history), _flat(history)) if cause]
    if _still_falling(history.get("loss", [])) and not causes:
        causes.append("too few epochs: the training loss was still falling; give more --epochs")
    causes += [
        "inputs on very different scales or a target with extreme values: check the data",
        "a learning rate that does not fit: try --set learning_rate=0.0001, or 0.01",
        "inputs that do not predict the target",
    ]
    listed = "; ".join(f"{n}) {cause}" for n, cause in enumerate(dict.fromkeys(causes), 1))
    return (
        f"test R² is {r2:.4f}: no better than always predicting the mean; likely causes, "
        f"most likely first: {listed}."
    )


def _accuracy_warning(
    task: str, metrics: dict[str, float], history: dict[str, list[float]], parts: Any
) -> str | None:
    """On balanced classes: accuracy against always answering the most common class. On
    imbalanced ones, balanced accuracy against always answering one class (1 / classes):
    class weights trade accuracy for the rare class's recall, which is no failure."""
    accuracy = metrics.get("accuracy")
    balance = metrics.get(CLASS_BALANCE)
    share = majority_share(parts)
    if share is None and task == BINARY and balance is not None:
        share = 1.0 - balance / 2  # the minority's share is half the balance
    if balance is None:
        counts = _test_counts(parts)
        balance = class_balance(counts.tolist()) if counts is not None else None
    skewed = balance is not None and balance < SKEWED_BELOW
    balanced, chance = metrics.get(BALANCED_ACCURACY), _chance(task, parts)
    if skewed and balanced is not None and chance is not None:
        if balanced > chance:
            return None
        return (
            f"test balanced accuracy {balanced:.4f} is no better than always answering one "
            f"class ({chance:.4f}): the classes are imbalanced, and accuracy (here "
            f"{accuracy:.4f}) rewards always answering the common class; weigh the classes "
            "(--set class_weight=balanced; auto does it for a binary minority under 10 %) "
            "and judge runs by balanced_accuracy."
        )
    if accuracy is None or share is None or accuracy > share:
        return None
    trivial = (
        f"test accuracy {accuracy:.4f} is no better than always answering the most common "
        f"class ({share:.4f} of the test part)"
    )
    if skewed:  # no balanced accuracy to judge by
        return f"{trivial}: the classes are imbalanced; try --set class_weight=balanced."
    cause = _overfitting(history) or _flat(history)
    return f"{trivial}; {cause or ADVICE}."


def _chance(task: str, parts: Any) -> float | None:
    """Balanced accuracy of a constant answer: 1 / classes (None when the count is unknown)."""
    info = getattr(parts, "info", None)
    classes = info.n_classes if info is not None else (2 if task == BINARY else 0)
    return 1.0 / classes if classes else None


def _overfitting(history: dict[str, list[float]]) -> str | None:
    """The overfitting advice when the validation loss rose well above its lowest while the
    training loss went on falling."""
    val, loss = history.get("val_loss", []), history.get("loss", [])
    if len(val) != len(loss) or not val or not all(map(math.isfinite, val + loss)):
        return None
    best = min(range(len(val)), key=val.__getitem__)
    rose = val[-1] > val[best] + abs(val[best]) * OVERFIT_RISE
    if len(val) - 1 - best < OVERFIT_MIN_EPOCHS or not rose or not loss[-1] < loss[best]:
        return None
    return (
        f"overfitting: the validation loss rose from {val[best]:.4g} (epoch {best + 1}) to "
        f"{val[-1]:.4g} (epoch {len(val)}) while the training loss kept falling; keep early "
        "stopping on (--patience), train fewer --epochs, or regularise (dropout, l2, where "
        "the model takes them, e.g. --set dropout=0.2)"
    )


def _flat(history: dict[str, list[float]]) -> str | None:
    """The learning-rate advice when the training loss went flat (see _flat_loss_warning)."""
    if not _flat_loss_warning(history.get("loss", [])):
        return None
    return (
        "the training loss went flat: try another learning rate (--set learning_rate=0.0001, "
        "or 0.01) or another preset"
    )


def _still_falling(losses: list[float]) -> bool:
    """Whether the training loss still improved by 1 % over the last tenth of the epochs."""
    if len(losses) < 2 or not all(map(math.isfinite, losses)):
        return False
    back = max(1, len(losses) // 10)
    return losses[-1] < losses[-1 - back] - abs(losses[-1 - back]) * FLAT_IMPROVEMENT


def _flat_loss_warning(losses: list[float]) -> str | None:
    if len(losses) < FLAT_MIN_EPOCHS or not all(map(math.isfinite, losses)):
        return None
    start = losses[FLAT_FROM_EPOCH - 1]
    later = min(losses[FLAT_FROM_EPOCH:])
    if later < start - abs(start) * FLAT_IMPROVEMENT:
        return None
    return (
        f"the training loss stayed at {start:.4g} from epoch {FLAT_FROM_EPOCH} to "
        f"{len(losses)}: the model stopped learning early; {ADVICE}."
    )


def majority_share(parts: DataParts | None) -> float | None:
    """The fraction of the test part in its most common class; None when not in memory."""
    counts = _test_counts(parts)
    return None if counts is None else float(counts.max() / counts.sum())


def _test_counts(parts: Any) -> Any:
    """The rows of each class found in the test part (NumPy), or None when not in memory."""
    import numpy as np

    arrays = parts.arrays(TEST) if parts is not None else None
    if arrays is None or not len(arrays[1]):
        return None
    _, counts = np.unique(
        np.asarray(arrays[1]).reshape(len(arrays[1]), -1)[:, 0], return_counts=True
    )
    return counts


# evaluation.json keeps at most this many points per curve, and regression keeps this many
# (true, predicted) pairs for its plots: enough to draw, small enough for any test part.
CURVE_POINTS = 200
SAMPLE_ROWS = 1000


def evaluation_report(
    task: str, y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str] = ()
) -> dict[str, Any]:
    """The numbers behind evaluation.json and its plots (scikit-learn's metrics): per-class
    precision / recall / F1 and the confusion matrix for classifiers, the ROC and
    precision-recall curves for a binary task, residuals and a sample of predictions for
    regression."""
    if not TASK_TABLE[task].classification:
        return _regression_report(y_true.astype("float64"), y_pred.reshape(len(y_true)))
    import numpy as np

    y_true = y_true.reshape(len(y_true)).astype("int64")
    if task == BINARY:
        scores = y_pred.reshape(len(y_true)).astype("float64")
        answers = (scores >= 0.5).astype("int64")
        classes = 2
    else:
        answers, classes = y_pred.argmax(axis=1), y_pred.shape[1]
    names = list(class_names) if len(class_names) == classes else [str(n) for n in range(classes)]
    report = {"task": task, **_class_report(y_true, answers, names)}
    if task == BINARY and len(np.unique(y_true)) == 2:
        report.update(_binary_curves(y_true, scores))
    return report


def _class_report(y_true: np.ndarray, answers: np.ndarray, names: list[str]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(names)))
    per_class = precision_recall_fscore_support(y_true, answers, labels=labels, zero_division=0)
    averages = {
        average: precision_recall_fscore_support(
            y_true, answers, labels=labels, average=average, zero_division=0
        )[:3]
        for average in ("macro", "weighted")
    }
    return {
        "rows": len(y_true),
        "classes": names,
        # Rows: the true class; columns: the class answered (scikit-learn's convention).
        "confusion_matrix": confusion_matrix(y_true, answers, labels=labels).tolist(),
        "per_class": {
            name: dict(zip(("precision", "recall", "f1", "support"), values, strict=True))
            for name, *values in zip(names, *(column.tolist() for column in per_class), strict=True)
        },
        **{
            f"{average}_avg": dict(zip(("precision", "recall", "f1"), values, strict=True))
            for average, values in averages.items()
        },
    }


def _binary_curves(y_true: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    fpr, tpr, roc_thresholds = roc_curve(y_true, scores)
    precision, recall, pr_thresholds = precision_recall_curve(y_true, scores)
    roc = {"fpr": fpr, "tpr": tpr, "thresholds": roc_thresholds}
    pr = {"precision": precision[:-1], "recall": recall[:-1], "thresholds": pr_thresholds}
    return {
        "roc_curve": {**_thinned(roc), "auc": float(auc(fpr, tpr))},  # of the full curve
        "precision_recall_curve": {
            **_thinned(pr),
            "average_precision": float(average_precision_score(y_true, scores)),
        },
    }


def _thinned(curve: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """At most CURVE_POINTS evenly spaced points of each array, the first and last kept."""
    import numpy as np

    length = len(next(iter(curve.values())))
    keep = np.unique(np.linspace(0, length - 1, min(length, CURVE_POINTS)).round().astype(int))
    return {key: values[keep].astype("float64").tolist() for key, values in curve.items()}


def _regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import explained_variance_score, max_error, median_absolute_error

    residuals = y_pred.astype("float64") - y_true
    if not len(residuals):
        return {"task": "regression", "rows": 0}
    rng = np.random.default_rng(0)  # the same sample every time the run is evaluated
    sample = np.sort(rng.permutation(len(y_true))[:SAMPLE_ROWS])
    quantiles = np.quantile(residuals, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "task": "regression",
        "rows": len(y_true),
        "explained_variance": float(explained_variance_score(y_true, y_pred)),
        "max_error": float(max_error(y_true, y_pred)),
        "median_absolute_error": float(median_absolute_error(y_true, y_pred)),
        # Residual: predicted minus true (positive: the model predicted too high).
        "residuals": {
            "mean": float(residuals.mean()),
            "std": float(residuals.std()),
            **dict(zip(("p05", "p25", "p50", "p75", "p95"), quantiles.tolist(), strict=True)),
        },
        "sample": {"true": y_true[sample].tolist(), "predicted": y_pred[sample].tolist()},
    }
