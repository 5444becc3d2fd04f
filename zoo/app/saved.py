"""Saved runs loaded back: the model (safely), its configuration, and predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunFolderError, ZooError
from zoo.runs.files import damaged
from zoo.runs.folder import RunFolder
from zoo.runs.modelfile import load_keras_model
from zoo.runs.records import read_config, read_data, read_metrics

if TYPE_CHECKING:
    import keras
    import numpy as np

    from zoo.catalog.registry import Registry
    from zoo.core.config import RunConfig
    from zoo.plan.planning import Plan


# What reading a damaged schema raises in code that trusts it.
SCHEMA_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError)


@dataclass
class SavedRun:
    """A run folder read back: configuration, status, metrics, history and model."""

    folder: RunFolder
    config: dict[str, Any]
    status: dict[str, Any]
    data: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    allow_unsafe: bool = False
    _model: Any = None
    allow_unverified: bool = False

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def history(self) -> dict[str, list[float]]:
        return self.folder.read_history()

    @property
    def model(self) -> keras.Model:
        if self._model is None:
            from zoo.train.backend import import_backend_quietly

            import_backend_quietly()  # as quiet from Python as from the CLI
            model = load_keras_model(
                self.folder.model_path,
                allow_unsafe=self.allow_unsafe,
                allow_unverified=self.allow_unverified,
            )
            _check_inputs(model, self.data["input_shape"], self.folder.model_path)
            self._model = model
        return self._model

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Raw model outputs for raw inputs (scaling is inside the model)."""
        import numpy as np

        from zoo.train.fitting import predict

        model = self.model  # loaded first: its inputs are checked against data.json
        shape = tuple(self.data["input_shape"])
        x = np.asarray(x, dtype="float32")
        if x.size % max(int(np.prod(shape)), 1):
            raise damaged(
                self.folder.file("data"),
                f"describes inputs of shape {shape}, but its schema gives {x.shape[1:]}",
            )
        return predict(model, x.reshape((-1, *shape)))  # in batches sized by the model's memory

    @property
    def schema(self) -> dict[str, Any]:
        """How raw rows become model inputs, and outputs become labels."""
        return self.data.get("schema") or {}

    def labels(self, outputs: np.ndarray) -> list[Any]:
        """Turn model outputs into predictions in the data set's own terms."""
        from zoo.core.schema import decode_outputs

        try:
            return decode_outputs(outputs, self.schema)
        except SCHEMA_ERRORS as exc:
            raise self._bad_schema(exc) from None

    def read_inputs(self, registry: Registry, path: str | Path) -> np.ndarray:
        """Model inputs for a file of raw rows, read by the plugin that takes it."""
        try:
            return registry.read_inputs(str(path), self.schema)
        except ZooError:
            raise
        except SCHEMA_ERRORS as exc:
            raise self._bad_schema(exc) from None

    def _bad_schema(self, exc: Exception) -> RunFolderError:
        # The schema comes from data.json: a value there that the plugin cannot use.
        reason = f"{type(exc).__name__}: {str(exc)[:80]}"
        return damaged(self.folder.file("data"), f"holds a schema that cannot be used ({reason})")


def _check_inputs(model: keras.Model, expected: list[int], path: Path) -> None:
    """Refuse a model whose inputs are not what data.json describes."""
    inputs = getattr(model, "inputs", None) or []
    shapes = [tuple(getattr(i, "shape", ()))[1:] for i in inputs]
    if shapes != [tuple(expected)]:
        found = ", ".join(str(s) for s in shapes) or "none"
        raise RunFolderError(
            f"{path} takes inputs of shape {found}, but data.json describes {tuple(expected)}: "
            "the model and the run folder do not belong together. Restore the run's own files."
        )


