"""Saved runs used again: loaded back (the model safely, its configuration checked),
``zoo predict`` (predictions written to a file or stdout) and ``zoo evaluate`` (the saved
model scored again)."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import (
    IncompatibleError,
    InvalidParameterError,
    RunFolderError,
    ZooError,
    shown,
)
from zoo.core.tasks import BINARY, MULTICLASS
from zoo.plan.data_choice import data_entry
from zoo.runs.files import STDOUT, check_not_read, damaged, load_keras_model, write_output
from zoo.runs.folder import RunFolder
from zoo.runs.records import read_config, read_data, read_metrics

if TYPE_CHECKING:
    import keras
    import numpy as np

    from zoo.catalog.registry import Registry
    from zoo.core.config import RunConfig
    from zoo.plan.planning import Plan
    from zoo.train.runner import RunResult

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


def saved_plan(
    run: SavedRun, values: dict[str, Any], registry: Registry, *, whole: bool = False
) -> Plan:
    """The plan of a saved run's settings (``values``: its config, perhaps changed);
    ``whole``: every row is scored (another data set's), so no split minimums apply.

    Raises:
        RunFolderError: config.json holds hyperparameters of another type than the entry's
            defaults, or settings the plugins cannot take.
        ZooError: the settings do not plan (an uninstalled plugin, an unusable data set).
    """
    from zoo.core.config import RunConfig

    path = run.folder.file("config")
    return _checked_plan(path, RunConfig(**values), registry, whole=whole)


def ensemble_size(value: Any) -> int | None:
    """K of ``top-K`` or K itself (at least 2: one model is no ensemble); None for none.

    Raises:
        InvalidParameterError: anything else.
    """
    if value in ("", None):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"top-{value}"  # the API's K: the same rule and message as the option's
    found = re.fullmatch(r"top-(\d{1,4})", value) if isinstance(value, str) else None
    if found is None or int(found.group(1)) < 2:
        raise InvalidParameterError(
            f"--ensemble must be top-K with K at least 2 (the K best models averaged), "
            f"e.g. top-3; received {shown(value)}."
        )
    return int(found.group(1))


def averaged_runs(
    members: Sequence[Path], runs_dir: str | Path, registry: Registry, name: str
) -> RunResult:
    """Saved runs' models averaged into one more run, saved under ``runs_dir`` and scored on
    the first member's test part (every member must share its data set and split).

    Raises:
        RunFolderError: a member is not a readable run folder.
    """
    from zoo.train.runner import ensemble_run

    first = load_run(members[0])
    checked = saved_plan(first, {**first.config, "runs_dir": str(runs_dir)}, registry)
    return ensemble_run(checked, [Path(m).absolute() for m in members], name)


def resumed_plan(
    folder: str | Path, config: RunConfig, registry: Registry, sets: tuple[str, ...] = ()
) -> Plan:
    """The plan of an interrupted run to resume (``config``: its config.json with the changes
    allowed), its settings read back checked like :func:`saved_plan`'s.

    Raises:
        RunFolderError: the run cannot be resumed (cross-validated, not interrupted, no
            model, ``--epochs`` fewer than those done): said before the data set and
            TensorFlow load.
    """
    run = RunFolder(Path(folder))
    run.check_resumable(config.epochs, config.folds, config.seed_ensemble)
    return _checked_plan(run.file("config"), config, registry, sets)


def _checked_plan(
    path: Path,
    config: RunConfig,
    registry: Registry,
    sets: tuple[str, ...] = (),
    *,
    whole: bool = False,
) -> Plan:
    from zoo.plan.planning import plan

    _check_param_kinds(path, config, registry)  # before any plugin code sees the values
    try:
        return plan(config, registry, sets, split=not whole)  # all rows scored: no split
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


def write_predictions(
    path: Path | None, labels: list[Any], outputs: np.ndarray, run: SavedRun
) -> str | None:
    """Write one row per input: the prediction, plus class probabilities for classifiers.

    Returns the CSV text when ``path`` is None or ``-`` (for stdout); see
    :func:`zoo.runs.files.write_output` for how each kind of path is written.
    """
    import io

    names, extra = probability_columns(run, outputs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["prediction", *names])
    writer.writerows(
        [_shown(label), *map(_shown, probs)] for label, probs in zip(labels, extra, strict=True)
    )
    if path is None or str(path) == STDOUT:
        return buffer.getvalue()
    write_output(path, buffer.getvalue())  # never replaces a device, a pipe or a symlink
    return None


def probability_columns(run: SavedRun, outputs: np.ndarray) -> tuple[list[str], list[list[float]]]:
    """One ``p_LABEL`` column per class, named by the labels the predictions use (binary
    too: a lone ``p_positive`` would not say which class is positive); none for regression.
    """
    import numpy as np

    task = run.data["task"]
    if task not in (BINARY, MULTICLASS):
        return [], [[] for _ in range(len(outputs))]
    if task == BINARY:
        positive = np.asarray(outputs, dtype="float64").reshape(len(outputs), 1)
        outputs = np.hstack([1.0 - positive, positive])
    names = run.schema.get("classes") or list(range(outputs.shape[1]))
    return [f"p_{n}" for n in names], np.asarray(outputs, dtype="float64").tolist()


def _shown(value: Any) -> Any:
    # Model outputs are float32: digits beyond the 7th are noise, not information.
    return f"{value:.6g}" if isinstance(value, float) else value


def predict_file(
    run: SavedRun, registry: Registry, input_path: Path, output: Path | None
) -> str | None:
    """Predict for every row of a file of raw inputs (read by the plugin that takes it, CSV
    by default); returns CSV text when ``output`` is None.

    Raises:
        WriteFailed: ``output`` is the input file or a file of the run folder.
    """
    check_output(run, input_path, output)  # before anything is read or written
    outputs = run.predict(run.read_inputs(registry, input_path))
    return write_predictions(output, run.labels(outputs), outputs, run)


def check_output(run: SavedRun, input_path: str | Path, output: str | Path | None) -> None:
    """Refuse an ``--output`` that is a file predict reads: the input file, or one of the
    run folder's own files (its model), under any name (a symlink, a hard link).

    Raises:
        WriteFailed: ``output`` is one of them.
    """
    if output is None:
        return
    reads = {"the input file": Path(input_path)}
    try:
        files = sorted(p for p in run.path.iterdir() if not p.name.startswith("."))
    except OSError:
        files = []  # loading the run reports an unreadable folder
    reads.update({f"{p.name} of the run folder": p for p in files})
    check_not_read(output, reads)


def evaluate_run(
    run: SavedRun,
    registry: Registry,
    data: str | None = None,
    target: str | None = None,
    *,
    save: bool = True,
) -> tuple[str, dict[str, float]]:
    """Score a saved model on its own test part, or on all rows of another data set; with
    ``save``, write the detailed evaluation (evaluation.json, plots/) into the run folder:
    beside its files for its own test part, under ``evaluations/NAME/`` for another data set.

    Returns:
        A description of the rows scored, and the metrics.

    Raises:
        WriteFailed: ``save`` and the run folder cannot be written.
    """
    from zoo.train.backend import import_backend_quietly

    values = dict(run.config)
    if data is not None:
        values.update(data=data, data_params={}, **_data_options(run, registry, data, target))
    # Settings from disk: checked, one line; another data set's rows are scored whole.
    checked = saved_plan(run, values, registry, whole=data is not None)
    import_backend_quietly()  # before the imports below load Keras, so that it loads quietly
    from zoo.train.fitting import part_outputs
    from zoo.train.runner import load_checked, split_for_training
    from zoo.train.scoring import evaluation_report, score

    source = load_checked(checked)
    parts = split_for_training(source, checked.config) if data is None else source.whole()
    _check_same_inputs(run, parts.info.input_shape, checked.data_label)
    y, outputs = part_outputs(run.model, parts)
    name = checked.data_label
    part = (
        f"the test part of {name} ({len(y)} rows)"
        if data is None
        else f"all {len(y)} rows of {name}"
    )
    if save:
        report = evaluation_report(checked.task, y, outputs, parts.info.class_names)
        under = None if data is None else _folder_label(data)
        run.folder.write_evaluation({**report, "part": part}, under)
    return part, score(checked.task, y, outputs)


def _folder_label(data: str) -> str:
    """A data set's name as a folder name: a file's stem (``houses`` for ../houses.csv)."""
    name = Path(data).stem if ("/" in data or "." in data) else data
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "data"


def _data_options(
    run: SavedRun, registry: Registry, data: str, target: str | None
) -> dict[str, str | None]:
    """``target`` and ``task`` for another data set: by default the run's own, when that data
    set takes them (a CSV file), since the model was trained to predict that column."""
    entry, _ = data_entry(registry, data)
    takes = {p.name for p in entry.params}
    options: dict[str, str | None] = {"target": target, "task": None}
    if target is None and "target" in takes:
        options["target"] = run.data.get("target_name") or None
    if "task" in takes:
        options["task"] = run.data.get("task") or None
    return options


def _check_same_inputs(run: SavedRun, shape: tuple[int, ...], name: str) -> None:
    expected = list(run.data.get("input_shape", shape))
    if list(shape) != expected:
        raise IncompatibleError(
            f"The model takes inputs of shape {tuple(expected)} but {name} has "
            f"{tuple(shape)}; evaluate on data with the same features."
        )
