"""Bench and tune folders under stress: two commands at once, SIGTERM, damaged records,
moved tune folders, trials left running by a killed process, spaces no trial could run,
a full disk. Training here is tiny (linear, one epoch, iris) and happens in this process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo import Registry, RunConfig
from zoo.app.bench import BenchServices, BenchSpec, run_bench
from zoo.app.bench.spec import BenchFolder
from zoo.app.tune import study as studies
from zoo.app.tune.request import TuneRequest
from zoo.app.tune.search import prepare
from zoo.app.tune.space import build_space
from zoo.core.errors import InvalidParameterError, RunFolderError, WriteFailed
from zoo.runs.records import LOCK_FILE, hold

REGISTRY = Registry.discover(entry_points=False)
TINY_BENCH = dict(models=["linear"], data=["iris"], repeats=2, base={"epochs": 1}, baselines=False)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error:" in line]


# -- one command per folder ----------------------------------------------------------------


def test_a_held_folder_refuses_a_second_holder_naming_the_first_and_frees_on_release(tmp_path):
    first = hold(tmp_path, "zoo bench --resume here")
    with first, pytest.raises(RunFolderError) as caught, hold(tmp_path):  # a second descriptor
        pass
    message = str(caught.value)
    assert f"pid {os.getpid()}" in message and "'zoo bench --resume here'" in message
    assert os.uname().nodename in message and "\n" not in message
    with hold(tmp_path):  # released with the first
        pass


def test_a_stale_lock_file_of_a_dead_process_does_not_block(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True)  # fmt: skip
    info = {"pid": int(dead.stdout), "host": "h", "command": "zoo bench", "since": "then"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(info))
    with hold(tmp_path):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()


LOCKER = """
import sys, time
from zoo.runs.records import hold
with hold(sys.argv[1], "zoo tune --resume F"):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def held_by_another_process(tmp_path):
    """A real second process holding a folder until the test ends."""

    @contextlib.contextmanager
    def holding(folder: Path):
        process = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(folder)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout.readline().strip() == "held"
            yield process
        finally:
            process.kill()
            process.wait()

    return holding


def test_two_benches_on_one_folder_the_second_fails_at_once(
    tmp_path, zoo_cli, held_by_another_process
):
    folder = BenchFolder.create(tmp_path, BenchSpec(**TINY_BENCH))
    before = sorted(p.name for p in folder.path.rglob("*"))
    with held_by_another_process(folder.path) as other:
        code, out, err = zoo_cli("bench", "--resume", str(folder.path))
    assert code == 1 and out == ""
    (line,) = error_lines(err)
    assert f"is in use by pid {other.pid}" in line and "'zoo tune --resume F'" in line
    assert sorted(p.name for p in folder.path.rglob("*")) == sorted([*before, LOCK_FILE])
    assert not list((folder.path / "results").iterdir())


# -- SIGTERM between steps, and resuming ---------------------------------------------------


def _terminate_after_first(record, done, total):
    if done == 1:
        os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.slow
def test_sigterm_between_combinations_interrupts_like_ctrl_c_and_resume_trains_the_rest_once(
    tmp_path,
):
    services = BenchServices(on_result=_terminate_after_first)
    stopped = run_bench(BenchSpec(**TINY_BENCH), runs_dir=tmp_path, services=services)
    assert stopped.status == "interrupted" and stopped.ran == 1
    manifest = json.loads((stopped.folder / "bench.json").read_text())
    assert manifest["status"] == "interrupted"
    assert stopped.summary["counts"]["missing"] == 1 and (stopped.folder / "summary.md").exists()
    resumed = run_bench(resume=stopped.folder)
    assert resumed.ran == 1 and resumed.status == "complete"
    assert len([p for p in (stopped.folder / "runs").iterdir() if p.is_dir()]) == 2


