"""A bench or tune folder held by one command at a time, and stopped the way Ctrl-C stops it.

``hold(folder)`` takes an exclusive ``flock`` on ``folder/.zoo.lock`` for the command's life and
records in that file who holds it (pid, host, command line, since when). A second command on
the same folder fails at once with one line naming the holder. The kernel releases a flock
when its process dies, however it dies, so a stale lock file never blocks: what it records is
information only, read when the lock is busy.

While held, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) as Ctrl-C would, so the
command writes its summary and status on the way out instead of dying between two steps; a
training run inside installs its own stop handler for its duration (``zoo.train.job``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from zoo.core.errors import RunFolderError

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
