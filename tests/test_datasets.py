"""Built-in data sets: each loads and matches what it declared, driven by the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from zoo.plugins.csv_files.data import read_features

import zoo
from zoo.catalog.entries import INFERRED

REGISTRY = zoo.Registry.discover(entry_points=False)
# Every built-in data set that can load without parameters (the csv one needs a file).
BUILTIN = [e for e in REGISTRY.list("datasets") if e.metadata["task"] != INFERRED]
IDS = [e.name for e in BUILTIN]


@pytest.fixture(scope="module")
def loaded() -> dict[str, zoo.Dataset]:
    return {e.name: REGISTRY.create("datasets", e.qualified_name) for e in BUILTIN}


def test_the_issue_s_data_sets_are_all_built_in():
    expected = {"housing", "iris", "wine", "breast_cancer", "diabetes", "digits"}
    assert expected | {"regression", "classification", "csv"} <= set(REGISTRY.names("datasets"))


# Each loads and matches its registration: the conformance kit checks that
# (tests/test_conformance.py); here only what built-ins promise beyond the contract.
@pytest.mark.parametrize("entry", BUILTIN, ids=IDS)
def test_targets_fit_the_task(entry, loaded):
    data = loaded[entry.name]
    assert data.x.dtype == np.float32
    if entry.metadata["classes"]:
        assert data.n_classes == len(data.class_names)
    if data.task == "regression":
        assert np.isfinite(data.y).all() and np.ptp(data.y) > 0
    else:
        assert set(np.unique(data.y).tolist()) == set(range(data.n_classes))
        assert data.n_classes == 2 if data.task == "binary" else data.n_classes > 2


@pytest.mark.parametrize("entry", BUILTIN, ids=IDS)
def test_card_says_where_the_data_comes_from(entry):
    meta = entry.to_dict()["metadata"]
    assert meta["source"] and meta["licence"] and meta["description"]
    json.dumps(meta)  # what `zoo info --json` prints


@pytest.mark.parametrize("entry", BUILTIN, ids=IDS)
def test_schema_is_json_and_describes_the_inputs(entry, loaded):
    data = loaded[entry.name]
    schema = json.loads(json.dumps(data.schema))
    assert schema["task"] == data.task and schema["input_shape"] == list(data.input_shape)
    assert [f["name"] for f in schema["features"]] == data.feature_names
    assert len(data.feature_names) == int(np.prod(data.input_shape))
    assert schema["classes"] == data.class_names


@pytest.mark.parametrize(
    "entry", [e for e in BUILTIN if e.metadata["inspect"]], ids=lambda e: e.name
)
def test_inspect_agrees_with_the_loader(entry):
    params = {"rows": 40, "features": 3}
    checked = zoo.plan(zoo.RunConfig(model="linear", data=entry.name, data_params=params), REGISTRY)
    data = REGISTRY.create("datasets", entry.name, **params)
    assert checked.data.metadata["task"] == data.task
    assert checked.data.metadata["shape"] == data.input_shape == (3,)
    assert checked.data.metadata["rows"] == len(data.x) == 40


def test_listing_shows_task_input_rows_and_classes(zoo_cli):
    code, out, _ = zoo_cli("list", "datasets")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert lines["digits"].split()[1:6] == ["multiclass", "image", "8x8x1", "1797", "10"]
    assert lines["breast_cancer"].split()[1:6] == ["binary", "tabular", "30", "569", "2"]
    # A CSV file's shape is known only once the file is read: the input column names the kind.
    assert lines["csv"].split()[1:4] == ["inferred", "tabular", "-"]


def test_info_shows_source_and_licence(zoo_cli):
    code, out, _ = zoo_cli("info", "wine")
    assert code == 0 and "source: UCI 'Wine'" in out and "licence: CC BY 4.0" in out


def test_synthetic_sizes_and_seed():
    first = REGISTRY.create("datasets", "classification", rows=30, features=4, classes=5, seed=3)
    again = REGISTRY.create("datasets", "classification", rows=30, features=4, classes=5, seed=3)
    other = REGISTRY.create("datasets", "classification", rows=30, features=4, classes=5, seed=4)
    assert first.x.shape == (30, 4) and first.n_classes == 5
    np.testing.assert_array_equal(first.x, again.x)
    assert not np.array_equal(first.x, other.x)
    assert np.bincount(first.y).tolist() == [6] * 5  # classes of equal size


def test_synthetic_noise_controls_the_regression_noise():
    clean = REGISTRY.create("datasets", "regression", rows=500, noise=0.0)
    noisy = REGISTRY.create("datasets", "regression", rows=500, noise=3.0)
    fit = lambda d: np.linalg.lstsq(d.x, d.y, rcond=None)[1][0] / len(d.y)  # noqa: E731
    assert fit(clean) < 1e-8 < 1.0 < fit(noisy)


def test_two_synthetic_classes_make_a_binary_task_with_its_preset():
    config = zoo.RunConfig(model="mlp", data="classification", data_params={"classes": 2})
    checked = zoo.plan(config, REGISTRY)
    assert checked.data.metadata["task"] == "binary"
    assert checked.preset.name == "adam-binary"


@pytest.mark.parametrize("bad", [{"rows": 1}, {"features": 0}, {"classes": 1}])
def test_synthetic_rejects_impossible_sizes_before_training(bad, zoo_cli, tmp_path):
    setting = [f"--set={key}={value}" for key, value in bad.items()]
    code, _, err = zoo_cli(
        "run", "-m", "linear", "-d", "classification", *setting, "--runs-dir", str(tmp_path)
    )
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert f"{next(iter(bad))} must be a whole number" in err
    assert not any(tmp_path.iterdir())


def test_target_and_task_options_are_for_csv_files():
    for option, error in (
        ({"target": "x"}, zoo.InvalidParameterError),
        ({"task": "binary"}, zoo.IncompatibleError),
    ):
        with pytest.raises(error, match="--data PATH.csv"):
            zoo.plan(zoo.RunConfig(model="mlp", data="iris", **option), REGISTRY)
    same = zoo.plan(zoo.RunConfig(model="mlp", data="iris", task="multiclass"), REGISTRY)
    assert same.data.name == "iris"


def test_a_plugin_declaring_an_inferred_task_needs_an_inspect_callable():
    class Plugin:
        @zoo.hookimpl
        def register_datasets(self, register):
            register(
                "vague",
                lambda: None,
                description="?",
                task=INFERRED,
                input_kind="tabular",
                shape=(2,),
            )

    registry = zoo.Registry.discover(builtins=False, entry_points=False, extra=[("p", Plugin())])
    assert "needs an inspect callable" in registry.plugins["p"].error


def test_inspect_must_return_a_concrete_task():
    class Plugin:
        @zoo.hookimpl
        def register_datasets(self, register):
            register(
                "vague",
                lambda: None,
                description="?",
                task=INFERRED,
                input_kind="tabular",
                shape=(2,),
                inspect=lambda: {"task": "clustering"},
            )

    registry = zoo.Registry.discover(entry_points=False, extra=[("p", Plugin())])
    with pytest.raises(zoo.PluginError, match="task='clustering'"):
        zoo.plan(zoo.RunConfig(model="mlp", data="vague"), registry)


def test_read_features_finds_a_built_in_data_set_s_columns_by_name(tmp_path, loaded):
    iris = loaded["iris"]
    order = [3, 1, 0, 2]  # another column order, and an extra column
    path = tmp_path / "flowers.csv"
    rows = [",".join(["id"] + [iris.feature_names[i] for i in order])]
    rows += [",".join([str(r)] + [repr(float(v)) for v in iris.x[r, order]]) for r in range(5)]
    path.write_text("\n".join(rows) + "\n")
    np.testing.assert_allclose(read_features(path, iris.schema), iris.x[:5])


def test_read_features_reshapes_images(tmp_path, loaded):
    digits = loaded["digits"]
    path = tmp_path / "digits.csv"
    flat = digits.x[:3].reshape(3, -1)
    lines = [",".join(digits.feature_names)] + [",".join(f"{v:g}" for v in row) for row in flat]
    path.write_text("\n".join(lines) + "\n")
    got = read_features(path, digits.schema)
    assert got.shape == (3, 8, 8, 1)
    np.testing.assert_array_equal(got, digits.x[:3])


@pytest.mark.slow
@pytest.mark.parametrize("entry", BUILTIN, ids=IDS)
def test_every_built_in_data_set_trains(entry):
    result = zoo.run(zoo.RunConfig(model="linear", data=entry.qualified_name, epochs=1), save=False)
    assert result.task == entry.metadata["task"]
    assert all(np.isfinite(v) for v in result.metrics.values())


@pytest.mark.slow
def test_images_are_scaled_to_unit_range_inside_the_model(loaded):
    result = zoo.run(zoo.RunConfig(model="linear", data="digits", epochs=1), save=False)
    layer = result.model.get_layer("scale_to_unit")
    assert float(layer.scale) == pytest.approx(1 / 16)
    assert float(loaded["digits"].x.max()) == 16.0
