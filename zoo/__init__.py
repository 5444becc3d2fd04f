"""keras-zoo: a plugin-based model zoo for Keras.

The Python API in brief::

    import zoo

    registry = zoo.Registry.discover()
    registry.list("models", "m*")          # entries whose name matches a wildcard
    registry.describe("mlp")               # description, hyperparameters, plugin
    result = zoo.run(zoo.RunConfig(model="mlp", data="housing", epochs=20))
    result.metrics["rmse"]

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
    "UnknownNameError",
    "ZooError",
    "__version__",
    "hookimpl",
    "plan",
    "run",
]
