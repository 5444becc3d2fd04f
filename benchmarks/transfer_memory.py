"""Peak memory of ``transfer`` on digits, one epoch (not part of the tests).

Validation and test images go through the backbone resized inside the model; prediction
batches are sized by the model's memory, so the peak must stay under 1.5 GB and must not grow
with the number of images predicted. Three cases, each ``zoo run`` in a fresh child process
whose own peak resident memory comes from ``wait4``:

- ``weights=none``: the issue's command; the random backbone trains, on 32x32 images.
- a frozen backbone at 96x96 (a weights file of random MobileNetV2 weights stands in for
  ImageNet's, so nothing is downloaded): the heaviest prediction per image.
- the same with 2.5x more images predicted (larger test and validation parts).

    python benchmarks/transfer_memory.py            # prints a Markdown table
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from measure import checked, measure, zoo_run  # noqa: E402 - the folder's own helper

LIMIT_MB = 1536
BASE = ["--model", "transfer", "--data", "digits", "--epochs", "1", "--no-save"]
LARGER = ["--test-size", "0.5", "--validation-size", "0.3"]
SAVE_WEIGHTS = (
    "import sys, keras; keras.applications.MobileNetV2(include_top=False, weights=None, "
    "input_shape=(96, 96, 3)).save_weights(sys.argv[1])"
)


def cases(weights_file: Path) -> dict[str, list[str]]:
    frozen = ["--set", f"weights={weights_file}"]
    return {
        "weights=none: backbone trained, 32x32": ["--set", "weights=none"],
        "frozen backbone, 96x96, default split (test 0.2, validation 0.1)": frozen,
        "frozen backbone, 96x96, larger parts (test 0.5, validation 0.3)": frozen + LARGER,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "mobilenet_v2_random_96.weights.h5"
        subprocess.run([sys.executable, "-c", SAVE_WEIGHTS, str(weights)], check=True)
        rows = []
        for name, extra in cases(weights).items():
            m = checked(measure(zoo_run(*BASE, *extra)), name)
            accuracy = json.loads(m.stdout)["metrics"]["accuracy"]
            rows.append((name, m.peak_rss_mb, accuracy, m.wall_s))
    print("| case | peak memory | under 1.5 GB | test accuracy | wall time |")
    print("|---|---|---|---|---|")
    for name, peak, accuracy, wall in rows:
        ok = "yes" if peak <= LIMIT_MB else "NO"
        print(f"| {name} | {peak:,.0f} MB | {ok} | {accuracy:.3f} | {wall:.0f} s |")


if __name__ == "__main__":
    main()
