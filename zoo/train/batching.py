"""Prediction and validation batches sized by memory, not by a fixed count of examples.

A fixed count is wrong both ways: 4,096 rows of a small MLP take a few megabytes, while 4,096
digits resized to 96x96x3 for a MobileNet backbone take gigabytes of activations. The size of
one example's activations is read off the model itself (every layer's output, nested models
included), so a batch stays within a fixed budget whatever the data set's size.
"""

from __future__ import annotations

import math
from typing import Any

MAX_BATCH = 4096  # beyond this, a bigger batch saves no measurable time on a small model
BUDGET_BYTES = 256 * 2**20  # activations of one prediction batch, summed over all layers
BYTES_PER_VALUE = 4  # float32


def predict_batch(model: Any, budget_bytes: int = BUDGET_BYTES) -> int:
    """The largest batch (at most ``MAX_BATCH``) whose activations fit ``budget_bytes``.

    The sum over all layers over-counts what a compiled graph keeps alive at once, so the
    real peak is well under the budget; a model whose layers cannot be read gets a batch
    sized by its inputs alone.
    """
    per_example = activation_values(model) * BYTES_PER_VALUE
    return max(1, min(MAX_BATCH, budget_bytes // max(per_example, 1)))


def activation_values(model: Any) -> int:
    """Values one example produces across every layer of ``model`` (nested models too)."""
    total = 0
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            total += activation_values(layer)
            continue
        total += sum(_values(tensor) for tensor in _outputs(layer))
    return total or sum(_values(t) for t in getattr(model, "inputs", None) or [])


def _outputs(layer: Any) -> list[Any]:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer called more than once, or never built
        return []
    return list(output) if isinstance(output, (list, tuple)) else [output]


def _values(tensor: Any) -> int:
    dims = tuple(getattr(tensor, "shape", ()))[1:]
    return math.prod(int(d) for d in dims if d is not None)
