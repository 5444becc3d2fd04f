"""The bench folder: ``runs/bench-YYYYmmdd-HHMMSS/``.

::

    bench.json          the spec (so --resume can rebuild the grid), status, MLflow parent
    results/*.json      one record per finished combination (ok, failed or skipped)
    runs/               each combination's own run folder
    summary.json / summary.csv / summary.md, chart-DATA.png

Every file is written atomically, one record per combination, so an interrupted bench keeps
every finished result and a resumed one runs only what is missing.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

from zoo.core.errors import RunFolderError
from zoo.runs.folder import read_json, write_json

from .spec import BenchSpec

MANIFEST = "bench.json"
RESULTS = "results"
RUNS = "runs"


class BenchFolder:
    """One bench's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir: str | Path, spec: BenchSpec) -> BenchFolder:
        runs = Path(runs_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            runs.mkdir(parents=True, exist_ok=True)
            path, n = runs / f"bench-{stamp}", 1
            while path.exists():
                n += 1
                path = runs / f"bench-{stamp}-{n}"
            (path / RESULTS).mkdir(parents=True)
            (path / RUNS).mkdir()
        except OSError as exc:
            raise RunFolderError(
                f"Cannot create a bench folder under {runs}: {exc.strerror or exc}. "
                "Choose a writable --runs-dir."
            ) from None
        folder = cls(path)
        folder.write_manifest(spec=spec.to_dict(), status="running", created=_now())
        return folder

    @classmethod
    def open(cls, path: str | Path) -> BenchFolder:
        """An existing bench folder, to resume.

        Raises:
            RunFolderError: not a bench folder (no readable bench.json).
        """
        folder = cls(Path(path))
        try:
            folder.manifest()["spec"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RunFolderError(
                f"Cannot resume {path}: it is not a bench folder (no readable {MANIFEST}); "
                "give a folder that 'zoo bench' created, such as runs/bench-YYYYmmdd-HHMMSS."
            ) from None
        (folder.path / RESULTS).mkdir(exist_ok=True)
        (folder.path / RUNS).mkdir(exist_ok=True)
        return folder

    @property
    def runs_dir(self) -> Path:
        return self.path / RUNS

    def manifest(self) -> dict[str, Any]:
        return read_json(self.path / MANIFEST)

    def spec(self) -> BenchSpec:
        return BenchSpec.from_dict(self.manifest()["spec"])

    def write_manifest(self, **changes: Any) -> None:
        path = self.path / MANIFEST
        values = read_json(path) if path.exists() else {}
        values.update(changes, updated=_now())
        write_json(path, values)

    # -- results ---------------------------------------------------------------------------

    def result_path(self, key: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:80]
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]  # distinct keys, distinct files
        return self.path / RESULTS / f"{safe}-{digest}.json"

    def save_result(self, record: dict[str, Any]) -> None:
        write_json(self.result_path(record["key"]), record)

    def results(self) -> dict[str, dict[str, Any]]:
        """Finished records by combination key; unreadable ones count as missing."""
        found = {}
        for path in sorted((self.path / RESULTS).glob("*.json")):
            try:
                record = read_json(path)
                found[record["key"]] = record
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
