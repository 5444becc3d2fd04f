"""A cross-validated run's model and history, from its fold models.

Each fold's model trains on the other folds of the training part and stops early on its own
fold; averaging their outputs (probabilities, for classification) gives a model that has seen
every training row and whose errors partly cancel: on small data sets it scores better than
any one of them, and better than one model trained again on all rows without a validation
part to stop on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras


def fold_ensemble(models: Sequence[keras.Model], name: str) -> keras.Model:
    """One model whose output is the mean of ``models``' outputs (each keeps its own scaling)."""
    import keras

    inputs = keras.Input(models[0].input_shape[1:], name="features")
    for number, model in enumerate(models, 1):
        model.name = f"fold_{number}"  # unique names, so that the saved weights stay apart
    outputs = keras.layers.Average(name="fold_average")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name=name)


def mean_history(histories: Sequence[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per epoch, the mean over the folds that trained that long (early stopping ends some
    folds sooner than others)."""
    keys = [k for k in histories[0] if all(k in h for h in histories)]
    mean: dict[str, list[float]] = {}
    for key in keys:
        longest = max(len(h[key]) for h in histories)
        values = [[h[key][e] for h in histories if e < len(h[key])] for e in range(longest)]
        mean[key] = [sum(v) / len(v) for v in values]
    return mean
