"""Training under the JAX backend: no TensorFlow in the process, and the compiled epoch loop.

The backend is fixed when Keras is imported, so each JAX check runs in a fresh process with
``KERAS_BACKEND=jax``. JAX is in the ``dev`` extra, so CI runs these; without it they skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is not installed (keras-zoo[jax])"
)


def run_under_jax(code: str, tmp_path, timeout: int = 300) -> dict:
    """Run ``code`` in a fresh process on the JAX backend; it prints one JSON line last."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "ZOO_JAX_CACHE": str(tmp_path / "jax-cache"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


RUN_IN_MEMORY = """
import json, sys
import zoo
result = zoo.run(zoo.RunConfig(model="mlp", data="housing", epochs=3, runs_dir={runs!r}))
print(json.dumps({{
    "tensorflow": sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow")[:3],
    "backend": __import__("keras").backend.backend(),
    "epochs": len(result.history["loss"]),
    "val_epochs": len(result.history.get("val_loss", [])),
    "mse": result.metrics["mse"],
    "saved": (result.folder / "model.keras").exists(),
}}))
"""


@pytest.mark.slow
def test_an_in_memory_run_never_imports_tensorflow(tmp_path):
    found = run_under_jax(RUN_IN_MEMORY.format(runs=str(tmp_path / "runs")), tmp_path)
    assert found["backend"] == "jax"
    assert found["tensorflow"] == []  # not even for seeding or saving the model
    assert found["epochs"] == found["val_epochs"] == 3
    assert found["saved"]
    assert np.isfinite(found["mse"])


SEEDING = """
import json, sys
import keras
from zoo.train.fitting import seed_everything

def first_weights(seed):
    seed_everything(seed)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    return model.get_weights()[0].tolist()

print(json.dumps({"a": first_weights(5), "b": first_weights(5), "c": first_weights(6),
                  "tensorflow": "tensorflow" in sys.modules}))
"""


@pytest.mark.slow
def test_seeding_repeats_weights_without_importing_tensorflow(tmp_path):
    found = run_under_jax(SEEDING, tmp_path)
    assert found["a"] == found["b"]
    assert found["a"] != found["c"]
    assert found["tensorflow"] is False
