"""The records of a run folder: what a run ran on and which process runs it, written with the
run; every JSON record checked for shape when read back.

What a run ran on (``environment_record``) is the versions of everything involved, the data's
fingerprint and the seed. Which process runs it is its pid and that process's start time
(``own_identity``, ``alive``): a pid alone is not enough, since once a run dies the system may
give its pid to another process and the run would look ``running`` forever; a process with
that pid but another start time is not the run.

A run folder is a set of files a user can edit, copy half of or damage, so nothing read back
is trusted: each record is checked here, and anything that is not what keras-zoo wrote is one
:class:`~zoo.core.errors.RunFolderError` line naming the file and the problem.

A bench or tune folder is held by one command at a time: ``hold(folder)`` takes an exclusive
``flock`` on ``folder/.zoo.lock`` for the command's life and records in that file who holds
it (pid, host, command line, since when); a second command fails at once with one line
naming the holder. The kernel releases a flock when its process dies, however it dies, so a
stale lock file never blocks. While held, SIGTERM raises :class:`Terminated` (a
KeyboardInterrupt) as Ctrl-C would, so the command writes its summary and status on the way
out instead of dying between two steps; a training run inside installs its own stop handler
for its duration (``zoo.train.job``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import platform
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from zoo._version import __version__
from zoo.core.config import RunConfig
from zoo.core.errors import RunFolderError, ZooError, shown
from zoo.core.tasks import TASKS
from zoo.runs.files import damaged, load_json, type_name

# What each RunConfig annotation accepts, as JSON read it back.
_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict[str, Any]": (dict,),
}


def read_config(path: Path) -> dict[str, Any]:
    """config.json, checked field by field against :class:`RunConfig`.

    Raises:
        RunFolderError: the file is damaged or a field is unknown, missing or mistyped.
    """
    values = load_json(path)
    # A run saved before seed ensembles existed trained one model, whatever its model's
    # default is now.
    values.setdefault("seed_ensemble", 1)
    fields = {f.name: str(f.type) for f in dataclasses.fields(RunConfig)}
    for name, value in values.items():
        if name not in fields:
            raise damaged(path, f"holds an option this keras-zoo does not know, {shown(name)}")
        if not _fits(value, fields[name]):
            raise damaged(path, f"holds {name}={_short(value)}, expected {fields[name]}")
    for name in ("model", "data"):
        if not values.get(name):
            raise damaged(path, f"names no {name}")
    try:
        RunConfig(**values)
    except ZooError as exc:
        raise damaged(path, f"holds an invalid value ({exc})") from None
    return values


def _fits(value: Any, annotation: str) -> bool:
    options = [part.strip() for part in annotation.split("|")]
    if value is None:
        return "None" in options
    if isinstance(value, bool):
        return "bool" in options
    return any(isinstance(value, _KINDS.get(option, ())) for option in options)


def read_data(path: Path) -> dict[str, Any]:
    """data.json: the task, input shape and feature names prediction needs.

    Raises:
        RunFolderError: the file is damaged or a field is missing or mistyped.
    """
    values = load_json(path)
    if values.get("task") not in TASKS:
        raise damaged(path, f"holds task {_short(values.get('task'))}, expected one of {TASKS}")
    shape = values.get("input_shape")
    if not _positive_ints(shape):
        raise damaged(path, f"holds input_shape {_short(shape)}, expected a list of sizes")
    for name in ("feature_names", "class_names"):
        if not isinstance(values.get(name, []), list):
            raise damaged(path, f"holds a JSON {type_name(values[name])} as {name}, not an array")
    schema = values.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise damaged(path, f"holds a JSON {type_name(schema)} as schema, not an object")
    return values


def _positive_ints(shape: Any) -> bool:
    return (
        isinstance(shape, list)
        and bool(shape)
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    )


def read_metrics(path: Path) -> dict[str, Any]:
    """metrics.json ({} when the run has none yet); ``test`` must be an object of numbers.

    Raises:
        RunFolderError: the file is damaged or of another shape.
    """
    if not path.exists():
        return {}
    values = load_json(path)
    test = values.get("test", {})
    if not isinstance(test, dict) or not all(_number_or_null(v) for v in test.values()):
        raise damaged(path, "holds test metrics that are not numbers")
    return values


def _number_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def read_environment(path: Path) -> dict[str, Any]:
    """environment.json; its ``data_fingerprint`` must be a string.

    Raises:
        RunFolderError: the file is damaged or of another shape.
    """
    values = load_json(path)
    if not isinstance(values.get("data_fingerprint"), str):
        raise damaged(path, "holds no data_fingerprint string")
    return values


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def with_absolute_paths(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with every hyperparameter that names an existing file or folder made absolute.

    A run folder must work from any directory: a CSV file's path or a backbone run written as
    given (relative to where the run started) would not be found from anywhere else.
    """
    result = dict(config)
    for section in ("data_params", "model_params", "preset_params"):
        params = result.get(section)
        if isinstance(params, dict):
            result[section] = {key: _absolute(value) for key, value in params.items()}
    return result


