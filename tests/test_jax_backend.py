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


COMPARE_WITH_FIT = """
import json
import keras, numpy as np
from zoo.train.jax_loop import fit_arrays

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
ours, mine = trained(lambda m: fit_arrays(m, (x, y), (xv, yv), 64, 5, 0, []))
keras_fit, theirs = trained(lambda m: m.fit(x, y, batch_size=64, epochs=5, shuffle=False,
                            validation_data=(xv, yv), verbose=0).history)
weights = max(float(np.abs(a - b).max())
              for a, b in zip(ours.get_weights(), keras_fit.get_weights()))
print(json.dumps({"ours": mine, "fit": theirs, "weights": weights}))
"""


@pytest.mark.slow
def test_the_compiled_loop_matches_keras_fit_step_for_step(tmp_path):
    found = run_under_jax(COMPARE_WITH_FIT, tmp_path)
    assert sorted(found["ours"]) == sorted(found["fit"]) == ["loss", "mae", "val_loss", "val_mae"]
    for key, values in found["fit"].items():
        np.testing.assert_allclose(found["ours"][key], values, rtol=1e-4, err_msg=key)
    assert found["weights"] < 1e-5


SEEDING = """
import json, sys
import keras
from zoo.train.seeding import seed_everything

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


def test_blocks_cover_every_row_once_with_the_partial_batch_last():
    from zoo.train import jax_loop

    order = np.random.default_rng(0).permutation(1000)
    blocks = jax_loop._blocks(order, 3)
    assert [len(full) for full, _ in blocks] == [256, 77]  # 333 full batches in two blocks
    assert blocks[0][1] is None and blocks[-1][1].tolist() == order[999:].tolist()
    rows = np.concatenate([*(full.ravel() for full, _ in blocks), blocks[-1][1]])
    assert rows.tolist() == order.tolist()


def test_a_part_smaller_than_one_batch_is_a_single_partial_step():
    from zoo.train import jax_loop

    (blocks,) = jax_loop._blocks(np.arange(5), 32)
    assert blocks[0] is None and blocks[1].tolist() == [0, 1, 2, 3, 4]
