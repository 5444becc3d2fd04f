"""Section 3: one epoch on a large synthetic CSV, keras-zoo (streamed) against plain Keras."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from measure import checked, measure
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


def scale_section(rows: int, batch_size: int) -> Section:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as work:
        csv = Path(work) / "scale.csv"
        write_csv(csv, rows)
        size_mb = csv.stat().st_size / 1e6
        zoo = checked(
            measure(
                [
                    PY,
                    "-m",
                    "zoo",
                    "run",
                    "--model",
                    "mlp",
                    "--data",
                    str(csv),
                    "--target",
                    "y",
                    "--epochs",
                    "1",
                    "--batch-size",
                    str(batch_size),
                    "--json",
                    "--quiet",
                    "--runs-dir",
                    str(Path(work) / "runs"),
                ],
                env,
            ),
            "zoo run (scale)",
        )
        plain = checked(
            measure([PY, str(HERE / "plain_keras_csv.py"), str(csv), str(batch_size)], env),
            "plain Keras (scale)",
        )
    zoo_rate, plain_rate = rows / zoo.wall_s, rows / plain.wall_s
    payload = json.loads(zoo.stdout)
    section = Section(
        f"3. Scale: one epoch on a {rows:,}-row x {FEATURES}-feature CSV "
        f"({size_mb:.0f} MB), batch {batch_size}"
    )
    section.rows = [
        ["", "whole process (s)", "rows/s end to end", "peak RSS (MB)", "test MSE"],
        [
            "keras-zoo (streamed)",
            f"{zoo.wall_s:.1f}",
            f"{zoo_rate:,.0f}",
            f"{zoo.peak_rss_mb:.0f}",
            f"{payload['metrics']['mse']:.3f}",
        ],
        [
            "plain Keras (np.loadtxt + fit)",
            f"{plain.wall_s:.1f}",
            f"{plain_rate:,.0f}",
            f"{plain.peak_rss_mb:.0f}",
            "-",
        ],
        [
            "ratio zoo / plain",
            f"{zoo.wall_s / plain.wall_s:.2f}x",
            f"{zoo_rate / plain_rate:.2f}x",
            f"{zoo.peak_rss_mb / plain.peak_rss_mb:.2f}x",
            "",
        ],
    ]
    section.targets = [
        ("throughput >= plain Keras", zoo_rate >= plain_rate, f"{zoo_rate / plain_rate:.2f}x"),
        (
            "peak memory well below plain Keras (<= 0.5x)",
            zoo.peak_rss_mb <= 0.5 * plain.peak_rss_mb,
            f"{zoo.peak_rss_mb / plain.peak_rss_mb:.2f}x",
        ),
    ]
    return section
