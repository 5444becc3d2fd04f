"""A write that fails half-way (a full disk, simulated by a file-size limit) must leave the run
marked ``failed`` with the reason, one line on stderr, a non-zero exit and no abort, and no
half-written file under a final name, while everything written before stays intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_tiny_csv

resource = pytest.importorskip("resource")  # POSIX only
LIMIT = 16 * 1024  # above every JSON and CSV file of a run, below the model and the curves


def zoo_with_file_limit(limit: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m zoo ARGS`` in a process that may not write files larger than ``limit``."""

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        cwd=cwd,
        preexec_fn=limit_file_size,  # noqa: PLW1509 - only setrlimit, before exec
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ZOO_DEBUG": ""},
    )


def error_lines(stderr: str) -> list[str]:
    """stderr without the line announcing that training started."""
    return [line for line in stderr.splitlines() if line.strip() and "zoo: training" not in line]


@pytest.mark.slow  # trains a model in a fresh process
def test_a_size_limit_while_saving_fails_the_run_cleanly(tmp_path):
    runs = tmp_path / "runs"
    args = ["run", "-m", "linear", "-d", "regression", "--set", "rows=60", "--epochs", "1"]
    done = zoo_with_file_limit(LIMIT, *args, "-q", "--runs-dir", str(runs), cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # an exit, not an abort (which is negative)
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and lines[0].startswith("zoo: error: Cannot write"), done.stderr
    assert "file-size limit" in lines[0] and "terminate called" not in done.stderr
    (folder,) = runs.iterdir()
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "failed" and "File too large" in status["error"]
    names = {p.name for p in folder.iterdir()}
    assert not {"model.keras", "curves.png"} & names  # nothing half-written under its name
    assert not [n for n in names if n.startswith(".")], names  # no partial files left over
    for name in ("config.json", "data.json", "environment.json", "metrics.json"):
        json.loads((folder / name).read_text())  # written before the failure, intact
    assert (folder / "history.csv").read_text().startswith("epoch,")


@pytest.mark.slow  # a fresh process imports TensorFlow
def test_a_size_limit_on_predictions_keeps_the_old_file(tiny_run, tmp_path):
    inputs = write_tiny_csv(tmp_path / "inputs.csv", rows=60)
    out = tmp_path / "predictions.csv"
    out.write_text("earlier predictions\n")
    args = ["predict", str(tiny_run), "-i", str(inputs), "-o", str(out)]
    done = zoo_with_file_limit(256, *args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and "Cannot write" in lines[0] and "Traceback" not in done.stderr
    assert out.read_text() == "earlier predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs.csv", "predictions.csv"]


def test_a_framework_s_own_wording_of_a_full_disk_is_recognised(tmp_path):
    import errno

    from zoo.runs.files import disk_failure

    # TensorFlow's summary writer reports a size limit as its own error type, in these words.
    tf_like = RuntimeError(f"events.out.tfevents; {os.strerror(errno.EFBIG)} Failed to flush")
    failure = disk_failure(tf_like, tmp_path)
    assert failure is not None and "file-size limit" in str(failure)
    assert str(tmp_path) in str(failure)
    full = disk_failure(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "x.h5"), tmp_path)
    assert full is not None and "x.h5" in str(full) and "disk is full" in str(full)
    assert disk_failure(ValueError("no disk involved"), tmp_path) is None


REPORT_WRITES = """
import resource, signal, sys
from pathlib import Path

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from zoo.app.bench.export import write_exports
from zoo.app.tune import finish as report
from zoo.core.errors import WriteFailed

folder = Path(sys.argv[1])
rows = [
    {{"trial": i, "state": "complete", "val_loss": 1.0 / (i + 1), "units": 32}}
    for i in range(300)
]
writes = {{
    "trials": lambda: report.write_trials(folder, rows, ["# a tune"]),
    "objective": lambda: report.plot_objective(folder, rows),
    "bench summary": lambda: write_exports(
        folder, {{"datasets": [], "skipped": [], "failed": [], "trials": rows}}, {{}}
    ),
}}
for name, write in writes.items():
    try:
        write()
    except WriteFailed as exc:
        print(name, "failed:", str(exc))
    else:
        print(name, "written")
"""


def test_tune_and_bench_reports_are_never_half_written(tmp_path):
    limit = 2048  # below every file written here
    (tmp_path / "trials.csv").write_text("trial\n0\n")  # an earlier table, to be kept whole
    done = subprocess.run(
        [sys.executable, "-c", REPORT_WRITES.format(limit=limit), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    names = [line.split(" failed: ")[0] for line in lines]
    assert names == ["trials", "objective", "bench summary"]
    for line in lines:
        message = line.split(" failed: ")[1]
        assert message.startswith("Cannot write") and "file-size limit" in message, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.csv"]  # no partial, no half
    assert (tmp_path / "trials.csv").read_text() == "trial\n0\n"
