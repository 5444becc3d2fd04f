"""Section 3: one epoch on a large synthetic CSV, keras-zoo (streamed) against plain Keras."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from measure import Measurement, checked, measure, zoo_run
from report import Section

HERE = Path(__file__).parent
PY = sys.executable
FEATURES = 20


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


def scale_section(rows: int, batch_sizes: list[int]) -> Section:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as work:
        csv = Path(work) / "scale.csv"
        write_csv(csv, rows)
        size_mb = csv.stat().st_size / 1e6
        floor = checked(measure([PY, str(HERE / "runtime_floor.py")], env), "runtime floor")
        results = [
            (batch, *_one_epoch_each(csv, batch, Path(work) / "runs", env)) for batch in batch_sizes
        ]
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
        line("plain Keras (np.loadtxt + fit)", plain, "-"),
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
    above = (zoo.peak_rss_mb - floor) / max(plain.peak_rss_mb - floor, 1)
    return [
        (f"batch {batch}: throughput >= plain Keras", speed >= 1, f"{speed:.2f}x"),
        (
            f"batch {batch}: peak RSS below plain Keras",
            zoo.peak_rss_mb < plain.peak_rss_mb,
            f"{zoo.peak_rss_mb / plain.peak_rss_mb:.2f}x",
        ),
        (
            f"batch {batch}: memory above the runtime floor <= 0.5x plain Keras's",
            above <= 0.5,
            f"{above:.2f}x",
        ),
    ]
