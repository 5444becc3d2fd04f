"""Real tabular files: preparation inside the model, fitted on training rows; column roles;
missing values and unseen categories; every problem of a file reported at once."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import PLAN_ONLY
from zoo.plugins.csv_files import data as csvdata
from zoo.plugins.csv_files.encode import date_parts

import zoo
from zoo.core.errors import DataError


def write(folder: Path, lines: list[str], name: str = "data.csv") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_preparation_standardizes_as_normalization_does_and_ignores_constant_columns():
    import keras

    from zoo.core.schema import fit_scaling
    from zoo.train.fitting import input_preparation

    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, (50, 3)).astype("float32")
    x[:, 1] = 7.0  # constant in training
    schema = {"features": [{"name": n, "kind": "numeric"} for n in "abc"]}
    scaling = fit_scaling(x, np.zeros(50), schema, "binary")
    layer = input_preparation(scaling)
    reference = keras.layers.Normalization(mean=x.mean(0), variance=x.var(0))
    probe = np.array([[1.0, 7.0, 2.0], [3.0, 7.0e4, 9.0]], dtype="float32")
    out = keras.ops.convert_to_numpy(layer(probe))
    expected = keras.ops.convert_to_numpy(reference(probe))
    np.testing.assert_allclose(out[:, [0, 2]], expected[:, [0, 2]], rtol=1e-6)
    # A value the training rows never showed cannot move the output.
    np.testing.assert_array_equal(out[:, 1], [0.0, 0.0])


def test_preparation_fills_flags_and_one_hot_encodes_by_the_training_vocabulary():
    import keras

    from zoo.core.schema import fit_scaling
    from zoo.train.fitting import input_preparation

    x = np.array([[1.0, 0], [np.nan, 2], [3.0, 0], [5.0, 2]], dtype="float32")
    schema = {
        "inputs": [
            {"name": "n", "kind": "numeric"},
            {"name": "c", "kind": "categorical", "size": 3},
        ]
    }
    scaling = fit_scaling(x, np.zeros(4), schema, "binary")
    assert scaling.vocabularies == ((0, 2),)  # code 1 is listed, but only in other rows
    layer = input_preparation(scaling)
    probe = np.array([[np.nan, 2], [3.0, 1], [3.0, -1], [3.0, 57]], dtype="float32")
    out = keras.ops.convert_to_numpy(layer(probe))
    assert out.shape == (4, 1 + 1 + 2)  # scaled, missing flag, two training categories
    assert np.isfinite(out).all()
    assert out[0, 0] == pytest.approx(0.0, abs=1e-6)  # the median (3) is also the mean here
    np.testing.assert_array_equal(out[:, 1], [1, 0, 0, 0])
    np.testing.assert_array_equal(out[:, 2:], [[0, 1], [0, 0], [0, 0], [0, 0]])


def test_date_parts():
    values = np.array(["2024-03-01", "2023/12/31 18:30", "", "not a date"])
    parts = date_parts(values, ["year", "month", "weekday", "yearday", "hour"])
    np.testing.assert_array_equal(parts[0], [2024, 3, 4, 61, 0])  # a Friday
    np.testing.assert_array_equal(parts[1], [2023, 12, 6, 365, 18])
    assert np.isnan(parts[2:]).all()


ROLES_FILE = [
    "row_id,when,colour,size,comment,note,price",
    *[
        f"{100 + i},2020-{1 + i % 12:02d}-{1 + i % 27:02d},{'rgb'[i % 3]},{i % 17},"
        f"free text number {i * 7919 % 1000},same,{i % 17 * 2.5}"
        for i in range(60)
    ],
]


def test_each_column_gets_a_role_and_left_out_columns_say_why(tmp_path):
    data = csvdata.load_csv(str(write(tmp_path, ROLES_FILE)), "price")
    roles = {c["name"]: (c["role"], c["note"]) for c in data.schema["columns"]}
    assert roles["row_id"][0] == "id" and "left out" in roles["row_id"][1]
    assert roles["when"][0] == "date" and roles["colour"][0] == "categorical"
    assert roles["size"][0] == "numeric" and roles["price"][0] == "target"
    assert roles["note"][0] == "constant" and "'same' on every row" in roles["note"][1]
    assert roles["comment"][0] in ("id", "text") and "left out" in roles["comment"][1]
    assert data.feature_names == [
        "when.year",
        "when.month",
        "when.weekday",
        "when.yearday",
        "colour",
        "size",
    ]


def test_roles_can_be_forced_and_columns_ignored(tmp_path):
    path = str(write(tmp_path, ROLES_FILE))
    data = csvdata.load_csv(path, "price", ignore="when", roles="size:categorical,row_id:numeric")
    roles = {c["name"]: c["role"] for c in data.schema["columns"]}
    assert roles["when"] == "ignored" and roles["size"] == "categorical"
    assert data.feature_names == ["row_id", "colour", "size"]
    with pytest.raises(DataError) as caught:
        csvdata.load_csv(path, "price", ignore="sise", roles="colour:weird")
    message = str(caught.value)
    assert "2 problems" in message and "Did you mean: size?" in message
    assert "'colour:weird' is not COLUMN:ROLE" in message


def test_missing_values_are_kept_and_rows_without_a_target_left_out(tmp_path):
    lines = ["a,colour,y", *[f"{i},{'xy'[i % 2]},{i * 1.5}" for i in range(30)]]
    lines[3] = ",x,4.5"  # empty number
    lines[4] = "NA,,6"  # missing spelled NA, missing text
    lines[5] = "5,y,"  # no target
    data = csvdata.load_csv(str(write(tmp_path, lines)), "y")
    assert len(data.y) == 29
    assert np.isnan(data.x[2, 0]) and np.isnan(data.x[3, 0])
    assert "" in data.schema["features"][1]["categories"]  # missing text: a category
    notes = " ".join(data.schema["notes"])
    assert "1 row(s) without a target value left out" in notes
    assert "2 missing number(s)" in notes


def test_every_problem_of_a_file_is_reported_at_once_before_tensorflow_loads(tmp_path):
    lines = ["a,b,y", *[f"{i},{i * 2},{i * 0.5}" for i in range(40)]]
    lines[5] = "1,2"  # ragged
    lines[9] = "1,abc,3"  # text in a numeric column
    lines[20] = "1e39,2,3"  # beyond float32
    path = write(tmp_path, lines)
    args = ["run", "-m", "mlp", "-d", str(path), "-t", "y", "--runs-dir", str(tmp_path / "r")]
    done = subprocess.run(
        [sys.executable, "-c", PLAN_ONLY.format(args=args)], capture_output=True, text=True
    )
    assert "EXIT 1" in done.stdout and "HEAVY []" in done.stdout, done.stdout + done.stderr
    err = done.stderr
    assert len(err.strip().splitlines()) == 4  # the summary, then one line per problem
    assert "3 problems" in err
    assert "line 6: 2 fields, but the header has 3" in err
    assert "line 10, column 'b': 'abc' is not a number" in err
    assert "line 21, column 'a'" in err and "too large for float32" in err
    assert not (tmp_path / "r").exists()


def _split_rows(n: int, test_size: float = 0.2, seed: int = 42) -> np.ndarray:
    """The rows of the zoo's test part for a regression file (its documented split)."""
    return np.random.RandomState(seed).permutation(n)[: math.ceil(test_size * n)]


