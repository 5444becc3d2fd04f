"""Your own CSV files: happy paths, every bad input through the CLI, generated files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import PLAN_ONLY
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zoo.plugins.csv_files import data as csvdata
from zoo.plugins.csv_files import layout as csvlayout

import zoo
from zoo.core import schema as data_schema
from zoo.core.dataset import split_dataset
from zoo.core.errors import DataError

REGISTRY = zoo.Registry.discover(entry_points=False)


def numeric_rows(n: int, start: int = 0) -> list[str]:
    """Rows ``a,b,y`` with a varying numeric target."""
    return [f"{i * 0.5:.2f},{(i * 7) % 11},{i * 1.5 + 0.25:.2f}" for i in range(start, start + n)]


def labelled_rows(n: int, seed: int = 0) -> list[str]:
    """Rows ``a,b,colour,label``: label is "yes" exactly when colour is red."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        colour = ("red", "green", "blue")[i % 3]
        label = "yes" if colour == "red" else "no"
        rows.append(f"{rng.normal():.3f},{rng.normal():.3f},{colour},{label}")
    return rows


def write(folder: Path, lines: list[str] | bytes, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_bytes(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode())
    return path


def run_cli(zoo_cli, path: Path, runs: Path, *extra: str, target: str | None = "y"):
    options = ["--target", target] if target else []
    return zoo_cli(
        "run", "-m", "linear", "-d", str(path), *options,
        "--epochs", "1", "--runs-dir", str(runs), "--quiet", *extra,
    )  # fmt: skip


# -- happy paths ----------------------------------------------------------------------------


def test_numeric_file_loads_in_file_order(tmp_path):
    path = write(tmp_path, ["a,b,y", *numeric_rows(10)])
    data = csvdata.load_csv(str(path), "y")
    assert data.task == "regression" and data.feature_names == ["a", "b"]
    assert data.x.shape == (10, 2) and data.x.dtype == np.float32
    np.testing.assert_allclose(data.y, [i * 1.5 + 0.25 for i in range(10)], rtol=1e-6)


def test_categorical_features_are_codes_with_the_mapping_in_the_schema(tmp_path):
    path = write(tmp_path, ["a,b,colour,label", *labelled_rows(9)])
    data = csvdata.load_csv(str(path), "label")
    assert data.task == "binary" and data.class_names == ["no", "yes"]
    colour = data.schema["features"][2]
    assert colour == {
        "name": "colour",
        "kind": "categorical",
        "categories": ["blue", "green", "red"],
    }
    # The model one-hot encodes the codes itself, by the categories seen in training.
    assert data.feature_names[2:] == ["colour"]
    assert data.schema["inputs"][2] == {"name": "colour", "kind": "categorical", "size": 3}
    np.testing.assert_array_equal(data.x[:3, 2], [2, 1, 0])
    np.testing.assert_array_equal(data.y[:3], [1, 0, 0])
    json.dumps(data.schema)


def test_a_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + "\n".join(["a,b,y", *numeric_rows(8)]).encode())
    assert csvdata.load_csv(str(path), "y").feature_names == ["a", "b"]


def test_blank_lines_crlf_and_quotes_are_read(tmp_path):
    text = 'a,b,colour,y\r\n1,2,"red, dark",0.5\r\n\r\n3,4,blue,1.5\r\n5,"6",blue,2.5\r\n'
    data = csvdata.load_csv(str(write(tmp_path, text.encode())), "y")
    assert data.schema["features"][2]["categories"] == ["blue", "red, dark"]
    np.testing.assert_array_equal(data.x[:, :2], [[1, 2], [3, 4], [5, 6]])


def test_numeric_class_labels_map_back_to_themselves(tmp_path):
    rows = [f"{i},{i % 3 * 2 + 3}" for i in range(12)]
    data = csvdata.load_csv(str(write(tmp_path, ["x,kind", *rows])), "kind")
    assert data.task == "multiclass" and data.schema["classes"] == [3, 5, 7]
    assert data_schema.class_labels([2, 0], data.schema) == [7, 3]
    outputs = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]])
    assert data_schema.decode_outputs(outputs, data.schema) == [5, 3]