@pytest.mark.slow
def test_sigterm_between_trials_interrupts_a_search_like_ctrl_c(tmp_path):
    import optuna

    from zoo.app.tune import tune
    from zoo.core.errors import RunInterrupted

    base = RunConfig(model="linear", data="regression", data_params={"rows": 60}, epochs=1)
    request = TuneRequest(base=base, trials=3, tune_dir=str(tmp_path), baselines=False)
    with pytest.raises(RunInterrupted, match="1 finished trials are kept"):
        tune(request, REGISTRY, on_trial=lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    (folder,) = tmp_path.glob("tune-*")
    assert (folder / "trials.csv").read_text().count("complete") == 1
    study = optuna.load_study(study_name=folder.name, storage=studies.default_storage(folder))
    assert [t.state.name for t in study.trials] == ["COMPLETE"]
    with hold(folder):  # released on the way out
        pass


# -- damaged records -----------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SPEC_KEYS = ["models", "data", "presets", "repeats", "base", "sets", "baselines", "plugins"]


def _damaged(valid: dict, values: dict) -> st.SearchStrategy:
    """Valid records with fields replaced, removed or wrapped, and arbitrary JSON."""
    keys = st.sampled_from(sorted(values))
    changed = st.builds(lambda k, v: {**valid, **{k: v}}, keys, JSON)
    return JSON | changed | st.builds(lambda k: {a: b for a, b in valid.items() if a != k}, keys)


VALID_SPEC = BenchSpec(**TINY_BENCH).to_dict()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=_damaged(VALID_SPEC, VALID_SPEC), wrap=st.booleans())
def test_a_bench_json_of_any_shape_opens_or_is_one_line_naming_it(tmp_path, spec, wrap):
    manifest = {"spec": spec, "status": "running"} if wrap else spec
    (tmp_path / "bench.json").write_text(json.dumps(manifest))
    try:
        BenchFolder.open(tmp_path).spec()
    except RunFolderError as exc:
        assert "bench.json" in str(exc) and "\n" not in str(exc)


VALID_RECORD = {
    "version": 1,
    "study_name": "tune-x",
    "storage": "study.db",
    "base": RunConfig(model="mlp", data="regression").to_dict(),
    "space": {},
    "fixed_keys": [],
    "startup_trials": 5,
    "warmup_epochs": 30,
}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=_damaged(VALID_RECORD, VALID_RECORD))
def test_a_tune_json_of_any_shape_reads_or_is_one_line_naming_it(tmp_path, record):
    from zoo.app.tune.request import resume_request

    (tmp_path / "tune.json").write_text(json.dumps(record))
    (tmp_path / "study.db").touch()
    try:
        resume_request(tmp_path, None, None)
    except RunFolderError as exc:
        message = str(exc)
        assert "\n" not in message
        assert "tune.json" in message or "give --storage URL" in message


@pytest.mark.parametrize("command", ["bench", "tune"])
@pytest.mark.parametrize("damage", [[], {"spec": [1]}, {"storage": 3, "base": {}}])
def test_resuming_a_damaged_record_writes_nothing(tmp_path, zoo_cli, command, damage):
    name = "bench.json" if command == "bench" else "tune.json"
    (tmp_path / name).write_text(json.dumps(damage))
    code, out, err = zoo_cli(command, "--resume", str(tmp_path))
    assert code == 1 and out == ""
    (line,) = error_lines(err)
    assert name in line and "damaged" in line
    assert [p.name for p in tmp_path.iterdir()] == [name]


# -- tune folders: where the study is --------------------------------------------------------


def _tune_folder(tmp_path, *, runs="runs", **request):
    """A new tune folder, its study created (no trial run)."""
    base = RunConfig(model="linear", data="regression", data_params={"rows": 60}, epochs=1)
    prepared = prepare(TuneRequest(base=base, tune_dir=str(tmp_path / runs), **request), REGISTRY)
    return prepared.folder


def test_a_moved_tune_folder_resumes_its_own_study_and_an_edited_record_cannot_redirect(tmp_path):
    folder = _tune_folder(tmp_path)
    record = json.loads((folder / "tune.json").read_text())
    assert record["storage"] == "study.db"  # by name: found inside the folder
    moved = folder.rename(tmp_path / folder.name)
    assert studies.resumed_storage(moved, record, None) == studies.default_storage(moved)
    # an earlier record's absolute path to the original folder: still the moved folder's own
    old = {**record, "storage": f"sqlite:////elsewhere/{moved.name}/study.db"}
    assert studies.resumed_storage(moved, old, None) == studies.default_storage(moved)
    edited = {**record, "storage": f"sqlite:///{tmp_path}/other.db"}
    with pytest.raises(RunFolderError, match="give --storage URL"):
        studies.resumed_storage(moved, edited, None)
    assert studies.resumed_storage(moved, edited, "sqlite:///x.db") == "sqlite:///x.db"
    (moved / "study.db").unlink()
    with pytest.raises(RunFolderError, match="study.db is missing"):
        studies.resumed_storage(moved, record, None)


def test_resuming_a_study_kept_outside_its_folder_needs_storage_again(tmp_path, zoo_cli):
    url = f"sqlite:///{tmp_path}/shared.db"
    folder = _tune_folder(tmp_path, storage=url)
    assert json.loads((folder / "tune.json").read_text())["storage"] == url
    assert not (folder / "study.db").exists()
    code, _, err = zoo_cli("tune", "--resume", str(folder), "--trials", "1")
    assert code == 1
    (line,) = error_lines(err)
    assert "kept outside the folder" in line and "--storage" in line


