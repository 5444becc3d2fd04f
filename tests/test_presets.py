"""Presets: every registered one resolves through Keras and trains on each task it declares;
task-aware defaults; Keras config dicts; losses that do not suit the task fail before training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from zoo.plugins.presets import custom

import zoo
from zoo.core.spec import check_loss_fits, loss_name
from zoo.core.tasks import TASKS

REGISTRY = zoo.Registry.discover(entry_points=False)
CASES = [
    pytest.param(entry.name, task, id=f"{entry.name}-{task}")
    for entry in REGISTRY.list("presets")
    for task in entry.metadata["tasks"]
]
# What the Keras history calls the metrics each task gets by default.
HISTORY_KEYS = {
    "regression": {"loss", "mae", "root_mean_squared_error"},
    "binary": {"loss", "accuracy", "auc"},
    "multiclass": {"loss", "accuracy"},
}


def _tiny_fit(settings: zoo.CompileSettings, task: str) -> dict[str, list[float]]:
    """Compile a one-layer model with ``settings`` and train it one step on random data."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = {"regression": x.sum(axis=1), "binary": np.arange(32) % 2, "multiclass": np.arange(32) % 3}
    units, activation = zoo.core.spec.output_for_task(task, 3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, activation)])
    model.compile(**settings.resolve(task))
    return model.fit(x, y[task], epochs=1, batch_size=32, verbose=0).history


@pytest.mark.slow
@pytest.mark.parametrize(("name", "task"), CASES)
def test_every_preset_compiles_and_trains_on_its_tasks(name, task):
    settings = REGISTRY.create("presets", name)
    history = _tiny_fit(settings, task)
    assert np.isfinite(history["loss"][0])
    if settings.metrics is None:  # left to the task
        assert set(history) == HISTORY_KEYS[task]


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_default_preset_of_each_task_reports_the_task_metrics(task):
    settings = REGISTRY.create("presets", REGISTRY.default_preset(task))
    assert set(_tiny_fit(settings, task)) == HISTORY_KEYS[task]


def test_default_losses_follow_the_task():
    expected = {
        "regression": "mean_squared_error",
        "binary": "binary_crossentropy",
        "multiclass": "sparse_categorical_crossentropy",
    }
    for task in TASKS:
        preset = REGISTRY.create("presets", REGISTRY.default_preset(task))
        assert loss_name(preset.for_task(task).loss) == expected[task]
    # A preset that leaves the loss open gets the task's.
    assert zoo.CompileSettings("adam").for_task("binary").loss == "binary_crossentropy"


def test_keras_config_dicts_resolve_through_keras():
    import keras

    settings = zoo.CompileSettings(
        {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.5}},
        {"class_name": "Huber", "config": {"delta": 2.5}},
        ["mae"],
    )
    compiled = settings.resolve("regression")
    assert isinstance(compiled["optimizer"], keras.optimizers.SGD)
    assert compiled["optimizer"].momentum == 0.5
    assert float(compiled["optimizer"].learning_rate) == pytest.approx(0.05)
    # An error of 2 is inside delta=2.5 (quadratic: 2.0); the default delta=1 would give 1.5.
    assert float(compiled["loss"](np.zeros((1, 1)), np.full((1, 1), 2.0))) == pytest.approx(2.0)
    assert compiled["metrics"] == ["mae"]


def test_adamw_cosine_decays_the_learning_rate():
    import keras

    optimizer = REGISTRY.create("presets", "adamw-cosine", decay_steps=10).resolve("binary")[
        "optimizer"
    ]
    assert isinstance(optimizer, keras.optimizers.AdamW)
    schedule = optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(10)) == pytest.approx(0.0, abs=1e-9)


def test_custom_preset_takes_names_dicts_and_json_text():
    import keras

    from_json = custom(
        optimizer=json.dumps({"class_name": "RMSprop", "config": {"rho": 0.8}}),
        loss='{"class_name": "Huber", "config": {"delta": 3.0}}',
        learning_rate=0.02,
    ).resolve("regression")
    assert isinstance(from_json["optimizer"], keras.optimizers.RMSprop)
    assert from_json["optimizer"].rho == pytest.approx(0.8)
    assert float(from_json["optimizer"].learning_rate) == pytest.approx(0.02)
    assert float(from_json["loss"](np.zeros((1, 1)), np.full((1, 1), 2.0))) == pytest.approx(2.0)
    by_name = custom(optimizer="nadam", loss="mae").resolve("regression")
    assert isinstance(by_name["optimizer"], keras.optimizers.Nadam)
    with pytest.raises(zoo.InvalidParameterError, match="Keras config dict"):
        custom(optimizer="{not json")


@pytest.mark.parametrize(
    ("loss", "task"),
    [
        ("binary_crossentropy", "regression"),
        ({"class_name": "SparseCategoricalCrossentropy"}, "regression"),
        ("mse", "binary"),
        ("categorical_crossentropy", "multiclass"),  # needs one-hot targets; ours are indices
    ],
)
def test_a_loss_for_another_task_is_refused(loss, task):
    with pytest.raises(zoo.IncompatibleError, match="Losses that fit: "):
        check_loss_fits(loss, task, "somedata")


@pytest.mark.parametrize(
    ("loss", "task"),
    [
        ("huber", "regression"),
        ("MSE", "regression"),
        ("hinge", "binary"),
        ("my_own_loss", "binary"),
    ],
)
def test_a_fitting_or_unknown_loss_passes(loss, task):
    check_loss_fits(loss, task)  # no error: unknown (plugin) losses are left to Keras


def test_classification_preset_on_regression_data_fails_in_the_cli(zoo_cli, tmp_path):
    code, out, err = zoo_cli(
        "run", "--model", "mlp", "--data", "housing", "--preset", "adam-binary",
        "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code != 0 and out == ""
    assert "Preset 'adam-binary' is for binary tasks, but data set 'housing' is regression" in err
    assert "Presets that fit: " in err and "huber" in err and "adam-mse" in err
    assert not any(tmp_path.iterdir())


def test_classification_loss_on_regression_data_fails_in_the_cli(zoo_cli, tmp_path):
    code, out, err = zoo_cli(
        "run", "--model", "mlp", "--data", "housing", "--preset", "custom",
        "--set", "preset.loss=binary_crossentropy", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code != 0 and out == ""
    assert (
        "Loss 'binary_crossentropy' is for binary tasks, but data set 'housing' is regression"
        in err
    )
    assert "mean_squared_error" in err and "huber" in err
    assert not any(tmp_path.iterdir())


def test_plan_refuses_an_unfitting_loss_before_loading_anything():
    config = zoo.RunConfig(
        model="mlp", data="housing", preset="custom", preset_params={"loss": "hinge"}
    )
    with pytest.raises(zoo.IncompatibleError, match="Loss 'hinge'"):
        zoo.plan(config, REGISTRY)
