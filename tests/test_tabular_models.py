"""The tabular networks (resnet, ft-transformer, tabm) and their numerical-feature embeddings:
they train, save and reload in safe mode on TensorFlow and JAX, the piecewise bin edges come
from the training rows alone, and bad settings are one clear error. The conformance kit runs
over them in tests/test_conformance.py (they are built-ins)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import zoo
from zoo.core.errors import InvalidParameterError
from zoo.core.spec import ModelSpec
from zoo.plan.planning import plan
from zoo.train import fitting
from zoo.train.runner import build_model, load_checked, split_for_training

from .test_jax_backend import run_under_jax

REGISTRY = zoo.Registry.discover(entry_points=False, warn=False)
# Each model with an embedding its default does not use, so every embedding trains somewhere.
CASES = {
    "resnet": ["num_embeddings=linear", "width=16", "blocks=1"],
    "ft-transformer": ["num_embeddings=piecewise", "dim=8", "heads=2", "blocks=1"],
    "tabm": ["num_embeddings=periodic", "width=16", "depth=2", "members=4"],
}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ft-transformer", "tabm"])  # the kit reloads resnet too
def test_trains_saves_and_reloads_in_safe_mode(model, tmp_path):
    import keras

    config = zoo.RunConfig(model=model, data="diabetes", epochs=1, batch_size=64)
    result = zoo.run(config, REGISTRY, sets=CASES[model], save=False)
    assert len(result.history["loss"]) == 1 and np.isfinite(result.metrics["mse"])
    path = tmp_path / "model.keras"
    result.model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(0).normal(size=(7, 10)).astype("float32")
    x[0, 3] = np.nan  # a missing value goes through the preparation, then the embeddings
    before = keras.ops.convert_to_numpy(result.model(x, training=False))
    after = keras.ops.convert_to_numpy(loaded(x, training=False))
    np.testing.assert_allclose(before, after, atol=1e-5)
    assert np.isfinite(after).all()


def _edges(parts):
    checked = plan(zoo.RunConfig(model="tabm", data="diabetes"), REGISTRY)
    model, _ = build_model(checked, parts)
    fitting.fit_embeddings(model, parts)
    return keras_edges(model)


def keras_edges(model):
    layer = model.get_layer("tabm").get_layer("embedding")
    return np.asarray(layer.edges.numpy())


def test_piecewise_edges_are_fitted_on_the_training_rows_only():
    checked = plan(zoo.RunConfig(model="tabm", data="diabetes"), REGISTRY)
    parts = split_for_training(load_checked(checked), checked.config)
    edges = _edges(parts)
    # The quantiles of the standardized training column, pulled apart where they repeat.
    column = parts.x_train[:, 2].astype("float64")
    standard = (column - column.mean()) / column.std()
    expected = np.quantile(standard, np.linspace(0, 1, edges.shape[1]))
    assert np.allclose(edges[2], np.maximum.accumulate(expected), atol=2e-2)
    assert np.all(np.diff(edges, axis=1) > 0)  # every bin has a width
    moved = replace(parts, x_test=parts.x_test * 100 + 7, x_val=parts.x_val - 50)
    np.testing.assert_array_equal(_edges(moved), edges)
    doubled = replace(parts, x_train=np.concatenate([parts.x_train[:20]] * 5))
    assert not np.allclose(_edges(doubled), edges)


@pytest.mark.parametrize(
    ("model", "params", "words"),
    [
        ("tabm", {"num_embeddings": "bins"}, "num_embeddings='bins' is not one of none"),
        ("ft-transformer", {"num_embeddings": "none"}, "ft-transformer needs column tokens"),
        ("ft-transformer", {"dim": 10, "heads": 4}, "dim a multiple of heads"),
        ("resnet", {}, "take tabular rows (one dimension)"),
    ],
)
def test_bad_settings_are_one_clear_error(model, params, words):
    shape = (8, 8, 1) if model == "resnet" else (5,)
    spec = ModelSpec(shape, "regression", 1, "linear")
    with pytest.raises(InvalidParameterError) as raised:
        REGISTRY.get(model).factory(spec, **params)
    message = str(raised.value)
    assert words in message and "\n" not in message


JAX_RUNS = """
import json, sys
import keras, numpy as np
import zoo
cases = {cases!r}
found = {{}}
for model, sets in cases.items():
    config = zoo.RunConfig(model=model, data="diabetes", epochs=1, batch_size=64)
    result = zoo.run(config, sets=sets, save=False)
    result.model.save({path!r})
    loaded = keras.saving.load_model({path!r}, safe_mode=True)
    x = np.random.default_rng(0).normal(size=(5, 10)).astype("float32")
    same = np.allclose(np.asarray(result.model(x)), np.asarray(loaded(x)), atol=1e-5)
    found[model] = [len(result.history["loss"]), result.metrics["mse"], bool(same)]
