"""The Keras names planning checks without Keras agree with the installed Keras."""

from __future__ import annotations

import pytest

from zoo.catalog.keras_names import LOSSES, METRICS, OPTIMIZERS, check_settings_names
from zoo.core.errors import PluginError
from zoo.core.spec import CompileSettings
from zoo.plugin import ZooError

# Base classes Keras registers but that are no optimizer a preset can name.
ABSTRACT = {"optimizer", "multioptimizer", "optimizermap"}


@pytest.fixture(scope="module")
def registered():
    from keras.src import losses, metrics, optimizers

    return {
        "optimizers": {name.lower() for name in optimizers.ALL_OBJECTS_DICT} - ABSTRACT,
        "losses": set(losses.ALL_OBJECTS_DICT),
        "metrics": set(metrics.ALL_OBJECTS_DICT),
    }


def test_every_name_keras_registers_is_known(registered):
    assert registered["optimizers"] <= OPTIMIZERS
    assert registered["losses"] <= LOSSES
    assert registered["metrics"] <= METRICS


def test_every_known_name_is_one_keras_registers(registered):
    assert registered["optimizers"] >= OPTIMIZERS
    assert registered["losses"] >= LOSSES
    # model.compile's own shorthands, which it maps to a metric fitting the loss.
    assert METRICS - {"acc", "crossentropy", "ce"} <= registered["metrics"]


class Preset:
    name, plugin = "p", "plug"


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        (CompileSettings("adamm", "mse", []), "optimizer 'adamm', which Keras does not know"),
        (CompileSettings("adam", "mse", ["acurracy"]), "Did you mean: accuracy"),
        (CompileSettings({"class_name": 3}, "mse", []), "expected a config dict"),
        (CompileSettings(None, "mse", []), "expected a Keras optimizer name"),
        (CompileSettings("adam", "mse", "mae"), "expected a list of metrics"),
    ],
)
def test_unknown_names_are_refused_without_keras(settings, fragment):
    with pytest.raises(PluginError, match="preset 'p' of plugin 'plug' returned") as error:
        check_settings_names(Preset, settings)
    assert fragment in str(error.value) and isinstance(error.value, ZooError)


@pytest.mark.parametrize(
    "settings",
    [
        CompileSettings("Adam", "MeanSquaredError", ["mae", "acc"]),
        CompileSettings({"class_name": "SGD", "config": {}}, {"class_name": "Huber"}, []),
        CompileSettings("adam", "my_package>MyLoss", [object()]),
    ],
)
def test_names_keras_accepts_and_objects_pass(settings):
    check_settings_names(Preset, settings)
