"""A run's saved model: loaded in Keras's safe mode, refused when it changed since saving."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zoo.core.errors import MissingFileError, RunFolderError
from zoo.runs.files import file_sha256, read_json

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
CHECKSUM_FILE = "model.sha256.json"


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


def load_run_model(location: str | Path, *, allow_unsafe: bool = False) -> keras.Model:
    """The model of a run folder (checked against its checksum), or of a ``.keras`` file.

    Raises:
        MissingFileError: no model at ``location``.
        RunFolderError: the model cannot be loaded or changed since it was saved.
    """
    path = Path(location).expanduser()
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise MissingFileError(
            f"No saved model at {str(file)!r}; expected a run folder holding {MODEL_FILE} "
            "(runs/NAME) or a .keras file."
        )
    digest = None
    checksum = file.parent / CHECKSUM_FILE
    if checksum.is_file():
        digest = read_json(checksum).get(MODEL_FILE)
    return load_keras_model(file, expected_sha256=digest, allow_unsafe=allow_unsafe)
