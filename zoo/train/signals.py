"""Ctrl-C and SIGTERM during training: ask the run to stop cleanly instead of dying."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_file_size_signal() -> None:
    """Make a write past the file-size limit (ulimit -f) fail with EFBIG, not kill the process.

    SIGXFSZ kills by default; ignored, the write returns an error that becomes a one-line
    message and a ``failed`` run. Python ignores it at start-up already; an embedding
    application may not have.
    """
    sigxfsz = getattr(signal, "SIGXFSZ", None)
    if sigxfsz is not None and threading.current_thread() is threading.main_thread():
        signal.signal(sigxfsz, signal.SIG_IGN)


@contextlib.contextmanager
def stop_requests(on_stop: Callable[[int], None]) -> Iterator[None]:
    """Call ``on_stop(signum)`` on SIGINT/SIGTERM for the duration; restore handlers after.

    A second Ctrl-C while stopping raises KeyboardInterrupt, for a user who cannot wait.
    Outside the main thread (where handlers cannot be installed) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, _frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        on_stop(signum)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
