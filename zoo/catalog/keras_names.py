"""A preset's optimizer, loss and metrics checked by name while planning, without Keras.

Importing Keras takes seconds, and planning (``zoo run --dry-run``) must not. So the names
Keras resolves are written down here, and ``tests/test_keras_names.py`` checks them against
the installed Keras: every name here must resolve, and every name Keras registers must be
here. A name outside these lists (a typo) is refused before TensorFlow loads; objects
(a loss instance, a custom function) and ``package>Name`` identifiers of classes registered
with ``keras.saving.register_keras_serializable`` are left to the check that resolves
everything with Keras itself when the run starts (``zoo.catalog.contract.check_settings``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zoo.catalog.entries import Entry
from zoo.core.errors import PluginError, did_you_mean, shown
from zoo.core.spec import CompileSettings

# keras.optimizers.get looks names up case-insensitively.
OPTIMIZERS = frozenset(
    {
        "adadelta",
        "adafactor",
        "adagrad",
        "adam",
        "adamax",
        "adamw",
        "ftrl",
        "lion",
        "lossscaleoptimizer",
        "muon",
        "nadam",
        "rmsprop",
        "schedulefreeadamw",
        "sgd",
    }
)
_LOSS_FUNCTIONS = [
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "ctc",
    "dice",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "tversky",
]
_LOSS_CLASSES = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "CTC",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
]
# keras.losses.get looks names up exactly as written.
LOSSES = frozenset(
    {*_LOSS_FUNCTIONS, *_LOSS_CLASSES, "mse", "mae", "mape", "msle", "kld", "bce"}
    | {"MSE", "MAE", "MAPE", "MSLE", "KLD", "BCE", "Loss", "LossFunctionWrapper"}
)
_METRIC_FUNCTIONS = [
    "accuracy",
    "auc",
    "binary_accuracy",
    "binary_crossentropy",
    "binary_io_u",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "concordance_correlation",
    "cosine_similarity",
    "f1_score",
    "f_beta_score",
    "false_negatives",
    "false_positives",
    "hinge",
    "io_u",
    "kl_divergence",
    "log_cosh_error",
    "mean",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_io_u",
    "mean_metric_wrapper",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "metric",
    "one_hot_io_u",
    "one_hot_mean_io_u",
    "pearson_correlation",
    "poisson",
    "precision",
    "precision_at_recall",
    "r2_score",
    "recall",
    "recall_at_precision",
    "root_mean_squared_error",
    "sensitivity_at_specificity",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "specificity_at_sensitivity",
    "squared_hinge",
    "sum",
    "top_k_categorical_accuracy",
    "true_negatives",
    "true_positives",
    "mae",
    "mape",
    "mse",
    "msle",
    "bce",
]
_METRIC_CLASSES = [
    "AUC",
    "Accuracy",
    "BCE",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "ConcordanceCorrelation",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "IoU",
    "KLDivergence",
    "LogCoshError",
    "MAE",
    "MAPE",
    "MSE",
    "MSLE",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanIoU",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "OneHotIoU",
    "OneHotMeanIoU",
    "PearsonCorrelation",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
]
# model.compile also takes these shorthands, which it turns into a metric fitting the loss.
_COMPILE_SHORTHANDS = ("acc", "crossentropy", "ce")
METRICS = frozenset({*_METRIC_FUNCTIONS, *_METRIC_CLASSES, *_COMPILE_SHORTHANDS})


def check_settings_names(preset: Entry, settings: CompileSettings) -> None:
    """Refuse an optimizer, loss or metric name Keras would not resolve.

    Raises:
        PluginError: naming the preset, its plugin, what was expected and what was received.
    """
    where = f"preset {shown(preset.name)} of plugin {shown(preset.plugin)} returned"
    _check_one(where, "optimizer", settings.optimizer, OPTIMIZERS, lower=True)
    _check_one(where, "loss", settings.loss, LOSSES, lower=False)
    if not isinstance(settings.metrics, (list, tuple)):
        raise PluginError(f"{where} metrics {shown(settings.metrics)}; expected a list of metrics")
    for metric in settings.metrics:
        _check_one(where, "metric", metric, METRICS, lower=False)


def _check_one(where: str, what: str, value: Any, known: Iterable[str], *, lower: bool) -> None:
    name = _identifier_name(where, what, value)
    if name is None or ">" in name:
        return  # an object, or a registered custom class: resolved when the run starts
    found = name.lower() if lower else name
    if found not in known:
        raise PluginError(
            f"{where} {what} {shown(value)}, which Keras does not know; expected one of Keras's "
            f"{what} names.{did_you_mean(found, known)} Fix the preset's parameters or the "
            "plugin."
        )


def _identifier_name(where: str, what: str, value: Any) -> str | None:
    """The name in a string or a config dict; None for an object Keras may accept."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("class_name")
        config = value.get("config", {})
        if not isinstance(name, str) or not isinstance(config, dict):
            raise PluginError(
                f"{where} {what} {shown(value)}; expected a config dict such as "
                "{'class_name': 'SGD', 'config': {'learning_rate': 0.01}}"
            )
        return name
    if value is None or isinstance(value, (bool, int, float, list, tuple, set)):
        raise PluginError(
            f"{where} {what} {shown(value)}; expected a Keras {what} name, config dict or object"
        )
    return None