@pytest.mark.slow
def test_a_column_constant_in_training_cannot_make_predictions_explode(tmp_path, zoo_cli):
    n = 200
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, n)
    test_rows = set(_split_rows(n).tolist())
    # "year" changes only in test rows; "colour" has a category seen only in test rows.
    year = [2011 if i in test_rows else 2010 for i in range(n)]
    colour = ["new" if i in test_rows and i % 2 else "old" for i in range(n)]
    lines = ["a,year,colour,y"]
    lines += [f"{a[i]:.4f},{year[i]},{colour[i]},{3 * a[i] + 10:.4f}" for i in range(n)]
    path = write(tmp_path, lines)
    runs = tmp_path / "runs"
    args = ("run", "-m", "mlp", "-d", str(path), "-t", "y", "--runs-dir", str(runs))
    code, out, err = zoo_cli(*args, "--epochs", "60", "--json")
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    assert metrics["r2"] > 0.8, metrics
    # The saved model takes raw rows: empty cells and unseen categories are filled, counted.
    (folder,) = runs.iterdir()
    new = write(tmp_path, ["a,year,colour", "0.5,2030,purple", ",2010,old"], name="new.csv")
    code, out, err = zoo_cli("predict", str(folder), "--input", str(new))
    assert code == 0, err
    predictions = [float(v) for v in out.splitlines()[1:]]
    assert all(abs(p - 10) < 10 for p in predictions), predictions
    notes = [line for line in err.splitlines() if "new.csv" in line]
    assert len(notes) == 1 and "1 missing value(s)" in notes[0] and "1 unseen" in notes[0]


@pytest.mark.slow
def test_regression_targets_come_back_in_their_units(tmp_path):
    rows = [f"{i},{1000 + 50 * i}" for i in range(80)]
    path = write(tmp_path, ["a,price", *rows])
    result = zoo.run(
        zoo.RunConfig(
            model="linear",
            data=str(path),
            target="price",
            epochs=40,
            preset_params={"learning_rate": 0.05},
        ),
        save=False,
    )
    assert result.metrics["r2"] > 0.9, result.metrics
    assert result.model.get_layer("target_scale").target_mean > 1000


