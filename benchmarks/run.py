"""keras-zoo against the plain tutorial script and plain Keras, side by side in one run.

    python benchmarks/run.py                 # everything, 3 repeats, writes benchmarks/RESULTS.md
    python benchmarks/run.py --repeats 5 --skip-scale --output /tmp/results.md

Each comparison runs both sides as fresh processes, alternating, and reports medians and
ratios. Timings live here, never in the test suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from measure import Measurement, checked, measure, zoo_run  # noqa: E402
from report import Section  # noqa: E402
from scale import scale_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED_SCRIPT = ROOT / "benchmarks" / "baseline" / "seed_baseline.py"
HOUSING_CSV = ROOT / "datasets" / "boston_house_prices.csv"
PY = sys.executable


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- 1. listing ----------------------------------------------------------------------------


def listing_section(repeats: int) -> Section:
    zoo_list, keras_import = [], []
    for _ in range(repeats):
        zoo_list.append(checked(measure([PY, "-m", "zoo", "list"]), "zoo list").wall_s)
        keras_import.append(checked(measure([PY, "-c", "import keras"]), "import keras").wall_s)
    ratio = median(zoo_list) / median(keras_import)
    section = Section('1. `zoo list` against `python -c "import keras"` (whole process)')
    section.rows = [
        ["command", "median wall (s)", "runs"],
        ["zoo list", f"{median(zoo_list):.3f}", str(repeats)],
        ['python -c "import keras"', f"{median(keras_import):.3f}", str(repeats)],
    ]
    section.targets = [("`zoo list` <= 0.10x `import keras`", ratio <= 0.10, f"{ratio:.3f}x")]
    return section


# -- 2. the tutorial recipe ----------------------------------------------------------------


def zoo_recipe(runs_dir: str, env: dict[str, str]) -> tuple[Measurement, float, float]:
    command = zoo_run("--model", "mlp", "--data", "housing", "--runs-dir", runs_dir)
    m = checked(measure(command, env), "zoo run")
    payload = json.loads(m.stdout)
    return m, payload["timings"]["fit_s"], payload["metrics"]["mse"]


def seed_recipe(env: dict[str, str]) -> tuple[Measurement, float, float]:
    m = checked(measure([PY, str(SEED_SCRIPT), str(HOUSING_CSV)], env), "seed script")
    found = re.search(r"test_mse=([\d.]+) fit_s=([\d.]+)", m.stdout)
    if not found:
        raise SystemExit(f"unexpected seed script output: {m.stdout!r}")
    return m, float(found.group(2)), float(found.group(1))


# Per backend: (whole process at most, training at least this many times faster, peak memory
# at most), each against the seed script run under the same backend.
RECIPE_TARGETS = {"tensorflow": (0.40, 6.0, 1.05), "jax": (0.5, 3.0, 1.05)}


def recipe_section(repeats: int, backend: str = "tensorflow") -> Section:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    whole, faster, memory = RECIPE_TARGETS[backend]
    zoo_runs, seed_runs = [], []
    cold = None
    with tempfile.TemporaryDirectory() as runs_dir:
        if backend == "jax":
            # A cache of compiled programs of its own, empty: the first run shows a cold start.
            env["ZOO_JAX_CACHE"] = str(Path(runs_dir) / "jax-cache")
            cold = zoo_recipe(runs_dir, env)
        for _ in range(repeats):
            zoo_runs.append(zoo_recipe(runs_dir, env))
            seed_runs.append(seed_recipe(env))
    z, s = _medians(zoo_runs), _medians(seed_runs)
    section = Section(
        f"2. The tutorial recipe, backend {backend}: `zoo run --model mlp "
        "--data housing` against the seed script"
    )
    section.rows = [
        ["", "whole process (s)", "training (s)", "peak RSS (MB)", "test MSE"],
        ["keras-zoo", f"{z[0]:.2f}", f"{z[1]:.2f}", f"{z[2]:.0f}", f"{z[3]:.2f}"],
        ["seed script", f"{s[0]:.2f}", f"{s[1]:.2f}", f"{s[2]:.0f}", f"{s[3]:.2f}"],
        [
            "ratio zoo / seed",
            f"{z[0] / s[0]:.2f}x",
            f"{z[1] / s[1]:.2f}x",
            f"{z[2] / s[2]:.2f}x",
            "",
        ],
    ]
    section.targets = [
        (f"whole process <= {whole}x the seed script", z[0] / s[0] <= whole, f"{z[0] / s[0]:.2f}x"),
        (f"training >= {faster:g}x faster", s[1] / z[1] >= faster, f"{s[1] / z[1]:.1f}x faster"),
        (f"peak memory <= {memory}x", z[2] / s[2] <= memory, f"{z[2] / s[2]:.2f}x"),
        ("test MSE <= 15", z[3] <= 15, f"{z[3]:.2f} (seed: {s[3]:.2f})"),
    ]
    if cold is not None:
        section.notes = (
            "keras-zoo keeps JAX's compiled programs on disk (`ZOO_JAX_CACHE`): the first run "
            "on a machine compiles them, later runs load them; plain Keras keeps no such cache. "
            f"The first run, with an empty cache (not in the medians): whole process "
            f"{cold[0].wall_s:.2f} s ({cold[0].wall_s / s[0]:.2f}x), training {cold[1]:.2f} s "
            f"({s[1] / cold[1]:.1f}x faster)."
        )
    return section


def _medians(runs: list[tuple[Measurement, float, float]]) -> tuple[float, ...]:
    return (
        median([m.wall_s for m, _, _ in runs]),
        median([f for _, f, _ in runs]),
        median([m.peak_rss_mb for m, _, _ in runs]),
        median([e for _, _, e in runs]),
    )


# -- the report ----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB memory"
    versions = _versions()
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores{memory}; "
        f"Python {platform.python_version()}; {versions}"
    )


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for dist in ("keras-zoo", "keras", "tensorflow", "jax", "numpy"):
        try:
            found.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def _sections_of_other_scripts(path: Path) -> list[str]:
    """Sections other benchmark scripts wrote into the report (bench_grid.py, ...), kept as
    they are: this script rewrites only its own, numbered 1 to 4."""
    if not path.exists():
        return []
    blocks = re.split(r"(?m)^(?=## )", path.read_text())
    return [b for b in blocks if b.startswith("## ") and not re.match(r"## [1-4]\. ", b)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per side (median taken)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the scale CSV")
    parser.add_argument(
        "--scale-batch-sizes",
        default="256",
        help="comma-separated batch sizes for the scale comparison",
    )
    parser.add_argument("--skip-scale", action="store_true", help="skip the 1M-row comparison")
    parser.add_argument(
        "--stream-rows",
        type=int,
        default=0,
        help="also one epoch on a file this large, batch 256 (10000000: about 1.7 GB)",
    )
    parser.add_argument(
        "--stream-repeats", type=int, default=1, help="runs per side on the --stream-rows file"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)

    sections = [listing_section(max(args.repeats, 5)), recipe_section(args.repeats)]
    if not args.skip_scale:
        batches = [int(b) for b in args.scale_batch_sizes.split(",")]
        sections.append(scale_section(args.rows, batches, args.repeats))
    if args.stream_rows:
        sections.append(scale_section(args.stream_rows, [256], args.stream_repeats))
    if importlib.util.find_spec("jax") is not None:
        sections.append(recipe_section(args.repeats, backend="jax"))
    else:
        sections.append(
            Section(
                "4. Other Keras backends",
                [["backend", "status"], ["jax", "not installed (pip install 'keras-zoo[jax]')"]],
            )
        )
    head = [
        "# keras-zoo benchmark results",
        "",
        f"Machine: {machine()}.",
        "",
        f"Medians of {args.repeats} runs per side (listing: {max(args.repeats, 5)}), "
        "both sides run alternately in one session; every figure is a whole fresh process.",
        "",
    ]
    kept = _sections_of_other_scripts(args.output)
    report = "\n".join([*head, *[s.markdown() for s in sections], *kept])
    args.output.write_text(report)
    jax = [s for s in sections if "backend jax" in s.title]
    if jax:  # the JAX figures also on their own page, which the README links
        jax_page = args.output.with_name(args.output.stem + "-jax.md")
        jax_page.write_text("\n".join([*head, *[s.markdown() for s in jax]]))
    print(report)
    failed = [t for s in sections for t in s.targets if not t[1]]
    print(f"{len(failed)} target(s) missed" if failed else "all targets met", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
