"""Writing a result to a path the user named, whatever kind of thing that path is.

A regular file (or a new one) is replaced atomically: a reader sees the old contents or the
new, never half. Anything else is written through, never replaced: a symlink is followed (its
target, when a regular file, is replaced atomically and the link stays), and a device or a
named pipe receives the bytes in place, as ``> PATH`` in a shell would. Replacing them would
turn ``/dev/full`` into a regular file, or leave the reader of a pipe with nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

from zoo.core.errors import WriteFailed
from zoo.runs.files import atomic_file, write_failed, writing

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
