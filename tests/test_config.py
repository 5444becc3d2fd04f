"""Experiment files, flag precedence and --set overrides: checked without training."""

from __future__ import annotations

import json

import pytest

import zoo
from zoo import InvalidParameterError, Registry, hookimpl


def dry_run(zoo_cli, *args):
    code, out, err = zoo_cli("run", "--dry-run", *args)
    assert code == 0, err
    return json.loads(out)


def test_dry_run_prints_every_default_explicitly(zoo_cli):
    config = dry_run(zoo_cli, "-m", "mlp", "-d", "housing")
    assert config["model"] == "zoo.mlp:mlp" and config["preset"] == "zoo.presets:adam-mse"
    assert config["model_params"]["hidden"] == [32, 16]
    assert config["model_params"]["activation"] == "relu"
    assert config["epochs"] == 100 and config["test_size"] == 0.2 and config["split_seed"] == 42


def test_dry_run_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\nfrom zoo.cli.main import main\n"
        "main(['run', '--dry-run', '-m', 'mlp', '-d', 'housing'])\n"
        "print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_config_file_then_flags_then_set(zoo_cli, tmp_path):
    path = tmp_path / "experiment.toml"
    path.write_text(
        'model = "mlp"\ndata = "housing"\nepochs = 7\nseed = 3\n'
        '[model_params]\nhidden = [4]\nactivation = "tanh"\n'
    )
    config = dry_run(zoo_cli, "-c", str(path))
    assert (config["epochs"], config["seed"]) == (7, 3)
    assert (config["model_params"]["hidden"], config["model_params"]["activation"]) == ([4], "tanh")
    config = dry_run(zoo_cli, "-c", str(path), "--epochs", "2", "--set", "hidden=5,6")
    assert (config["epochs"], config["seed"]) == (2, 3)
    assert (config["model_params"]["hidden"], config["model_params"]["activation"]) == (
        [5, 6],
        "tanh",
    )


def test_set_reaches_model_preset_and_run_fields(zoo_cli):
    config = dry_run(
        zoo_cli,
        "-m",
        "mlp",
        "-d",
        "housing",
        "--set",
        "model.hidden=64,64",
        "--set",
        "learning_rate=0.01",
        "--set",
        "epochs=3",
    )
    assert config["model_params"]["hidden"] == [64, 64]
    assert config["preset_params"]["learning_rate"] == 0.01
    assert config["epochs"] == 3


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("hiden=3", "no such hyperparameter. Did you mean: hidden?"),
        ("hidden=a,b", "expected tuple like 32,16"),
        ("learning_rate=fast", "expected float like 0.001"),
        ("epochs=many", "expected int"),
        ("model.units=3", "the model has no hyperparameter 'units'"),
        ("optimizer.lr=3", "'optimizer' is not one of model, data, preset"),
        ("hidden", "--set expects KEY=VALUE"),
    ],
)
def test_every_bad_override_is_one_line_listing_valid_keys(zoo_cli, setting, fragment):
    code, out, err = zoo_cli("run", "--dry-run", "-m", "mlp", "-d", "housing", "--set", setting)
    assert code == 1 and out == ""
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_key_lists_valid_keys_with_types_and_defaults(zoo_cli):
    _, _, err = zoo_cli("run", "--dry-run", "-m", "mlp", "-d", "housing", "--set", "x=1")
    assert "model.hidden: tuple = (32, 16)" in err
    assert "preset.learning_rate: float = 0.001" in err


def test_an_ambiguous_bare_key_asks_for_a_section():
    class Both:
        @hookimpl
        def register_models(self, register):
            def build(spec, learning_rate: float = 0.1):
                raise NotImplementedError

            register("lr-model", build, description="has learning_rate too")

    registry = Registry.discover(entry_points=False, extra=[("both", Both())])
    config = zoo.RunConfig(model="lr-model", data="housing")
    with pytest.raises(InvalidParameterError, match="model.learning_rate or preset.learning_rate"):
        zoo.plan(config, registry, sets=("learning_rate=0.5",))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('model = "mlp"\nepochs = \n', "is not valid TOML"),
        ('model = "mlp"\nepoch = 3\n', "unknown key 'epoch'. Did you mean: epochs?"),
        ('model = "mlp"\nepochs = "ten"\n', "epochs must be int (default 100); received 'ten'"),
        ('model = "mlp"\nmodel_params = 3\n', "model_params must be a table"),
        ('epochs = 0\nmodel = "mlp"\ndata = "housing"\n', "epochs must be a whole number"),
    ],
)
def test_bad_config_files(zoo_cli, tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = zoo_cli("run", "--dry-run", "-c", str(path), "-d", "housing")
    assert code == 1
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_missing_config_file_and_missing_model(zoo_cli, tmp_path):
    code, _, err = zoo_cli("run", "-c", str(tmp_path / "nope.toml"))
    assert code == 1 and "does not exist" in err
    code, _, err = zoo_cli("run", "-d", "housing")
    assert code == 2 and "Missing --model" in err
