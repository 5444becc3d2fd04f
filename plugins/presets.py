"""Loss/optimizer presets: the tutorial's Adam + MSE, and the defaults for classification."""

from __future__ import annotations

from zoo.hookspecs import hookimpl
from zoo.presets import CompileSettings


def _adam(learning_rate: float) -> dict:
    return {"class_name": "Adam", "config": {"learning_rate": learning_rate}}


def adam_mse(learning_rate: float = 1e-3) -> CompileSettings:
    """Adam and mean squared error, as in the Keras tutorial.

    Args:
        learning_rate: Adam's step size.
    """
    return CompileSettings(_adam(learning_rate), "mean_squared_error")


def adam_binary(learning_rate: float = 1e-3) -> CompileSettings:
    """Adam and binary cross-entropy, with accuracy.

    Args:
        learning_rate: Adam's step size.
    """
    return CompileSettings(_adam(learning_rate), "binary_crossentropy", ["accuracy"])


def adam_multiclass(learning_rate: float = 1e-3) -> CompileSettings:
    """Adam and sparse categorical cross-entropy, with accuracy.

    Args:
        learning_rate: Adam's step size.
    """
    return CompileSettings(_adam(learning_rate), "sparse_categorical_crossentropy", ["accuracy"])


@hookimpl
def register_presets(register):
    register(
        "adam-mse",
        adam_mse,
        description="Adam(1e-3) + mean squared error (the tutorial)",
        tasks=("regression",),
    )
    register(
        "adam-binary",
        adam_binary,
        description="Adam(1e-3) + binary cross-entropy",
        tasks=("binary",),
    )
    register(
        "adam-multiclass",
        adam_multiclass,
        description="Adam(1e-3) + sparse categorical cross-entropy",
        tasks=("multiclass",),
    )
