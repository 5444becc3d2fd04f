"""What the architecture promises users: one plan that serializes and comes back, policy asked
of plugins (so disabling one breaks only what needs it), and a third-party plugin claiming its
own file extension."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zoo
from zoo.core.errors import IncompatibleError, UnknownNameError

REGISTRY = zoo.Registry.discover(entry_points=False)


def test_a_plan_resolves_names_once_and_round_trips_through_its_dict():
    config = zoo.RunConfig(model="mlp", data="housing", epochs=3)
    plan = zoo.plan(config, REGISTRY, sets=("hidden=8", "learning_rate=0.01"))
    values = plan.to_dict()
    assert values["model"] == "zoo.mlp:mlp" and values["preset"] == "zoo.presets:adam-mse"
    assert values["model_params"]["hidden"] == (8,)
    assert values["preset_params"] == {"learning_rate": 0.01}
    again = zoo.Plan.from_dict(json.loads(json.dumps(values)), REGISTRY)
    assert again.to_dict() == json.loads(json.dumps(values))
    assert again.settings == plan.settings and again.task == "regression"


def test_a_plan_is_immutable():
    plan = zoo.plan(zoo.RunConfig(model="mlp", data="housing"), REGISTRY)
    with pytest.raises(AttributeError):
        plan.task = "binary"  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.params("model")["hidden"] = (1,)  # type: ignore[index]


def test_the_default_preset_comes_from_a_plugin_hook():
    assert REGISTRY.default_preset("multiclass") == "adam-multiclass"
    plan = zoo.plan(zoo.RunConfig(model="mlp", data="iris"), REGISTRY)
    assert plan.preset.qualified_name == "zoo.presets:adam-multiclass"


@pytest.mark.parametrize(
    ("disabled", "works", "breaks", "message"),
    [
        (
            "zoo.csv_files",
            ("run", "--dry-run", "-m", "mlp", "-d", "housing"),
            ("run", "--dry-run", "-m", "mlp", "-d", "table.csv", "--target", "y"),
            "the CSV plugin reads PATH.csv",
        ),
        (
            "zoo.presets",
            ("run", "--dry-run", "-m", "mlp", "-d", "housing", "--preset", "example:sgd-fast"),
            ("run", "--dry-run", "-m", "mlp", "-d", "housing"),
            "No default preset for regression tasks",
        ),
    ],
)
def test_disabling_a_plugin_breaks_only_what_needs_it(
    disabled, works, breaks, message, zoo_cli, monkeypatch, with_example_plugin
):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", disabled)
    for command in (("list",), ("plugins",), ("info", "mlp"), works):
        code, _, err = zoo_cli(*command)
        assert code == 0, (command, err)
    code, _, err = zoo_cli(*breaks)
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1


def test_an_unclaimed_name_is_unknown_with_a_hint():
    with pytest.raises(UnknownNameError, match="Did you mean: housing"):
        zoo.plan(zoo.RunConfig(model="mlp", data="housin"), REGISTRY)


def test_predict_without_a_reader_says_which_plugin_is_missing(monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo.csv_files")
    registry = zoo.Registry.discover(entry_points=False)
    with pytest.raises(IncompatibleError, match="CSV plugin disabled"):
        registry.read_inputs("rows.csv", {})


def _npz(tmp_path, rows=60):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3)).astype("float32")
    path = tmp_path / "points.npz"
    np.savez(path, x=x, y=x @ np.array([1.0, -2.0, 0.5]))
    return path


def test_a_third_party_plugin_claims_its_own_file_extension(tmp_path, with_example_plugin):
    registry = zoo.Registry.discover()
    plan = zoo.plan(zoo.RunConfig(model="linear", data=str(_npz(tmp_path))), registry)
    assert plan.data.qualified_name == "example:npz"
    assert plan.data.metadata["shape"] == (3,) and plan.data.metadata["rows"] == 60
    assert plan.config.data_params == {"path": str(tmp_path / "points.npz")}


@pytest.mark.slow
def test_a_claimed_file_trains_end_to_end(tmp_path, zoo_cli, with_example_plugin):
    path = _npz(tmp_path)
    code, out, err = zoo_cli(
        "run", "-m", "linear", "-d", str(path), "--epochs", "2", "--json",
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert set(result["metrics"]) == {"mse", "rmse", "mae", "r2"}
    saved = json.loads((tmp_path / "runs").glob("*/config.json").__next__().read_text())
    assert saved["data"] == "example:npz" and saved["data_params"]["path"] == str(path)
