"""The optional second training phase: unfreeze the top of a frozen backbone, train on slowly.

A builder asks for it by returning ``BuiltModel(model, fine_tune=FineTune(...))``; the runner calls
:func:`fine_tune` after the first fit. This module imports Keras, so only the runner imports
it, and only when a model asks for fine-tuning.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import keras

from zoo.core.errors import shown
from zoo.core.parts import DataParts
from zoo.core.spec import CompileSettings, FineTune
from zoo.train import fitting as training
from zoo.train.options import FitOptions


def fine_tune(
    model: keras.Model,
    plan: FineTune,
    settings: CompileSettings,
    parts: DataParts,
    options: FitOptions,
    callbacks: list[Any],
) -> dict[str, list[float]]:
    """Unfreeze the backbone's top layers and train ``plan.epochs`` more at the lower rate.

    Args:
        model: the trained model (input scaling in front of the builder's model).
        plan: what the builder asked for.
        settings: the run's compile settings; only the learning rate changes.
        parts: the data split.
        options: the first phase's options; only the epochs change.
        callbacks: the run's callbacks for this phase (stops, progress).

    Returns:
        The history of this phase.
    """
    unfreeze_top(find_layer(model, plan.backbone), plan.layers)
    slower = replace(settings, optimizer=optimizer_at(settings.optimizer, plan.learning_rate))
    # Recompiling (inside training.fit) is what makes the new trainable flags take effect.
    return training.fit(model, slower, parts, replace(options, epochs=plan.epochs), callbacks)


def find_layer(model: keras.Model, name: str) -> keras.Layer:
    """The layer called ``name`` in ``model`` or in any model nested in it."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_layer(layer, name)
            except KeyError:
                continue
    raise KeyError(f"No layer named {shown(name)} in model {shown(model.name)}.")


def unfreeze_top(backbone: keras.Layer, count: int) -> None:
    """Make the top ``count`` layers of ``backbone`` trainable, batch normalization excepted.

    Batch normalization stays frozen: updating its statistics on a small new data set would
    undo what the backbone learned.
    """
    backbone.trainable = True
    layers = list(getattr(backbone, "layers", [backbone]))
    top = set(map(id, layers[-count:])) if count > 0 else set()
    for layer in layers:
        layer.trainable = id(layer) in top
    for layer in _all_layers(backbone):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def _all_layers(layer: keras.Layer) -> list[keras.Layer]:
    nested = getattr(layer, "layers", [])
    return [layer, *(inner for child in nested for inner in _all_layers(child))]


def optimizer_at(identifier: Any, learning_rate: float) -> keras.optimizers.Optimizer:
    """A fresh optimizer like ``identifier``, with a constant ``learning_rate``.

    A learning-rate schedule is replaced too: the second phase trains at the given rate.
    """
    template = keras.optimizers.get(identifier)
    config = template.get_config()
    config["learning_rate"] = learning_rate
    return type(template).from_config(config)
