"""The zoo command's listing, info, plugins and error paths (no training here)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from zoo.cli.main import cli


def test_list_shows_every_kind_as_tables(zoo_cli):
    code, out, err = zoo_cli("list")
    assert code == 0 and err == ""
    assert "DATASETS" in out and "MODELS" in out and "PRESETS" in out
    assert "housing" in out and "regression" in out and "mlp" in out and "adam-mse" in out


def test_list_one_kind_with_a_wildcard_as_json(zoo_cli):
    code, out, _ = zoo_cli("list", "models", "m*", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [e["name"] for e in listed] == ["mlp"]
    assert listed[0]["params"][0] == {
        "name": "hidden",
        "type": "tuple",
        "default": [32, 16],
        "help": "units of each hidden layer, input side first.",
        "range": "[1, inf)",
    }


def test_list_with_click_runner():
    result = CliRunner().invoke(cli, ["list", "datasets"])
    assert result.exit_code == 0
    assert "housing" in result.output and "tabular 13" in result.output


def test_info_shows_description_hyperparameters_and_plugin(zoo_cli):
    code, out, _ = zoo_cli("info", "mlp")
    assert code == 0
    assert "Multi-layer perceptron" in out
    assert "plugin: zoo.mlp" in out
    assert "hidden" in out and "(32, 16)" in out and "'relu'" in out


def test_info_of_a_dataset_shows_its_card(zoo_cli):
    code, out, _ = zoo_cli("info", "housing")
    assert code == 0
    assert "caveat:" in out and "rows: 506" in out and "source:" in out


def test_plugins_table_shows_status_and_contributions(zoo_cli):
    code, out, _ = zoo_cli("plugins")
    assert code == 0
    assert "zoo.presets" in out and "built-in" in out and "presets: adam-mse" in out


def test_plugins_json(zoo_cli):
    code, out, _ = zoo_cli("plugins", "--json")
    records = {r["name"]: r for r in json.loads(out)}
    assert records["zoo.housing"]["contributes"] == {"datasets": ["housing"]}


def test_third_party_plugin_shows_in_every_listing(zoo_cli, with_example_plugin):
    assert "tiny" in zoo_cli("list", "models")[1]
    assert "line" in zoo_cli("list", "datasets")[1]
    code, out, _ = zoo_cli("plugins")
    assert "example" in out and "1.2.0" in out and "entry point" in out


def test_broken_plugins_warn_once_each_and_listing_still_works(zoo_cli, with_broken_plugins):
    code, out, err = zoo_cli("list", "models")
    assert code == 0 and "linear" in out
    warnings = [line for line in err.splitlines() if line.startswith("zoo: warning:")]
    skipped = [w for w in warnings if "was skipped" in w]
    assert len(skipped) == 4
    assert any("'broken-import' was skipped" in w for w in warnings)
    # The shadowing plugin's 'mlp' is named up front, from both sides.
    shared = [w for w in warnings if "registers model 'mlp'" in w]
    assert len(shared) == 2 and all("ZOO_PREFER=mlp=" in w for w in shared)
    assert len(err.splitlines()) == 6


def test_broken_plugins_show_as_failed_in_zoo_plugins(zoo_cli, with_broken_plugins):
    code, out, err = zoo_cli("plugins")
    assert code == 0 and err == ""
    assert "failed: ModuleNotFoundError" in out


def one_line_error(zoo_cli, *args) -> tuple[int, str]:
    code, out, err = zoo_cli(*args)
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ("run", "--model", "mlpp", "--data", "housing"),
            "Unknown model 'mlpp'. Did you mean: mlp?",
        ),
        (("run", "--model", "mlp", "--data", "housin"), "Unknown data set 'housin'"),
        (
            ("run", "--model", "mlp", "--data", "housing", "--preset", "adam"),
            "Unknown preset 'adam'",
        ),
        (("info", "nothing-like-it"), "Run 'zoo list' to see what is installed"),
    ],
)
def test_unknown_names_are_one_line_errors(zoo_cli, args, fragment):
    code, err = one_line_error(zoo_cli, *args)
    assert code == 1
    assert fragment in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("run", "--model", "mlp", "--data", "housing", "--epochs", "0"), "0 is not in the range"),
        (
            ("run", "--model", "mlp", "--data", "housing", "--epochs", "-3"),
            "-3 is not in the range",
        ),
        (("run", "--model", "mlp", "--data", "housing", "--batch-size", "0"), "--batch-size"),
        (
            ("run", "--model", "mlp", "--data", "housing", "--epoch", "3"),
            "No such option '--epoch'. Did you mean '--epochs'?",
        ),
        (("run", "--data", "housing"), "Missing --model"),
        (("list", "widgets"), "'widgets' is not one of 'datasets', 'models', 'presets'"),
        (("lsit",), "No such command 'lsit'"),
    ],
)
def test_bad_options_are_one_line_usage_errors(zoo_cli, args, fragment):
    code, err = one_line_error(zoo_cli, *args)
    assert code == 2
    assert fragment in err


def test_ambiguous_name_is_a_one_line_error(zoo_cli, with_broken_plugins):
    code, out, err = zoo_cli("run", "--model", "mlp", "--data", "housing")
    assert code == 1
    error = [line for line in err.splitlines() if "error" in line]
    assert len(error) == 1 and "shadow:mlp" in error[0] and "zoo.mlp:mlp" in error[0]


def test_incompatible_preset_fails_before_training(zoo_cli):
    code, err = one_line_error(
        zoo_cli, "run", "--model", "mlp", "--data", "housing", "--preset", "adam-binary"
    )
    assert code == 1
    assert "Presets that fit: adam-mse" in err


def test_debug_shows_the_traceback(zoo_cli):
    with pytest.raises(Exception, match="Unknown model"):
        zoo_cli("--debug", "run", "--model", "nope", "--data", "housing")


def test_version(zoo_cli):
    code, out, _ = zoo_cli("--version")
    assert code == 0 and "keras-zoo" in out


def test_every_command_comes_from_the_one_commands_tuple():
    from pathlib import Path

    from zoo.cli import main
    from zoo.cli.main import COMMANDS

    assert sorted(cli.commands) == sorted(command.name for command in COMMANDS)
    source = Path(main.__file__).read_text()
    assert "__import__" not in source and "E402" not in source
