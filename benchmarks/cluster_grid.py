"""A 12-run grid on a local Ray runtime against `zoo bench --jobs 2`, side by side, and the
overhead of one Ray task, on this one machine.

    python benchmarks/cluster_grid.py                  # writes benchmarks/RESULTS-cluster.md
    python benchmarks/cluster_grid.py --epochs 5 --output /tmp/cluster.md

The grid is the one of bench_grid.py: 2 models (linear, mlp) x 2 presets (rmsprop,
adamw-cosine) x 3 data sets (housing, diabetes, iris) = 12 runs, no baselines. One side runs
it as `zoo bench --jobs 2` (two worker processes), the other as `zoo bench --cluster local
--resources-per-run cpu=1` (a Ray runtime started by the command, two tasks at a time on two
cores); the metrics must be the same. The overhead of one task is measured apart: a task
that does nothing, sent through the same machinery (version check, scratch folder, packing)
one at a time on a runtime already started, and the time to start that runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from measure import checked, measure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--models", "linear,mlp", "--presets", "rmsprop,adamw-cosine"]
GRID += ["--data", "housing,diabetes,iris"]


def zoo_bench(epochs: int, runs_dir: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "zoo", "bench", *GRID, "--epochs", str(epochs),
        "--runs-dir", runs_dir, "--json", "--quiet", "--no-baselines", *extra,
    ]  # fmt: skip


def metrics(stdout: str) -> dict[tuple[str, str, str], float]:
    """Each run's key metric by (model, preset, data)."""
    summary = json.loads(stdout)
    found = {}
    for board in summary["datasets"]:
        for row in board["rows"]:
            value = row["metrics"][board["key_metric"]]["mean"]
            found[(row["model"], row["preset"], board["data"])] = value
    return found


def nothing(payload: dict, scratch: Path) -> dict:
    """A task that does no work: what is left of its time is the machinery's."""
    return {"key": payload["key"]}


def task_overhead(count: int) -> tuple[float, list[float]]:
    """Seconds to start a local two-CPU runtime, and each empty task's round trip."""
    from zoo import Registry
    from zoo.app.cluster import ClusterOptions, ClusterSession
    from zoo.app.cluster.options import registry_versions

    started = time.perf_counter()
    session = ClusterSession(ClusterOptions("local"), registry_versions(Registry.discover()))
    start_s = time.perf_counter() - started
    times = []
    for key in range(count):
        begun = time.perf_counter()
        session.run(nothing, [{"key": key}], lambda payload, outcome: None)
        times.append(time.perf_counter() - begun)
    session.close()
    return start_s, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=20, help="empty tasks timed one by one")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS-cluster.md")
    options = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as runs_dir:
        jobs = checked(measure(zoo_bench(options.epochs, runs_dir, "--jobs", "2"), env), "jobs")
        ray = checked(
            measure(zoo_bench(options.epochs, runs_dir, "--cluster", "local"), env), "cluster"
        )
    same = metrics(jobs.stdout) == metrics(ray.stdout)
    start_s, times = task_overhead(options.tasks)
    lines = [
        "# keras-zoo on a local Ray runtime: one machine",
        "",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 12 runs of "
        f"{options.epochs} epochs, no baselines.",
        "",
        "| side | wall s (whole command) |",
        "|---|---|",
        f"| `zoo bench --jobs 2` | {jobs.wall_s:.1f} |",
        f"| `zoo bench --cluster local` (cpu=1 per run) | {ray.wall_s:.1f} |",
        "",
        f"Metrics identical on both sides: {'yes' if same else 'NO'}.",
        f"Ray runtime start (local, two CPUs), versions checked: {start_s:.1f} s.",
        f"One empty task, round trip through the same machinery (median of {len(times)}, "
        f"after the first): {statistics.median(times[1:]) * 1000:.0f} ms; the first: "
        f"{times[0]:.2f} s.",
    ]
    text = "\n".join(lines) + "\n"
    options.output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
