"""Files of a run folder written atomically and read back: JSON and checksums."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_plain) + "\n")
    os.replace(partial, path)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, set)) else str(value)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
