"""zoo tune without training: the search space, its checks, files and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import tomllib
from tune_plugin import registry_with_tinynet

from zoo import InvalidParameterError, Registry, RunConfig, hookimpl, plan
from zoo.app.tune.finish import toml_value
from zoo.app.tune.space import build_space
from zoo.cli.tune import parse_duration
from zoo.core.errors import RunFolderError

REGISTRY = Registry.discover(entry_points=False)


def space_for(model="mlp", data="regression", overrides=None, fixed=frozenset(), registry=None):
    registry = registry or REGISTRY
    checked = plan(RunConfig(model=model, data=data, patience=20), registry)
    return build_space(checked.config, checked.model, checked.preset, overrides or {}, fixed)


def by_key(space):
    return {d.key: d for d in space.dimensions}


def test_a_plugin_without_a_declared_space_is_searched_by_type_and_default():
    dims = by_key(space_for("tinynet", registry=registry_with_tinynet()))
    units, scale, bias = dims["model.units"], dims["model.scale"], dims["model.use_bias"]
    assert (units.low, units.high, units.log, units.is_int) == (2, 32, True, True)
    assert (scale.low, scale.high, scale.log) == (0.05, 5.0, True)
    assert bias.choices == (False, True)
    assert "model.activation" not in dims  # text: no range can be guessed, the default stays
    assert all(dims[k].source == "derived" for k in ("model.units", "model.scale"))
    # the preset's declared range and the run options' batch sizes come along
    assert (dims["preset.learning_rate"].low, dims["preset.learning_rate"].high) == (1e-4, 1e-2)
    assert dims["run.batch_size"].choices == (16, 32, 64, 128)


def test_batch_sizes_are_searched_around_the_run_s_own():
    checked = plan(
        RunConfig(model="tabm", data="regression", data_params={"rows": 12_500}), REGISTRY
    )
    space = build_space(checked.config, checked.model, checked.preset)
    assert by_key(space)["run.batch_size"].choices == (256, 512, 1024, 2048)
    assert by_key(space)["preset.weight_decay"].log  # the model's own preset, AdamW


def test_a_declared_space_is_used_as_declared():
    dims = by_key(space_for("mlp"))
    assert dims["model.hidden"].choices[:3] == ("32,16", "64,32", "128,64")
    assert dims["model.hidden"].typed("64,32") == (64, 32)
    assert (dims["model.dropout"].low, dims["model.dropout"].high) == (0.0, 0.5)
    assert dims["model.hidden"].source == "plugin zoo.mlp"


@pytest.mark.parametrize("model", ["mlp", "linear"])
def test_builtin_declared_spaces_are_valid_and_hold_the_defaults(model):
    space = space_for(model)
    assert space.dimensions
    assert set(space.defaults()) == {d.key for d in space.dimensions}


def test_every_builtin_preset_space_is_valid():
    for entry in REGISTRY.list("presets"):
        data = {"regression": "regression", "binary": "breast_cancer", "multiclass": "iris"}[
            entry.metadata["tasks"][0]
        ]
        checked = plan(RunConfig(model="mlp", data=data, preset=entry.name), REGISTRY)
        space = build_space(checked.config, checked.model, checked.preset)
        assert any(d.section == "preset" for d in space.dimensions), entry.name


def test_the_space_file_overrides_per_key_and_fixes_plain_values():
    overrides = {
        "hidden": {"choices": [[64, 64], "128,64"]},
        "learning_rate": {"low": 1e-3, "high": 1e-1, "log": True},
        "model": {"dropout": {"low": 0.1, "high": 0.2, "step": 0.05}},
        "batch_size": 64,
    }
    space = space_for("mlp", overrides=overrides)
    dims = by_key(space)
    assert dims["model.hidden"].choices == ("64,64", "128,64")
    assert dims["preset.learning_rate"].high == 0.1
    assert dims["model.dropout"].step == 0.05 and dims["model.dropout"].source == "space file"
    assert "run.batch_size" not in dims and space.fixed == {"run.batch_size": 64}
    assert "model.activation" in dims  # keys the file does not name keep the plugin's range


def test_keys_fixed_with_set_are_not_searched():
    dims = by_key(space_for("mlp", fixed=frozenset({"model.hidden", "run.batch_size"})))
    assert "model.hidden" not in dims and "run.batch_size" not in dims
    assert "model.dropout" in dims


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"hiden": {"choices": ["8"]}}, "unknown key 'hiden'. Did you mean: hidden?"),
        ({"activation": {"low": 0, "high": 1}}, "activation is a text parameter"),
        ({"dropout": {"low": 0.5, "high": 0.1}}, "low must not be above high"),
        ({"learning_rate": {"low": 0.0, "high": 0.1, "log": True}}, "log range needs low above 0"),
        ({"dropout": {"low": 0.1, "hihg": 0.2}}, "unknown field 'hihg'"),
        ({"hidden": {"choices": []}}, "choices must be a non-empty list"),
        ({"batch_size": {"low": 8.5, "high": 64}}, "batch_size is a whole number"),
        ({"batch_norm": {"choices": [1, "x"]}}, "is not a bool"),
        ({"model": {"nope": {"low": 1, "high": 2}}}, "unknown key model.nope"),
    ],
)
def test_a_bad_space_is_one_clear_error(overrides, fragment):
    with pytest.raises(InvalidParameterError, match="space file") as caught:
        space_for("mlp", overrides=overrides)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


class BadSpace:
    @hookimpl
    def register_models(self, register):
        from zoo.plugins.mlp import build_mlp

        register("badspace", build_mlp, description="d", search_space={"widht": {"low": 1}})


def test_a_plugin_declaring_an_unknown_key_is_named():
    registry = Registry.discover(entry_points=False, extra=[("bad-space", BadSpace())])
    with pytest.raises(InvalidParameterError, match="plugin 'bad-space'.*'widht'"):
        space_for("badspace", registry=registry)


@pytest.mark.filterwarnings("ignore")  # the skipped plugin is also a warning
def test_search_space_metadata_must_be_a_dict():
    class NotADict:
        @hookimpl
        def register_models(self, register):
            register("m", lambda spec: None, description="d", search_space=["lr"])

    registry = Registry.discover(builtins=False, entry_points=False, extra=[("n", NotADict())])
    assert "search_space must be a dict" in registry.plugins["n"].error


def test_best_toml_values_read_back():
    values = {"a": 1e-05, "b": [64, 32], "c": 'x"y', "d": True, "e": 0.1, "f": {"k": 2}}
    text = "\n".join(f"{k} = {toml_value(v)}" for k, v in values.items())
    assert tomllib.loads(text) == values


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


# -- the command's bad input: one line, non-zero exit, nothing trained --------------------------


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("space", "fragment"),
    [
        ('hiden = {choices = ["8"]}', "unknown key 'hiden'"),
        ("activation = {low = 0, high = 1}", "a range (low/high) needs a number"),
        ("dropout = {low = 0.5, high = 0.1}", "low must not be above high"),
    ],
)
def test_bad_space_file_on_the_command_line(zoo_cli, tmp_path, space, fragment):
    space_file = write(tmp_path / "space.toml", space)
    code, out, err = zoo_cli(
        "tune", "-m", "mlp", "-d", "regression", "--space", space_file,
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code != 0 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # checked before any folder or trial


def test_zero_trials(zoo_cli, tmp_path):
    code, _, err = zoo_cli(
        "tune", "-m", "mlp", "-d", "regression", "--trials", "0", "--runs-dir", str(tmp_path)
    )
    assert code != 0 and "--trials must be at least 1; received 0" in err
    assert len(err.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "url", ["notadb://nowhere", "sqlite:////no/such/folder/study.db", "postgresql+nodriver://x/y"]
)
def test_a_storage_that_cannot_be_opened(zoo_cli, tmp_path, url):
    args = ("tune", "-m", "mlp", "-d", "regression", "--runs-dir", str(tmp_path / "runs"))
    code, _, err = zoo_cli(*args, "--storage", url)
    assert code != 0 and f"Cannot open storage {url!r}" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_resume_of_another_model_or_data_sets_study(zoo_cli, tmp_path):
    folder = tmp_path / "tune-x"
    folder.mkdir()
    base = RunConfig(model="mlp", data="housing").to_dict()
    record = {"study_name": "tune-x", "base": base, "storage": "study.db"}
    (folder / "tune.json").write_text(json.dumps(record))
    code, _, err = zoo_cli("tune", "-m", "linear", "-d", "housing", "--resume", str(folder))
    assert code != 0 and "its study tunes mlp on housing, not linear on housing" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = zoo_cli("tune", "--data", "iris", "--resume", str(folder))
    assert code != 0 and "not mlp on iris" in err


def test_resume_of_a_folder_that_is_not_a_tune_folder(zoo_cli, tmp_path):
    code, _, err = zoo_cli("tune", "--resume", str(tmp_path))
    assert code != 0 and "is not a tune folder" in err


def test_without_optuna_the_command_says_how_to_install_it(zoo_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    code, _, err = zoo_cli("tune", "-m", "mlp", "-d", "housing")
    assert code != 0 and "pip install 'keras-zoo[tune]'" in err
    assert len(err.strip().splitlines()) == 1


def test_help_and_listing_do_not_import_optuna_or_a_framework():
    probe = "\n".join(
        [
            "import sys",
            "from zoo.cli.main import main",
            "for args in (['--help'], ['list'], ['tune', '--help']):",
            "    try:",
            "        main(args)",
            "    except SystemExit as done:",
            "        assert not done.code",
            "top = {m.split('.')[0] for m in sys.modules}",
            "print('HEAVY:' + ','.join(sorted(top & {'optuna', 'tensorflow', 'keras'})))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_importances_are_skipped_with_a_note_before_two_completed_trials(tmp_path):
    import optuna

    from zoo.app.tune.finish import IMPORTANCES_PNG, plot_importances

    study = optuna.create_study()
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    note = plot_importances(tmp_path, study)
    assert note == "parameter importances need at least 2 completed trials (have 1)"
    assert not (tmp_path / IMPORTANCES_PNG).exists()
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    assert plot_importances(tmp_path, study) is None
    assert (tmp_path / IMPORTANCES_PNG).is_file()


def test_a_derived_range_stays_inside_the_plugins_declared_range():
    from zoo.app.tune.space import within

    assert within({"low": 3, "high": 48, "log": True}, "[10, inf)") == {
        "low": 10,
        "high": 48,
        "log": True,
    }
    clamped = within({"low": 0.05, "high": 5.0, "log": True}, "[0, 1)")
    assert clamped["low"] == 0.05 and 0.999 < clamped["high"] < 1.0
    assert within({"low": 1, "high": 4}, "[10, 20]") is None  # nothing left: default kept
    assert within({"choices": [False, True]}, "[0, 1]") == {"choices": [False, True]}
    assert within({"low": 1, "high": 4}, None) == {"low": 1, "high": 4}


@pytest.mark.parametrize("value", ["0", "101", "two"])
def test_bad_folds_are_refused_before_any_trial(zoo_cli, tmp_path, value):
    runs = tmp_path / "runs"
    code, _, err = zoo_cli("tune", "-m", "mlp", "-d", "regression", "--folds", value,
                           "--runs-dir", str(runs))  # fmt: skip
    assert code != 0 and "--folds" in err and not runs.exists()


def test_resume_names_match_the_qualified_names_a_study_records(tmp_path):
    from zoo.app.tune.study import check_same_task

    source = tmp_path / "houses.csv"
    base = {"model": "zoo.mlp:mlp", "data": "zoo.csv_files:csv"}
    record = {"base": {**base, "data_params": {"path": str(source)}}}
    check_same_task(tmp_path, record, "mlp", str(source))  # the short name, the file
    check_same_task(tmp_path, record, "zoo.mlp:mlp", f"csv:{source}")
    with pytest.raises(RunFolderError, match="tunes mlp on houses.csv, not linear on"):
        check_same_task(tmp_path, record, "linear", str(source))
    with pytest.raises(RunFolderError, match="not mlp on other.csv"):
        check_same_task(tmp_path, record, "mlp", "other.csv")