def test_trials_left_running_by_a_killed_process_are_marked_failed_on_resume(tmp_path):
    import optuna

    folder = _tune_folder(tmp_path)
    url = studies.default_storage(folder)
    study = optuna.load_study(study_name=folder.name, storage=url)
    study.ask()  # what a process killed mid-trial leaves: a RUNNING trial
    request = TuneRequest(base=RunConfig(model="linear", data="regression",
                                         data_params={"rows": 60}, epochs=1))  # fmt: skip
    with contextlib.ExitStack() as held:
        prepared = prepare(request, REGISTRY, folder, held)
        assert (folder / LOCK_FILE).exists() and prepared.stale == 1
    (trial,) = optuna.load_study(study_name=folder.name, storage=url).trials
    assert trial.state == optuna.trial.TrialState.FAIL and "stopped" in trial.user_attrs["error"]


def test_a_full_disk_while_opening_the_study_is_named_and_leaves_no_folder(tmp_path, monkeypatch):
    import optuna
    from sqlalchemy.exc import OperationalError

    def full(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(optuna.storages, "get_storage", full)
    with pytest.raises(WriteFailed) as caught:
        _tune_folder(tmp_path)
    assert "disk is full" in str(caught.value) and "Give an Optuna storage URL" not in str(
        caught.value
    )
    assert list((tmp_path / "runs").iterdir()) == []
    monkeypatch.setattr(optuna.storages, "get_storage", lambda *a, **k: (_ for _ in ()).throw(
        OSError(28, "No space left on device")))  # fmt: skip
    with pytest.raises(WriteFailed, match="disk is full"):
        _tune_folder(tmp_path)


# -- spaces no trial could run -----------------------------------------------------------------


@pytest.mark.parametrize(
    "space, words",
    [
        ("dropout = {low = 0.9, high = 5.0}", "[0, 1)"),
        ('hidden = {choices = ["-5,3"]}', "[1, inf)"),
        ("learning_rate = {low = 1e-4, high = nan}", "not a usable number"),
        ("dropout = {low = 0.0, high = inf}", "not a usable number"),
        ("l2 = {low = 0.0, high = 1e308}", "not a usable number"),
        ("batch_size = {choices = [32, 99999999999]}", "batch_size must be a whole number"),
        ("epochs = {low = 1, high = 2000000}", "epochs must be a whole number"),
        ("dropout = {low = 0.0, high = 0.5, step = nan}", "step must be a positive number"),
    ],
)
def test_a_space_outside_the_declared_ranges_and_limits_is_refused_before_any_folder(
    tmp_path, zoo_cli, space, words
):
    path = tmp_path / "space.toml"
    path.write_text(space + "\n")
    runs = tmp_path / "runs"
    code, _, err = zoo_cli("tune", "-m", "mlp", "-d", "regression", "--space", str(path),
                           "--runs-dir", str(runs))  # fmt: skip
    assert code == 1
    (line,) = error_lines(err)
    assert words in line and "space file" in line, line
    assert not runs.exists()


FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 0.5, 1.0, 1e308])


@settings(max_examples=100, deadline=None)
@given(low=FLOATS, high=FLOATS, key=st.sampled_from(["dropout", "learning_rate", "l2"]))
def test_a_space_either_lies_inside_every_declared_range_or_is_one_line(low, high, key):
    import math

    from zoo import plan

    checked = plan(RunConfig(model="mlp", data="regression", patience=20), REGISTRY)
    try:
        space = build_space(checked.config, checked.model, checked.preset,
                            {key: {"low": low, "high": high}})  # fmt: skip
    except InvalidParameterError as exc:
        assert "\n" not in str(exc)
        return
    (dim,) = [d for d in space.dimensions if d.param.name == key]
    assert math.isfinite(dim.low) and math.isfinite(dim.high)
    for value in (dim.low, dim.high):  # every value a trial can draw plans
        plan(RunConfig(model="mlp", data="regression", **_params(dim, value)), REGISTRY)


def _params(dim, value):
    return {f"{dim.section}_params": {dim.param.name: value}}


# -- the report ------------------------------------------------------------------------------


def test_the_best_trial_line_rounds_to_4_digits_and_fits_80_columns():
    from zoo.cli.tune import best_lines

    params = {f"model.a_rather_long_parameter_{i}": 0.000123456789 for i in range(6)}
    params["model.hidden"] = "128,64,32"
    lines = best_lines({"trial": 12, "val_loss": 0.123456789, "params": params})
    assert lines[0].startswith("best trial #12: val_loss 0.1235  ")
    assert all(len(line) <= 80 for line in lines) and len(lines) > 1
    text = " ".join(lines)
    assert "0.0001235" in text and "0.000123456" not in text and "model.hidden=128,64,32" in text
