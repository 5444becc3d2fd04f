"""Loss/optimizer presets: the tutorial's Adam + MSE, task defaults, and common alternatives.

A preset that leaves ``loss`` or ``metrics`` as None gets the data set's task defaults
(``zoo.plugin.TASK_TABLE``), so one preset serves every task.
Optimizers and losses are Keras identifiers or config dicts, resolved by Keras itself.
"""

from __future__ import annotations

import json
from typing import Any

from zoo.plugin import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    CompileSettings,
    InvalidParameterError,
    hookimpl,
    shown,
)


def _optimizer(class_name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": class_name, "config": config}


def adam_mse(learning_rate: float = 1e-3) -> CompileSettings:
    """Adam and mean squared error, as in the Keras tutorial; MAE and RMSE as metrics.

    Args:
        learning_rate: Adam's step size.
    """
    return CompileSettings(_optimizer("Adam", learning_rate=learning_rate), "mean_squared_error")


def adam_binary(learning_rate: float = 1e-3) -> CompileSettings:
    """Adam and binary cross-entropy; accuracy and AUC as metrics.

    Args:
        learning_rate: Adam's step size.
    """
    return CompileSettings(_optimizer("Adam", learning_rate=learning_rate), "binary_crossentropy")


def adam_multiclass(learning_rate: float = 1e-3) -> CompileSettings:
    """Adam and sparse categorical cross-entropy; accuracy as metric.

    Args:
        learning_rate: Adam's step size.
    """
    return CompileSettings(
        _optimizer("Adam", learning_rate=learning_rate), "sparse_categorical_crossentropy"
    )


def sgd_momentum(
    learning_rate: float = 0.01, momentum: float = 0.9, nesterov: bool = False
) -> CompileSettings:
    """SGD with momentum and the task's default loss.

    Args:
        learning_rate: step size.
        momentum: fraction of the previous update kept (0 is plain SGD).
        nesterov: use Nesterov momentum.
    """
    optimizer = _optimizer("SGD", learning_rate=learning_rate, momentum=momentum, nesterov=nesterov)
    return CompileSettings(optimizer)


def rmsprop(learning_rate: float = 1e-3, rho: float = 0.9) -> CompileSettings:
    """RMSprop and the task's default loss.

    Args:
        learning_rate: step size.
        rho: decay of the running average of squared gradients.
    """
    return CompileSettings(_optimizer("RMSprop", learning_rate=learning_rate, rho=rho))


def adamw(learning_rate: float = 1e-3, weight_decay: float = 1e-4) -> CompileSettings:
    """AdamW (Adam with decoupled weight decay) and the task's default loss: what the tabular
    deep-learning papers train with; the default of resnet, ft-transformer and tabm.

    Args:
        learning_rate: the step size.
        weight_decay: decoupled weight decay (Keras scales it by the learning rate).
    """
    return CompileSettings(
        _optimizer("AdamW", learning_rate=learning_rate, weight_decay=weight_decay)
    )


def adamw_cosine(
    learning_rate: float = 1e-3,
    decay_steps: int = 1000,
    final_fraction: float = 0.0,
    warmup_steps: int = 0,
    weight_decay: float = 0.004,
) -> CompileSettings:
    """AdamW whose learning rate follows a cosine decay; the task's default loss.

    Args:
        learning_rate: the step size the schedule starts from (after any warm-up).
        decay_steps: gradient steps over which the rate decays (epochs x steps per epoch).
        final_fraction: the fraction of learning_rate left at the end of the decay.
        warmup_steps: steps of linear warm-up from 0 before the decay.
        weight_decay: AdamW's decoupled weight decay.
    """
    schedule = {
        # Keras finds a nested schedule by its module; the class name alone is not enough.
        "module": "keras.optimizers.schedules",
        "class_name": "CosineDecay",
        "config": {
            "initial_learning_rate": 0.0 if warmup_steps else learning_rate,
            "decay_steps": decay_steps,
            "alpha": final_fraction,
            "warmup_target": learning_rate if warmup_steps else None,
            "warmup_steps": warmup_steps,
        },
        "registered_name": None,
    }
    return CompileSettings(_optimizer("AdamW", learning_rate=schedule, weight_decay=weight_decay))


def huber(learning_rate: float = 1e-3, delta: float = 1.0) -> CompileSettings:
    """Adam and the Huber loss: squared error for small errors, linear for outliers.

    Args:
        learning_rate: Adam's step size.
        delta: the error size where the loss turns from quadratic to linear.
    """
    loss = {"class_name": "Huber", "config": {"delta": delta}}
    return CompileSettings(_optimizer("Adam", learning_rate=learning_rate), loss)


def custom(
    optimizer: str | dict = "adam", loss: str | dict = "", learning_rate: float = 0.0
) -> CompileSettings:
    """Any Keras optimizer and loss, by name or Keras config dict (also as a JSON string).

    Args:
        optimizer: a name (adam, sgd, nadam, ...) or config dict for keras.optimizers.get.
        loss: a name or config dict for keras.losses.get; empty uses the task's default.
        learning_rate: the optimizer's step size; 0 keeps the optimizer's own default.
    """
    optimizer = _identifier(optimizer)
    if isinstance(optimizer, str):
        optimizer = _optimizer(optimizer)
    if learning_rate:
        config = {**optimizer.get("config", {}), "learning_rate": learning_rate}
        optimizer = {**optimizer, "config": config}
    return CompileSettings(optimizer, _identifier(loss) or None)


def _identifier(value: str | dict) -> str | dict:
    """A name or config dict; a JSON object given as text (``--set``) is read as a dict."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(
                f"Cannot read {shown(value)} as a Keras config dict: {exc}. Expected JSON such as "
                '{"class_name": "SGD", "config": {"learning_rate": 0.01}}.'
            ) from None
    return value


# What ``zoo tune`` searches for each preset (the others keep their defaults).
ADAM_SPACE = {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}
# Which values are valid (checked when a run is planned): a learning rate must be positive.
RATE = {"learning_rate": "(0, inf)"}


@hookimpl
def register_presets(register):
    register(
        "adam-mse",
        adam_mse,
        description="Adam(1e-3) + mean squared error (the tutorial); MAE, RMSE",
        tasks=(REGRESSION,),
        ranges=RATE,
        search_space=ADAM_SPACE,
    )
    register(
        "adam-binary",
        adam_binary,
        description="Adam(1e-3) + binary cross-entropy; accuracy, AUC",
        tasks=(BINARY,),
        ranges=RATE,
        search_space=ADAM_SPACE,
    )
    register(
        "adam-multiclass",
        adam_multiclass,
        description="Adam(1e-3) + sparse categorical cross-entropy; accuracy",
        tasks=(MULTICLASS,),
        ranges=RATE,
        search_space=ADAM_SPACE,
    )
    register(
        "sgd-momentum",
        sgd_momentum,
        description="SGD(0.01, momentum 0.9) + the task's default loss",
        ranges=RATE,
        search_space={
            "learning_rate": {"low": 1e-3, "high": 1e-1, "log": True},
            "momentum": {"low": 0.5, "high": 0.99},
            "nesterov": {"choices": [False, True]},
        },
    )
    register(
        "rmsprop",
        rmsprop,
        description="RMSprop(1e-3) + the task's default loss",
        ranges=RATE,
        search_space={**ADAM_SPACE, "rho": {"low": 0.8, "high": 0.99}},
    )
    register(
        "adamw",
        adamw,
        description="AdamW(1e-3, weight decay 1e-4) + the task's default loss",
        ranges={**RATE, "weight_decay": "[0, inf)"},
        search_space={
            **ADAM_SPACE,
            "weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
        },
    )
    register(
        "adamw-cosine",
        adamw_cosine,
        description="AdamW with a cosine-decay learning rate + the task's default loss",
        ranges=RATE,
        search_space={
            **ADAM_SPACE,
            "weight_decay": {"low": 1e-4, "high": 1e-1, "log": True},
        },
    )
    register(
        "huber",
        huber,
        description="Adam(1e-3) + Huber loss: regression robust to outliers",
        tasks=(REGRESSION,),
        ranges=RATE,
        search_space={**ADAM_SPACE, "delta": {"low": 0.5, "high": 5.0, "log": True}},
    )
    register(
        "custom",
        custom,
        description="Any Keras optimizer and loss, by name or config dict",
        search_space={"learning_rate": {"low": 1e-4, "high": 1e-1, "log": True}},
    )


# The preset a run gets when it names none.
DEFAULT_PRESETS = {REGRESSION: "adam-mse", BINARY: "adam-binary", MULTICLASS: "adam-multiclass"}


@hookimpl
def zoo_default_preset(task):
    return DEFAULT_PRESETS.get(task)
