"""Run folders damaged in every way a disk or a person can damage them.

Every file of a real run folder is removed, emptied, truncated, replaced by binary garbage or
by valid JSON of the wrong shape (whole, or one field at a time); ``zoo runs``, ``evaluate``,
``predict`` and ``run --resume`` must then either work or answer with one line naming the
file, a non-zero exit and no traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import write_tiny_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FILES = (
    "status.json",
    "config.json",
    "data.json",
    "metrics.json",
    "environment.json",
    "history.csv",
    "model.keras",
    "model.sha256.json",
    "curves.png",
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-1e3, 1e3) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=5,
)
DAMAGE = st.one_of(
    st.tuples(st.just("missing"), st.none()),
    st.tuples(st.just("empty"), st.none()),
    st.tuples(st.just("truncated"), st.floats(0.0, 0.95)),
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("json"), JSON_VALUES),
    st.tuples(st.just("field"), st.tuples(st.integers(0, 50), JSON_VALUES)),
)
HOSTILE = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def damage(path: Path, kind: str, detail) -> None:
    """Damage one file of a run folder in the way ``kind`` says."""
    if kind == "missing":
        path.unlink(missing_ok=True)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: min(int(len(data) * detail), max(len(data) - 1, 0))])
    elif kind == "garbage":
        path.write_bytes(b"\xff\xfe\x00" + detail)
    elif kind == "json":
        path.write_text(json.dumps(detail))
    else:  # one field of a JSON object replaced (the whole file for other files)
        index, value = detail
        try:
            record = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            record = None
        if isinstance(record, dict) and record:
            record[sorted(record)[index % len(record)]] = value
            path.write_text(json.dumps(record))
        else:
            path.write_text(json.dumps(value))


def assert_one_line_or_success(code: int, err: str, name: str, kind: str) -> None:
    assert "Traceback" not in err and "unexpected error" not in err, err
    if code == 0:
        return
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("zoo: error: "), err
    assert "training" not in err and "resuming" not in err  # nothing claimed to start
    if kind != "field":  # a field may be wrong only in the light of another file
        assert name.split(".")[0] in err, err


def damaged_copy(run: Path, home: Path, name: str, kind: str, detail) -> Path:
    copy = home / "runs" / run.name
    shutil.copytree(run, copy)
    damage(copy / name, kind, detail)
    return copy


@HOSTILE
@given(name=st.sampled_from(FILES), damage_=DAMAGE)
def test_runs_lists_every_run_and_a_damaged_one_as_broken(tiny_run, zoo_cli, name, damage_):
    kind, detail = damage_
    with tempfile.TemporaryDirectory() as home:
        copy = damaged_copy(tiny_run, Path(home), name, kind, detail)
        shutil.copytree(tiny_run, Path(home) / "runs" / "zz-intact")
        code, out, err = zoo_cli("runs", "--runs-dir", str(Path(home) / "runs"), "--json")
        assert code == 0 and "Traceback" not in err, err
        listed = {row["folder"]: row for row in json.loads(out)}
        assert listed["zz-intact"]["status"] == "complete"
        if copy.name in listed and listed[copy.name]["status"] == "broken":
            assert listed[copy.name]["problem"]
        if name in ("config.json", "metrics.json") and kind in ("empty", "garbage"):
            assert listed[copy.name]["status"] == "broken"
        code, out, err = zoo_cli("runs", "--runs-dir", str(Path(home) / "runs"))
        assert code == 0 and "zz-intact" in out


@HOSTILE
@given(name=st.sampled_from(FILES), damage_=DAMAGE)
def test_evaluate_answers_in_one_line(tiny_run, zoo_cli, name, damage_):
    kind, detail = damage_
    with tempfile.TemporaryDirectory() as home:
        copy = damaged_copy(tiny_run, Path(home), name, kind, detail)
        code, _, err = zoo_cli("evaluate", str(copy))
        assert_one_line_or_success(code, err, name, kind)


@HOSTILE
@given(name=st.sampled_from(FILES), damage_=DAMAGE, unverified=st.booleans())
def test_predict_answers_in_one_line(tiny_run, zoo_cli, name, damage_, unverified):
    kind, detail = damage_
    with tempfile.TemporaryDirectory() as home:
        copy = damaged_copy(tiny_run, Path(home), name, kind, detail)
        inputs = write_tiny_csv(Path(home) / "inputs.csv", rows=4)
        flags = ["--allow-unverified"] if unverified else []  # Keras then meets the damage
        code, out, err = zoo_cli("predict", str(copy), "--input", str(inputs), *flags)
        assert_one_line_or_success(code, err, name, kind)
        if code == 0:
            assert out.splitlines()[0].startswith("prediction")


@pytest.mark.slow  # a damage that leaves the run resumable trains one epoch
@settings(HOSTILE, max_examples=10)
@given(name=st.sampled_from(FILES[:-1]), damage_=DAMAGE)
def test_resume_answers_in_one_line(tiny_run, zoo_cli, name, damage_):
    kind, detail = damage_
    with tempfile.TemporaryDirectory() as home:
        copy = interrupted_copy(tiny_run, Path(home))
        damage(copy / name, kind, detail)
        code, _, err = zoo_cli("run", "--resume", str(copy), "--epochs", "2", "-q")
        assert_one_line_or_success(code, err, name, kind)


def interrupted_copy(run: Path, home: Path) -> Path:
    """A copy of a complete run that says it was interrupted after its one epoch."""
    copy = home / "runs" / run.name
    shutil.copytree(run, copy)
    status = json.loads((copy / "status.json").read_text())
    status.update(status="interrupted", epochs_done=1)
    (copy / "status.json").write_text(json.dumps(status))
    return copy


# -- the cases the properties above only meet by chance ---------------------------------


def test_paths_are_recorded_absolute_and_the_run_works_from_elsewhere(tiny_run, zoo_cli):
    config = json.loads((tiny_run / "config.json").read_text())
    assert os.path.isabs(config["data_params"]["path"])
    code, out, err = zoo_cli("evaluate", str(tiny_run), "--no-save")  # from another directory
    assert code == 0, err


def test_a_model_without_a_verifiable_checksum_needs_allow_unverified(tiny_run, zoo_cli, tmp_path):
    inputs = write_tiny_csv(tmp_path / "inputs.csv", rows=3)
    for name, change in (
        ("model.sha256.json", lambda p: p.unlink()),
        ("model.sha256.json", lambda p: p.write_text('{"model.keras": 7}')),
        ("model.sha256.json", lambda p: p.write_text('{"model.keras": "' + "0" * 64 + '"}')),
    ):
        copy = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(tiny_run, copy)
        change(copy / name)
        code, _, err = zoo_cli("predict", str(copy), "-i", str(inputs))
        assert code == 1 and "--allow-unverified" in err and len(err.splitlines()) == 1, err
        code, out, err = zoo_cli("predict", str(copy), "-i", str(inputs), "--allow-unverified")
        assert code == 0 and len(out.splitlines()) == 4, err


def test_a_model_whose_inputs_differ_from_data_json_is_refused(tiny_run, zoo_cli, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    record = json.loads((copy / "data.json").read_text())
    record["input_shape"] = [4]
    (copy / "data.json").write_text(json.dumps(record))
    inputs = write_tiny_csv(tmp_path / "inputs.csv", rows=3)
    code, _, err = zoo_cli("predict", str(copy), "-i", str(inputs))
    assert code == 1 and "takes inputs of shape" in err and "data.json" in err, err


def test_a_reused_pid_does_not_keep_a_dead_run_running(tiny_run, zoo_cli, tmp_path):
    from zoo.runs.records import own_identity

    copy = tmp_path / "runs" / tiny_run.name
    shutil.copytree(tiny_run, copy)
    status = json.loads((copy / "status.json").read_text())
    me = own_identity()
    status.update(status="running", pid=me["pid"], pid_started=me["pid_started"])
    (copy / "status.json").write_text(json.dumps(status))
    code, out, _ = zoo_cli("runs", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert json.loads(out)[0]["status"] == "running"  # this very process: alive
    status["pid_started"] = me["pid_started"] - 3600  # the pid, but another process's
    (copy / "status.json").write_text(json.dumps(status))
    code, out, _ = zoo_cli("runs", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert json.loads(out)[0]["status"] == "crashed"


def test_json_files_are_strict_and_read_back(tmp_path):
    from zoo.runs.files import load_json, write_json

    path = tmp_path / "metrics.json"
    write_json(path, {"r2": float("nan"), "mse": float("inf"), "parts": (1.5, float("-inf"))})

    def refuse(constant: str) -> None:
        raise AssertionError(f"bare {constant} in strict JSON")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "mse": None,
        "parts": [1.5, None],
        "r2": None,
    }
    assert load_json(path)["r2"] is None
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("option", ["--epochs=3000000000", "--batch-size=2147483648", "--seed=-1"])
def test_sizes_the_backend_cannot_take_are_refused_before_anything_is_written(
    zoo_cli, tmp_path, option
):
    runs = tmp_path / "runs"
    args = ["run", "-m", "linear", "-d", "regression", option, "--runs-dir", str(runs)]
    code, _, err = zoo_cli(*args)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "must be a whole number" in err
    assert not runs.exists()


@pytest.mark.slow  # trains one more epoch
def test_a_resume_that_changes_epochs_records_them(tiny_run, zoo_cli, tmp_path):
    copy = interrupted_copy(tiny_run, tmp_path)
    code, _, err = zoo_cli("run", "--resume", str(copy), "--epochs", "2", "-q")
    assert code == 0, err
    assert "resuming" in err and "after epoch 1" in err
    assert json.loads((copy / "config.json").read_text())["epochs"] == 2
    status = json.loads((copy / "status.json").read_text())
    assert status["status"] == "complete" and status["epochs_done"] == 2


@pytest.mark.parametrize(("key", "value"), [("path", 5), ("target", ["y"]), ("stream", "yes")])
def test_hyperparameters_of_the_wrong_type_are_named(tiny_run, zoo_cli, tmp_path, key, value):
    copy = interrupted_copy(tiny_run, tmp_path)
    config = json.loads((copy / "config.json").read_text())
    config["data_params"][key] = value
    (copy / "config.json").write_text(json.dumps(config))
    for args in (("evaluate", str(copy)), ("run", "--resume", str(copy), "-q")):
        code, _, err = zoo_cli(*args)
        assert code == 1 and "config.json" in err and len(err.strip().splitlines()) == 1, err
        assert "unexpected error" not in err
