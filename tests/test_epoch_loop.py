"""The compiled epoch loop: the same steps, losses and weights as Keras's ``fit``.

The backend is fixed when Keras is imported, so each backend's check runs in a fresh process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

BACKENDS = [
    "tensorflow",
    pytest.param(
        "jax",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("jax") is None, reason="JAX is not installed"
        ),
    ),
]


def run_under(backend: str, code: str, tmp_path) -> dict:
    """Run ``code`` in a fresh process on ``backend``; it prints one JSON line last."""
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "ZOO_JAX_CACHE": str(tmp_path / "jax-cache"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


COMPARE_WITH_FIT = """
import json
import keras, numpy as np
from zoo.train.epoch_loop import fit_arrays
from zoo.core.config import FitOptions

rng = np.random.default_rng(0)
x = rng.normal(size=(40, 3)).astype("float32")
y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1).astype("float32")
xv, yv = x[:8] + 0.5, y[:8]

def trained(train):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model, train(model)

# One batch per epoch, so that shuffling cannot change the steps: the two loops must agree.
ours, mine = trained(lambda m: fit_arrays(m, (x, y), (xv, yv), FitOptions(5, 64, 0), []))
keras_fit, theirs = trained(lambda m: m.fit(x, y, batch_size=64, epochs=5, shuffle=False,
                            validation_data=(xv, yv), verbose=0).history)
weights = max(float(np.abs(a - b).max())
              for a, b in zip(ours.get_weights(), keras_fit.get_weights()))
print(json.dumps({"ours": mine, "fit": theirs, "weights": weights}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_compiled_loop_matches_keras_fit_step_for_step(backend, tmp_path):
    found = run_under(backend, COMPARE_WITH_FIT, tmp_path)
    assert sorted(found["ours"]) == sorted(found["fit"]) == ["loss", "mae", "val_loss", "val_mae"]
    for key, values in found["fit"].items():
        np.testing.assert_allclose(found["ours"][key], values, rtol=1e-4, err_msg=key)
    assert found["weights"] < 1e-5


def test_blocks_cover_every_row_once_with_the_partial_batch_last():
    from zoo.train import epoch_loop

    order = np.random.default_rng(0).permutation(1000)
    blocks = epoch_loop._blocks(order, 3)
    assert [len(full) for full, _ in blocks] == [256, 77]  # 333 full batches in two blocks
    assert blocks[0][1] is None and blocks[-1][1].tolist() == order[999:].tolist()
    rows = np.concatenate([*(full.ravel() for full, _ in blocks), blocks[-1][1]])
    assert rows.tolist() == order.tolist()


def test_a_part_smaller_than_one_batch_is_a_single_partial_step():
    from zoo.train import epoch_loop

    (blocks,) = epoch_loop._blocks(np.arange(5), 32)
    assert blocks[0] is None and blocks[1].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.slow
def test_training_leaves_no_traced_graph_behind():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the gradient registry is TensorFlow's")
    from tensorflow.python.framework import ops

    from zoo.core.config import FitOptions
    from zoo.train.epoch_loop import fit_arrays

    registry = ops._gradient_registry._registry
    before = set(registry)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((10, 2), "float32")
    history = fit_arrays(model, (x, x[:, 0]), None, FitOptions(2, 4, 0), [])
    assert len(history["loss"]) == 2
    # Tracing registered a custom gradient holding the graph; it must be gone again.
    assert set(registry) == before