@pytest.mark.slow
def test_log1p_trains_on_log_counts_and_predicts_in_counts(tmp_path, zoo_cli):
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 300)
    counts = np.floor(np.exp(1.5 * a + 2) * rng.uniform(0.8, 1.2, 300))
    path = write(
        tmp_path, ["a,visits", *[f"{x:.4f},{c:.0f}" for x, c in zip(a, counts, strict=True)]]
    )
    runs = tmp_path / "runs"
    base = ("run", "-m", "mlp", "-d", str(path), "-t", "visits", "--runs-dir", str(runs))
    code, out, err = zoo_cli(*base, "--epochs", "60", "--set", "target_transform=log1p", "--json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["r2"] > 0.5
    (folder,) = runs.iterdir()
    config = json.loads((folder / "config.json").read_text())
    assert config["target_transform"] == "log1p"
    new = write(tmp_path, ["a", "0", "1.5"], name="new.csv")
    code, out, err = zoo_cli("predict", str(folder), "--input", str(new))
    assert code == 0, err
    low, high = (float(v) for v in out.splitlines()[1:])
    assert 3 < low < 15 and high > 30  # counts, not logs: exp(2) ~ 7, exp(4.25) ~ 70


def test_log1p_is_refused_where_it_cannot_apply(tmp_path, zoo_cli):
    lines = ["a,y", *[f"{i},{(i * 7) % 11 - 5}" for i in range(40)]]
    path = write(tmp_path, lines)
    base = ("run", "-m", "linear", "-d", str(path), "-t", "y", "--task", "regression", "--no-save")
    code, _, err = zoo_cli(*base, "--set", "target_transform=log1p")
    assert code == 1 and "needs targets above -1" in err and len(err.strip().splitlines()) == 1
    code, _, err = zoo_cli("run", "-m", "linear", "-d", "iris", "--set", "target_transform=log1p")
    assert code == 1 and "the data set is multiclass" in err
    code, _, err = zoo_cli("run", "-m", "linear", "-d", "iris", "--set", "target_transform=log")
    assert code == 1 and "Did you mean: log1p?" in err


def test_a_column_that_gives_the_target_away_is_flagged(tmp_path, zoo_cli):
    rows = [f"{i % 7},{i * 2.5},{i * 250},{'ab'[i % 2]},{'yn'[i % 2]}" for i in range(40)]
    path = str(write(tmp_path, ["a,price,cents,code,label", *rows]))
    data = csvdata.load_csv(path, "price", ignore="label,code")
    roles = {c["name"]: (c["role"], c["note"]) for c in data.schema["columns"]}
    assert roles["cents"][0] == "numeric" and "gives the target away" in roles["cents"][1]
    assert roles["a"] == ("numeric", "")
    labels = csvdata.load_csv(path, "label", ignore="price,cents")
    notes = {c["name"]: c["note"] for c in labels.schema["columns"]}
    assert "--ignore code" in notes["code"]
    code, _, err = zoo_cli("run", "-m", "linear", "-d", path, "-t", "price", "--dry-run")
    assert code == 0 and "gives the target away" in err.split("cents", 1)[1]


@pytest.mark.parametrize(
    ("name", "values", "role", "words"),
    [
        ("size", [str(i % 9) for i in range(40)], "numeric", ""),
        ("customer_id", [str(500 + i) for i in range(40)], "id", "row key counting up"),
        ("CustomerID", [str((i * 37) % 101) for i in range(40)], "id", "named like an ID"),
        ("serial", [str((i * 37) % 101) for i in range(40)], "numeric", ""),  # no ID name
        ("email", [f"u{i}@x.org" for i in range(40)], "id", "unique per row"),
        ("comment", [f"text {i % 120}" for i in range(200)], "text", "free text"),
        ("zip", [f"z{i % 70}" for i in range(400)], "categorical", "the 50 most common kept"),
        ("colour", ["red", "blue", ""] * 10, "categorical", ""),
        ("when", [f"2024-01-{1 + i % 28:02d} 10:00" for i in range(30)], "date", "hour"),
        ("flag", ["y"] * 30, "constant", "'y' on every row"),
        ("blank", [""] * 30, "constant", "empty on every row"),
    ],
)
def test_column_roles_from_a_sample(name, values, role, words):
    from zoo.plugins.csv_files.columns import decide

    found = decide(name, values, None, 50)
    assert found.role == role and words in found.note


def test_zoo_info_and_dry_run_show_the_roles_table_without_tensorflow(tmp_path):
    path = write(tmp_path, ROLES_FILE)
    script = PLAN_ONLY.format(args=["info", str(path), "--target", "price", "--ignore", "size"])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    lines = done.stdout.splitlines()
    assert "EXIT" not in done.stdout and lines[-1] == "HEAVY []", done.stdout + done.stderr
    table = {line.split()[0]: line.split()[1] for line in lines[2:-1]}
    assert table["row_id"] == "id" and table["when"] == "date" and table["size"] == "ignored"
    args = ["run", "-m", "mlp", "-d", str(path), "-t", "price", "--dry-run"]
    done = subprocess.run(
        [sys.executable, "-c", PLAN_ONLY.format(args=args)], capture_output=True, text=True
    )
    assert "EXIT" not in done.stdout and "HEAVY []" in done.stdout, done.stderr
    assert "row_id" in done.stderr and "left out: a row key counting up" in done.stderr
