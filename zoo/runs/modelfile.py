"""A run's saved model: loaded in Keras's safe mode, refused unless its checksum verifies.

A run records the sha256 of ``model.keras`` in ``model.sha256.json`` when it saves it. A model
whose checksum cannot be verified (the record missing or damaged, or the file changed since)
is refused unless the caller allows unverified models (``--allow-unverified``): loading a
file runs Keras's deserialization on it, which should only happen to files one trusts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zoo.core.errors import MissingFileError, RunFolderError
from zoo.runs.files import damaged, file_sha256, load_json

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
CHECKSUM_FILE = "model.sha256.json"
RUN_MARKER = "config.json"  # a folder holding it is a run folder
UNVERIFIED = "pass --allow-unverified to load it anyway, only if you trust the file"


def recorded_digest(folder: Path) -> str:
    """The sha256 of ``model.keras`` recorded in ``folder``'s checksum file.

    Raises:
        RunFolderError: the checksum file is missing, damaged or holds no sha256.
    """
    record = Path(folder) / CHECKSUM_FILE
    digest = load_json(record).get(MODEL_FILE)
    if not isinstance(digest, str) or len(digest) != 64:
        raise damaged(record, f"holds no sha256 for {MODEL_FILE}")
    return digest


def verify(path: Path, *, allow_unverified: bool = False) -> None:
    """Refuse a run's model file whose checksum is not recorded or does not match.

    Raises:
        RunFolderError: the checksum cannot be verified and ``allow_unverified`` is False.
    """
    if allow_unverified:
        return
    try:
        expected = recorded_digest(path.parent)
    except RunFolderError as exc:
        reason = str(exc).split("; the run folder", 1)[0]
        raise RunFolderError(f"Cannot verify {path}: {reason}; {UNVERIFIED}.") from None
    if file_sha256(path) != expected:
        raise RunFolderError(
            f"{path} has changed since keras-zoo saved it (sha256 mismatch): it is truncated or "
            f"was modified. Restore it or train the run again; {UNVERIFIED}."
        )


def load_keras_model(
    path: Path,
    *,
    expected_sha256: str | None = None,
    allow_unsafe: bool = False,
    allow_unverified: bool = True,
) -> keras.Model:
    """Load a ``.keras`` file in Keras's safe mode, refusing a file changed since it was saved.

    Args:
        path: the model file.
        expected_sha256: the digest recorded when the run saved it, if known.
        allow_unsafe: let Keras deserialize code (lambda layers); only for files you trust.
        allow_unverified: without ``expected_sha256``, load the file unchecked; False reads
            the digest from the checksum file next to it and refuses when it cannot.

    Raises:
        RunFolderError: the file is missing, unverifiable, altered, truncated or not a model.
    """
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"No model file at {path}; the run did not finish saving a model.")
    if expected_sha256 and file_sha256(path) != expected_sha256:
        raise RunFolderError(
            f"{path} has changed since keras-zoo saved it (sha256 mismatch): it is truncated or "
            f"was modified. Restore it or train the run again; {UNVERIFIED}."
        )
    if not expected_sha256:
        verify(path, allow_unverified=allow_unverified)
    return _keras_load(path, allow_unsafe=allow_unsafe)


def _keras_load(path: Path, *, allow_unsafe: bool) -> keras.Model:
    import zipfile

    if not zipfile.is_zipfile(path):  # Keras would call it "not found"
        raise RunFolderError(
            f"Cannot load {path}: it is not a .keras model (not a zip archive); the file is "
            "damaged. Restore it or train the run again."
        )
    import keras

    import zoo.core.layers  # noqa: F401 - registers the preparation layers a model may hold

    try:
        model = keras.models.load_model(path, safe_mode=not allow_unsafe)
    except Exception as exc:  # noqa: BLE001 - any failure means the file cannot be used
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFolderError(
            f"Cannot load {path}: {type(exc).__name__}: {first[:200]}. The file is damaged or "
            "holds code that safe mode refuses (use --allow-unsafe only for files you trust)."
        ) from None
    if not isinstance(model, keras.Model):
        raise RunFolderError(f"{path} holds a {type(model).__name__}, not a Keras model.")
    return model


def load_run_model(
    location: str | Path, *, allow_unsafe: bool = False, allow_unverified: bool = False
) -> keras.Model:
    """The model of a run folder (checked against its checksum), or of a ``.keras`` file.

    A ``.keras`` file outside a run folder has no checksum and loads as it is; one inside a
    run folder must verify unless ``allow_unverified``.

    Raises:
        MissingFileError: no model at ``location``.
        RunFolderError: the model cannot be verified or loaded.
    """
    path = Path(location).expanduser()
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise MissingFileError(
            f"No saved model at {str(file)!r}; expected a run folder holding {MODEL_FILE} "
            "(runs/NAME) or a .keras file."
        )
    in_run = (file.parent / RUN_MARKER).is_file() or (file.parent / CHECKSUM_FILE).exists()
    return load_keras_model(
        file, allow_unsafe=allow_unsafe, allow_unverified=allow_unverified or not in_run
    )
