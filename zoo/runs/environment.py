"""What a run ran on: versions of everything involved, the data's fingerprint and the seed."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo._version import __version__

if TYPE_CHECKING:
    from zoo.core.dataset import Dataset
    from zoo.catalog.registry import Registry


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def data_fingerprint(data: Dataset) -> str:
    """sha256 over the features and targets as loaded (dtype and shape included).

    A streamed file holds no rows in memory: its bytes on disk are hashed instead.
    """
    source = (data.schema or {}).get("path")
    if source and (data.stream is not None or len(data.y) == 0):
        from zoo.runs.folder import file_sha256

        return file_sha256(Path(source))
    digest = hashlib.sha256()
    for array in (data.x, data.y):
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def environment_record(registry: Registry, fingerprint: str, seed: int) -> dict[str, Any]:
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
        "plugins": {
            name: {"version": r.version, "status": r.status} for name, r in registry.plugins.items()
        },
        "data_fingerprint": fingerprint,
        "seed": seed,
    }
