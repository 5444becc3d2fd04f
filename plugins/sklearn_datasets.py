"""The small classic data sets scikit-learn ships with its wheel: offline, no download.

iris, wine (multiclass), breast_cancer (binary), diabetes (regression) and digits (8x8 grey
images of handwritten digits, 10 classes: real data for image models and transfer learning).
"""

from __future__ import annotations

from typing import Any

from zoo.plugin import BINARY, MULTICLASS, REGRESSION, Dataset, hookimpl

UCI_LICENCE = "CC BY 4.0 (UCI Machine Learning Repository); copy bundled with scikit-learn"

# name -> (scikit-learn loader, registration metadata). Counts are checked by the tests.
CARDS: dict[str, tuple[str, dict[str, Any]]] = {
    "iris": (
        "load_iris",
        {
            "description": "Iris flowers (Fisher 1936): 3 species from 4 measurements",
            "task": MULTICLASS,
            "shape": (4,),
            "rows": 150,
            "classes": 3,
            "source": "UCI 'Iris' (R. A. Fisher, 1936), as bundled with scikit-learn",
        },
    ),
    "wine": (
        "load_wine",
        {
            "description": "Italian wines: 3 cultivars from 13 chemical analyses",
            "task": MULTICLASS,
            "shape": (13,),
            "rows": 178,
            "classes": 3,
            "source": "UCI 'Wine' (Forina et al., 1988), as bundled with scikit-learn",
        },
    ),
    "breast_cancer": (
        "load_breast_cancer",
        {
            "description": "Breast tumour biopsies: malignant or benign from 30 cell features",
            "task": BINARY,
            "shape": (30,),
            "rows": 569,
            "classes": 2,
            "source": "UCI 'Breast Cancer Wisconsin (Diagnostic)' (Street, Wolberg & "
            "Mangasarian, 1993), as bundled with scikit-learn",
        },
    ),
    "diabetes": (
        "load_diabetes",
        {
            "description": "Diabetes progression after one year, from 10 baseline measures",
            "task": REGRESSION,
            "shape": (10,),
            "rows": 442,
            "source": "Efron, Hastie, Johnstone & Tibshirani (2004), 'Least Angle "
            "Regression'; the raw (unscaled) copy bundled with scikit-learn",
            "licence": "Research data distributed with scikit-learn (BSD-3-Clause package)",
        },
    ),
    "digits": (
        "load_digits",
        {
            "description": "Handwritten digits 0-9 as 8x8 grey images (values 0-16)",
            "task": MULTICLASS,
            "input_kind": "image",
            "shape": (8, 8, 1),
            "rows": 1797,
            "classes": 10,
            "source": "UCI 'Optical Recognition of Handwritten Digits' (Alpaydin & Kaynak, "
            "1998), test part, as bundled with scikit-learn",
        },
    ),
}


def _load(name: str) -> Dataset:
    import numpy as np
    from sklearn import datasets

    loader_name, card = CARDS[name]
    loader = getattr(datasets, loader_name)
    # Raw diabetes values (age in years, ...): the model standardizes its inputs itself.
    bunch = loader(scaled=False) if name == "diabetes" else loader()
    x = np.asarray(bunch.data, dtype="float32").reshape((-1, *card["shape"]))
    task = card["task"]
    y = bunch.target.astype("float32" if task == REGRESSION else "int64")
    classes = [str(c) for c in getattr(bunch, "target_names", [])] if task != REGRESSION else []
    return Dataset(
        x=x,
        y=y,
        task=task,
        input_kind=card.get("input_kind", "tabular"),
        feature_names=[str(f) for f in bunch.feature_names],
        target_name="progression" if name == "diabetes" else "class",
        class_names=classes,
    )


def load_iris() -> Dataset:
    """Iris: 150 flowers, 4 measurements in cm, 3 species."""
    return _load("iris")


def load_wine() -> Dataset:
    """Wine: 178 wines, 13 chemical measurements, 3 cultivars."""
    return _load("wine")


def load_breast_cancer() -> Dataset:
    """Breast cancer: 569 biopsies, 30 features; class 0 malignant, 1 benign."""
    return _load("breast_cancer")


def load_diabetes() -> Dataset:
    """Diabetes: 442 patients, 10 baseline measures (raw units), progression after a year."""
    return _load("diabetes")


def load_digits() -> Dataset:
    """Digits: 1797 images of 8x8 pixels (grey levels 0-16, shape 8x8x1), classes 0-9."""
    return _load("digits")


LOADERS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
    "digits": load_digits,
}


@hookimpl
def register_datasets(register):
    for name, (_, card) in CARDS.items():
        metadata = {"input_kind": "tabular", "licence": UCI_LICENCE, **card}
        register(name, LOADERS[name], **metadata)
