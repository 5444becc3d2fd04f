"""Whether the process that wrote a run folder is still the one running it.

A pid alone is not enough: once a run dies, the system may give its pid to another process,
and the run would look ``running`` forever. So a run records its process's start time next to
its pid, and a process with that pid but another start time is not the run.
"""

from __future__ import annotations

import os
from typing import Any

# Start times are compared with this tolerance (seconds): psutil derives them from boot time
# and clock ticks, which may round differently between two readings.
TOLERANCE_S = 1.0


def start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if unknown or gone."""
    try:
        import psutil
    except ImportError:
        return _start_time_from_proc(pid)
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError, ValueError):
        return None


def _start_time_from_proc(pid: int) -> float | None:
    """The start time read from /proc (Linux) when psutil is not installed."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def own_identity() -> dict[str, Any]:
    """What a run records about its own process: the pid and, where known, its start time."""
    pid = os.getpid()
    started = start_time(pid)
    return {"pid": pid, "pid_started": started} if started else {"pid": pid}


def alive(pid: Any, started: Any = None) -> bool:
    """Whether ``pid`` runs, and (when ``started`` is recorded) is the process that started then."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except (OSError, OverflowError):
        return False
    if not isinstance(started, (int, float)) or isinstance(started, bool):
        return True  # recorded by an older keras-zoo: the pid is all there is
    now = start_time(pid)
    return now is None or abs(now - started) <= TOLERANCE_S
