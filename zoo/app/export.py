"""``zoo export``: a saved run's model written in a format other runtimes load (a TensorFlow
SavedModel, a TFLite flat buffer, an ONNX graph), then checked by running the run's own test
rows through the exported artifact and comparing with the Keras model.

The artifact takes raw rows, as ``zoo predict``'s model does: the preparation layers
(``zoo.core.layers``) are part of the saved Keras model, so they are exported with it. The
export is built in a hidden sibling folder and renamed into place only once it has been
checked, so a failed or refused export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import IncompatibleError, WriteFailed, ZooError, shown
from zoo.core.imports import native_stderr_silenced
from zoo.core.schema import input_columns
from zoo.runs.files import write_failed, write_json, writing

if TYPE_CHECKING:
    import numpy as np

    from zoo.app.saved import SavedRun
    from zoo.catalog.registry import Registry

FORMATS = ("savedmodel", "tflite", "onnx")
# What each format's artifact is called inside the export folder, beside export.json.
ARTIFACTS = {"savedmodel": "saved_model", "tflite": "model.tflite", "onnx": "model.onnx"}
RECORD = "export.json"
# Packages a format needs beyond TensorFlow (installed by ``keras-zoo[export]``).
CONVERTERS = {"onnx": ("tf2onnx", "onnx", "onnxruntime")}
CHECK_ROWS = 10_000  # test rows run through the artifact: enough to catch a wrong op
RELATIVE_TOLERANCE = 1e-4  # of the largest output: float32 kernels differ in rounding only


@dataclass(frozen=True)
class ExportResult:
    """Where an export went and how it compared with the Keras model."""

    folder: Path
    artifact: Path
    record: dict[str, Any]


def check_format(fmt: str) -> None:
    """Refuse, before anything loads, a format this installation cannot write or run.

    Raises:
        IncompatibleError: an unknown format, or its converter is not installed (the line
            names the extra that installs it).
    """
    if fmt not in FORMATS:
        raise IncompatibleError(f"Unknown export format {shown(fmt)}; expected one of {FORMATS}.")
    missing = [m for m in CONVERTERS.get(fmt, ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise IncompatibleError(
            f"Exporting as {fmt} needs {', '.join(missing)}, which is not installed; run: "
            "pip install 'keras-zoo[export]'."
        )


def default_output(run: SavedRun, fmt: str) -> Path:
    """``RUN/export/FORMAT``: the run's exports live in its own folder."""
    return run.path / "export" / fmt


def export_run(
    run: SavedRun, registry: Registry, fmt: str, output: Path | None = None, *, force: bool = False
) -> ExportResult:
    """Export ``run``'s model as ``fmt`` into the folder ``output`` (the artifact and
    ``export.json``), checked on the run's test rows first.

    Raises:
        IncompatibleError: the format cannot be written here, cannot express the model, or
            its artifact disagrees with the Keras model on the test rows.
        WriteFailed: ``output`` exists (without ``force``) or cannot be written.
        RunFolderError: the run folder is damaged.
    """
    check_format(fmt)
    target = Path(output) if output is not None else default_output(run, fmt)
    _check_target(target, force=force)
    x, expected = _reference(run, registry)
    with _work_folder(target) as work:
        artifact = work / ARTIFACTS[fmt]
        _convert(run.model, fmt, artifact)
        with native_stderr_silenced():  # the runtimes' start-up notices
            got = RUNNERS[fmt](artifact, x)
        difference, tolerance = max_difference(got, expected), _tolerance(expected)
        if not difference <= tolerance:
            raise IncompatibleError(
                f"The {fmt} export disagrees with the Keras model on the run's test rows (max "
                f"absolute difference {difference:.3g}, tolerance {tolerance:.3g}); nothing "
                "was written. Export as savedmodel, or report the model to its plugin."
            )
        record = _record(run, fmt, x, check=(len(x), difference, tolerance))
        write_json(work / RECORD, record)
        _put_in_place(work, target)
    return ExportResult(target, target / ARTIFACTS[fmt], record)


def _check_target(target: Path, *, force: bool) -> None:
    if not (target.exists() or target.is_symlink()):
        return
    if not force:
        raise WriteFailed(
            f"Cannot export to {target}: it already exists; pass --force to replace it, or "
            "--output another path."
        )
    if not target.is_dir() or target.is_symlink():
        raise WriteFailed(
            f"Cannot export to {target}: it is not a folder, and --force replaces only an "
            "earlier export's folder; choose another --output."
        )


