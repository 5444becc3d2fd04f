"""Every error keras-zoo raises on purpose.

Each message is one line: what happened, what was expected, how to fix it. The CLI prints
``str(error)`` and exits non-zero; Python callers can catch the classes below.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable


class ZooError(Exception):
    """Base class of every keras-zoo error a user can cause and fix."""

    exit_code = 1

    def __str__(self) -> str:
        # KeyError quotes its argument; every error here reads as a plain sentence.
        return str(self.args[0]) if self.args else self.__class__.__name__


class UnknownNameError(ZooError, KeyError):
    """A data set, model or preset name that no plugin registered."""


class AmbiguousNameError(ZooError, KeyError):
    """A short name that more than one plugin registered."""


class InvalidParameterError(ZooError, ValueError):
    """A hyperparameter override with an unknown key or a value of the wrong type."""


class PluginError(ZooError):
    """A plugin that could not be loaded or registered something malformed."""


class DataError(ZooError, ValueError):
    """A data set that cannot be read or used as it is."""


class IncompatibleError(ZooError, ValueError):
    """A combination of data set, model and preset that cannot train together."""


class MissingFileError(ZooError, FileNotFoundError):
    """A weights file or saved model that is not where it was expected (nothing downloads)."""


# A value quoted into a message is cut to about this many characters: a 50 MB field or
# argument must not become a 50 MB error line.
SHOWN_CHARS = 80
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def shown(value: object, limit: int = SHOWN_CHARS, *, quote: bool = True) -> str:
    """``repr(value)`` for a message, kept short: a longer string keeps its start and gains
    an ellipsis and its length (``'aaaa...' (50,000,000 characters)``); a large or deeply
    nested container is abbreviated as :mod:`reprlib` does. ``quote=False``: a string as it
    is (``--set KEY=VALUE`` echoed), cut the same way."""
    if isinstance(value, str) and not quote:
        cut = len(value) > limit
        return f"{value[:limit]}... ({len(value):,} characters)" if cut else value
    if isinstance(value, (str, bytes)):
        if len(value) <= limit:
            return repr(value)
        start = repr(value[:limit])  # never the repr of the whole value: it may be huge
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{start[:-1]}...{start[-1]} ({len(value):,} {unit})"
    short = reprlib.Repr()
    short.maxstring = short.maxother = limit
    short.maxlist = short.maxtuple = short.maxset = short.maxfrozenset = 20
    short.maxdict = 10
    text = short.repr(value)
    return text if len(text) <= 2 * limit else f"{text[: 2 * limit]}... ({len(text):,} characters)"


def plain(text: str) -> str:
    """``text`` without terminal escape sequences (Keras wraps exception text in bold), so
    that messages and status files hold the words only."""
    return _ESCAPES.sub("", text) if "\x1b" in text else text


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line: an unexpected failure, as a note or a record says it."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def did_you_mean(name: str, candidates: Iterable[str], limit: int = 3) -> str:
    """Return ' Did you mean: a, b?' for close matches of ``name``, or ''."""
    import difflib

    matches = difflib.get_close_matches(name, list(candidates), n=limit, cutoff=0.5)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""


class RunInterrupted(ZooError):
    """SIGINT or SIGTERM stopped training; the run folder keeps what was done."""

    exit_code = 130


class TrainingDiverged(ZooError):
    """The training loss became NaN or infinite."""


class RunFolderError(ZooError, ValueError):
    """A run folder that is missing, incomplete, damaged or cannot be resumed."""


class WriteFailed(ZooError):
    """A file could not be written: a full disk, a file-size limit, a read-only folder."""
