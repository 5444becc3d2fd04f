"""What runs inside a Ray worker: the version check, a scratch folder, files packed to travel.

A task gets a function (pickled by reference: the worker imports it from its own installed
keras-zoo), plain data and the driver's versions. The function writes its run folders into
a scratch folder; they come back to the driver packed in the task's result, so the driver
needs no shared file system.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from .options import mismatch, registry_versions

TaskFunction = Callable[[dict[str, Any], Path], dict[str, Any]]


def run_task(
    function: TaskFunction, payload: dict[str, Any], driver: dict[str, str | None], threads: int
) -> dict[str, Any]:
    """Run ``function(payload, scratch)`` after checking this worker's versions.

    Args:
        function: what to run; it writes its run folders into the scratch folder.
        payload: plain data for it.
        driver: the driver's versions, to compare with this worker's.
        threads: the CPUs the task asked for: TensorFlow's thread pools are sized to them
            (read when TensorFlow starts, so by the first task of this worker process).

    Returns:
        ``{"record": ..., "files": bytes | None, "node": str}``, or ``{"error": ...}`` when
        the versions differ.
    """
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, str(threads))
    node = node_name()
    problem = mismatch(driver, local_versions(), node)
    if problem:
        return {"error": problem, "node": node}
    with tempfile.TemporaryDirectory(prefix="zoo-ray-") as scratch:
        record = function(payload, Path(scratch))
        return {"record": record, "files": pack(Path(scratch)), "node": node}


def probe() -> dict[str, Any]:
    """This worker's node and versions (the driver compares them before anything runs)."""
    return {"node": node_name(), "versions": local_versions()}


@lru_cache(maxsize=1)
def local_versions() -> dict[str, str | None]:
    """The versions of this worker's packages and plugins (discovered once per process)."""
    from zoo.catalog.registry import Registry

    return registry_versions(Registry.discover(warn=False))


def node_name() -> str:
    return f"{socket.gethostname()} (pid {os.getpid()})"


def pack(folder: Path) -> bytes | None:
    """Everything under ``folder`` as a gzipped tar archive; None when it is empty."""
    entries = sorted(folder.iterdir())
    if not entries:
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for entry in entries:
            archive.add(entry, arcname=entry.name)
    return buffer.getvalue()


def unpack(files: bytes | None, destination: Path) -> list[Path]:
    """Unpack :func:`pack`'s archive into ``destination``; returns the top-level paths.

    A name that is already there gets a numbered suffix, so nothing on the driver is
    replaced.
    """
    if not files:
        return []
    destination.mkdir(parents=True, exist_ok=True)
    placed = []
    with tempfile.TemporaryDirectory(dir=destination, prefix=".unpack-") as staging:
        with tarfile.open(fileobj=io.BytesIO(files), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")  # no absolute paths, links or devices
        for entry in sorted(Path(staging).iterdir()):
            target = _free_name(destination / entry.name)
            entry.rename(target)
            placed.append(target)
    return placed


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate
