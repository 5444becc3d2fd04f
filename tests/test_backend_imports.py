"""What importing the backend for a run pulls in, and the NumPy split that avoids scikit-learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from zoo.core.dataset import _shuffled_split

PROBE = """
import json, sys
from zoo.train.backend import import_backend_quietly
import_backend_quietly()
loaded = {name: name in sys.modules for name in ("pandas", "sklearn", "matplotlib", "jax")}
import keras, pandas, sklearn, matplotlib  # still importable afterwards
print(json.dumps({"loaded": loaded, "backend": keras.backend.backend()}))
"""


def test_keras_loads_without_its_optional_companions():
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["backend"] == "tensorflow"
    assert found["loaded"] == {"pandas": False, "sklearn": False, "matplotlib": False, "jax": False}


@pytest.mark.parametrize("rows", [2, 5, 11, 404, 506, 1000])
@pytest.mark.parametrize("size", [0.1, 0.2, 0.33, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 42])
def test_the_numpy_split_is_scikit_learns(rows, size, seed):
    x = np.arange(rows * 2).reshape(rows, 2)
    y = np.arange(rows) * 10.0
    ours = _shuffled_split(x, y, size, seed)
    if ours is None:  # refused: scikit-learn must refuse too (one part would be empty)
        with pytest.raises(ValueError):
            train_test_split(x, y, test_size=size, random_state=seed)
        return
    theirs = train_test_split(x, y, test_size=size, random_state=seed)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
