"""Importing an optional dependency (an extra), or saying in one line how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

from zoo.core.errors import IncompatibleError


def import_extra(module: str, needed_by: str, extra: str) -> ModuleType:
    """Import ``module``, which ``keras-zoo[extra]`` installs.

    Args:
        module: the module to import, e.g. ``"ray"``.
        needed_by: what needs it, as the message's subject, e.g. ``"--cluster"``.
        extra: the extra that installs it, e.g. ``"ray"``.

    Raises:
        IncompatibleError: it is not installed; the line names the pip command.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise IncompatibleError(
            f"{needed_by} needs the {module} package, which is not installed; run: "
            f"pip install 'keras-zoo[{extra}]'."
        ) from None