print(json.dumps({{"backend": keras.backend.backend(), "found": found,
                  "tensorflow": "tensorflow" in sys.modules}}))
"""


@pytest.mark.slow
def test_every_tabular_network_trains_and_reloads_on_jax(tmp_path):
    pytest.importorskip("jax")
    # Small settings: JAX compiles each model's train and evaluation steps on the CPU.
    cases = {
        "resnet": ["width=8", "blocks=1"],
        "ft-transformer": ["dim=8", "heads=2", "blocks=1"],
        "tabm": ["width=16", "depth=1", "members=4"],
    }
    code = JAX_RUNS.format(cases=cases, path=str(tmp_path / "model.keras"))
    found = run_under_jax(code, tmp_path)
    assert found["backend"] == "jax" and not found["tensorflow"]
    for model in cases:
        epochs, mse, same = found["found"][model]
        assert epochs == 1 and np.isfinite(mse) and same, (model, found)


@pytest.mark.slow
def test_the_mlp_takes_the_same_embeddings_fitted_and_saved_the_same_way(tmp_path):
    import keras

    config = zoo.RunConfig(model="mlp", data="diabetes", epochs=1, batch_size=64)
    sets = ["num_embeddings=piecewise", "embedding_dim=4"]
    result = zoo.run(config, REGISTRY, sets=sets, save=False)
    from zoo.core.layers import piecewise_embeddings

    (layer,) = piecewise_embeddings(result.model)
    edges = np.asarray(layer.edges.numpy())
    assert np.all(np.diff(edges, axis=1) > 0)  # fitted on the training rows, not left at 0
    path = tmp_path / "mlp.keras"
    result.model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).normal(size=(4, 10)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(result.model(x)),
        keras.ops.convert_to_numpy(loaded(x)),
        atol=1e-5,
    )


def test_the_plugin_s_embedding_choices_are_the_layer_s():
    from zoo.plugins.tabular_nets import EMBEDDING_CHOICES

    from zoo.core.layers import EMBEDDING_CHOICES as LAYER_CHOICES

    assert EMBEDDING_CHOICES == LAYER_CHOICES


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"num_embeddings": "bins"}, "num_embeddings='bins' is not one of none"),
        ({"num_embeddings": "periodic"}, "embeds the columns of tabular rows"),
    ],
)
def test_the_mlp_refuses_embeddings_it_cannot_make_in_one_line(params, words):
    spec = ModelSpec((8, 8, 1), "multiclass", 10, "softmax")
    with pytest.raises(InvalidParameterError) as raised:
        REGISTRY.get("mlp").factory(spec, **params)
    assert words in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("model", ["mlp", "resnet", "ft-transformer", "tabm"])
def test_frequency_scale_sets_the_spread_of_the_periodic_frequencies(model):
    spec = ModelSpec((10,), "regression", 1, "linear")
    built = REGISTRY.get(model).factory(
        spec, num_embeddings="periodic", frequency_scale=3.0, **dict(SMALL[model])
    )
    (layer,) = [layer for layer in _layers(built) if layer.name == "embedding"]
    frequencies = np.asarray(layer.coefficients.numpy())
    assert layer.sigma == 3.0 and layer.get_config()["sigma"] == 3.0
    # 10 columns x 24 frequencies drawn from N(0, 3): their spread is near 3, far from 0.1.
    assert 2.0 < frequencies.std() < 4.0


SMALL = {
    "mlp": {"hidden": (8,)},
    "resnet": {"width": 8, "blocks": 1},
    "ft-transformer": {"dim": 8, "heads": 2, "blocks": 1},
    "tabm": {"width": 8, "depth": 1, "members": 2},
}


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


@pytest.mark.parametrize("model", ["mlp", "resnet", "ft-transformer", "tabm"])
def test_a_frequency_scale_that_is_not_positive_is_refused_while_planning(model):
    config = zoo.RunConfig(model=model, data="diabetes")
    with pytest.raises(InvalidParameterError) as error:
        zoo.plan(config, REGISTRY, ["frequency_scale=0"])
    assert "frequency_scale: expected a value in (0, inf)" in str(error.value)
