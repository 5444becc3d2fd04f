"""Saved runs loaded back: the model (safely), its configuration, and predictions."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunFolderError
from zoo.runs.folder import RunFolder, file_sha256, read_json

if TYPE_CHECKING:
    import keras
    import numpy as np


def load_keras_model(
    path: Path, *, expected_sha256: str | None = None, allow_unsafe: bool = False
) -> keras.Model:
    """Load a ``.keras`` file in Keras's safe mode, refusing a file changed since it was saved.

    Args:
        path: the model file.
        expected_sha256: the digest recorded when the run saved it, if any.
        allow_unsafe: let Keras deserialize code (lambda layers); only for files you trust.

    Raises:
        RunFolderError: the file is missing, altered, truncated or not a Keras model.
    """
    if not path.is_file():
        raise RunFolderError(f"No model file at {path}; the run did not finish saving a model.")
    if expected_sha256 and file_sha256(path) != expected_sha256:
        raise RunFolderError(
            f"{path} has changed since keras-zoo saved it (sha256 mismatch): it is truncated or "
            "was modified. Restore it or train the run again."
        )
    import keras

    try:
        return keras.models.load_model(path, safe_mode=not allow_unsafe)
    except Exception as exc:  # noqa: BLE001 - any failure means the file cannot be used
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFolderError(
            f"Cannot load {path}: {type(exc).__name__}: {first}. The file is damaged or holds "
            "code that safe mode refuses (use --allow-unsafe only for files you trust)."
        ) from None


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

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def history(self) -> dict[str, list[float]]:
        return self.folder.read_history()

    @property
    def model(self) -> keras.Model:
        if self._model is None:
            self._model = load_keras_model(
                self.folder.model_path,
                expected_sha256=self.folder.model_digest(),
                allow_unsafe=self.allow_unsafe,
            )
        return self._model

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Raw model outputs for raw inputs (scaling is inside the model)."""
        import numpy as np

        shape = tuple(self.data["input_shape"])
        x = np.asarray(x, dtype="float32").reshape((-1, *shape))
        return np.asarray(self.model.predict(x, batch_size=4096, verbose=0))

    @property
    def schema(self) -> dict[str, Any]:
        """How raw rows become model inputs, and outputs become labels (zoo.plugins.csv_files.data)."""
        return self.data.get("schema") or {}

    def labels(self, outputs: np.ndarray) -> list[Any]:
        """Turn model outputs into predictions in the data set's own terms."""
        from zoo.plugins.csv_files.data import decode_outputs

        return decode_outputs(outputs, self.schema)


def load_run(path: str | Path, *, allow_unsafe: bool = False) -> SavedRun:
    """Read a run folder written by ``zoo run``.

    Raises:
        RunFolderError: not a run folder, or one whose configuration is missing.
    """
    folder = RunFolder(Path(path))
    if not folder.path.is_dir():
        raise RunFolderError(f"No run folder at {path}. Run 'zoo runs' to list past runs.")
    if not folder.file("config").exists():
        raise RunFolderError(
            f"{path} is not a keras-zoo run folder (no config.json). Run 'zoo runs' to list runs."
        )
    metrics = read_json(folder.file("metrics")) if folder.file("metrics").exists() else {}
    data = read_json(folder.file("data")) if folder.file("data").exists() else {}
    return SavedRun(
        folder, read_json(folder.file("config")), folder.status(), data, metrics, allow_unsafe
    )


def write_predictions(
    path: Path | None, labels: list[Any], outputs: np.ndarray, run: SavedRun
) -> str | None:
    """Write one row per input: the prediction, plus class probabilities for classifiers.

    Returns the CSV text when ``path`` is None (for stdout); the file appears atomically.
    """
    import io

    header = ["prediction"]
    extra: list[list[float]] = [[] for _ in labels]
    if run.data["task"] == "multiclass":
        names = run.schema.get("classes") or list(range(outputs.shape[1]))
        header += [f"p_{n}" for n in names]
        extra = outputs.tolist()
    elif run.data["task"] == "binary":
        header.append("p_positive")
        extra = [[float(v)] for v in outputs.reshape(len(outputs))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([label, *probs] for label, probs in zip(labels, extra, strict=True))
    if path is None:
        return buffer.getvalue()
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(buffer.getvalue())
    os.replace(partial, path)
    return None


def predict_file(run: SavedRun, input_path: Path, output: Path | None) -> str | None:
    """Predict for every row of a CSV file; returns CSV text when ``output`` is None."""
    from zoo.plugins.csv_files.data import read_features

    outputs = run.predict(read_features(input_path, run.schema))
    return write_predictions(output, run.labels(outputs), outputs, run)


def evaluate_run(
    run: SavedRun, registry: Any, data: str | None = None, target: str | None = None
) -> tuple[str, dict[str, float]]:
    """Score a saved model on its own test part, or on all rows of another data set.

    A file too large for memory is scored on its test part, read from disk.
    """
    from zoo.core.config import RunConfig
    from zoo.train.runner import load_checked, plan, split_for_training, test_outputs
    from zoo.train.scoring import score

    values = dict(run.config)
    if data is not None:
        values.update(data=data, target=target, data_params={})
    config = RunConfig(**values)
    dataset = load_checked(plan(config, registry), registry)
    if data is None or dataset.stream is not None:
        dataset, parts = split_for_training(dataset, config)  # a stream's shape comes from here
        _check_same_inputs(run, dataset, config.data)
        y, outputs = test_outputs(run.model, parts)
        part = f"the test part of {config.data} ({len(y)} rows)"
    else:
        _check_same_inputs(run, dataset, config.data)
        y, outputs = dataset.y, run.predict(dataset.x)
        part = f"all {len(y)} rows of {config.data}"
    return part, score(dataset.task, y, outputs)


def _check_same_inputs(run: SavedRun, dataset: Any, name: str) -> None:
    from zoo.core.errors import IncompatibleError

    expected = list(run.data.get("input_shape", dataset.input_shape))
    if list(dataset.input_shape) != expected:
        raise IncompatibleError(
            f"The model takes inputs of shape {tuple(expected)} but {name} has "
            f"{dataset.input_shape}; evaluate on data with the same features."
        )
