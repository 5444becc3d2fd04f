"""Where a study lives: the tune folder, its record (``tune.json``) and the Optuna storage.

The tune folder is ``runs/tune-YYYYmmdd-HHMMSS-MODEL-DATA/``. By default the study is the
SQLite database ``study.db`` inside it, recorded in ``tune.json`` by that name alone, so a
copied or moved folder resumes its own copy. ``--storage URL`` puts it in any database Optuna
supports; ``tune.json`` records the URL, but ``--resume`` uses a storage outside the folder
only when ``--storage`` names it again: an edited or copied ``tune.json`` cannot point a
resumed study at another database.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo.core.errors import InvalidParameterError, RunFolderError, WriteFailed, ZooError
from zoo.core.imports import import_extra
from zoo.runs.files import disk_failure, write_text

RECORD_FILE = "tune.json"
STUDY_FILE = "study.db"


def require_optuna() -> Any:
    """Import Optuna, quietly, or explain in one line how to install it.

    Raises:
        IncompatibleError: Optuna is not installed.
    """
    optuna = import_extra("optuna", "zoo tune", "tune")
    # Failed and interrupted trials are counted in the report; no tracebacks on stderr.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


def new_folder(tune_dir: str | Path, model: str, data: str) -> Path:
    """Create ``tune-YYYYmmdd-HHMMSS-MODEL-DATA`` (with a suffix if that name is taken)."""
    safe = [_safe(model), _safe(data)]
    stem = f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{'-'.join(safe)}"
    root = Path(tune_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            path = root / (stem if n == 0 else f"{stem}-{n}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise RunFolderError(f"Cannot create a tune folder in {root}: {exc}.") from None
    raise RunFolderError(f"Cannot find a free tune folder name in {root}.")


def _safe(name: str) -> str:
    tail = name.replace("\\", "/").rstrip("/").split("/")[-1].split(":")[-1]
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in tail) or "x"


def default_storage(folder: Path) -> str:
    return f"sqlite:///{(folder / STUDY_FILE).resolve().as_posix()}"


def recorded_storage(url: str | None) -> str:
    """What tune.json records: the folder's own study by its file name, another URL as is."""
    return STUDY_FILE if url is None else url


def resumed_storage(folder: Path, record: dict[str, Any], given: str | None) -> str:
    """The storage URL a resumed study opens: ``--storage`` when given; else the folder's own
    ``study.db``, never a database outside the folder that only tune.json names.

    Raises:
        RunFolderError: the folder's study.db is missing, or its study lives outside the
            folder and ``--storage`` does not name it.
    """
    if given:
        return given
    if _is_own(folder, record["storage"]):
        if not (folder / STUDY_FILE).is_file():
            raise RunFolderError(
                f"Cannot resume {folder}: its study file {STUDY_FILE} is missing. Restore it, "
                "or start a new study without --resume."
            )
        return default_storage(folder)
    raise RunFolderError(
        f"Cannot resume {folder}: its study is kept outside the folder, in "
        f"{hide_password(record['storage'])}; give --storage URL to use that database again."
    )


def _is_own(folder: Path, url: str) -> bool:
    """The folder's own study.db: as recorded now, or as an absolute path to a folder of the
    same name (earlier records; the folder may have moved since)."""
    if url == STUDY_FILE:
        return True
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    return path is not None and path.name == STUDY_FILE and path.parent.name == folder.name


def hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", url)


def open_storage(url: str) -> Any:
    """The Optuna storage at ``url``, opened now so that a bad URL fails before any trial.

    Raises:
        InvalidParameterError: the URL cannot be opened (a bad scheme, a missing driver, an
            unreachable server, a folder that does not exist).
        WriteFailed: the disk (or file-size limit) is full.
    """
    optuna = require_optuna()
    if url.startswith("sqlite:///"):
        parent = Path(url[len("sqlite:///") :]).parent
        if not parent.is_dir():
            raise InvalidParameterError(
                f"Cannot open storage {hide_password(url)!r}: the folder {parent} does not exist."
            )
    with storage_errors(url):
        storage = optuna.storages.get_storage(url)
        storage.get_all_studies()
    return storage


FULL = ("database or disk is full", "disk i/o error")


@contextlib.contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """A storage that cannot be opened or written as one line: a full disk named as such,
    anything else blamed on the URL."""
    try:
        yield
    except ZooError:
        raise
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy and drivers raise many kinds
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        shown = hide_password(url)
        failure = disk_failure(exc, Path(shown))
        if failure is not None:
            raise failure from None
        if any(words in text.lower() for words in FULL):
            raise WriteFailed(
                f"Cannot write the study to {shown}: {text.split('] ')[-1]}; the disk is "
                "full or failing; free some space and run again."
            ) from None
        raise InvalidParameterError(
            f"Cannot open storage {shown!r}: {text}. Give an Optuna storage URL such as "
            "sqlite:///study.db or postgresql://user@host/db."
        ) from None


def write_record(folder: Path, record: dict[str, Any]) -> None:
    """Write ``tune.json`` atomically."""
    write_text(folder / RECORD_FILE, json.dumps(record, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, set)) else str(value)


