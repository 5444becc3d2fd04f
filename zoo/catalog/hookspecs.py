"""The hooks a keras-zoo plugin may implement: one register-callback hook per kind.

A plugin never returns what it contributes; it calls ``register(...)`` once per item. The
host owns the collection, validates each item as it arrives and attributes it to the plugin.
Built-in plugins use exactly these hooks.

A plugin module must stay cheap to import: ``zoo list`` imports every plugin, and it must not
import TensorFlow or Keras. Import them inside the functions you register.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pluggy

PROJECT_NAME = "zoo"
# The version of the plugin API (these hooks and zoo.plugin); a plugin module may declare the
# one it was written for as ``ZOO_PLUGIN_API = 1``, and one this keras-zoo does not serve is
# reported and skipped instead of failing later in a confusing way.
PLUGIN_API_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class RegisterDataset(Protocol):
    def __call__(self, name: str, loader: Any, **metadata: Any) -> None: ...


class RegisterModel(Protocol):
    def __call__(self, name: str, builder: Any, **metadata: Any) -> None: ...


class RegisterPreset(Protocol):
    def __call__(self, name: str, factory: Any, **metadata: Any) -> None: ...


@hookspec
def register_datasets(register: RegisterDataset) -> None:
    """Register data set loaders.

    ``register(name, loader, *, description, task, input_kind, shape, rows=None,
    classes=None, source="", licence="", caveat="", inspect=None, ranges=None,
    columns=None, notes=None)``.
    ``loader(**params)``
    returns a :class:`zoo.core.dataset.Dataset`; its keyword parameters (with defaults) are the data
    set's hyperparameters. The metadata is shown by ``zoo list`` without loading anything.

    When the task or shape depends on the parameters (a CSV file's target column, a
    synthetic data set's ``classes``), register them as ``"inferred"`` (or as the defaults'
    values) and give ``inspect``: called with the same keyword parameters, cheaply and without
    TensorFlow, it returns a dict with any of ``task``, ``input_kind``, ``shape``, ``rows``,
    ``classes`` for those parameters; runs are planned with what it returns. It may also
    return ``columns`` (each column's ``{"name", "role", "note"}``, shown by ``zoo run
    --dry-run``; a role other than target, numeric, categorical or date is a column left
    out, and its note is printed) and ``notes`` (lines about the rows, printed at the start
    of a run).

    Example::

        from zoo.plugin import hookimpl
        from zoo.plugin import Dataset

        def load_line(rows: int = 100) -> Dataset:
            import numpy as np
            x = np.linspace(0, 1, rows).reshape(-1, 1)
            return Dataset(x=x, y=3 * x[:, 0] + 1, task="regression")

        @hookimpl
        def register_datasets(register):
            register("line", load_line, description="y = 3x + 1", task="regression",
                     input_kind="tabular", shape=(1,), rows=100)
    """


@hookspec
def register_models(register: RegisterModel) -> None:
    """Register model builders.

    ``register(name, builder, *, description, tasks=("regression", "binary", "multiclass"),
    input_kinds=("tabular",), search_space=None, ranges=None, check=None, preset=None,
    batch_size=None, seed_ensemble=None)``.
    ``builder(spec, **params)`` receives a :class:`zoo.core.spec.ModelSpec` (input shape,
    task, output units and activation) and returns an uncompiled ``keras.Model`` that maps
    inputs to outputs. Every keyword parameter with a
    default is a hyperparameter; ``zoo info`` shows them and the ``Args:`` lines of the
    builder's docstring. The runner adds input scaling in front of the model, and first
    calls the model on a tiny batch: it must accept ``spec.input_shape`` and output
    ``(batch, spec.output_units)``.

    ``ranges`` declares valid values, e.g. ``{"units": "[1, inf)", "dropout": "[0, 1)"}``
    (checked with every run's overrides); ``search_space`` what ``zoo tune`` searches;
    ``check(**params)`` raises a ZooError at planning, before TensorFlow loads, for settings
    that cannot work here (pretrained weights asked for offline and not cached). ``preset``
    names the preset a run gets when it names none (where it suits the task), ``batch_size``
    the batch size (a number, or ``"auto"``: about 16 steps per epoch, 32 to 512), and
    ``seed_ensemble`` how many seeds' models it averages (a number, or ``"auto"``: 5 on a
    training part of at most 1,000 rows without folds, else 1).

    Example::

        from zoo.plugin import hookimpl

        def build_tiny(spec, units: int = 8):
            import keras
            return keras.Sequential([
                keras.Input(spec.input_shape),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(spec.output_units, activation=spec.output_activation),
            ])

        @hookimpl
        def register_models(register):
            register("tiny", build_tiny, description="One hidden layer of 8 units.")
    """


@hookspec
def register_presets(register: RegisterPreset) -> None:
    """Register loss/optimizer presets.

    ``register(name, factory, *, description, tasks=(...), search_space=None, ranges=None)``.
    ``factory(**params)`` returns a
    :class:`zoo.core.spec.CompileSettings` whose optimizer and loss are anything
    ``keras.optimizers.get`` / ``keras.losses.get`` accept (a name or a config dict), so a
    preset needs no Keras import at all.

    Example::

        from zoo.plugin import hookimpl
        from zoo.plugin import CompileSettings

        def sgd(learning_rate: float = 0.01, momentum: float = 0.9) -> CompileSettings:
            optimizer = {"class_name": "SGD",
                         "config": {"learning_rate": learning_rate, "momentum": momentum}}
            return CompileSettings(optimizer=optimizer, loss="mean_squared_error")

        @hookimpl
        def register_presets(register):
            register("sgd-momentum", sgd, description="SGD with momentum, MSE",
                     tasks=("regression",))
    """


@dataclass(frozen=True)
class DataChoice:
    """A plugin's claim on a ``--data`` string: the data set entry, and its parameters.

    Args:
        dataset: the data set entry's name (short or qualified) that reads the string.
        params: data parameters that carry the string, e.g. ``{"path": "table.csv"}``.
    """

    dataset: str
    params: Mapping[str, Any] = field(default_factory=dict)


@hookspec(firstresult=True)
def zoo_data_for_name(name: str) -> DataChoice | None:
    """Claim a ``--data`` string that is not a registered data set's name.

    Called only when no data set of that name is registered; the first plugin that returns
    a :class:`DataChoice` wins. Return None to leave the string to other plugins.

    Example (a plugin that reads Parquet files)::

        from zoo.plugin import DataChoice, hookimpl

        @hookimpl
        def zoo_data_for_name(name):
            if name.endswith(".parquet"):
                return DataChoice("parquet", {"path": name})
            return None
    """


@hookspec(firstresult=True)
def zoo_default_preset(task: str) -> str | None:
    """The preset a run gets when it names none, for a task ("regression", ...).

    The first plugin that returns a preset name wins.

    Example::

        from zoo.plugin import hookimpl

        @hookimpl
        def zoo_default_preset(task):
            return {"regression": "adam-mse"}.get(task)
    """


@hookspec(firstresult=True)
def zoo_read_inputs(path: str, schema: dict[str, Any]) -> Any:
    """Read a file of raw inputs for ``zoo predict`` into a NumPy array of model inputs.

    ``schema`` is the run's data schema (``data.json``): feature names and kinds, the input
    shape. Return None to leave the file to other plugins; the CSV plugin reads any file as
    CSV, last. Raise ``zoo.plugin.DataError`` for a file that cannot be used.
    """
