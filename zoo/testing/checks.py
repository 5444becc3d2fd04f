"""The conformance checks, one small function per property of a plugin's contribution.

Each check takes the entry under test (and what it needs) and raises
:class:`PluginCheckError` with one line naming the plugin, the entry, what was expected and
what was received; it returns None when the contribution conforms. The checks reuse the
runner's own contract (``zoo.catalog.contract``), so what passes here passes in ``zoo run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.catalog import contract
from zoo.catalog.entries import INFERRED, Entry
from zoo.catalog.keras_names import check_settings_names
from zoo.catalog.manager import HEAVY_MODULES
from zoo.core.compile import CompileSettings
from zoo.core.errors import ZooError
from zoo.core.parts import SplitSpec
from zoo.core.spec import ModelSpec, output_for_task
from zoo.core.tasks import IMAGE, TASK_TABLE
from zoo.plan.data_choice import inspected

# Example shapes a model is built for, per input kind; a kit user may give others.
INPUT_SHAPES: dict[str, tuple[int, ...]] = {"tabular": (4,), "image": (8, 8, 1)}
TINY_ROWS = 64  # what a loader with a ``rows`` parameter is asked for
PROBE_CLASSES = 3


class PluginCheckError(AssertionError):
    """A plugin's contribution does not conform; the message names plugin and entry."""


def _failed(error: Exception) -> PluginCheckError:
    return PluginCheckError(str(error))


# -- the plugin as a whole ----------------------------------------------------------------


def check_loads(record: Any) -> None:
    """The plugin loaded, registered without a problem and left no warning behind."""
    if record.status != "ok":
        raise PluginCheckError(f"plugin {record.name!r} {record.status}: {record.error}")
    if record.notes:
        raise PluginCheckError(f"plugin {record.name!r} {record.notes[0]}")


def check_imports_light(plugin: str, module: str) -> None:
    """Importing the plugin's module in a fresh interpreter imports no heavy framework."""
    probe = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        "print(' '.join(sorted({n.partition('.')[0] for n in sys.modules})))"
    )
    # The fresh interpreter sees the packages this one sees (a test's added site folder too).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, "-c", probe, module], capture_output=True, text=True, timeout=120, env=env
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise PluginCheckError(f"plugin {plugin!r}: importing {module} failed: {last}")
    heavy = sorted(set(done.stdout.split()) & set(HEAVY_MODULES))
    if heavy:
        raise PluginCheckError(
            f"plugin {plugin!r}: importing {module}: expected no {'/'.join(HEAVY_MODULES)} "
            f"import, received {', '.join(heavy)}; import them inside the registered functions"
        )


# -- data sets -----------------------------------------------------------------------------


def data_params(entry: Entry, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The kit's parameters for a loader: the author's, else a small ``rows`` where it has one."""
    if given is not None:
        return dict(given)
    params = {p.name: p.default for p in entry.params}
    rows = params.get("rows")
    if isinstance(rows, int) and not isinstance(rows, bool) and rows > TINY_ROWS:
        return {"rows": TINY_ROWS}
    return {}


def needs_params(entry: Entry) -> bool:
    """A data set that cannot load without the author's parameters (a file's path)."""
    return INFERRED in (entry.metadata.get("task"), entry.metadata.get("shape"))


def check_data_loads(entry: Entry, params: Mapping[str, Any]) -> None:
    """The loader's data set matches its registration: type, task, kind, shape, rows,
    classes, numeric and finite features, targets in range; and it splits."""
    try:
        described = inspected(entry, dict(params))
        source = contract.call_plugin(described, **params)
        contract.check_data(described, source, params)
        parts = source.split(SplitSpec(test_size=0.25, validation_size=0.2, seed=0))
    except ZooError as error:
        raise _failed(error) from error
    for part in ("train", "test"):
        if parts.rows(part) < 1:
            raise PluginCheckError(
                f"{entry.owner}: the {part} part: expected rows, received none"
            )


# -- models --------------------------------------------------------------------------------


def model_spec(task: str, input_shape: tuple[int, ...], input_kind: str) -> ModelSpec:
    """The ModelSpec a run would give for a data set of this task and shape."""
    units, activation = output_for_task(task, PROBE_CLASSES)
    return ModelSpec(tuple(input_shape), task, units, activation, input_kind)


def build(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> Any:
    """The builder's model for ``spec``, checked as the runner checks it."""
    try:
        built = contract.call_plugin(entry, spec, **params)
        model, _ = contract.check_model(entry, spec, built)
    except ZooError as error:
        raise _failed(error) from error
    return model


def check_model_builds(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """The model builds for the spec, accepts its input shape and has the right output."""
    build(entry, spec, params)


def tiny_batch(spec: ModelSpec, rows: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs of the spec's shape and targets fitting its task."""
    rng = np.random.default_rng(0)
    x = rng.random((rows, *spec.input_shape), dtype="float32")
    if spec.input_kind == IMAGE:
        x *= 255.0
    if TASK_TABLE[spec.task].classification:
        classes = spec.output_units if spec.output_units > 1 else 2
        y = (np.arange(rows) % classes).astype("int32")
    else:
        y = rng.standard_normal(rows).astype("float32")
    return x, y


def check_model_trains(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """One optimizer step with the task's default loss gives a finite loss."""
    model = build(entry, spec, params)
    settings = CompileSettings(optimizer="sgd").resolve(spec.task)
    model.compile(**settings, run_eagerly=True)  # one step: tracing would cost more
    x, y = tiny_batch(spec)
    loss = model.train_on_batch(x, y, return_dict=True)["loss"]
    if not np.isfinite(float(loss)):
        raise PluginCheckError(
            f"{entry.owner}: one training step: expected a finite loss, "
            f"received {float(loss)}"
        )


def check_model_reloads(entry: Entry, spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """The model saves to a .keras file and loads back in safe mode with the same outputs."""
    import keras

    model = build(entry, spec, params)
    x, _ = tiny_batch(spec, rows=2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        try:
            model.save(path)
            loaded = keras.saving.load_model(path, safe_mode=True)
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [""])[0]
            raise PluginCheckError(
                f"{entry.owner}: save and reload in safe mode: expected the model "
                f"back, received {type(exc).__name__}: {text} (custom layers need "
                "keras.saving.register_keras_serializable and no lambdas)"
            ) from exc
    before, after = np.asarray(model(x)), np.asarray(loaded(x))
    if not np.allclose(before, after, atol=1e-5):
        raise PluginCheckError(
            f"{entry.owner}: save and reload: expected the same outputs, received "
            f"a largest difference of {float(np.max(np.abs(before - after))):.3g}"
        )


# -- presets -------------------------------------------------------------------------------


def check_preset_resolves(entry: Entry, task: str, params: Mapping[str, Any]) -> None:
    """The factory returns CompileSettings whose optimizer, loss and metrics Keras builds,
    and whose loss suits ``task``."""
    try:
        settings = contract.call_plugin(entry, **params)
        if not isinstance(settings, CompileSettings):
            raise contract.mismatch(
                entry, "the factory's result", "CompileSettings", type(settings).__name__
            )
        filled = settings.for_task(task, f"a {task} data set")
        check_settings_names(entry, filled)
        contract.check_settings(entry, filled)
    except ZooError as error:
        raise _failed(error) from error
