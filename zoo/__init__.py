"""keras-zoo: a plugin-based model zoo for Keras.

The Python API in brief::

    import zoo

    registry = zoo.Registry.discover()
    registry.list("models", "m*")          # entries whose name matches a wildcard
    registry.get("mlp").to_dict()         # description, hyperparameters, plugin
    result = zoo.run(zoo.RunConfig(model="mlp", data="housing", epochs=20))
    result.metrics["rmse"]
    saved = zoo.load_run(result.folder)    # config, metrics, history, model, predict()

Importing this package does not import TensorFlow or Keras; training does.
"""

from zoo._version import __version__
from zoo.app.run import run
from zoo.app.saved import SavedRun, load_run
from zoo.catalog.hookspecs import hookimpl
from zoo.catalog.registry import Registry
from zoo.core.config import RunConfig
from zoo.core.dataset import Dataset
from zoo.core.errors import (
    AmbiguousNameError,
    DataError,
    IncompatibleError,
    InvalidParameterError,
    MissingFileError,
    PluginError,
    UnknownNameError,
    ZooError,
)
from zoo.core.spec import CompileSettings, ModelSpec
from zoo.plan.planning import Plan, plan
from zoo.train.runner import RunResult

__all__ = [
    "AmbiguousNameError",
    "CompileSettings",
    "DataError",
    "Dataset",
    "IncompatibleError",
    "InvalidParameterError",
    "MissingFileError",
    "ModelSpec",
    "Plan",
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
