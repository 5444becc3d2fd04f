"""Every registered model on every data set it can handle: built, trained one step, saved and
reloaded. Driven by the registry, so a new model or data set plugin is covered as it lands.

Where no built-in data set has a (task, input kind) that a model declares, a tiny in-process
probe data set stands in, so every declared combination is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest
from probe_data import PROBE_PLUGIN, ProbePlugin, declared_combos

import zoo

# Hyperparameters that keep a model tiny and offline in tests (no ImageNet weights).
TINY_PARAMS = {
    "transfer": {"weights": "none", "image_size": 32, "alpha": 0.35},
    "resnet": {"width": 16, "blocks": 1, "embedding_dim": 4},
    "ft-transformer": {"dim": 8, "blocks": 1, "heads": 2},
    "tabm": {"width": 16, "depth": 1, "members": 4, "embedding_dim": 4},
}
SIMPLE_TYPES = (int, float, str, bool, tuple)


def _registry_and_cases() -> tuple[zoo.Registry, list]:
    builtins = zoo.Registry.discover(entry_points=False)
    covered = {(d.metadata["task"], d.metadata["input_kind"]) for d in builtins.list("datasets")}
    declared = set().union(*(declared_combos(m) for m in builtins.list("models")))
    registry = zoo.Registry.discover(
        entry_points=False, extra=[(PROBE_PLUGIN, ProbePlugin(declared - covered))]
    )
    # One data set per (task, input kind): a model that trains on one regression table trains
    # on the next; the data sets themselves are checked in test_datasets.py.
    first_of: dict = {}
    for data in registry.list("datasets"):
        first_of.setdefault((data.metadata["task"], data.metadata["input_kind"]), data.name)
    cases = [
        pytest.param(model.name, first_of[combo], id=f"{model.name}-{first_of[combo]}")
        for model in registry.list("models")
        for combo in sorted(declared_combos(model))
        if combo in first_of and (model.name not in ONE_CASE or combo == ONE_CASE[model.name])
    ]
    return registry, cases


# Models whose cost is their backbone's graph (tens of seconds a case, the same for every
# task), not the task's head, which is the same code as every other model's: one case here;
# tests/test_transfer.py covers the rest of them.
# The tabular networks' heads are the shared output layer too (tabm, which averages its members'
# outputs, keeps a case per task).
ONE_CASE = {
    "transfer": ("multiclass", "image"),
    "resnet": ("regression", "tabular"),
    "ft-transformer": ("regression", "tabular"),
}


REGISTRY, CASES = _registry_and_cases()


def _tiny_params(model_name: str) -> dict:
    known = {p.name for p in REGISTRY.get(model_name, "models").params}
    return {k: v for k, v in TINY_PARAMS.get(model_name, {}).items() if k in known}


@pytest.mark.slow
@pytest.mark.parametrize(("model_name", "data_name"), CASES)
def test_model_trains_one_step_saves_and_reloads(model_name, data_name, tmp_path):
    import keras

    config = zoo.RunConfig(
        model=model_name,
        data=data_name,
        epochs=1,
        batch_size=4096,  # one gradient step per epoch on every data set here
        runs_dir=str(tmp_path),
        model_params=_tiny_params(model_name),
    )
    result = zoo.run(config, REGISTRY)
    data = REGISTRY.create("datasets", data_name)
    units = data.n_classes if data.task == "multiclass" else 1
    assert result.model.output_shape == (None, units)
    assert len(result.history["loss"]) == 1
    assert all(np.isfinite(v) for v in result.metrics.values()), result.metrics

    reloaded = keras.models.load_model(result.folder / "model.keras")
    raw = data.x[:16]
    np.testing.assert_allclose(
        reloaded.predict(raw, verbose=0), result.model.predict(raw, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_every_model_has_a_case():
    tested = {case.values[0] for case in CASES}
    assert tested == set(REGISTRY.names("models"))


@pytest.mark.parametrize("name", REGISTRY.names("models"))
def test_hyperparameters_have_defaults_help_and_simple_types(name):
    params = REGISTRY.get(name, "models").params
    for param in params:
        assert param.help, f"{name}.{param.name} has no line in the docstring's Args: section"
        assert isinstance(param.default, SIMPLE_TYPES), f"{name}.{param.name}={param.default!r}"


def test_image_only_model_on_tabular_data_fails_before_training(zoo_cli, tmp_path):
    code, out, err = zoo_cli(
        "run", "--model", "cnn", "--data", "housing", "--runs-dir", str(tmp_path)
    )
    assert code != 0 and out == ""
    assert "Model 'cnn' takes image data" in err and "'housing' is tabular regression" in err
    fitting = err.split("Models that fit: ")[1].rstrip(".\n").split(", ")
    assert {"linear", "mlp"} <= set(fitting) and "cnn" not in fitting
    assert not any(tmp_path.iterdir())


def test_mlp_options_reach_the_layers():
    import keras

    spec = zoo.ModelSpec((4,), "binary", 1, "sigmoid")
    model = REGISTRY.create(
        "models", "mlp", spec, hidden=(6,), dropout=0.5, batch_norm=True, l2=0.01
    )
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation", "Dropout", "Dense"]
    assert all(
        layer.kernel_regularizer is not None
        for layer in model.layers
        if hasattr(layer, "kernel_regularizer")
    )
    assert isinstance(model.layers[-1].kernel_regularizer, keras.regularizers.L2)


def test_cnn_keeps_tiny_images_from_pooling_away():
    spec = zoo.ModelSpec((3, 3), "multiclass", 4, "softmax", "image")
    model = REGISTRY.create("models", "cnn", spec, filters=(2, 2, 2))
    assert model.output_shape == (None, 4)
    pools = [layer for layer in model.layers if type(layer).__name__ == "MaxPooling2D"]
    assert len(pools) == 1  # 3x3 -> 1x1, then no more pooling


def test_cnn_refuses_a_non_image_shape():
    spec = zoo.ModelSpec((13,), "regression", 1, "linear", "tabular")
    with pytest.raises(zoo.IncompatibleError, match=r"received input_shape=\(13,\)"):
        REGISTRY.create("models", "cnn", spec)
