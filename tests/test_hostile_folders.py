"""Hostile folders and inputs, one class of failure at a time: a record that is a named pipe,
a device or a huge file; a damaged model or data.json that ``zoo runs`` must call broken as
``zoo evaluate`` refuses it; an output that is an input; a model safe mode cannot reload;
resumes that cannot work; data too small to split; and ``zoo runs`` filters, sorting and
pruning. Most refusals are checked in one fresh interpreter, which must not import TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import write_tiny_csv
from hypothesis import given, settings
from hypothesis import strategies as st

import zoo
from zoo.core.errors import DataError, PluginError, RunFolderError
from zoo.core.parts import MIN_PART_ROWS, SplitSpec, part_sizes, too_few_rows
from zoo.runs.files import HISTORY_LIMIT, RECORD_LIMIT
from zoo.runs.folder import RunFolder
from zoo.runs.listing import list_runs

RECORDS = (
    "status.json",
    "config.json",
    "metrics.json",
    "data.json",
    "model.sha256.json",
    "history.csv",
)
# The records zoo runs reads for a complete run (history.csv is read by resume only).
LISTED = RECORDS[:-1]


def copy_run(run: Path, home: Path, name: str | None = None) -> Path:
    copy = home / (name or run.name)
    shutil.copytree(run, copy)
    return copy


def patch_json(path: Path, **changes) -> None:
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record))


def make_hostile(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "named pipe":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")  # reads until memory runs out
    elif kind == "folder":
        path.mkdir()
    else:  # huge: sparse, so it costs no disk
        with open(path, "wb") as handle:
            handle.truncate(max(RECORD_LIMIT, HISTORY_LIMIT) + 1)


@pytest.fixture
def deadline():
    """Fail instead of hanging: a reader that blocks on a pipe would wait forever."""

    def expired(*_):
        raise TimeoutError("a reader blocked on a hostile file")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", ["named pipe", "device", "folder", "huge"])
@pytest.mark.parametrize("name", RECORDS)
def test_a_hostile_record_is_broken_for_every_reader(tiny_run, tmp_path, deadline, name, kind):
    copy = copy_run(tiny_run, tmp_path / "runs")
    make_hostile(copy / name, kind)
    (row,) = list_runs(tmp_path / "runs")
    if name in LISTED:
        assert row["status"] == "broken" and name in row["problem"], row
    folder = RunFolder(copy)
    status = json.loads((tiny_run / "status.json").read_text())
    readers = {
        "load": lambda: zoo.load_run(copy),
        "saved": lambda: folder.check_saved(),
        "history": folder.read_history,
        "resume": lambda: folder.resumable("0" * 64, status["epochs_done"]),
    }
    for reader in readers.values():
        try:
            reader()
        except RunFolderError as exc:
            assert "\n" not in str(exc)
            assert name in str(exc) or "status" in str(exc), (name, str(exc))


def test_a_hostile_bench_or_tune_record_is_broken(tmp_path, deadline):
    for kind, record in (("bench", "bench.json"), ("tune", "tune.json")):
        folder = tmp_path / f"{kind}-20250101-000000"
        folder.mkdir()
        os.mkfifo(folder / record)
    rows = list_runs(tmp_path)
    assert [(r["kind"], r["status"]) for r in rows] == [("bench", "broken"), ("tune", "broken")]
    assert all("named pipe" in r["problem"] for r in rows)


DAMAGES = {
    "model deleted": ("model.keras", lambda p: p.unlink()),
    "model truncated": ("model.keras", lambda p: p.write_bytes(p.read_bytes()[:100])),
    "checksum deleted": ("model.sha256.json", lambda p: p.unlink()),
    "checksum garbled": ("model.sha256.json", lambda p: p.write_text('{"model.keras": 3}')),
    "data.json deleted": ("data.json", lambda p: p.unlink()),
    "data.json garbled": ("data.json", lambda p: p.write_bytes(b"\xff\x00garbage")),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_runs_calls_broken_what_evaluate_refuses(tiny_run, tmp_path, zoo_cli, damage):
    name, change = DAMAGES[damage]
    copy = copy_run(tiny_run, tmp_path / "runs")
    change(copy / name)
    code, out, _ = zoo_cli("runs", "--runs-dir", str(tmp_path / "runs"), "--json")
    (row,) = json.loads(out)
    assert row["status"] == "broken" and name.split(".")[0] in row["problem"], row
    code, _, err = zoo_cli("evaluate", str(copy), "--no-save")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert name.split(".")[0] in err


@pytest.mark.parametrize("how", ["same path", "another spelling", "symlink", "hard link", "model"])
def test_predict_never_writes_over_what_it_reads(tiny_run, tmp_path, zoo_cli, how):
    run = copy_run(tiny_run, tmp_path)
    inputs = write_tiny_csv(tmp_path / "new.csv", rows=4)
    before = {p: p.read_bytes() for p in (inputs, run / "model.keras")}
    output = {
        "same path": inputs,
        "another spelling": tmp_path / ".." / tmp_path.name / "new.csv",
        "symlink": tmp_path / "link.csv",
        "hard link": tmp_path / "hard.csv",
        "model": run / "model.keras",
    }[how]
    if how == "symlink":
        output.symlink_to(inputs)
    elif how == "hard link":
        os.link(inputs, output)
    code, _, err = zoo_cli("predict", str(run), "-i", str(inputs), "-o", str(output))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "Cannot write" in err and "another --output" in err
    assert {p: p.read_bytes() for p in before} == before


# -- refusals before TensorFlow loads ---------------------------------------------------

PROBE = """
import contextlib, io, json, sys
from zoo.cli.main import main
answers = []
for args in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as done:
            code = done.code
    answers.append([code, err.getvalue()])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print(json.dumps({"answers": answers, "heavy": heavy[:3]}))