def _absolute(value: Any) -> Any:
    if not isinstance(value, str) or not value or value.startswith(("/", "\\")):
        return value
    path = Path(value).expanduser()
    looks_like_path = "/" in value or "\\" in value or bool(path.suffix) or value.startswith("~")
    try:
        return os.path.abspath(path) if looks_like_path and path.exists() else value
    except (OSError, ValueError):
        return value


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment_record(
    plugins: dict[str, dict[str, str]], fingerprint: str, seed: int
) -> dict[str, Any]:
    """Versions of everything a run ran on, the data's fingerprint and the seed.

    Args:
        plugins: plugin name -> {"version", "status"}.
        fingerprint: the data parts' sha256.
        seed: the run's seed.
    """
    import keras

    return {
        "keras_zoo": __version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "tensorflow": _version("tensorflow") or _version("tensorflow-cpu"),
        "jax": _version("jax"),
        "numpy": _version("numpy"),
        "scikit_learn": _version("scikit-learn"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "plugins": plugins,
        "data_fingerprint": fingerprint,
        "seed": seed,
    }


# Start times are compared with this tolerance (seconds): psutil derives them from boot time
# and clock ticks, which may round differently between two readings.
TOLERANCE_S = 1.0


def start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if unknown or gone."""
    try:
        import psutil
    except ImportError:
        return _start_time_from_proc(pid)
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError, ValueError):
        return None


def _start_time_from_proc(pid: int) -> float | None:
    """The start time read from /proc (Linux) when psutil is not installed."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def own_identity() -> dict[str, Any]:
    """What a run records about its own process: the pid and, where known, its start time."""
    pid = os.getpid()
    started = start_time(pid)
    return {"pid": pid, "pid_started": started} if started else {"pid": pid}


def alive(pid: Any, started: Any = None) -> bool:
    """Whether ``pid`` runs, and (when ``started`` is recorded) is the process that started then."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except (OSError, OverflowError):
        return False
    if not isinstance(started, (int, float)) or isinstance(started, bool):
        return True  # recorded by an older keras-zoo: the pid is all there is
    now = start_time(pid)
    return now is None or abs(now - started) <= TOLERANCE_S


LOCK_FILE = ".zoo.lock"
STOPS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the interruption Ctrl-C is."""


@contextlib.contextmanager
def hold(folder: Path, command: str | None = None) -> Iterator[None]:
    """Hold ``folder`` for the duration, with SIGTERM read as Ctrl-C.

    Raises:
        RunFolderError: another live process holds it, or the lock file cannot be opened.
    """
    path = Path(folder) / LOCK_FILE
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise RunFolderError(
            f"Cannot lock {folder}: {exc.strerror or exc} ({path}). Give a folder you may write."
        ) from None
    with handle, terminate_as_interrupt():
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderError(
                f"{folder} is in use by {_holder(handle)}; wait for it to finish or stop it, "
                "then run again."
            ) from None
        _record(handle, command)
        yield


def _record(handle: IO[str], command: str | None) -> None:
    """Who holds the lock, written in place: replacing the file would leave the lock on a
    file nobody else opens."""
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command or _command_line(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(info) + "\n")
    handle.flush()


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        info: Any = json.loads(handle.read())
        return f"pid {info['pid']} on {info['host']} ('{info['command']}', since {info['since']})"
    except (ValueError, KeyError, TypeError):  # the holder has not written it yet
        return "another process"


def _command_line() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    program = "zoo" if name in ("zoo", "__main__.py") else name
    return " ".join([program, *sys.argv[1:]])


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_stops() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block ends (a result being kept is kept whole), then
    act as they would have (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _: received.append(signum)) for sig in STOPS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        signal.raise_signal(received[0])
