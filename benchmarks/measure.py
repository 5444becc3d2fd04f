"""Running a command as a child process and measuring it: wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO


def zoo_run(*args: str) -> list[str]:
    """The command line of a quiet ``zoo run`` printing its result as JSON."""
    return [sys.executable, "-m", "zoo", "run", *args, "--json", "--quiet"]


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    returncode: int


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` once, timing it and reading its own peak resident memory from wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    out, err = _drain(process)
    # wait4 reaps the child and reports the resource usage of that child alone.
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(wall, usage.ru_maxrss / 1024, out, err, process.returncode)


def _drain(process: subprocess.Popen) -> tuple[str, str]:
    """Read both pipes to the end without reaping the child."""
    chunks: dict[str, str] = {}

    def read(name: str, stream: IO[str]) -> None:
        chunks[name] = stream.read()

    threads = [
        threading.Thread(target=read, args=pair)
        for pair in (("out", process.stdout), ("err", process.stderr))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return chunks["out"], chunks["err"]


def checked(m: Measurement, what: str) -> Measurement:
    """Stop the benchmark with the command's own error when it failed."""
    if m.returncode != 0:
        raise SystemExit(f"{what} failed with exit code {m.returncode}:\n{m.stderr[-2000:]}")
    return m
