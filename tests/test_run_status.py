"""The status a run ends with is true however it ends: a second Ctrl-C, which stops at once
without saving, still leaves ``interrupted`` (not ``failed: KeyboardInterrupt``)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def start_training(runs: Path) -> subprocess.Popen:
    args = ["run", "-m", "linear", "-d", "regression", "--set", "rows=200", "--epochs", "100000"]
    return subprocess.Popen(
        [sys.executable, "-m", "zoo", *args, "-q", "--runs-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_running(runs: Path, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        for status_file in runs.glob("*/status.json"):
            status = json.loads(status_file.read_text())
            if status.get("status") == "running" and (status_file.parent / "config.json").exists():
                time.sleep(1.0)  # into the epochs
                return status
        time.sleep(0.1)
    raise AssertionError(f"training did not start: {process.communicate()}")


@pytest.mark.slow  # trains in a fresh process
def test_a_second_ctrl_c_leaves_the_run_interrupted(tmp_path):
    process = start_training(tmp_path)
    running = wait_until_running(tmp_path, process)
    assert running["pid"] == process.pid and running["pid_started"] > 0  # pid reuse is caught
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)  # at once: the user cannot wait
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    (folder,) = tmp_path.iterdir()
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "interrupted", status
    assert "KeyboardInterrupt" not in json.dumps(status)
