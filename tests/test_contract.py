"""What plugins hand back is checked at the boundary, before training, naming the plugin.

zoo-contract-breakers registers well-formed entries whose results break their registration,
one class of mistake per entry point; ``zoo run`` must refuse each in one line that names
the plugin and says what was expected and received, before any run folder is written.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo import Registry, hookimpl
from zoo.catalog import contract
from zoo.catalog.entries import make_entry
from zoo.core.errors import PluginError
from zoo.plugin import Dataset

TINY = ("--set", "rows=40", "--set", "features=4")
DATA_CASES = {
    "six-features": "shape of one example (6,), but the registration declares (4,)",
    "ten-rows": "rows 10, but the registration declares 20",
    "says-regression": "task 'binary', but the registration declares 'regression'",
    "says-tabular": "input kind 'image', but the registration declares 'tabular'",
    "says-five-classes": "classes 3, but the registration declares 5",
    "a-tuple": "expected a zoo.plugin.Dataset, received tuple",
    # Dataset itself refuses these (zoo.core.dataset), and the contract names the plugin.
    "inf-features": "1 value(s) that are infinite",
    "huge-features": "float32",
    "text-features": "features: expected numbers, received dtype object holding 'n/a'",
    "minus-one-class": "class indices: expected whole numbers in [0, 3), received [-1, 1]",
    "text-target": "targets: expected numbers, received dtype <U5 holding 'cheap'",
    "crashing-loader": "its loader raised KeyError: 'no such key'",
}
MODEL_CASES = {
    "dict-model": "expected a keras.Model (or zoo.plugin.BuiltModel), received dict",
    "three-inputs": "the model's input: expected one that accepts a batch of shape (2, 4)",
    "five-outputs": "the model's output: expected shape (2, 1) (spec.output_units=1), received",
    "crashing-builder": "its builder raised AttributeError",
}
PRESET_CASES = {
    "plain-dict": "returned dict; expected zoo.plugin.CompileSettings",
    "adamm": "optimizer 'adamm', which Keras does not know",
    "msee": "loss 'mean_squared_eror', which Keras does not know",
    "maee": "metric 'maee', which Keras does not know",
    "sgd-typo": "optimizer: expected an optimizer Keras can build, received {'class_name': 'SGD'",
}


def refused(zoo_cli, tmp_path, *args: str) -> str:
    code, out, err = zoo_cli("run", *args, "--epochs", "1", "--quiet", "--runs-dir", str(tmp_path))
    lines = [line for line in err.splitlines() if not line.startswith("zoo: warning:")]
    assert code != 0 and len(lines) == 1, err
    assert "unexpected error" not in err and "Traceback" not in err
    assert not any(tmp_path.iterdir()), "nothing may be written before the checks pass"
    return lines[0]


@pytest.mark.parametrize(("name", "fragment"), DATA_CASES.items())
def test_a_loader_s_mistake_is_refused_naming_the_plugin(
    name, fragment, with_breakers, zoo_cli, tmp_path
):
    line = refused(zoo_cli, tmp_path, "--model", "linear", "--data", name)
    assert f"data set {name!r} of plugin " in line and fragment in line


@pytest.mark.parametrize(("name", "fragment"), MODEL_CASES.items())
def test_a_builder_s_mistake_is_refused_naming_the_plugin(
    name, fragment, with_breakers, zoo_cli, tmp_path
):
    line = refused(zoo_cli, tmp_path, "--model", name, "--data", "regression", *TINY)
    assert f"model {name!r} of plugin " in line and fragment in line


@pytest.mark.parametrize(("name", "fragment"), PRESET_CASES.items())
def test_a_preset_s_mistake_is_refused_naming_the_plugin(
    name, fragment, with_breakers, zoo_cli, tmp_path
):
    args = ("--model", "linear", "--data", "regression", "--preset", name, *TINY)
    line = refused(zoo_cli, tmp_path, *args)
    assert f"preset {name!r} of plugin " in line and fragment in line


@pytest.mark.parametrize("name", ["plain-dict", "adamm", "msee", "maee"])
def test_preset_names_are_refused_while_planning(name, with_breakers, zoo_cli):
    args = ("--model", "linear", "--data", "regression", "--preset", name, "--dry-run")
    code, _, err = zoo_cli("run", *args)
    assert code != 0 and f"preset {name!r} of plugin " in err


def test_the_breakers_leave_every_other_command_working(with_breakers, zoo_cli):
    code, out, err = zoo_cli("list")
    assert code == 0 and "six-features" in out and "dict-model" in out and err == ""
    assert zoo_cli("run", "--model", "mlp", "--data", "housing", "--dry-run")[0] == 0


def _entry(**metadata):
    def load(rows: int = 5):
        raise NotImplementedError

    base = {"description": "d", "task": "regression", "input_kind": "tabular", "shape": (2,)}
    return make_entry("datasets", "p", "probe", load, {**base, **metadata})


def test_shape_and_rows_are_compared_only_for_the_parameters_the_metadata_describes():
    entry = _entry(rows=5)
    data = Dataset(np.zeros((3, 2), "float32"), np.zeros(3), "regression")
    contract.check_data(entry, data, {"rows": 3})  # rows=3 asked: 5 describes the default
    with pytest.raises(PluginError, match="rows 3, but the registration declares 5"):
        contract.check_data(entry, data, {})
    with pytest.raises(PluginError, match="rows 3"):  # config.json spells defaults out
        contract.check_data(entry, data, {"rows": 5})


def test_binary_targets_must_be_zero_or_one():
    entry = _entry(task="binary")
    data = Dataset(np.zeros((4, 2), "float32"), np.array([0, 1, 2, 1]), "binary")
    with pytest.raises(PluginError, match=r"whole numbers in \[0, 2\), received \[0, 2\]"):
        contract.check_data(entry, data, {})


def test_every_built_in_data_set_passes_the_contract():
    registry = Registry.discover(entry_points=False, warn=False)
    for entry in registry.list("datasets"):
        if entry.metadata["task"] != "inferred":
            contract.check_data(entry, entry.factory(), {})


class CrashingInspect:
    @hookimpl
    def register_datasets(self, register):
        def load(path: str = ""):
            raise NotImplementedError

        def inspect(path: str = ""):
            return 1 / 0

        register(
            "crashy",
            load,
            description="d",
            task="inferred",
            input_kind="tabular",
            shape="inferred",
            inspect=inspect,
        )


def test_an_inspect_callable_that_crashes_is_named():
    registry = Registry.discover(entry_points=False, extra=[("crashy", CrashingInspect())])
    config = zoo.RunConfig(model="mlp", data="crashy")
    with pytest.raises(PluginError, match="plugin 'crashy': its inspect callable raised Zero"):
        zoo.plan(config, registry)