def read_record(folder: str | Path) -> dict[str, Any]:
    """The record of a tune folder given to ``--resume``.

    Raises:
        RunFolderError: not a tune folder, or its record is unreadable.
    """
    path = Path(folder) / RECORD_FILE
    if not path.is_file():
        raise RunFolderError(
            f"Cannot resume {folder}: it is not a tune folder (no {RECORD_FILE}). Give a "
            "folder that 'zoo tune' wrote, such as runs/tune-20260101-120000-mlp-housing."
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(
            f"Cannot resume {folder}: {RECORD_FILE} is unreadable: {exc}."
        ) from None
    problem = record_problem(record)
    if problem:
        raise RunFolderError(
            f"Cannot resume {folder}: {path} is damaged: {problem}. Restore it, or start a "
            "new study without --resume."
        )
    return record


RECORD_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "study_name": (str, "a text"),
    "storage": (str, "a text (study.db or a storage URL)"),
    "base": (dict, "a table of run options"),
    "space": (dict, "a table (the space file)"),
    "fixed_keys": (list, "a list of keys"),
    "startup_trials": (int, "a whole number from 0"),
    "warmup_epochs": (int, "a whole number from 0"),
    "mlflow_uri": ((str, type(None)), "a text"),
    "mlflow_parent_run_id": ((str, type(None)), "a text"),
}
REQUIRED = ("study_name", "storage", "base")


def record_problem(record: Any) -> str:
    """What is wrong with a tune.json's shape, or '' when it can be resumed."""
    from zoo.core.config import LIMITS, RunConfig

    if not isinstance(record, dict):
        return f"expected an object, found {type(record).__name__}"
    for key in REQUIRED:
        if key not in record:
            return f"{key} is missing"
    for key, (kind, expected) in RECORD_TYPES.items():
        value = record.get(key)
        wrong = not isinstance(value, kind) or isinstance(value, bool)
        if key == "fixed_keys" and not wrong:
            wrong = not all(isinstance(item, str) for item in value)
        if key in ("startup_trials", "warmup_epochs") and not wrong:
            wrong = not 0 <= value <= LIMITS["epochs"]
        if key in record and wrong:
            return f"{key} must be {expected}; found {value!r}"[:300]
    for key in ("model", "data"):
        if not isinstance(record["base"].get(key), str):
            return f"base.{key} must be a name; found {record['base'].get(key)!r}"[:300]
    try:
        RunConfig(**record["base"])
    except (ZooError, TypeError) as exc:
        return f"base: {' '.join(str(exc).split())}"[:300]
    return ""


def check_same_task(folder: Path, record: dict[str, Any], model: str, data: str) -> None:
    """A study continues only with the model and data set it was started with.

    Raises:
        RunFolderError: ``model`` or ``data`` differ from the recorded ones.
    """
    base = record["base"]
    path = (base.get("data_params") or {}).get("path")
    if not (_names(model, base["model"]) and _names(data, base["data"], path)):
        recorded_data = Path(path).name if path else _short(base["data"])
        given_data = recorded_data if data == base["data"] else data
        raise RunFolderError(
            f"Cannot resume {folder}: its study tunes {_short(base['model'])} on {recorded_data}, "
            f"not {_short(model)} on {given_data}. Resume without --model/--data, or start a new "
            "study without --resume."
        )


def _names(given: str, recorded: str, path: str | None = None) -> bool:
    """Whether a typed name means the recorded, qualified one (``mlp``: ``zoo.mlp:mlp``; a
    file: the recorded path)."""
    if given == recorded:
        return True
    if path is not None:
        return given in (path, f"csv:{path}") or Path(given).resolve() == Path(path).resolve()
    return given == _short(recorded)


def _short(qualified: str) -> str:
    return qualified.rpartition(":")[2]


def load_study(storage: Any, name: str, sampler: Any, pruner: Any, folder: Path) -> Any:
    """Load a recorded study; its own record of model and data must agree with tune.json."""
    optuna = require_optuna()
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        raise RunFolderError(
            f"Cannot resume {folder}: its storage has no study named {name!r}."
        ) from None


def create_study(storage: Any, name: str, sampler: Any, pruner: Any, attrs: dict) -> Any:
    optuna = require_optuna()
    study = optuna.create_study(
        storage=storage, study_name=name, sampler=sampler, pruner=pruner, direction="minimize"
    )
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return study


def make_sampler(seed: int) -> Any:
    return require_optuna().samplers.TPESampler(seed=seed)


def make_pruner(startup_trials: int, warmup_epochs: int) -> Any:
    return require_optuna().pruners.MedianPruner(
        n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs
    )


STALE = "its process stopped before it finished (marked failed on resume)"


def fail_stale_trials(storage: Any, name: str) -> int:
    """Mark failed the trials of study ``name`` left RUNNING by a process that died (SIGKILL,
    power loss), through Optuna's storage API.

    Only for a study whose folder this process holds: no other process runs its trials.
    Returns how many were marked.
    """
    running = require_optuna().trial.TrialState.RUNNING
    study_id = storage.get_study_id_from_name(name)
    stale = storage.get_all_trials(study_id, deepcopy=False, states=(running,))
    for trial in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "error", STALE)
        storage.set_trial_state_values(trial_id, require_optuna().trial.TrialState.FAIL)
    return len(stale)