@pytest.mark.parametrize(
    ("values", "forced", "task", "preset"),
    [
        ([0, 1, 2] * 4, None, "multiclass", "adam-multiclass"),
        ([0, 1, 2] * 4, "regression", "regression", "adam-mse"),
        (list(range(30)), None, "regression", "adam-mse"),  # > 20 whole numbers
        ([0.5, 1.5] * 6, None, "regression", "adam-mse"),  # two values, not whole
        ([4, 9] * 6, None, "binary", "adam-binary"),
    ],
)
def test_task_is_inferred_from_the_target_and_can_be_forced(tmp_path, values, forced, task, preset):
    path = write(tmp_path, ["x,y", *[f"{i},{v}" for i, v in enumerate(values)]])
    checked = zoo.plan(
        zoo.RunConfig(model="mlp", data=str(path), target="y", task=forced), REGISTRY
    )
    assert checked.data.metadata["task"] == task and checked.preset.name == preset
    assert checked.data.qualified_name == "zoo.csv_files:csv"
    assert checked.config.data_params["path"] == str(path)


def test_csv_prefix_reads_any_extension(tmp_path):
    path = write(tmp_path, ["a,b,y", *numeric_rows(6)], name="table.txt")
    checked = zoo.plan(zoo.RunConfig(model="mlp", data=f"csv:{path}", target="y"), REGISTRY)
    assert checked.config.data_params["path"] == str(path)


def test_a_sorted_large_file_is_sampled_across_its_length(tmp_path, monkeypatch):
    monkeypatch.setattr(csvlayout, "SNIFF_LINES", 50)
    rows = [f"{i},{'a' if i < 500 else 'b'}" for i in range(1000)]
    layout = csvdata.sniff(str(write(tmp_path, ["x,y", *rows])), "y")
    assert layout.task == "binary" and not layout.sampled_all


def test_prediction_inputs_are_encoded_by_the_schema(tmp_path):
    data = csvdata.load_csv(str(write(tmp_path, ["a,b,colour,label", *labelled_rows(9)])), "label")
    inputs = write(tmp_path, ["id,colour,b,a", "7,red,1,2", "8,blue,3,4"], name="new.csv")
    np.testing.assert_array_equal(
        csvdata.read_features(inputs, data.schema), [[2, 1, 2], [4, 3, 0]]
    )
    chunks = list(csvdata.read_feature_chunks(inputs, data.schema))
    assert len(chunks) == 1 and chunks[0].shape == (2, 3)


def test_prediction_accepts_empty_cells_and_unseen_categories_and_counts_them(tmp_path, capsys):
    data = csvdata.load_csv(str(write(tmp_path, ["a,b,colour,label", *labelled_rows(9)])), "label")
    lines = ["colour,b,a", "red,,2", "purple,1,NA", "pink,x,1"]
    x = csvdata.read_features(write(tmp_path, lines, name="new.csv"), data.schema)
    assert np.isnan(x[0, 1]) and np.isnan(x[1, 0]) and np.isnan(x[2, 1])
    np.testing.assert_array_equal(x[1:, 2], [-1, -1])  # the unknown bucket
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "3 rows" in err and "3 missing value(s)" in err
    assert "2 unseen categor(ies) ('colour': 2)" in err


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (["id,colour,b", "1,red,2"], "no column 'a', a feature of the model"),
        (["colour,b,a", "red,1,2", "red,1"], "new.csv, line 3: 2 fields, but the header has 3"),
        (["colour,b,a"], "no data rows"),
    ],
)
def test_bad_prediction_inputs_say_where(tmp_path, lines, fragment):
    data = csvdata.load_csv(str(write(tmp_path, ["a,b,colour,label", *labelled_rows(9)])), "label")
    with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        csvdata.read_features(write(tmp_path, lines, name="new.csv"), data.schema)


def test_decode_outputs_for_each_task():
    regression = {"task": "regression", "classes": []}
    assert data_schema.decode_outputs(np.array([[1.5], [2.0]]), regression) == [1.5, 2.0]
    binary = {"task": "binary", "classes": ["no", "yes"]}
    assert data_schema.decode_outputs(np.array([[0.2], [0.9]]), binary) == ["no", "yes"]


