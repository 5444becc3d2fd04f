"""keras-zoo: a plugin-based model zoo for Keras.

The Python API in brief::

    import zoo

    registry = zoo.Registry.discover()
    registry.list("models", "m*")          # entries whose name matches a wildcard
    registry.describe("mlp")               # description, hyperparameters, plugin
    result = zoo.run(zoo.RunConfig(model="mlp", data="housing", epochs=20))
    result.metrics["rmse"]
    saved = zoo.load_run(result.folder)    # config, metrics, history, model, predict()

Importing this package does not import TensorFlow or Keras; training does.
"""

from zoo._version import __version__
from zoo.config import RunConfig
from zoo.data import Dataset
from zoo.errors import (
    AmbiguousNameError,
    DataError,
    IncompatibleError,
    InvalidParameterError,
    MissingFileError,
    PluginError,
    UnknownNameError,
    ZooError,
)
from zoo.hookspecs import hookimpl
from zoo.models import ModelSpec
from zoo.presets import CompileSettings
from zoo.registry import Registry
from zoo.runner import RunResult, plan, run
from zoo.saved import SavedRun, load_run

__all__ = [
    "AmbiguousNameError",
    "CompileSettings",
    "DataError",
    "Dataset",
    "IncompatibleError",
    "InvalidParameterError",
    "MissingFileError",
    "ModelSpec",
    "PluginError",
    "Registry",
    "RunConfig",
    "RunResult",
    "SavedRun",
    "UnknownNameError",
    "ZooError",
    "__version__",
    "hookimpl",
    "load_run",
    "plan",
    "run",
]
