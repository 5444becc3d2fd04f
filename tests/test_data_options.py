"""The data options of ``zoo run`` on ``zoo bench`` and ``zoo tune`` too: ``--target``,
``--task``, ``--ignore``, ``--patience`` and ``--folds`` (same names, help and checks), given in
a bench to each data set that takes them, kept through the plan, the bench and tune folders and
``--resume``; and the scikit-learn baselines on raw tabular inputs (NaN, category codes)."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from zoo import Registry, RunConfig
from zoo.app.bench import BenchSpec, read_grid_file
from zoo.app.bench.baselines import EXACT_BOOSTING_ROWS, fit_and_score, make_estimator
from zoo.app.bench.grid import expand
from zoo.app.tune.request import DEFAULT_PATIENCE
from zoo.core.config import MAX_FOLDS
from zoo.core.errors import InvalidParameterError
from zoo.core.parts import TEST, TRAIN, SplitSpec
from zoo.core.tasks import TASKS
from zoo.plugin import Dataset

COMMANDS = ("run", "bench", "tune")
DATA_OPTIONS = ("target", "task", "ignore")


@pytest.fixture(scope="module")
def registry():
    return Registry.discover()


@pytest.fixture
def prices(tmp_path) -> Path:
    """60 rows: an id, numbers ``a`` (some missing) and ``b``, a text column, target price."""
    rng = np.random.default_rng(0)
    lines = ["id,a,b,color,price"]
    for i in range(60):
        a, b, color = rng.normal(), rng.normal(), ("red", "green", "blue")[i % 3]
        price = 2 * a - b + (color == "red") + rng.normal(scale=0.1)
        lines.append(f"{i},{'' if i % 7 == 0 else f'{a:.4f}'},{b:.4f},{color},{price:.4f}")
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _command(name: str):
    from zoo.cli.main import cli

    return cli.commands[name]


def _param(command: str, name: str):
    return next(p for p in _command(command).params if p.name == name)


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if "error" in line]
    assert len(lines) == 1, err
    return lines[0]


# -- the options: the same on every command (no training) ---------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_the_data_options_with_run_config_defaults(command):
    defaults = {f.name: f.default for f in fields(RunConfig)}
    if command == "tune":  # trials stop early by default
        defaults["patience"] = DEFAULT_PATIENCE
    for name in (*DATA_OPTIONS, "patience", "folds"):
        assert _param(command, name).default == defaults.get(name), name
    assert list(_param(command, "task").type.choices) == list(TASKS)
    assert _param(command, "folds").type.max == MAX_FOLDS
    assert _param(command, "patience").type.min == _param("run", "patience").type.min
    for name in DATA_OPTIONS:  # bench adds how a grid shares them
        assert _param(command, name).help.startswith(_param("run", name).help)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--folds", "1000"], "1<=x<=100"),
        (["--patience", "-1"], "Invalid value for '--patience': -1 is not in the range"),
        (["--task", "nonsense"], "'nonsense' is not one of 'regression'"),
        (["--ignore", " , "], "expected column names separated by commas"),
    ],
)
def test_bad_values_are_one_line_usage_errors(command, args, fragment, zoo_cli, tmp_path):
    code, _, err = zoo_cli(
        command, "-m", "linear", "-d", "housing", *args, "--runs-dir", str(tmp_path)
    )
    assert code == 2
    assert fragment in _one_error_line(err)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ignore", "id"], "--ignore 'id': data set 'housing' has no columns to leave out"),
        (["--target", "price"], "--target 'price': data set 'housing' has no target column"),
    ],
)
def test_an_option_the_data_set_does_not_take_is_one_line(command, args, fragment, zoo_cli):
    code, _, err = zoo_cli(command, "-m", "linear", "-d", "housing", *args, "-q")
    assert code == 1
    assert fragment in _one_error_line(err)
    assert "such as your own CSV file (--data PATH.csv --" in err


def test_ignore_is_the_same_as_set_data_ignore(prices, zoo_cli):
    runs = []
    for args in (["--ignore", " b, color"], ["--set", "data.ignore=b,color"]):
        code, out, err = zoo_cli(
            "run", "-m", "linear", "-d", str(prices), "-t", "price", *args, "--dry-run"
        )
        assert code == 0, err
        runs.append(json.loads(out))
    assert runs[0] == runs[1]
    assert runs[0]["data_params"]["ignore"] == "b,color"


def test_ignore_given_twice_differently_is_refused(prices, zoo_cli, tmp_path):
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(
        f'model = "linear"\ndata = "{prices}"\ntarget = "price"\n[data_params]\nignore = "b"\n'
    )
    code, _, err = zoo_cli("run", "-c", str(experiment), "--ignore", "color", "--dry-run")
    assert code == 1
    assert "ignore is given twice with different values" in _one_error_line(err)


# -- a bench grid: each data set gets the options it takes (no training) --------------------


def _by_data(grid) -> dict[str, dict]:
    return {c.data: c.config for c in grid.combinations if c.kind == "zoo"}


def test_a_grid_gives_the_data_options_to_the_data_sets_that_take_them(prices, registry):
    base = {"target": "price", "task": "regression", "patience": 3, "folds": 2}
    spec = BenchSpec(models=["linear"], data=["housing", str(prices)], base=base, ignore="b")
    configs = _by_data(expand(spec, registry))
    housing, csv = configs["housing"], configs[str(prices)]
    assert housing["target"] is None and housing["task"] is None and housing["data_params"] == {}
    assert csv["data_params"]["target"] == "price" and csv["data_params"]["ignore"] == "b"
    assert csv["data_params"]["task"] == "regression"
    assert {(c["patience"], c["folds"]) for c in configs.values()} == {(3, 2)}


def test_set_target_in_a_bench_works_as_target_does(prices, registry):
    data = ["housing", str(prices)]
    by_flag = _by_data(expand(BenchSpec(["linear"], data, base={"target": "price"}), registry))
    by_set = _by_data(expand(BenchSpec(["linear"], data, sets=["target=price"]), registry))
    sets = ["data.target=price", "data.ignore=b"]
    by_data_set = _by_data(expand(BenchSpec(["linear"], data, sets=sets), registry))
    for configs in (by_flag, by_set, by_data_set):
        assert configs[str(prices)]["data_params"]["target"] == "price"
        assert configs["housing"]["data_params"] == {}
    by_ignore = _by_data(
        expand(BenchSpec(["linear"], data, base={"target": "price"}, ignore="b"), registry)
    )
    assert by_ignore[str(prices)]["data_params"] == by_data_set[str(prices)]["data_params"]


@pytest.mark.parametrize(
    "spec",
    [
        {"base": {"target": "price"}},
        {"base": {"task": "regression"}},
        {"ignore": "id"},
        {"sets": ["target=price"]},
    ],
)
def test_a_data_option_no_data_set_of_the_grid_takes_is_an_error(spec, registry):
    with pytest.raises(InvalidParameterError, match="data sets 'housing', 'iris' have no"):
        expand(BenchSpec(models=["linear"], data=["housing", "iris"], **spec), registry)


def test_a_grid_file_takes_ignore(tmp_path, prices, zoo_cli):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        f'model = ["linear"]\ndata = ["housing", "{prices}"]\nignore = "b"\ntarget = "price"\n'
    )
    assert read_grid_file(grid)["ignore"] == "b"
    grid.write_text('model = ["linear"]\ndata = ["housing"]\nignore = ["b"]\n')
    with pytest.raises(InvalidParameterError, match="ignore must be a string of columns"):
        read_grid_file(grid)
    grid.write_text('model = ["linear"]\ndata = ["housing"]\nignore = "b"\n')
    code, _, err = zoo_cli("bench", "-c", str(grid), "-q", "--runs-dir", str(tmp_path / "runs"))
    assert code == 1 and "--ignore 'b': data set 'housing' has no columns" in err


# -- through training and --resume --------------------------------------------------------


def _configs(folder: Path) -> dict[str, dict]:
    found = {}
    for path in (folder / "runs").glob("*/config.json"):
        config = json.loads(path.read_text())
        found[config["data"]] = config
    return found


@pytest.mark.slow
def test_bench_trains_with_the_data_options_and_keeps_them_on_resume(prices, tmp_path, zoo_cli):
    options = "-m linear --target price --task regression --ignore id,b --patience 1 --folds 2"
    args = ["bench", "-d", str(prices), *options.split(), "--epochs", "1"]
    args += ["--runs-dir", str(tmp_path), "--json", "-q"]
    code, out, err = zoo_cli(*args)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["counts"]["ok"] == 3 and not summary["counts"]["failed"]  # with baselines
    folder = Path(summary["folder"])
    spec = json.loads((folder / "bench.json").read_text())["spec"]
    assert spec["ignore"] == "id,b"
    assert spec["base"] == {
        "target": "price",
        "task": "regression",
        "patience": 1,
        "folds": 2,
        "epochs": 1,
    }
    (config,) = _configs(folder).values()
    assert config["data_params"]["ignore"] == "id,b" and config["data_params"]["target"] == "price"
    assert (config["patience"], config["folds"]) == (1, 2)
    data = json.loads(next((folder / "runs").glob("*/data.json")).read_text())
    assert "a" in data["feature_names"] and not {"id", "b"} & set(data["feature_names"])

    code, _, err = zoo_cli("bench", "--resume", str(folder), "--ignore", "a")
    assert code == 2 and "(received --ignore)" in err
    for record in (folder / "results").glob("linear*.json"):
        record.unlink()  # the network's row is missing: resuming trains it again
    for run in (folder / "runs").iterdir():
        shutil.rmtree(run)
    code, out, err = zoo_cli("bench", "--resume", str(folder), "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["counts"]["ok"] == 3
    (again,) = _configs(folder).values()
    assert again["data_params"] == config["data_params"]
    assert (again["patience"], again["folds"]) == (1, 2)


@pytest.mark.slow
def test_tune_trains_with_the_data_options_and_keeps_them_on_resume(prices, tmp_path, zoo_cli):
    options = "-m linear --target price --task regression --ignore id,b --patience 2 --folds 2"
    args = ["tune", "-d", str(prices), *options.split(), "--trials", "1", "--epochs", "1"]
    args += ["--no-baselines", "--runs-dir", str(tmp_path), "--json", "-q"]
    code, out, err = zoo_cli(*args)
    assert code == 0, err
    folder = Path(json.loads(out)["folder"])
    base = json.loads((folder / "tune.json").read_text())["base"]
    assert base["data_params"]["ignore"] == "id,b" and base["data_params"]["task"] == "regression"
    assert (base["target"], base["patience"], base["folds"]) == ("price", 2, 2)
    assert 'ignore = "id,b"' in (folder / "best.toml").read_text()

    code, _, err = zoo_cli("tune", "--resume", str(folder), "--ignore", "a")
    assert code == 2 and "--ignore cannot change" in err
    code, out, err = zoo_cli("tune", "--resume", str(folder), "--trials", "1", "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["trials"]["complete"] == 2
    assert json.loads((folder / "tune.json").read_text())["base"] == base


# -- scikit-learn baselines on raw tabular inputs ------------------------------------------

SCHEMA_INPUTS = [
    {"name": "a", "kind": "numeric"},
    {"name": "color", "kind": "categorical", "size": 3},
]


def _raw_dataset(task: str, rows: int = 90) -> Dataset:
    """Numbers with NaN and category codes with -1 (unknown), as a CSV file's now are."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=rows)
    codes = (np.arange(rows) % 3).astype("float64")
    signal = 2 * a + np.array([0.0, 3.0, -3.0])[codes.astype(int)]
    a[::6] = np.nan
    codes[::10] = -1
    y = signal if task == "regression" else (signal > 0).astype("int64")
    classes = [] if task == "regression" else ["no", "yes"]
    data = Dataset(
        np.stack([a, codes], 1).astype("float32"),
        y,
        task,
        feature_names=["a", "color"],
        class_names=classes,
    )
    data.schema = {**data.schema, "inputs": SCHEMA_INPUTS}
    return data


