"""Saved runs loaded back: the model (safely), its configuration, and predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.errors import RunFolderError
from zoo.runs.files import read_json
from zoo.runs.folder import RunFolder
from zoo.runs.modelfile import load_keras_model

if TYPE_CHECKING:
    import keras
    import numpy as np


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
        """How raw rows become model inputs, and outputs become labels."""
        return self.data.get("schema") or {}

    def labels(self, outputs: np.ndarray) -> list[Any]:
        """Turn model outputs into predictions in the data set's own terms."""
        from zoo.core.labels import decode_outputs

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
