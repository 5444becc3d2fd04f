"""The Boston housing data set of the classic Keras tutorial, bundled and checksum-verified."""

from __future__ import annotations

import hashlib
from importlib import resources

from zoo.plugin import REGRESSION, DataError, Dataset, hookimpl

CSV_NAME = "boston_house_prices.csv"
CSV_SHA256 = "d98212636026544fc9b9c0f372e5f819872e6fa6fa757ab025efdda22180f2d6"
CAVEAT = (
    "Feature B is 1000(Bk - 0.63)^2 with Bk the proportion of Black residents by town; "
    "scikit-learn removed its loader over the ethics of that feature and of the data set's "
    "assumptions. Kept as the classic teaching benchmark, not as a model of housing prices."
)


def load_housing() -> Dataset:
    """Read the bundled CSV (line 1: counts, line 2: column names, then 506 rows)."""
    import numpy as np

    raw = resources.files("zoo.datasets").joinpath(CSV_NAME).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CSV_SHA256:
        raise DataError(
            f"Bundled {CSV_NAME} is damaged: sha256 {digest[:12]}..., expected "
            f"{CSV_SHA256[:12]}...; reinstall keras-zoo."
        )
    lines = raw.decode("utf-8").splitlines()
    names = [n.strip('"') for n in lines[1].split(",")]
    table = np.loadtxt(lines[2:], delimiter=",", dtype="float32")
    return Dataset(
        x=table[:, :-1],
        y=table[:, -1],
        task=REGRESSION,
        feature_names=names[:-1],
        target_name=names[-1],
    )


@hookimpl
def register_datasets(register):
    register(
        "housing",
        load_housing,
        description="Boston house prices (Harrison & Rubinfeld 1978): median value, $1000s",
        task=REGRESSION,
        input_kind="tabular",
        shape=(13,),
        rows=506,
        source="StatLib / UCI 'housing'; the copy shipped by scikit-learn 1.1.3",
        licence="Public-domain research data as distributed by StatLib and scikit-learn",
        caveat=CAVEAT,
    )