@contextlib.contextmanager
def _work_folder(target: Path) -> Iterator[Path]:
    """A hidden sibling of ``target`` to build the export in; removed unless moved."""
    with writing(target.parent):
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        work.chmod(0o755)  # mkdtemp's folder is private; the export is an ordinary folder
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _put_in_place(work: Path, target: Path) -> None:
    """Rename the finished export over ``target``; an earlier export there (``--force``)
    is moved aside first and removed after, so ``target`` is never half of either."""
    old = None
    try:
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            target.rename(old / "export")
        work.rename(target)
    except OSError as exc:
        if old is not None and not target.exists():
            (old / "export").rename(target)  # put the earlier export back
        raise write_failed(target, exc) from None
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _reference(run: SavedRun, registry: Registry) -> tuple[np.ndarray, np.ndarray]:
    """The run's test inputs (up to ``CHECK_ROWS``) and the Keras model's outputs for them."""
    import numpy as np

    from zoo.app.saved import saved_plan
    from zoo.train.backend import import_backend_quietly

    checked = saved_plan(run, dict(run.config), registry)
    import_backend_quietly()
    from zoo.train.runner import load_checked, split_for_training

    parts = split_for_training(load_checked(checked), checked.config)
    arrays = parts.arrays("test")
    if arrays is not None:
        x = np.asarray(arrays[0][:CHECK_ROWS], dtype="float32")
    else:
        x = np.concatenate(list(_first_rows(parts.batches("test", 1024), CHECK_ROWS)))
    return x, np.asarray(run.predict(x))


def _first_rows(batches: Any, limit: int) -> Iterator[np.ndarray]:
    taken = 0
    for x, _ in batches.as_numpy_iterator():
        yield x[: limit - taken].astype("float32")
        taken += len(x)
        if taken >= limit:
            return


def max_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest absolute difference; infinite when shapes or missing values differ."""
    import numpy as np

    got, expected = np.asarray(got, "float64"), np.asarray(expected, "float64")
    if got.size != expected.size:
        return float("inf")
    got = got.reshape(expected.shape)
    if (np.isnan(got) != np.isnan(expected)).any():
        return float("inf")
    both = ~np.isnan(expected)
    return float(np.abs(got[both] - expected[both]).max(initial=0.0))


def _tolerance(expected: np.ndarray) -> float:
    import numpy as np

    finite = np.abs(expected[np.isfinite(expected)])
    return RELATIVE_TOLERANCE * max(1.0, float(finite.max(initial=0.0)))


def _convert(model: Any, fmt: str, artifact: Path) -> None:
    """Write ``artifact``; a converter that cannot express the model is one line."""
    try:
        with native_stderr_silenced(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            EXPORTERS[fmt](model, artifact)
    except (ZooError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - a converter's own words, one line
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise IncompatibleError(
            f"This model cannot be exported as {fmt}: the converter failed ({type(exc).__name__}:"
            f" {first}). Try another --format (savedmodel takes any Keras model)."
        ) from None


def _export_savedmodel(model: Any, artifact: Path) -> None:
    model.export(str(artifact), format="tf_saved_model", verbose=False)


def _export_tflite(model: Any, artifact: Path) -> None:
    import tensorflow as tf

    saved = artifact.with_name("saved_model.tmp")
    _export_savedmodel(model, saved)
    flat = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
    shutil.rmtree(saved)
    with writing(artifact):
        artifact.write_bytes(flat)


def _export_onnx(model: Any, artifact: Path) -> None:
    import logging

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)  # one INFO line per graph pass
    model.export(str(artifact), format="onnx", verbose=False)


def _run_savedmodel(artifact: Path, x: np.ndarray) -> np.ndarray:
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(str(artifact))  # kept: its functions use its variables
    return np.asarray(loaded.serve(tf.constant(x)))


def _run_tflite(artifact: Path, x: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the interpreter's move to LiteRT, announced
        interpreter = tf.lite.Interpreter(model_path=str(artifact))
    (given,), (taken,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(given["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(taken["index"])


def _run_onnx(artifact: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(artifact), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


EXPORTERS: dict[str, Callable[[Any, Path], None]] = {
    "savedmodel": _export_savedmodel,
    "tflite": _export_tflite,
    "onnx": _export_onnx,
}
RUNNERS: dict[str, Callable[[Path, Any], Any]] = {
    "savedmodel": _run_savedmodel,
    "tflite": _run_tflite,
    "onnx": _run_onnx,
}


def _record(
    run: SavedRun, fmt: str, x: np.ndarray, check: tuple[int, float, float]
) -> dict[str, Any]:
    """export.json: what the artifact is, what it takes (raw rows: the columns, their kinds,
    the categories whose index a categorical column's value is) and how it was checked."""
    import keras

    rows, difference, tolerance = check
    schema = run.schema
    return {
        "format": fmt,
        "artifact": ARTIFACTS[fmt],
        "run": str(run.path.resolve()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "keras": keras.__version__,
        "task": run.data.get("task"),
        "input_shape": [None, *x.shape[1:]],
        "inputs": input_columns(schema),
        "features": schema.get("features", []),
        "classes": schema.get("classes", []),
        "check": {"rows": rows, "max_abs_difference": difference, "tolerance": tolerance},
    }
