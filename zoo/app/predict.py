"""``zoo predict``: a saved model's predictions for a file of raw inputs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.tasks import BINARY, MULTICLASS
from zoo.runs.files import STDOUT, write_output

if TYPE_CHECKING:
    import numpy as np

    from zoo.app.saved import SavedRun
    from zoo.catalog.registry import Registry


def write_predictions(
    path: Path | None, labels: list[Any], outputs: np.ndarray, run: SavedRun
) -> str | None:
    """Write one row per input: the prediction, plus class probabilities for classifiers.

    Returns the CSV text when ``path`` is None or ``-`` (for stdout); see
    :func:`zoo.runs.files.write_output` for how each kind of path is written.
    """
    import io

    names, extra = probability_columns(run, outputs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["prediction", *names])
    writer.writerows(
        [_shown(label), *map(_shown, probs)] for label, probs in zip(labels, extra, strict=True)
    )
    if path is None or str(path) == STDOUT:
        return buffer.getvalue()
    write_output(path, buffer.getvalue())  # never replaces a device, a pipe or a symlink
    return None


def probability_columns(run: SavedRun, outputs: np.ndarray) -> tuple[list[str], list[list[float]]]:
    """One ``p_LABEL`` column per class, named by the labels the predictions use (binary
    too: a lone ``p_positive`` would not say which class is positive); none for regression.
    """
    import numpy as np

    task = run.data["task"]
    if task not in (BINARY, MULTICLASS):
        return [], [[] for _ in range(len(outputs))]
    if task == BINARY:
        positive = np.asarray(outputs, dtype="float64").reshape(len(outputs), 1)
        outputs = np.hstack([1.0 - positive, positive])
    names = run.schema.get("classes") or list(range(outputs.shape[1]))
    return [f"p_{n}" for n in names], np.asarray(outputs, dtype="float64").tolist()


def _shown(value: Any) -> Any:
    # Model outputs are float32: digits beyond the 7th are noise, not information.
    return f"{value:.6g}" if isinstance(value, float) else value


def predict_file(
    run: SavedRun, registry: Registry, input_path: Path, output: Path | None
) -> str | None:
    """Predict for every row of a file of raw inputs (read by the plugin that takes it, CSV
    by default); returns CSV text when ``output`` is None."""
    outputs = run.predict(run.read_inputs(registry, input_path))
    return write_predictions(output, run.labels(outputs), outputs, run)