def load_run(
    path: str | Path, *, allow_unsafe: bool = False, allow_unverified: bool = False
) -> SavedRun:
    """Read a run folder written by ``zoo run``, checking every record it reads.

    Args:
        path: the run folder.
        allow_unsafe: let the model file run code when it loads (files you trust only).
        allow_unverified: load a model whose checksum cannot be verified.

    Raises:
        RunFolderError: not a run folder, or one with a missing or damaged file (one line
            naming the file and the problem).
    """
    folder = RunFolder(Path(path))
    if not folder.path.is_dir():
        raise RunFolderError(f"No run folder at {path}. Run 'zoo runs' to list past runs.")
    if not any(folder.file(key).exists() for key in ("config", "status", "data")):
        raise RunFolderError(
            f"{path} is not a keras-zoo run folder (no config.json). Run 'zoo runs' to list runs."
        )
    config = read_config(folder.file("config"))
    data = read_data(folder.file("data"))
    metrics = read_metrics(folder.file("metrics"))
    return SavedRun(
        folder, config, folder.status(), data, metrics, allow_unsafe, None, allow_unverified
    )


def saved_plan(run: SavedRun, values: dict[str, Any], registry: Registry) -> Plan:
    """The plan of a saved run's settings (``values``: its config, perhaps changed).

    Raises:
        RunFolderError: config.json holds hyperparameters of another type than the entry's
            defaults, or settings the plugins cannot take.
        ZooError: the settings do not plan (an uninstalled plugin, an unusable data set).
    """
    from zoo.core.config import RunConfig

    return _checked_plan(run.folder.file("config"), RunConfig(**values), registry)


def resumed_plan(
    folder: str | Path, config: RunConfig, registry: Registry, sets: tuple[str, ...] = ()
) -> Plan:
    """The plan of an interrupted run to resume (``config``: its config.json with the changes
    allowed), its settings read back checked like :func:`saved_plan`'s."""
    return _checked_plan(RunFolder(Path(folder)).file("config"), config, registry, sets)


def _checked_plan(
    path: Path, config: RunConfig, registry: Registry, sets: tuple[str, ...] = ()
) -> Plan:
    from zoo.plan.planning import plan

    _check_param_kinds(path, config, registry)  # before any plugin code sees the values
    try:
        return plan(config, registry, sets)
    except ZooError:
        raise
    except Exception as exc:  # noqa: BLE001 - a value from disk a plugin could not take
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        problem = f"holds settings that cannot be used ({type(exc).__name__}: {first})"
        raise damaged(path, problem) from None


def _check_param_kinds(path: Path, config: RunConfig, registry: Registry) -> None:
    """Refuse saved hyperparameters whose JSON type is not the one their entry declares."""
    from zoo.plan.data_choice import data_entry

    finders = {
        "data": lambda: data_entry(registry, config.data)[0],
        "model": lambda: registry.get(config.model, "models"),
        "preset": lambda: registry.get(config.preset, "presets") if config.preset else None,
    }
    for section, find in finders.items():
        try:
            entry = find()
        except ZooError:
            continue  # an unknown name: planning says so, in its own words
        saved = getattr(config, f"{section}_params")
        for param in entry.params if entry else ():
            if param.name in saved and not _fits(saved[param.name], param):
                raise damaged(
                    path,
                    f"holds {section}_params.{param.name}={saved[param.name]!r:.40}, expected "
                    f"{param.type_name}",
                )


# What the parts of a parameter's annotation accept, as JSON reads values back.
_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "None": (type(None),),
    "dict": (dict,),
    "Mapping": (dict,),
    "tuple": (list, tuple),
    "list": (list, tuple),
    "Sequence": (list, tuple),
}


def _fits(value: Any, param: Any) -> bool:
    """Whether ``value`` can stand for ``param`` (by its annotation, else its default)."""
    options = [part.strip().split("[")[0] for part in (param.annotation or "").split("|")]
    kinds = [_KINDS[option] for option in options if option in _KINDS]
    if not param.annotation or len(kinds) < len(options):
        return _same_kind(value, param.default)  # an annotation this cannot read
    if isinstance(value, bool):
        return any(bool in kind for kind in kinds)
    return any(isinstance(value, kind) for kind in kinds)


def _same_kind(value: Any, default: Any) -> bool:
    """Whether a value read back from JSON can stand where ``default`` stands."""
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default)) if isinstance(default, (str, dict)) else True
