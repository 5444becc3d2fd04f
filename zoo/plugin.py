"""Everything a keras-zoo plugin needs, in one import.

First-party plugins import from this module only, exactly like third-party ones::

    from zoo.plugin import Dataset, hookimpl

What is here is the plugin API; its version is :data:`PLUGIN_API_VERSION`.
"""

from __future__ import annotations

from types import ModuleType

from zoo.catalog.hookspecs import PLUGIN_API_VERSION, DataChoice, hookimpl
from zoo.core.dataset import SCHEMA_VERSION, ArrayParts, Dataset, default_schema
from zoo.core.errors import (
    DataError,
    IncompatibleError,
    InvalidParameterError,
    MissingFileError,
    PluginError,
    ZooError,
    did_you_mean,
    shown,
)
from zoo.core.parts import (
    MIN_PART_ROWS,
    PART_NAMES,
    TEST,
    TRAIN,
    VALIDATION,
    DataInfo,
    DataParts,
    DataSource,
    Scaling,
    SplitSpec,
    part_sizes,
)
from zoo.core.schema import class_labels, decode_outputs
from zoo.core.spec import BuiltModel, CompileSettings, FineTune, ModelSpec
from zoo.core.tasks import (
    BINARY,
    IMAGE,
    INPUT_KINDS,
    MULTICLASS,
    REGRESSION,
    TABULAR,
    TASK_TABLE,
    TASKS,
)
from zoo.runs.files import MODEL_FILE, load_run_model


def tabular_layers() -> ModuleType:
    """The serializable Keras layers keras-zoo ships for tabular networks (numerical-feature
    embeddings ``NumericEmbedding``, ``ClassToken``, ``EnsembleMLP``; see zoo.core.layers).
    It imports Keras: call it inside a builder, never at a plugin's module level."""
    from zoo.core import layers

    return layers


__all__ = [
    "BINARY",
    "MIN_PART_ROWS",
    "IMAGE",
    "INPUT_KINDS",
    "MODEL_FILE",
    "MULTICLASS",
    "PART_NAMES",
    "PLUGIN_API_VERSION",
    "REGRESSION",
    "SCHEMA_VERSION",
    "TABULAR",
    "TASKS",
    "TASK_TABLE",
    "TEST",
    "TRAIN",
    "VALIDATION",
    "ArrayParts",
    "BuiltModel",
    "CompileSettings",
    "DataChoice",
    "DataError",
    "DataInfo",
    "DataParts",
    "DataSource",
    "Dataset",
    "FineTune",
    "IncompatibleError",
    "InvalidParameterError",
    "MissingFileError",
    "ModelSpec",
    "PluginError",
    "Scaling",
    "SplitSpec",
    "ZooError",
    "class_labels",
    "decode_outputs",
    "default_schema",
    "did_you_mean",
    "part_sizes",
    "shown",
    "hookimpl",
    "tabular_layers",
    "load_run_model",
]