@pytest.mark.parametrize("task", ["regression", "binary"])
@pytest.mark.parametrize("name", ["sklearn-linear", "sklearn-gboost"])
def test_baselines_fit_numbers_with_nan_and_category_codes(name, task):
    parts = _raw_dataset(task).split(SplitSpec(0.2, 0.1, 42))
    test_x, test_y = parts.arrays(TEST)
    test_x = test_x.copy()
    test_x[0, 1] = 7  # a code training never saw
    result = fit_and_score(name, parts.info, parts.arrays(TRAIN), (test_x, test_y), seed=0)
    key, least = ("r2", 0.4) if task == "regression" else ("accuracy", 0.6)
    assert result["metrics"][key] > least, result


def test_the_estimators_prepare_each_kind_of_column():
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    mask = [False, True]
    linear = make_estimator("sklearn-linear", "binary", 0, 100, mask, missing=True)
    parts = list(linear.get_params(deep=True).values())
    assert any(
        isinstance(p, SimpleImputer) and p.add_indicator and p.strategy == "median" for p in parts
    )
    assert any(isinstance(p, OneHotEncoder) and p.handle_unknown == "ignore" for p in parts)
    assert any(isinstance(p, StandardScaler) for p in parts)
    boosting = make_estimator("sklearn-gboost", "regression", 0, 100, mask)
    assert type(boosting).__name__ == "HistGradientBoostingRegressor"
    assert list(boosting.categorical_features) == mask
    for rows, missing in ((100, True), (EXACT_BOOSTING_ROWS + 1, False)):
        chosen = make_estimator("sklearn-gboost", "binary", 0, rows, [False], missing=missing)
        assert type(chosen).__name__ == "HistGradientBoostingClassifier"
    exact = make_estimator("sklearn-gboost", "binary", 0, 100, [False, False])
    assert type(exact).__name__ == "GradientBoostingClassifier"  # clean numbers, few rows


def test_codes_beyond_histogram_bins_are_taken_as_numbers():
    data = _raw_dataset("regression", rows=400)
    data.x[:, 1] = np.arange(400) % 300  # 300 categories: more than the 255 bins
    parts = data.split(SplitSpec(0.2, 0.1, 42))
    result = fit_and_score("sklearn-gboost", parts.info, parts.arrays(TRAIN), parts.arrays(TEST), 0)
    assert np.isfinite(result["metrics"]["mse"])