@pytest.mark.slow
def test_string_labels_round_trip_through_a_saved_run(tmp_path, zoo_cli):
    import keras

    path = write(tmp_path, ["a,b,colour,label", *labelled_rows(240)])
    fast = ("--epochs", "40", "--set", "learning_rate=0.05")
    code, _, err = run_cli(zoo_cli, path, tmp_path / "runs", *fast, target="label")
    assert code == 0, err
    (folder,) = (tmp_path / "runs").iterdir()
    schema = json.loads((folder / "data.json").read_text())["schema"]
    inputs = write(tmp_path, ["colour,b,a", "red,0,0", "blue,0,0", "green,1,-1"], name="new.csv")
    model = keras.models.load_model(folder / "model.keras")
    outputs = model.predict(csvdata.read_features(inputs, schema), verbose=0)
    assert data_schema.decode_outputs(outputs, schema) == ["yes", "no", "no"]


@pytest.mark.slow
def test_in_memory_scaling_is_fitted_on_the_training_part_only(tmp_path):
    path = write(tmp_path, ["a,b,y", *numeric_rows(60)])
    result = zoo.run(
        zoo.RunConfig(model="linear", data=str(path), target="y", epochs=1), save=False
    )
    parts = split_dataset(csvdata.load_csv(str(path), "y"))
    mean = np.asarray(result.model.get_layer("prepare").mean).ravel()
    np.testing.assert_allclose(mean, parts.x_train.mean(axis=0), rtol=1e-5)
    target = result.model.get_layer("target_scale")
    assert target.target_mean == pytest.approx(float(parts.y_train.mean()), rel=1e-5)


# -- every bad input: one line, non-zero exit, nothing written --------------------------------


def _good(n: int = 12) -> list[str]:
    return ["a,b,y", *numeric_rows(n)]


def _replace(lines: list[str], index: int, row: str) -> list[str]:
    return [*lines[:index], row, *lines[index + 1 :]]


