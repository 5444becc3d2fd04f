"""Files written atomically and read back defensively: a run folder's JSON and checksums, a
result written to a path the user named (whatever kind of thing that path is), and a saved
model loaded safely once its checksum verifies.

Every write goes to a hidden partial file that replaces the final name only once it is
complete, so a full disk or a file-size limit never leaves half a file under its final name.
Every read of a file a user could have damaged raises one RunFolderError line naming the file.

A path the user named (``write_output``) is replaced atomically when it is a regular file (or
a new one): a reader sees the old contents or the new, never half. Anything else is written
through, never replaced: a symlink is followed (its target, when a regular file, is replaced
atomically and the link stays), and a device or a named pipe receives the bytes in place, as
``> PATH`` in a shell would. Replacing them would turn ``/dev/full`` into a regular file, or
leave the reader of a pipe with nothing.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from zoo.core.errors import MissingFileError, RunFolderError, WriteFailed, shown

if TYPE_CHECKING:
    import keras

DAMAGED = "Restore it, or train the run again"
ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EFBIG: "the file-size limit was reached (ulimit -f); raise it and run again",
    errno.EDQUOT: "the disk quota is used up; free some space and run again",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.EACCES: "permission denied; write somewhere you may write",
    errno.EPERM: "permission denied; write somewhere you may write",
    errno.ENOENT: "the folder does not exist; create it or choose another path",
}


def write_failed(path: Path | str, exc: OSError) -> WriteFailed:
    """One line saying which file could not be written, why, and what to do."""
    reason = exc.strerror or type(exc).__name__
    advice = ADVICE.get(exc.errno or 0, "check the path and the disk, then run again")
    return WriteFailed(f"Cannot write {path}: {reason}; {advice}.")


DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def disk_failure(exc: BaseException, folder: Path) -> WriteFailed | None:
    """The WriteFailed an exception stands for when it is a full disk or a size limit met
    while writing into ``folder``, including one a framework raised in its own words."""
    if isinstance(exc, WriteFailed):
        return None
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        return write_failed(exc.filename or folder, exc)
    for number in DISK_ERRNOS:
        reason = os.strerror(number)
        if reason in str(exc):
            return write_failed(folder, OSError(number, reason))
    return None


@contextlib.contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Turn an OSError raised inside the block into a one-line WriteFailed naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise write_failed(path, exc) from None


def partial_name(path: Path) -> Path:
    """The hidden file a write goes to before it replaces ``path`` (one per process)."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w", **options: Any) -> Iterator[IO[Any]]:
    """A handle on a partial file that replaces ``path`` when the block ends without error.

    Raises:
        WriteFailed: the disk is full, a size limit was reached, the folder is not writable.
    """
    path = Path(path)
    partial = partial_name(path)
    try:
        with writing(path):
            with open(partial, mode, **options) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())  # on disk before it takes the final name
            os.replace(partial, path)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: a reader sees the old file or the new one, never half."""
    with atomic_file(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json(path: Path, payload: Any) -> None:
    """Write strict JSON atomically; NaN and infinities become null (JSON has no such numbers)."""
    text = json.dumps(strict(payload), indent=2, sort_keys=True, default=_plain, allow_nan=False)
    write_text(Path(path), text + "\n")


def strict(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, containers copied."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [strict(item) for item in value]
    if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return strict(value.item())  # a NumPy scalar
    return value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, set)) else str(value)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, for callers that handle OSError and ValueError themselves
    (a file that is not a regular one, or too large, is a RunFolderError: a ValueError)."""
    return json.loads(read_text(path))


def load_json(path: Path, expected: type = dict) -> Any:
    """The JSON in a run-folder file, which must be of type ``expected``.

    Raises:
        RunFolderError: the file is missing, unreadable, empty, not JSON or of another shape.
    """
    text = read_text(path)
    if not text.strip():
        raise damaged(path, "is empty")
    try:
        value = json.loads(text)
    except ValueError as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise damaged(path, f"is not valid JSON{where}") from None
    if not isinstance(value, expected):
        found, wanted = type_name(value), type_name(expected)
        raise damaged(path, f"holds a JSON {found} where a JSON {wanted} belongs")
    return value


# The most a run-folder record may hold: JSON records are a few KiB, a history a line an
# epoch. A larger file was not written by keras-zoo, and reading it whole could take all the
# memory (a link to /dev/zero never ends).
RECORD_LIMIT = 8 << 20
HISTORY_LIMIT = 256 << 20
KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def read_text(path: Path, limit: int = RECORD_LIMIT) -> str:
    """A run-folder file's text; RunFolderError when it is missing, unreadable, not UTF-8,
    not a regular file (a pipe would block, a device never end) or over ``limit`` bytes."""
    try:
        return read_bytes(path, limit).decode("utf-8")
    except UnicodeDecodeError:
        raise damaged(path, "is not text (binary or not UTF-8)") from None


