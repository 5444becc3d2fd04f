"""Connecting to Ray and running tasks there: one task per run, retried once if its worker
dies, cancelled on Ctrl-C, every finished result handed back as soon as it is there; and what
runs inside a worker (the version check, a scratch folder, run folders packed back)."""

from __future__ import annotations

import io
import logging
import os
import socket
import tarfile
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo.core.errors import IncompatibleError, plain, shown

from .options import LOCAL, ClusterOptions, mismatch, registry_versions, require_ray
from .options import check as check_versions

# A task whose worker process dies is run once more (Ray's own retry), then given up.
RETRIES = 1


@dataclass
class TaskOutcome:
    """What came back for one payload: the function's record and its packed folders, or the
    reason it has none (its worker died twice, the versions differ, the task failed)."""

    record: dict[str, Any] | None = None
    files: bytes | None = None
    error: str | None = None
    node: str = ""


Payloads = Iterable[dict[str, Any]]
OnDone = Callable[[dict[str, Any], TaskOutcome], None]
More = Callable[[], "dict[str, Any] | None"]


class ClusterSession:
    """A connection to a Ray cluster, checked: every node has the driver's versions.

    Args:
        options: where to connect and what each task asks for.
        driver: the driver's versions (:func:`zoo.app.cluster.options.registry_versions`).
    """

    def __init__(self, options: ClusterOptions, driver: dict[str, str | None]) -> None:
        self.options = options
        self.driver = driver
        self.ray = require_ray()
        self.started_here = False
        self._connect()
        self.check_versions()

    def _connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return  # a runtime this process already holds (tests, notebooks)
        address = self.options.address
        # Ray warns as it fails to connect (a UserWarning naming its own source file): the
        # failure is said once, below, in one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if address == LOCAL:
                    ray.init(
                        num_cpus=os.cpu_count(),
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level=logging.WARNING,  # not its INFO start-up lines
                    )
                else:
                    ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                reason = plain(" ".join(str(exc).split())) or type(exc).__name__
                raise IncompatibleError(
                    f"Cannot connect to the Ray cluster at {shown(address)}: {reason[:300]}. "
                    "Check that it runs ('ray status' on its head node), that the address is "
                    "right and that its port is reachable from here."
                ) from None
        self.started_here = True

    def close(self) -> None:
        """Disconnect (and stop the runtime) if this session started it."""
        if self.started_here:
            self.ray.shutdown()

    def check_versions(self, driver: dict[str, str | None] | None = None) -> None:
        """Probe every alive node once; raises IncompatibleError naming a package that differs."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote_probe = self.ray.remote(probe)
        refs = [
            remote_probe.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote()
            for node in self.ray.nodes()
            if node.get("Alive")
        ]
        for found in self.ray.get(refs):
            check_versions(driver or self.driver, found["versions"], found["node"])

    def slots(self) -> int:
        """How many tasks the cluster can run at once with the resources each asks for."""
        total = self.ray.cluster_resources()
        counts = [
            int(total.get(kind, 0) // amount)
            for kind, amount in (
                ("CPU", self.options.resources["num_cpus"]),
                ("GPU", self.options.resources["num_gpus"]),
            )
            if amount
        ]
        return max(1, min(counts)) if counts else 1

    def run(
        self,
        function: TaskFunction,
        payloads: Payloads,
        on_done: OnDone,
        more: More | None = None,
    ) -> None:
        """Run ``function`` on each payload as a Ray task; ``on_done`` gets each outcome.

        Args:
            function: an importable function ``(payload, scratch folder) -> record``.
            payloads: what to submit at once.
            on_done: called on the driver with (payload, outcome) as each task ends.
            more: called after each outcome for one more payload to submit (None: no more).

        Raises:
            KeyboardInterrupt: Ctrl-C; the tasks not finished are cancelled (their worker
                processes killed), those finished were handed to ``on_done``.
        """
        remote = self.ray.remote(run_task).options(
            **self.options.resources, max_retries=RETRIES, retry_exceptions=False
        )
        pending: dict[Any, dict[str, Any]] = {}
        threads = max(1, int(self.options.resources["num_cpus"]))

        def submit(payload: dict[str, Any]) -> None:
            pending[remote.remote(function, payload, self.driver, threads)] = payload

        for payload in payloads:
            submit(payload)
        try:
            while pending:
                done, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in done:
                    on_done(pending.pop(ref), self._outcome(ref))
                    following = more() if more else None
                    if following is not None:
                        submit(following)
        except KeyboardInterrupt:
            self._cancel(pending, on_done)
            raise

    def _outcome(self, ref: Any) -> TaskOutcome:
        ray = self.ray
        try:
            result = ray.get(ref)
        except ray.exceptions.WorkerCrashedError as exc:
            return TaskOutcome(error=f"its Ray worker died, also when retried once ({_brief(exc)})")
        except ray.exceptions.RayError as exc:
            return TaskOutcome(error=f"the Ray task failed: {_brief(exc)}")
        if "error" in result:
            return TaskOutcome(error=result["error"], node=result.get("node", ""))
        return TaskOutcome(result["record"], result.get("files"), None, result.get("node", ""))

    def _cancel(self, pending: dict[Any, dict[str, Any]], on_done: OnDone) -> None:
        """Cancel (and kill) what still runs, then hand over what finished meanwhile."""
        done, running = self.ray.wait(list(pending), num_returns=len(pending), timeout=0)
        for ref in running:
            self.ray.cancel(ref, force=True)
        for ref in done:
            outcome = self._outcome(ref)
            if outcome.record is None:
                continue
            try:
                on_done(pending[ref], outcome)
            except KeyboardInterrupt:  # pressed again: stop handing over, as asked
                break


def _brief(exc: BaseException) -> str:
    """The first line of a Ray error, which otherwise spans a traceback."""
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split()) if text else type(exc).__name__


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