BAD = {
    "missing file": (None, "y", ["no such file"]),
    "empty file": (b"", "y", ["is empty"]),
    "header only": (["a,b,y"], "y", ["has a header row but no data rows"]),
    "ragged row": (_replace(_good(), 5, "1,2"), "y", ["line 6: 2 fields, but the header has 3"]),
    "text in a numeric column": (
        _replace(_good(), 8, "1,abc,3"),
        "y",
        ["line 9, column 'b': 'abc' is not a number"],
    ),
    "missing target column": (
        ["a,b,price", *numeric_rows(12)],
        "pirce",
        ["has no column 'pirce'", "Did you mean: price?"],
    ),
    "no target given": (_good(), None, ["which column is the target?", "a, b, y"]),
    "ignoring a column the file lacks": (
        _good(),
        "y",
        ["no column 'bb' to leave out", "Did you mean: b?"],
    ),
    "constant target": (["a,y", *[f"{i},5" for i in range(10)]], "y", ["is 5 on every row"]),
    "single class": (["a,y", *[f"{i},yes" for i in range(10)]], "y", ["single class ('yes')"]),
    "fewer rows than the split needs": (["a,y", "1,2.5", "2,3.5"], "y", ["cannot split 2 rows"]),
    "semicolon delimiter": (
        ["a;b;y", *[r.replace(",", ";") for r in numeric_rows(5)]],
        "y",
        ["line 1: the header has no ',' but contains ';'"],
    ),
    "tab delimiter": (["a\tb\ty", "1\t2\t3"], "y", ["contains tab"]),
    "not utf-8": ("a,b,y\n1,2,3\ncaf\xe9,2,3\n".encode("latin-1"), "y", ["not UTF-8"]),
    "duplicate column names": (["a,a,y", *numeric_rows(5)], "y", ["'a' appears twice"]),
    "only the target column": (["y", "1", "2"], "y", ["only the target column"]),
    "binary forced on three classes": (
        ["a,y", *[f"{i},{i % 3}" for i in range(12)]],
        "y",
        ["--task binary needs exactly 2 classes"],
    ),
    "regression forced on text labels": (
        ["a,y", *[f"{i},{'ab'[i % 2]}" for i in range(12)]],
        "y",
        ["--task regression needs numbers"],
    ),
    "every column left out": (
        ["id,name,y", *[f"{i},n{i},{i * 0.5}" for i in range(60)]],
        "y",
        ["no column is left to learn from", "id: left out", "name: left out: unique per row"],
    ),
    "quoted field over a line break": (
        ["a,b,y", '1,"2', '3",4', *numeric_rows(4)],
        "y",
        ["runs over a line break"],
    ),
}
EXTRA_ARGS = {"ignoring a column the file lacks": ["--set", "data.ignore=bb"]}
FORCED_TASK = {
    "binary forced on three classes": "binary",
    "regression forced on text labels": "regression",
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_gives_one_line_and_writes_nothing(case, tmp_path, zoo_cli):
    content, target, fragments = BAD[case]
    path = tmp_path / "data.csv" if content is None else write(tmp_path, content)
    runs = tmp_path / "runs"
    extra = ["--task", FORCED_TASK[case]] if case in FORCED_TASK else []
    extra += EXTRA_ARGS.get(case, [])
    code, out, err = run_cli(zoo_cli, path, runs, *extra, target=target)
    errors = [line for line in err.splitlines() if not line.startswith("zoo: training")]
    assert code == 1 and out == ""
    assert len(errors) == 1 and errors[0].startswith("zoo: error: "), err
    assert str(path) in errors[0]
    for fragment in fragments:
        assert fragment in errors[0]
    assert not runs.exists() or not any(runs.iterdir())


# -- generated files ------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)
tables = st.integers(1, 4).flatmap(
    lambda width: st.lists(
        st.lists(finite, min_size=width + 1, max_size=width + 1), min_size=6, max_size=30
    )
)
GENERATED = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _write_table(folder: Path, table: list[list[float]]) -> Path:
    names = [f"c{i}" for i in range(len(table[0]) - 1)] + ["y"]
    return write(folder, [",".join(names), *[",".join(repr(v) for v in row) for row in table]])


@GENERATED
@given(table=tables)
def test_generated_numeric_files_load_exactly(table):
    # A constant target is rejected and a constant column left out (both tested elsewhere).
    assume(all(len({row[j] for row in table}) > 1 for j in range(len(table[0]))))
    with tempfile.TemporaryDirectory() as folder:
        path = _write_table(Path(folder), table)
        data = csvdata.load_csv(str(path), "y", task="regression")
    expected = np.asarray(table, dtype="float32")
    np.testing.assert_array_equal(data.x, expected[:, :-1])
    np.testing.assert_array_equal(data.y, expected[:, -1])


@GENERATED
@given(table=tables, data=st.data())
def test_text_anywhere_in_a_generated_file_is_found(table, data):
    assume(all(len({row[j] for row in table}) > 1 for j in range(len(table[0]))))
    row = data.draw(st.integers(0, len(table) - 1))
    column = data.draw(st.integers(0, len(table[0]) - 1))
    token = data.draw(st.text("xyzXYZ", min_size=1, max_size=5))
    with tempfile.TemporaryDirectory() as folder:
        path = _write_table(Path(folder), table)
        lines = path.read_text().splitlines()
        fields = lines[row + 1].split(",")
        fields[column] = token
        lines[row + 1] = ",".join(fields)
        path.write_text("\n".join(lines) + "\n")
        name = "y" if column == len(fields) - 1 else f"c{column}"
        with pytest.raises(DataError, match=f"line {row + 2}, column '{name}'"):
            csvdata.load_csv(str(path), "y", task="regression")


def test_a_csv_file_is_checked_against_the_model_before_tensorflow_loads(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, ["a,b,y", *numeric_rows(12)])
    args = ["run", "-m", "cnn", "-d", str(path), "-t", "y", "--runs-dir", str(tmp_path / "r")]
    done = subprocess.run(
        [sys.executable, "-c", PLAN_ONLY.format(args=args)], capture_output=True, text=True
    )
    assert "EXIT 1" in done.stdout and "HEAVY []" in done.stdout, done.stdout + done.stderr
    assert "data set 'csv' is tabular regression" in done.stderr


def test_a_layout_sniffed_by_a_relative_path_is_not_reused_for_another(tmp_path, monkeypatch):
    path = tmp_path / "rel.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i * 2}\n" for i in range(30)))
    monkeypatch.chdir(tmp_path)
    assert csvlayout.sniff("rel.csv", "y").path == "rel.csv"
    monkeypatch.chdir(tmp_path.parent)  # the same file by its absolute path, from elsewhere
    assert csvlayout.sniff(str(path), "y").path == str(path)
