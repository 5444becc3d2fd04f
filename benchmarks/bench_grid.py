"""`zoo bench` against the same runs as separate `zoo run` processes, side by side.

    python benchmarks/bench_grid.py                  # appends its section to RESULTS.md
    python benchmarks/bench_grid.py --epochs 20 --output /tmp/bench.md

The grid: 2 models (linear, mlp) x 2 presets (rmsprop, adamw-cosine) x 3 data sets (housing,
diabetes, iris) = 12 combinations. One side runs them as one `zoo bench` process (TensorFlow
imported once); the other as twelve `zoo run` processes with the same seed, split and epochs;
the metrics must be identical. Memory: the peak RSS of a bench of 12 runs against one of 48
(the same grid, 4 repeats) must not grow with the number of runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from measure import Measurement, checked, measure, zoo_run  # noqa: E402
from report import Section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("linear", "mlp")
PRESETS = ("rmsprop", "adamw-cosine")
DATA = ("housing", "diabetes", "iris")
TITLE = "`zoo bench`: a 12-combination grid in one process against 12 `zoo run` processes"


def zoo_bench(*args: str) -> list[str]:
    return [sys.executable, "-m", "zoo", "bench", *args, "--json", "--quiet", "--no-baselines"]


def grid_args(epochs: int, repeats: int, runs_dir: str) -> list[str]:
    return [
        "--models", ",".join(MODELS), "--presets", ",".join(PRESETS), "--data", ",".join(DATA),
        "--epochs", str(epochs), "--repeats", str(repeats), "--runs-dir", runs_dir,
    ]  # fmt: skip


def run_separately(epochs: int, runs_dir: str, env: dict[str, str]) -> tuple[float, dict]:
    """The twelve combinations as twelve `zoo run` processes: total wall time, metrics."""
    total, metrics = 0.0, {}
    for model, preset, data in itertools.product(MODELS, PRESETS, DATA):
        command = zoo_run("-m", model, "-p", preset, "-d", data, "--epochs", str(epochs),
                          "--runs-dir", runs_dir)  # fmt: skip
        m = checked(measure(command, env), f"zoo run {model} {preset} {data}")
        total += m.wall_s
        metrics[(model, preset, data)] = json.loads(m.stdout)["metrics"]
    return total, metrics


def run_bench(epochs: int, repeats: int, runs_dir: str, env: dict[str, str]) -> Measurement:
    return checked(measure(zoo_bench(*grid_args(epochs, repeats, runs_dir)), env), "zoo bench")


def bench_metrics(m: Measurement) -> dict:
    """Per combination, the first repeat's metrics (seed 0, as `zoo run` uses)."""
    summary = json.loads(m.stdout)
    found = {}
    for board in summary["datasets"]:
        for row in board["rows"]:
            values = {k: s["values"][0] for k, s in row["metrics"].items()}
            found[(row["model"], row["preset"], board["data"])] = values
    return found


def bench_grid_section(epochs: int = 20) -> Section:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as runs_dir:
        separate_s, separate = run_separately(epochs, runs_dir, env)
        one = run_bench(epochs, 1, runs_dir, env)
        many = run_bench(epochs, 4, runs_dir, env)
    together = bench_metrics(one)
    same = together == separate
    ratio = one.wall_s / separate_s
    growth = many.peak_rss_mb / one.peak_rss_mb
    section = Section(TITLE)
    section.rows = [
        ["", "runs", "whole process (s)", "per run (s)", "peak RSS (MB)"],
        ["12 x `zoo run`", "12", f"{separate_s:.1f}", f"{separate_s / 12:.2f}", "-"],
        ["`zoo bench`", "12", f"{one.wall_s:.1f}", f"{one.wall_s / 12:.2f}",
         f"{one.peak_rss_mb:.0f}"],
        ["`zoo bench --repeats 4`", "48", f"{many.wall_s:.1f}", f"{many.wall_s / 48:.2f}",
         f"{many.peak_rss_mb:.0f}"],
    ]  # fmt: skip
    section.notes = (
        f"Grid: models {', '.join(MODELS)} x presets {', '.join(PRESETS)} x data sets "
        f"{', '.join(DATA)}, {epochs} epochs, seed 0, split seed 42, no baselines. The `zoo "
        "run` figure is the sum of the twelve processes' wall times. Metrics compared: every "
        "test metric of every combination, exactly."
    )
    compared = "identical" if same else _diff(together, separate)
    section.targets = [
        ("`zoo bench` <= 0.35x the sum of 12 `zoo run`", ratio <= 0.35, f"{ratio:.2f}x"),
        ("identical metrics per combination", same, compared),
        ("peak RSS after 48 runs <= 1.1x after 12", growth <= 1.1, f"{growth:.2f}x"),
    ]
    return section


def _diff(a: dict, b: dict) -> str:
    keys = [k for k in b if a.get(k) != b[k]]
    return f"{len(keys)} differ, e.g. {keys[0]}: {a.get(keys[0])} vs {b[keys[0]]}" if keys else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs of every run")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    section = bench_grid_section(args.epochs)
    section.write_into(args.output)
    print(section.markdown())
    failed = [t for t in section.targets if not t[1]]
    print(f"{len(failed)} target(s) missed" if failed else "all targets met", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
