"""Synthetic data of any size, for tests and for scale benchmarks.

``regression``: a random linear function of standard-normal features plus Gaussian noise.
``classification``: one Gaussian cluster per class. The same seed gives the same rows.
"""

from __future__ import annotations

from typing import Any

from zoo.plugin import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    Dataset,
    InvalidParameterError,
    hookimpl,
    shown,
)

SOURCE = "generated on the fly with NumPy (no file, no download)"
LICENCE = "none needed: synthetic"


def _check_sizes(rows: int, features: int, classes: int | None = None) -> None:
    for name, value, least in (
        ("rows", rows, 2),
        ("features", features, 1),
        ("classes", classes, 2),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidParameterError(
                f"Synthetic data: {name} must be a whole number of at least {least}; "
                f"received {name}={shown(value)}."
            )


def _feature_names(features: int) -> list[str]:
    return [f"x{i}" for i in range(features)]


def make_regression(
    rows: int = 1000, features: int = 10, noise: float = 0.1, seed: int = 0
) -> Dataset:
    """y = x . w + noise, with x and w standard normal and the signal scaled to variance 1.

    Args:
        rows: number of examples.
        features: number of features.
        noise: standard deviation of the Gaussian noise added to y (the signal's is 1).
        seed: seed of the generator; the same seed gives the same data.
    """
    import numpy as np

    _check_sizes(rows, features)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features), dtype="float32")
    weights = rng.standard_normal(features) / np.sqrt(features)
    y = x @ weights + noise * rng.standard_normal(rows)
    names = _feature_names(features)
    return Dataset(x=x, y=y.astype("float32"), task=REGRESSION, feature_names=names)


def make_classification(
    rows: int = 1000, features: int = 10, classes: int = 3, noise: float = 1.0, seed: int = 0
) -> Dataset:
    """One Gaussian cluster per class around a random centre; classes of equal size.

    Args:
        rows: number of examples.
        features: number of features.
        classes: number of classes (2 gives a binary task, more a multiclass one).
        noise: standard deviation of each cluster (centres are standard normal): higher
            noise, more overlap, harder.
        seed: seed of the generator; the same seed gives the same data.
    """
    import numpy as np

    _check_sizes(rows, features, classes)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features)) * 2.0
    y = rng.permutation(np.arange(rows) % classes)
    x = centres[y] + noise * rng.standard_normal((rows, features))
    return Dataset(
        x=x.astype("float32"),
        y=y.astype("int64"),
        task=_classification_task(classes),
        feature_names=_feature_names(features),
        class_names=[f"class_{i}" for i in range(classes)],
    )


def _classification_task(classes: int) -> str:
    return BINARY if classes == 2 else MULTICLASS


def inspect_regression(rows: int = 1000, features: int = 10, **_: Any) -> dict[str, Any]:
    _check_sizes(rows, features)
    return {"shape": (features,), "rows": rows}


def inspect_classification(
    rows: int = 1000, features: int = 10, classes: int = 3, **_: Any
) -> dict[str, Any]:
    _check_sizes(rows, features, classes)
    task = _classification_task(classes)
    return {"task": task, "shape": (features,), "rows": rows, "classes": classes}


@hookimpl
def register_datasets(register):
    register(
        REGRESSION,
        make_regression,
        description="Synthetic linear regression: rows, features, noise, seed",
        task=REGRESSION,
        input_kind="tabular",
        shape=(10,),
        rows=1000,
        source=SOURCE,
        licence=LICENCE,
        inspect=inspect_regression,
    )
    register(
        "classification",
        make_classification,
        description="Synthetic Gaussian clusters: rows, features, classes (2: binary), noise",
        task=MULTICLASS,
        input_kind="tabular",
        shape=(10,),
        rows=1000,
        classes=3,
        source=SOURCE,
        licence=LICENCE,
        inspect=inspect_classification,
    )
