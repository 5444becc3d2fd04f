"""``zoo predict``: a saved model's predictions for a file of raw inputs."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.tasks import BINARY, MULTICLASS

if TYPE_CHECKING:
    import numpy as np

    from zoo.app.saved import SavedRun
    from zoo.catalog.registry import Registry


def write_predictions(
    path: Path | None, labels: list[Any], outputs: np.ndarray, run: SavedRun
) -> str | None:
    """Write one row per input: the prediction, plus class probabilities for classifiers.

    Returns the CSV text when ``path`` is None (for stdout); the file appears atomically.
    """
    import io

    header = ["prediction"]
    extra: list[list[float]] = [[] for _ in labels]
    if run.data["task"] == MULTICLASS:
        names = run.schema.get("classes") or list(range(outputs.shape[1]))
        header += [f"p_{n}" for n in names]
        extra = outputs.tolist()
    elif run.data["task"] == BINARY:
        header.append("p_positive")
        extra = [[float(v)] for v in outputs.reshape(len(outputs))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([label, *probs] for label, probs in zip(labels, extra, strict=True))
    if path is None:
        return buffer.getvalue()
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(buffer.getvalue())
    os.replace(partial, path)
    return None


def predict_file(
    run: SavedRun, registry: Registry, input_path: Path, output: Path | None
) -> str | None:
    """Predict for every row of a file of raw inputs (read by the plugin that takes it, CSV
    by default); returns CSV text when ``output`` is None."""
    outputs = run.predict(registry.read_inputs(str(input_path), run.schema))
    return write_predictions(output, run.labels(outputs), outputs, run)
