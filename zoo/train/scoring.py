"""Test metrics computed from predictions with NumPy, so every model is scored the same way.

Classification adds ``balanced_accuracy`` (the mean recall over the classes present: always
answering one class scores 1 / classes, however imbalanced the data) and ``class_balance``,
the test part's rarest class share times the number of classes (1: even; a binary 10 %
minority: 0.2), which says whether accuracy can be trusted (``zoo.core.tasks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.core.tasks import BALANCED_ACCURACY, BINARY, CLASS_BALANCE, TASK_TABLE, class_balance

if TYPE_CHECKING:
    import numpy as np


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
