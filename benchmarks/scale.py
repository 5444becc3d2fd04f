"""Section 3: one epoch on a large synthetic CSV, keras-zoo (streamed) against plain pandas
(``read_csv``, then ``model.fit`` on the arrays, the same model).

The files are generated once into ``benchmarks/.work/`` (git-ignored) and reused.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from measure import Measurement, checked, measure, zoo_run
from report import Section

HERE = Path(__file__).parent
WORK = HERE / ".work"
PY = sys.executable
FEATURES = 20
# Targets: throughput at least the baseline's; peak memory at most this share of the
# baseline's, or, for a file far larger than that, at most the runtime's floor plus this.
MAX_MEMORY_SHARE = 0.6
MAX_ABOVE_FLOOR_MB = 200
LARGE_ROWS = 5_000_000


def write_csv(path: Path, rows: int, seed: int = 0, chunk: int = 100_000) -> None:
    """A linear-plus-noise regression table, written in chunks so memory stays small."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=FEATURES)
    header = ",".join([*(f"x{i}" for i in range(FEATURES)), "y"])
    with path.open("w") as handle:
        handle.write(header + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            x = rng.normal(size=(n, FEATURES)).astype("float32")
            y = x @ weights + rng.normal(scale=0.1, size=n)
            np.savetxt(handle, np.column_stack([x, y]), fmt="%.5g", delimiter=",")


def cached_csv(rows: int) -> Path:
    """The scale file of ``rows`` rows, written on first use (seeded: always the same)."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"scale-{rows}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_csv(partial, rows)
        partial.rename(path)
    return path


def scale_section(rows: int, batch_sizes: list[int], repeats: int = 1) -> Section:
    """Both sides ``repeats`` times, alternately; each figure is the median of its runs."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    csv = cached_csv(rows)
    size_mb = csv.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as work:
        floors = [
            checked(measure([PY, str(HERE / "runtime_floor.py")], env), "runtime floor")
            for _ in range(repeats)
        ]
        floor = median_of(floors)
        results = []
        for batch in batch_sizes:
            pairs = [_one_epoch_each(csv, batch, Path(work) / "runs", env) for _ in range(repeats)]
            results.append(
                (batch, median_of([z for z, _ in pairs]), median_of([p for _, p in pairs]))
            )
    section = Section(
        f"3. Scale: one epoch on a {rows:,}-row x {FEATURES}-feature CSV ({size_mb:.0f} MB)"
    )
    section.rows = [
        [
            "batch",
            "",
            "whole process (s)",
            "rows/s end to end",
            "peak RSS (MB)",
            "RSS above runtime floor (MB)",
            "test MSE",
        ]
    ]
    for batch, zoo, plain in results:
        section.rows += _rows(batch, rows, zoo, plain, floor.peak_rss_mb)
        section.targets += _targets(batch, rows, zoo, plain, floor.peak_rss_mb)
    section.notes = (
        f"Medians of {repeats} runs per side. "
        f"Runtime floor (import Keras, fit ten rows): {floor.peak_rss_mb:.0f} MB peak RSS. "
        "keras-zoo trains on 72 % of the rows (the rest is validation and test) but reads and "
        "checks all of them; throughput is file rows over whole-process time on both sides."
    )
    return section


def _one_epoch_each(
    csv: Path, batch: int, runs: Path, env: dict[str, str]
) -> tuple[Measurement, Measurement]:
    command = zoo_run(
        "--model",
        "mlp",
        "--data",
        str(csv),
        "--target",
        "y",
        "--epochs",
        "1",
        "--batch-size",
        str(batch),
        "--runs-dir",
        str(runs),
    )
    zoo = checked(measure(command, env), "zoo run (scale)")
    plain = checked(
        measure([PY, str(HERE / "plain_keras_csv.py"), str(csv), str(batch)], env),
        "plain Keras (scale)",
    )
    return zoo, plain


def median_of(runs: list[Measurement]) -> Measurement:
    """The median wall time and the median peak memory of ``runs`` (the output of the run
    with the median wall time)."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    middle = ordered[(len(ordered) - 1) // 2]
    rss = sorted(m.peak_rss_mb for m in runs)[(len(runs) - 1) // 2]
    return replace(middle, peak_rss_mb=rss)


def _rows(
    batch: int, rows: int, zoo: Measurement, plain: Measurement, floor: float
) -> list[list[str]]:
    mse = json.loads(zoo.stdout)["metrics"]["mse"]
    line = lambda name, m, extra: [  # noqa: E731
        str(batch),
        name,
        f"{m.wall_s:.1f}",
        f"{rows / m.wall_s:,.0f}",
        f"{m.peak_rss_mb:.0f}",
        f"{m.peak_rss_mb - floor:.0f}",
        extra,
    ]
    return [
        line("keras-zoo (streamed)", zoo, f"{mse:.3f}"),
        line("plain pandas (read_csv + fit)", plain, "-"),
        [
            str(batch),
            "ratio zoo / plain",
            f"{zoo.wall_s / plain.wall_s:.2f}x",
            f"{plain.wall_s / zoo.wall_s:.2f}x",
            f"{zoo.peak_rss_mb / plain.peak_rss_mb:.2f}x",
            f"{(zoo.peak_rss_mb - floor) / max(plain.peak_rss_mb - floor, 1):.2f}x",
            "",
        ],
    ]


def _targets(
    batch: int, rows: int, zoo: Measurement, plain: Measurement, floor: float
) -> list[tuple[str, bool, str]]:
    speed = plain.wall_s / zoo.wall_s
    share = zoo.peak_rss_mb / plain.peak_rss_mb
    above = zoo.peak_rss_mb - floor
    name = f"{rows:,} rows, batch {batch}"
    targets = [(f"{name}: rows/s >= 1.0x plain pandas", speed >= 1, f"{speed:.2f}x")]
    if rows >= LARGE_ROWS:  # far larger than memory needs: flat, whatever the size
        targets.append(
            (
                f"{name}: peak RSS <= runtime floor + {MAX_ABOVE_FLOOR_MB} MB",
                above <= MAX_ABOVE_FLOOR_MB,
                f"floor + {above:.0f} MB",
            )
        )
    else:
        targets.append(
            (
                f"{name}: peak RSS <= {MAX_MEMORY_SHARE}x plain pandas",
                share <= MAX_MEMORY_SHARE,
                f"{share:.2f}x",
            )
        )
    return targets