def read_bytes(path: Path, limit: int = RECORD_LIMIT) -> bytes:
    """A run-folder file's bytes, read only if it is a regular file of at most ``limit``."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; the kind is checked
        # on the open descriptor, so a file swapped in between cannot slip through.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise damaged(path, "is missing") from None
    except OSError as exc:
        raise damaged(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    problem = oversized(os.fstat(fd), limit)
    if problem:
        os.close(fd)
        raise damaged(path, problem)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise damaged(path, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:  # grew since fstat
        raise damaged(path, f"holds more than {limit >> 20} MiB, more than a run writes")
    return data


def oversized(info: os.stat_result, limit: int) -> str:
    """Why a file with this stat is not a record to read ('' when it is one)."""
    if not stat.S_ISREG(info.st_mode):
        kind = KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        return f"is {kind}, not a regular file"
    if info.st_size > limit:
        return f"holds {info.st_size} bytes, more than the {limit >> 20} MiB a run writes"
    return ""


def damaged(path: Path, problem: str) -> RunFolderError:
    """``runs/x/config.json is empty; ...``: the one line for a damaged run-folder file."""
    return RunFolderError(f"{path} {problem}; the run folder is damaged. {DAMAGED}.")


def type_name(value: Any) -> str:
    """What JSON calls a Python value or type: object, array, string, number, ..."""
    kind = value if isinstance(value, type) else type(value)
    names = {dict: "object", list: "array", str: "string", bool: "true/false", type(None): "null"}
    return names.get(kind, "number" if kind in (int, float) else kind.__name__)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


STDOUT = "-"


def write_output(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (``-`` is stdout) without ever replacing a non-file.

    Raises:
        WriteFailed: one line naming the path: a folder, a missing or read-only folder, a full
            disk or device, a file-size limit.
    """
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows symlinks: the kind of thing written to
    except FileNotFoundError:
        mode = None  # a new file (or a symlink to one that does not exist yet)
    except OSError as exc:
        raise write_failed(path, exc) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise WriteFailed(f"Cannot write {path}: it is a folder; name a file inside it.")
    if mode is not None and stat.S_ISREG(mode) and not os.access(path, os.W_OK):
        # Replacing would succeed (the folder is writable) but overrule the file's own mode.
        raise WriteFailed(f"Cannot write {path}: the file is read-only; make it writable first.")
    if mode is None or stat.S_ISREG(mode):
        _replace_file(Path(os.path.realpath(path)), text, mode)
    else:
        _write_through(path, text)


def check_not_read(output: str | Path, reads: dict[str, Path]) -> None:
    """Refuse an output path that is a file the command reads (``reads``: what it is ->
    its path), under any name: the same path, a symlink to it or a hard link of it.

    Writing there would replace the input before, or while, it is read.

    Raises:
        WriteFailed: ``output`` is one of ``reads``.
    """
    if str(output) == STDOUT:
        return
    try:
        written = os.stat(output)
    except OSError:
        return  # a new file; a path that cannot be written, write_output says why
    for what, path in reads.items():
        try:
            read = os.stat(path)
        except OSError:
            continue
        if (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino):
            raise WriteFailed(
                f"Cannot write {output}: it is {what} ({path}), which this command reads; "
                "writing there would destroy it. Name another --output file."
            )


def _replace_file(target: Path, text: str, mode: int | None) -> None:
    """Replace a regular file atomically, keeping its permissions."""
    with atomic_file(target, "w", encoding="utf-8") as handle:
        handle.write(text)
        if mode is not None:
            with contextlib.suppress(OSError):
                os.chmod(handle.fileno(), stat.S_IMODE(mode))


def _write_through(path: Path, text: str) -> None:
    """Write into a device, a pipe or a socket in place: nothing to rename, nothing replaced."""
    with writing(path), open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


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


def verify(path: Path, *, allow_unverified: bool = False, hashed: bool = True) -> None:
    """Refuse a run's model file whose checksum is not recorded or (when ``hashed``) does not
    match.

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
    if hashed and file_sha256(path) != expected:
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
    check_model_file(path, expected_sha256=expected_sha256, allow_unverified=allow_unverified)
    return _keras_load(path, allow_unsafe=allow_unsafe)


# ``zoo runs`` hashes models up to this size (a few milliseconds); a larger one is checked for
# its kind, its recorded checksum and its zip structure, and hashed by evaluate and predict.
LISTING_HASH_LIMIT = 64 << 20


def check_model_file(
    path: Path,
    *,
    expected_sha256: str | None = None,
    allow_unverified: bool = False,
    hash_limit: int | None = None,
) -> None:
    """Everything about a saved model that can be checked without Keras: a regular file,
    its checksum (recorded next to it unless ``expected_sha256``; files over ``hash_limit``
    bytes are not hashed) and a zip archive. ``zoo evaluate``, ``predict``, ``run --resume``
    and ``zoo runs`` all check a model through here.

    Raises:
        RunFolderError: the file is missing, unverifiable, altered, truncated or not a model.
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"No model file at {path}; the run did not finish saving a model.")
    hashed = hash_limit is None or path.stat().st_size <= hash_limit
    if expected_sha256 and hashed and file_sha256(path) != expected_sha256:
        raise RunFolderError(
            f"{path} has changed since keras-zoo saved it (sha256 mismatch): it is truncated or "
            f"was modified. Restore it or train the run again; {UNVERIFIED}."
        )
    if not expected_sha256:
        verify(path, allow_unverified=allow_unverified, hashed=hashed)
    if not zipfile.is_zipfile(path):  # Keras would call it "not found"
        raise RunFolderError(
            f"Cannot load {path}: it is not a .keras model (not a zip archive); the file is "
            "damaged. Restore it or train the run again."
        )


def _keras_load(path: Path, *, allow_unsafe: bool) -> keras.Model:
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
            f"No saved model at {shown(str(file))}; expected a run folder holding {MODEL_FILE} "
            "(runs/NAME) or a .keras file."
        )
    in_run = (file.parent / RUN_MARKER).is_file() or (file.parent / CHECKSUM_FILE).exists()
    return load_keras_model(
        file, allow_unsafe=allow_unsafe, allow_unverified=allow_unverified or not in_run
    )
