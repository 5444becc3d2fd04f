"""What a run ran on: versions of everything involved, the data's fingerprint and the seed."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

from zoo._version import __version__


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