"""


def test_refusals_come_in_one_line_before_tensorflow_loads(tiny_run, tmp_path):
    finished = copy_run(tiny_run, tmp_path, "finished")
    ahead = copy_run(tiny_run, tmp_path, "ahead")
    patch_json(ahead / "status.json", status="interrupted", epochs_done=474)
    three = write_tiny_csv(tmp_path / "three.csv", rows=3)
    five = write_tiny_csv(tmp_path / "five.csv", rows=5)
    runs = ["--runs-dir", str(tmp_path / "new-runs")]
    cases = {
        "only an interrupted run": ["run", "--resume", str(finished)],
        "already trained 474 epochs": ["run", "--resume", str(ahead), "--epochs", "473"],
        "ImageNet weights file mobilenet_v2_weights": [
            "run",
            "-m",
            "transfer",
            "-d",
            "digits",
            "--offline",
        ],
        "cannot split 3 rows": ["run", "-m", "linear", "-d", str(three), "-t", "y"],
        "leaves 3 training and 1 test rows": ["run", "-m", "linear", "-d", str(five), "-t", "y"],
        "folds=2": ["run", "-m", "linear", "-d", str(five), "-t", "y", "--folds", "2"],
        "cannot split 4 rows": ["run", "-m", "linear", "-d", "regression", "--set", "rows=4"],
        "hidden=: expected tuple": ["run", "-m", "mlp", "-d", "housing", "--set", "hidden="],
        "it is the input file": ["predict", str(finished), "-i", str(five), "-o", str(five)],
    }
    args = [[*command, *runs] if "-m" in command else command for command in cases.values()]
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "empty-keras-home")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for expected, (code, err) in zip(cases, result["answers"], strict=True):
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 1 and len(lines) == 1 and expected in lines[0], (expected, err)
    assert result["heavy"] == []
    assert not (tmp_path / "new-runs").exists()
    assert five.read_text().startswith("a,b,c,y")


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    rows=st.integers(2, 40),
    test_size=st.floats(0.05, 0.9),
    validation_size=st.sampled_from([0.0, 0.1, 0.25, 0.5]),
    folds=st.sampled_from([1, 2, 3]),
)
def test_the_minimum_rows_hold_for_the_split_itself(rows, test_size, validation_size, folds):
    data = zoo.Dataset(np.arange(rows * 2.0).reshape(rows, 2), np.arange(rows * 1.0), "regression")
    spec = SplitSpec(test_size, validation_size, 0, folds)
    if too_few_rows(rows, spec) is not None:
        with pytest.raises(DataError, match=f"cannot split {rows} rows"):
            data.split(spec)
        return
    try:
        parts = data.split(spec)
    except DataError as exc:  # folds past the training rows: refused in their own words
        assert folds > 1 and "folds" in str(exc)
        return
    assert parts.rows("train") >= MIN_PART_ROWS and parts.rows("test") >= MIN_PART_ROWS
    assert (parts.rows("train"), parts.rows("test")) == (
        part_sizes(rows, spec)[0],
        part_sizes(rows, spec)[2],
    ) or folds > 1


def test_an_empty_list_is_outside_any_declared_range():
    from zoo.catalog.entries import check_ranges

    with pytest.raises(zoo.InvalidParameterError, match="at least one value"):
        check_ranges("model 'mlp'", {"hidden": "[1, inf)"}, {"hidden": ()})


# -- a model that safe mode cannot reload -----------------------------------------------


def _lambda_net(spec):
    import keras

    inputs = keras.Input(spec.input_shape)
    doubled = keras.layers.Lambda(lambda x: x * 2.0, name="doubler")(inputs)
    return keras.Model(inputs, keras.layers.Dense(spec.output_units)(doubled))


def _custom_net(spec):
    import keras

    class Unregistered(keras.layers.Layer):
        def call(self, x):
            return x + 1.0

    inputs = keras.Input(spec.input_shape)
    shifted = Unregistered(name="shift")(inputs)
    return keras.Model(inputs, keras.layers.Dense(spec.output_units)(shifted))


def _unreloadable_plugin() -> types.ModuleType:
    module = types.ModuleType("unreloadable_models")

    @zoo.hookimpl
    def register_models(register):
        register("lambda_net", _lambda_net, description="a Lambda layer")
        register("custom_net", _custom_net, description="an unregistered layer")

    module.register_models = register_models
    return module


@pytest.mark.parametrize(("model", "layer"), [("lambda_net", "doubler"), ("custom_net", "shift")])
def test_a_model_safe_mode_cannot_reload_is_refused_before_training(tmp_path, model, layer):
    registry = zoo.Registry.discover(
        entry_points=False, extra=[("hostile", _unreloadable_plugin())]
    )
    config = zoo.RunConfig(
        model=model,
        data="regression",
        data_params={"rows": 40},
        epochs=1,
        runs_dir=str(tmp_path / "runs"),
    )
    with pytest.raises(PluginError) as caught:
        zoo.run(config, registry)
    message = str(caught.value)
    assert f"layer {layer!r}" in message and "register_keras_serializable" in message
    assert "\n" not in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# -- resuming -------------------------------------------------------------------------------


@pytest.mark.slow  # trains one more epoch
def test_a_damaged_best_weights_file_is_said_when_resuming(tiny_run, tmp_path, zoo_cli):
    copy = copy_run(tiny_run, tmp_path)
    patch_json(copy / "status.json", status="interrupted", epochs_done=1)
    (copy / "best.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    code, _, err = zoo_cli("run", "--resume", str(copy), "--epochs", "2", "-q")
    assert code == 0, err
    warning = [line for line in err.splitlines() if "best.weights.h5" in line]
    assert len(warning) == 1 and warning[0].startswith("zoo: warning:") and "lost" in warning[0]
    assert json.loads((copy / "status.json").read_text())["status"] == "complete"


# -- zoo runs: filters, sorting, pruning --------------------------------------------------


@pytest.fixture
def runs_home(tiny_run, tmp_path) -> Path:
    """Three run folders (linear mse 5, mlp mse 2, a failed one), a bench and a tune folder."""
    runs = tmp_path / "runs"
    for name, model, mse, status in (
        ("20250101-000000-linear-tiny", None, 5.0, "complete"),
        ("20250102-000000-mlp-tiny", "zoo.mlp:mlp", 2.0, "complete"),
        ("20250103-000000-linear-tiny", None, None, "failed"),
    ):
        copy = copy_run(tiny_run, runs, name)
        if model:
            patch_json(copy / "config.json", model=model)
        metrics = json.loads((copy / "metrics.json").read_text())
        metrics["test"].update(mse=mse, r2=None if mse is None else 1 / mse)
        (copy / "metrics.json").write_text(json.dumps(metrics))
        patch_json(copy / "status.json", status=status, started=name[:15])
    bench = runs / "bench-20250104-000000"
    bench.mkdir()
    spec = {"models": ["linear", "mlp"], "datasets": ["housing"]}
    (bench / "bench.json").write_text(
        json.dumps({"spec": spec, "status": "complete", "created": "2025-01-04T00:00:00"})
    )
    tune = runs / "tune-20250105-000000-mlp-housing"
    tune.mkdir()
    base = {"model": "mlp", "data": "housing"}
    (tune / "tune.json").write_text(json.dumps({"base": base, "created": "2025-01-05T00:00:00"}))
    return runs


def listed(zoo_cli, runs: Path, *options: str) -> list[dict]:
    code, out, err = zoo_cli("runs", "--runs-dir", str(runs), "--json", *options)
    assert code == 0, err
    return json.loads(out)


def test_runs_lists_runs_benches_and_searches_and_filters_them(runs_home, zoo_cli):
    rows = listed(zoo_cli, runs_home)
    assert [r["kind"] for r in rows] == ["run", "run", "run", "bench", "tune"]
    assert [r["status"] for r in rows] == [
        "complete",
        "complete",
        "failed",
        "complete",
        "incomplete",
    ]
    mlp = listed(zoo_cli, runs_home, "--model", "mlp")
    assert [r["folder"][:8] for r in mlp] == ["20250102", "bench-20", "tune-202"]
    assert [r["kind"] for r in listed(zoo_cli, runs_home, "--data", "housing")] == ["bench", "tune"]
    (failed,) = listed(zoo_cli, runs_home, "--status", "failed")
    assert failed["folder"] == "20250103-000000-linear-tiny"
    assert [r["kind"] for r in listed(zoo_cli, runs_home, "--kind", "tune")] == ["tune"]
    code, out, err = zoo_cli("runs", "--runs-dir", str(runs_home), "--model", "cnn")
    assert code == 0 and not out and "match" in err


def test_runs_sorts_by_a_metric_best_first_or_by_a_column(runs_home, zoo_cli):
    by_mse = listed(zoo_cli, runs_home, "--sort", "mse", "--kind", "run")
    assert [r["metrics"].get("mse") for r in by_mse] == [2.0, 5.0, None]  # missing: last
    by_r2 = listed(zoo_cli, runs_home, "--sort", "r2", "--kind", "run")
    assert [r["metrics"].get("r2") for r in by_r2] == [0.5, 0.2, None]  # higher is better
    by_status = listed(zoo_cli, runs_home, "--sort", "status")
    assert [r["status"] for r in by_status][:3] == ["complete"] * 3
    code, _, err = zoo_cli("runs", "--runs-dir", str(runs_home), "--sort", "speed")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "'speed'" in err and "started" in err and "mse" in err


def test_prune_needs_a_filter_and_a_yes(runs_home, zoo_cli, monkeypatch):
    import io

    before = sorted(p.name for p in runs_home.iterdir())
    code, _, err = zoo_cli("runs", "--runs-dir", str(runs_home), "--prune")
    assert code == 2 and "--prune removes the folders a filter selects" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = zoo_cli("runs", "--runs-dir", str(runs_home), "--prune", "--status", "failed")
    assert code == 1 and "nothing removed" in err
    assert sorted(p.name for p in runs_home.iterdir()) == before
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, err = zoo_cli("runs", "--runs-dir", str(runs_home), "--prune", "--status", "failed")
    assert code == 0 and "removed" in out and "20250103-000000-linear-tiny" in out, err
    assert not (runs_home / "20250103-000000-linear-tiny").exists()
    code, out, _ = zoo_cli("runs", "--runs-dir", str(runs_home), "--prune", "--kind", "bench", "-y")
    assert code == 0 and "bench-20250104-000000" in out
    assert sorted(p.name for p in runs_home.iterdir()) == [
        "20250101-000000-linear-tiny",
        "20250102-000000-mlp-tiny",
        "tune-20250105-000000-mlp-housing",
    ]


def test_prune_keeps_a_run_that_is_still_running(runs_home, zoo_cli):
    from zoo.runs.records import own_identity

    folder = runs_home / "20250101-000000-linear-tiny"
    patch_json(folder / "status.json", status="running", **own_identity())
    code, out, err = zoo_cli(
        "runs", "--runs-dir", str(runs_home), "--prune", "--status", "running", "--yes"
    )
    assert code == 0 and folder.is_dir() and "kept" in err and "still running" in err
