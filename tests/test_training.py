"""Real Keras training, end to end, on the bundled housing data (few epochs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from zoo.plugins.housing import load_housing

import zoo
from zoo.core.dataset import split_dataset

pytestmark = pytest.mark.slow


def test_split_keeps_the_tutorial_test_part_and_carves_validation_from_training():
    from sklearn.model_selection import train_test_split

    data = load_housing()
    parts = split_dataset(data)
    _, x_test, _, y_test = train_test_split(data.x, data.y, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(parts.x_test, x_test)
    assert (len(parts.x_train), len(parts.x_val), len(parts.x_test)) == (363, 41, 102)
    test_rows = {row.tobytes() for row in parts.x_test}
    assert not any(row.tobytes() in test_rows for row in parts.x_val)


def test_cli_run_prints_metrics_and_writes_a_run_folder(zoo_cli, tmp_path):
    code, out, err = zoo_cli(
        "run", "--model", "mlp", "--data", "housing", "--epochs", "3", "--runs-dir", str(tmp_path)
    )
    assert code == 0, err
    for label in ("MSE", "RMSE", "MAE", "R²"):
        assert label in out
    (folder,) = tmp_path.iterdir()
    assert folder.name.endswith("-mlp-housing")
    assert {p.name for p in folder.iterdir()} >= {
        "config.json",
        "metrics.json",
        "history.csv",
        "model.keras",
    }
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == "zoo.mlp:mlp" and config["model_params"]["hidden"] == [32, 16]
    assert config["preset"] == "zoo.presets:adam-mse" and config["epochs"] == 3
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,loss") and "val_loss" in history[0]
    assert len(history) == 4


def test_saved_model_predicts_from_raw_inputs(tmp_path):
    import keras

    result = zoo.run(zoo.RunConfig(model="mlp", data="housing", epochs=30, runs_dir=str(tmp_path)))
    reloaded = keras.models.load_model(result.folder / "model.keras")
    parts = split_dataset(load_housing())
    raw_predictions = reloaded.predict(parts.x_test, verbose=0).ravel()
    mse = float(np.mean((raw_predictions - parts.y_test) ** 2))
    assert mse == pytest.approx(result.metrics["mse"], rel=1e-4)
    # Standardization is what makes 30 epochs enough; unscaled inputs stay far worse.
    assert result.metrics["mse"] < 40
    assert set(result.metrics) == {"mse", "rmse", "mae", "r2"}
    assert result.metrics["rmse"] == pytest.approx(result.metrics["mse"] ** 0.5)


def test_hyperparameter_overrides_reach_the_model():
    result = zoo.run(
        zoo.RunConfig(model="mlp", data="housing", epochs=1, model_params={"hidden": (8,)}),
        save=False,
    )
    body = result.model.get_layer("mlp")
    assert [layer.units for layer in body.layers] == [8, 1]


def test_same_seed_same_metrics():
    config = dict(model="mlp", data="housing", epochs=3, seed=7)
    first = zoo.run(zoo.RunConfig(**config), save=False)
    second = zoo.run(zoo.RunConfig(**config), save=False)
    assert first.metrics == second.metrics


def test_third_party_plugin_trains_end_to_end(with_example_plugin):
    result = zoo.run(
        zoo.RunConfig(model="tiny", data="line", preset="sgd-fast", epochs=5, batch_size=16),
        save=False,
    )
    assert result.task == "regression" and np.isfinite(result.metrics["mse"])


def test_bad_epochs_from_python_is_a_clear_error():
    with pytest.raises(zoo.InvalidParameterError, match="epochs must be a whole number"):
        zoo.RunConfig(model="mlp", data="housing", epochs=0)
