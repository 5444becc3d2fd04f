"""Files larger than memory: the per-row split, the checking scan, the tf.data pipeline and a
streamed run, all on tiny generated files (streaming forced with data_params stream=True)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from zoo.plugins.csv_files import data as csvdata
from zoo.plugins.csv_files import layout as csvlayout
from zoo.plugins.csv_files.rows import TEST, TRAIN, VALIDATION, RowSplit, part_of_lines
from zoo.plugins.csv_files.scan import CsvStream, scan

import zoo
from zoo.core.errors import DataError
from zoo.core.schema import decode_outputs
from zoo.runs.files import file_sha256

SPLIT = RowSplit(test_size=0.2, validation_size=0.1, seed=42)


def write(folder: Path, lines: list[str], name: str = "big.csv") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def mixed_file(folder: Path, rows: int = 300) -> Path:
    """Numeric and categorical features, string labels, and a blank line."""
    lines = ["a,colour,b,label"]
    for i in range(rows):
        colour = ("red", "green", "blue")[i % 3]
        lines.append(f"{i % 17 * 0.5},{colour},{(i * 7) % 13},{'yes' if colour == 'red' else 'no'}")
    lines.insert(50, "")
    return write(folder, lines)


def numeric_label_file(folder: Path) -> Path:
    return write(folder, ["x,kind", *[f"{i * 0.1:.1f},{i % 3 * 2 + 3}" for i in range(200)]])


def regression_file(folder: Path, rows: int = 200) -> Path:
    return write(folder, ["x1,x2,y", *[f"{i},{i % 7},{i * 0.5 + 1}" for i in range(rows)]])


def test_split_is_per_row_deterministic_and_proportional():
    lines = np.arange(2, 100_002)
    parts = part_of_lines(lines, SPLIT)
    shares = np.bincount(parts, minlength=3) / len(lines)
    np.testing.assert_allclose(shares[[TRAIN, VALIDATION, TEST]], [0.72, 0.08, 0.2], atol=0.01)
    np.testing.assert_array_equal(parts, part_of_lines(lines, SPLIT))
    other = part_of_lines(lines, RowSplit(0.2, 0.1, seed=7))
    assert (other != parts).mean() > 0.2


def missing_file(folder: Path, rows: int = 300) -> Path:
    """Missing numbers spelled NA, left empty and written inf; an empty category."""
    lines = ["a,colour,b,y"]
    for i in range(rows):
        a = ("NA", "", "inf")[i % 3] if i % 10 == 0 else f"{i % 17 * 0.5}"
        colour = ("red", "", "blue")[i % 3]
        lines.append(f"{a},{colour},{'' if i % 7 == 0 else (i * 7) % 13},{i * 0.5}")
    return write(folder, lines)


@pytest.mark.parametrize("make", [mixed_file, numeric_label_file, regression_file, missing_file])
def test_tf_pipeline_yields_exactly_the_scanned_rows(tmp_path, make):
    from zoo.plugins.csv_files import pipeline as streaming

    path = make(tmp_path)
    target = {"mixed_file": "label", "numeric_label_file": "kind"}.get(make.__name__, "y")
    parts = scan(CsvStream(csvdata.sniff(str(path), target)), SPLIT)
    memory = csvdata.load_csv(str(path), target)  # same encoding, all rows, file order
    lines = np.concatenate([c.lines for c in csvdata.iter_chunks(parts.stream.layout)])
    which = part_of_lines(lines, SPLIT)
    # Only a column with a missing value spelled out is read as text first.
    assert parts.spelled_missing == ({"a"} if make is missing_file else set())
    for part in (TRAIN, VALIDATION, TEST):
        blocks = list(streaming.part_pipeline(parts, part).as_numpy_iterator())
        x = np.concatenate([b[0] for b in blocks])
        y = np.concatenate([b[1] for b in blocks])
        assert len(x) == parts.counts[part]
        np.testing.assert_allclose(x, memory.x[which == part], rtol=1e-6)
        np.testing.assert_allclose(y, memory.y[which == part], rtol=1e-6)


def test_scan_fits_scaling_on_training_rows_only(tmp_path):
    path = mixed_file(tmp_path)
    parts = scan(CsvStream(csvdata.sniff(str(path), "label")), SPLIT)
    memory = csvdata.load_csv(str(path), "label")
    lines = np.concatenate([c.lines for c in csvdata.iter_chunks(parts.stream.layout)])
    train = memory.x[part_of_lines(lines, SPLIT) == TRAIN]
    scaling = parts.scaling()
    numeric = [j for j, kind in enumerate(scaling.kinds) if kind == "numeric"]
    np.testing.assert_allclose(scaling.mean, train[:, numeric].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scaling.variance, train[:, numeric].var(axis=0), rtol=1e-4)
    in_memory = memory.split(zoo.plugin.SplitSpec()).scaling()  # the same statistics' kinds
    assert scaling.kinds == in_memory.kinds
    expected = {k: v for k, v in memory.schema.items() if k != "notes"}
    assert parts.schema == {**expected, "task": "binary"}


def test_files_over_the_threshold_stream_by_themselves(tmp_path, monkeypatch):
    path = regression_file(tmp_path)
    assert isinstance(csvdata.load_csv(str(path), "y"), zoo.Dataset)
    monkeypatch.setattr(csvdata, "STREAM_ABOVE_BYTES", 100)
    assert isinstance(csvdata.load_csv(str(path), "y"), CsvStream)
    assert isinstance(csvdata.load_csv(str(path), "y", stream=False), zoo.Dataset)


def test_a_task_that_changes_after_the_sample_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(csvlayout, "SNIFF_LINES", 20)
    monkeypatch.setattr(csvlayout, "PROBES", 0)
    path = write(tmp_path, ["x,y", *[f"{i},{min(i // 10, 2)}" for i in range(120)]])
    stream = CsvStream(csvdata.sniff(str(path), "y"))
    assert stream.layout.task == "binary"  # not quite: the sample has not seen a third class
    with pytest.raises(DataError, match="looked binary in a sample but is multiclass"):
        scan(stream, SPLIT)


def _lines_with(rows: int, bad: dict[int, str]) -> list[str]:
    """``x,y`` rows; ``bad`` maps a line number (header = 1) to its replacement."""
    lines = ["x,y", *[f"{i},{i * 0.5}" for i in range(rows)]]
    for number, text in bad.items():
        lines[number - 1] = text
    return lines


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({70_005: "3,oops"}, "line 70005, column 'y': 'oops' is not a number"),
        ({100: "nan,1", 70_003: "1,"}, "line 70003: no target value"),
        ({70_004: "1,2,3"}, "line 70004: 3 fields, but the header has 2"),
    ],
)
def test_a_bad_row_deep_in_a_streamed_file_stops_before_anything_is_written(
    tmp_path, zoo_cli, bad, fragment
):
    path = write(tmp_path, _lines_with(70_010, bad))
    runs = tmp_path / "runs"
    code, _, err = zoo_cli(
        "run", "-m", "linear", "-d", str(path), "-t", "y", "--set", "stream=true",
        "--epochs", "1", "--runs-dir", str(runs), "--quiet",
    )  # fmt: skip
    assert code == 1 and err.strip().splitlines()[-1].startswith("zoo: error: ")
    assert fragment in err and str(path) in err
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.slow
def test_a_streamed_run_trains_evaluates_and_saves(tmp_path):
    import keras

    path = mixed_file(tmp_path, rows=600)
    config = zoo.RunConfig(
        model="mlp",
        data=str(path),
        target="label",
        epochs=2,
        batch_size=16,
        data_params={"stream": True},
        runs_dir=str(tmp_path / "runs"),
    )
    result = zoo.run(config)
    assert result.task == "binary" and set(result.metrics) >= {"accuracy", "log_loss"}
    assert len(result.history["loss"]) == len(result.history["val_loss"]) == 2
    record = json.loads((result.folder / "data.json").read_text())
    assert record["schema"]["features"][1]["categories"] == ["blue", "green", "red"]
    parts = scan(CsvStream(csvdata.sniff(str(path), "label")), SPLIT)
    mean = np.asarray(result.model.get_layer("prepare").mean).ravel()
    np.testing.assert_allclose(mean, parts.scaling().mean, rtol=1e-5)
    model = keras.models.load_model(result.folder / "model.keras")
    raw = csvdata.read_features(path, record["schema"])
    labels = decode_outputs(model.predict(raw, verbose=0), record["schema"])
    assert len(labels) == 600 and set(labels) <= {"yes", "no"}


@pytest.mark.slow
def test_streamed_regression_scores_the_test_rows(tmp_path):
    path = regression_file(tmp_path, rows=400)
    result = zoo.run(
        zoo.RunConfig(model="linear", data=str(path), target="y", epochs=1,
                      data_params={"stream": True}),
        save=False,
    )  # fmt: skip
    assert set(result.metrics) == {"mse", "rmse", "mae", "r2"}
    assert np.isfinite(result.metrics["mse"])


@pytest.mark.slow
def test_same_seed_same_streamed_metrics(tmp_path):
    path = mixed_file(tmp_path, rows=400)
    config = dict(model="mlp", data=str(path), target="label", epochs=2, seed=3)
    runs = [
        zoo.run(zoo.RunConfig(**config, data_params={"stream": True}), save=False) for _ in range(2)
    ]
    assert runs[0].metrics == runs[1].metrics
    assert runs[0].history == runs[1].history


@pytest.mark.slow
def test_a_streamed_run_can_be_evaluated_predicted_and_resumed_safely(tmp_path, zoo_cli):
    path = mixed_file(tmp_path, rows=400)
    config = zoo.RunConfig(
        model="mlp",
        data=str(path),
        target="label",
        epochs=2,
        data_params={"stream": True},
        runs_dir=str(tmp_path / "runs"),
    )
    result = zoo.run(config)
    code, out, err = zoo_cli("evaluate", str(result.folder), "--json")
    assert code == 0, err
    scored = json.loads(out)
    assert scored["metrics"]["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert "test part" in scored["part"]
    code, out, err = zoo_cli("predict", str(result.folder), "--input", str(path))
    assert code == 0, err
    rows = out.splitlines()
    assert rows[0] in ("prediction,p_no,p_yes", "prediction,p_yes,p_no") and len(rows) == 401
    assert {r.split(",")[0] for r in rows[1:]} <= {"yes", "no"}
    env = json.loads((result.folder / "environment.json").read_text())
    assert env["data_fingerprint"] == file_sha256(path)  # a changed file blocks --resume
