"""Where a study lives: the tune folder, its record (``tune.json``) and the Optuna storage.

The tune folder is ``runs/tune-YYYYmmdd-HHMMSS-MODEL-DATA/``. By default the study is the
SQLite database ``study.db`` inside it; ``--storage URL`` puts it in any database Optuna
supports, and ``tune.json`` remembers where, so ``--resume FOLDER`` finds it again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from zoo.core.errors import InvalidParameterError, RunFolderError
from zoo.core.imports import import_extra
from zoo.runs.files import write_text

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


def open_storage(url: str) -> Any:
    """The Optuna storage at ``url``, opened now so that a bad URL fails before any trial.

    Raises:
        InvalidParameterError: the URL cannot be opened (a bad scheme, a missing driver, an
            unreachable server, a folder that does not exist).
    """
    optuna = require_optuna()
    if url.startswith("sqlite:///"):
        parent = Path(url[len("sqlite:///") :]).parent
        if not parent.is_dir():
            raise InvalidParameterError(
                f"Cannot open storage {url!r}: the folder {parent} does not exist."
            )
    try:
        storage = optuna.storages.get_storage(url)
        storage.get_all_studies()
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy and drivers raise many kinds
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidParameterError(
            f"Cannot open storage {url!r}: {reason}. Give an Optuna storage URL such as "
            "sqlite:///study.db or postgresql://user@host/db."
        ) from None
    return storage


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
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(
            f"Cannot resume {folder}: {RECORD_FILE} is unreadable: {exc}."
        ) from None


def check_same_task(folder: Path, record: dict[str, Any], model: str, data: str) -> None:
    """A study continues only with the model and data set it was started with.

    Raises:
        RunFolderError: ``model`` or ``data`` differ from the recorded ones.
    """
    base = record["base"]
    if (model, data) != (base["model"], base["data"]):
        raise RunFolderError(
            f"Cannot resume {folder}: its study tunes {base['model']} on {base['data']}, not "
            f"{model} on {data}. Resume without --model/--data, or start a new study "
            "without --resume."
        )


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
