"""The words that switch a setting on or off, in ``--set`` values and environment variables."""

from __future__ import annotations

import os

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def switched_off(variable: str) -> bool:
    """Whether the environment variable ``variable`` says off (``off``, ``0``, ``no``...)."""
    return os.environ.get(variable, "").strip().lower() in FALSE_WORDS
