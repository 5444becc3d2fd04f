"""Grids and searches on Ray (``--cluster``): the options' checks, then a real local Ray
runtime with two CPUs (one per module) running a four-run grid and a four-trial search, each
with a task whose worker process dies (tests/fixtures/zoo-cluster-plugin), the version check
against the workers, and the one-line error without Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.app.cluster import ClusterOptions, parse_resources
from zoo.app.cluster.options import mismatch
from zoo.app.cluster.session import pack, unpack
from zoo.core.errors import IncompatibleError, InvalidParameterError

# One test process runs this module, so that one local Ray runtime serves all of it.
pytestmark = pytest.mark.xdist_group("ray")

FIXTURE = Path(__file__).parent / "fixtures" / "zoo-cluster-plugin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {"num_cpus": 1.0, "num_gpus": 0.0}),
        ("cpu=2", {"num_cpus": 2.0, "num_gpus": 0.0}),
        ("cpu=0.5, GPU=1", {"num_cpus": 0.5, "num_gpus": 1.0}),
    ],
)
def test_resources_per_run_are_read(text, expected):
    assert parse_resources(text) == expected


@pytest.mark.parametrize("text", ["cpus=1", "cpu=many", "cpu=-1", "cpu", "cpu=0,gpu=0"])
def test_bad_resources_and_addresses_are_one_line_errors(text):
    with pytest.raises(InvalidParameterError, match="--resources-per-run") as caught:
        parse_resources(text)
    assert "\n" not in str(caught.value) and "cpu=1,gpu=0" in str(caught.value)


@pytest.mark.parametrize("address", ["local", "auto", "ray://10.0.0.5:10001", "ray://head:1"])
def test_addresses_that_ray_takes_are_accepted(address):
    assert ClusterOptions(address).address == address


@pytest.mark.parametrize("address", ["", "head:6379", "http://head:8265", "ray://head"])
def test_other_addresses_are_refused(address):
    with pytest.raises(InvalidParameterError, match="ray://HOST:PORT"):
        ClusterOptions(address)


def test_a_version_mismatch_names_the_package():
    driver = {"keras-zoo": "1.0", "keras": "3.1", "plugin zoo.mlp": "1.0"}
    assert mismatch(driver, dict(driver), "node") == ""
    line = mismatch(driver, {**driver, "keras": "3.0"}, "node-7")
    assert "node-7 has keras 3.0" in line and "pip install 'keras==3.1'" in line
    line = mismatch(driver, {"keras-zoo": "1.0", "keras": "3.1"}, "n")
    assert "does not have the plugin zoo.mlp" in line and "\n" not in line


def test_folders_travel_packed_and_never_replace_what_is_there(tmp_path):
    source = tmp_path / "worker"
    (source / "run-a").mkdir(parents=True)
    (source / "run-a" / "metrics.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    assert pack(tmp_path / "empty") is None
    driver = tmp_path / "driver"
    (driver / "run-a").mkdir(parents=True)
    placed = unpack(pack(source), driver)
    assert [p.name for p in placed] == ["run-a-2"]
    assert (driver / "run-a-2" / "metrics.json").read_text() == "{}"
    assert not list(driver.glob(".unpack-*"))


def test_without_ray_cluster_is_one_line_saying_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from zoo.cli.main import main\n"
        "main(['bench', '-m', 'linear', '-d', 'iris', '--cluster', 'local'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "pip install 'keras-zoo[ray]'" in last and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["bench", "tune"])
def test_help_shows_the_options_without_importing_ray(command):
    code = (
        "import sys\n"
        "from zoo.cli.main import main\n"
        "try:\n"
        f"    main(['{command}', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('ray' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "--cluster ADDRESS" in done.stdout and "--resources-per-run" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "False False"


# -- a real local Ray runtime, shared by the tests below -------------------------------------


@pytest.fixture(scope="module")
def ray_runtime(tmp_path_factory):
    """A local Ray runtime with two CPUs whose workers have the fixture plugin installed."""
    ray = pytest.importorskip("ray")
    from helpers import pip_install_target

    site = pip_install_target(FIXTURE, tmp_path_factory.mktemp("cluster-plugin"))
    before = os.environ.get("PYTHONPATH")
    # Workers inherit the environment: they find the plugin the way an installed one is found.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), before]))
    sys.path.insert(0, str(site))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield site
    ray.shutdown()
    sys.path.remove(str(site))
    if before is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = before


def _registry():
    from zoo import Registry

    return Registry.discover(warn=False)


@pytest.mark.slow
def test_a_grid_on_ray_matches_a_local_one_and_survives_dying_workers(
    ray_runtime, tmp_path, monkeypatch
):
    from zoo.app.bench import BenchServices, BenchSpec, run_bench
    from zoo.app.tracking import MlflowTracker

    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts under ./mlruns
    store = f"sqlite:///{tmp_path}/mlflow.db"

    marker, tally = tmp_path / "once.txt", tmp_path / "always.txt"
    spec = BenchSpec(
        models=["linear", "mlp", "dies_once", "dies_always"],
        data=["iris"],
        base={"epochs": 2},
        sets=[f"marker={marker}", f"tally={tally}"],
        baselines=False,
    )
    options = ClusterOptions("local", parse_resources("cpu=1"))
    outcome = run_bench(
        spec,
        registry=_registry(),
        runs_dir=tmp_path,
        services=BenchServices(cluster=options, tracker=MlflowTracker(store)),
    )
    counts = {"combinations": 4, "ok": 3, "failed": 1, "skipped": 0, "missing": 0}
    assert outcome.summary["counts"] == counts
    assert len(marker.read_text().splitlines()) == 2  # died once, retried once
    assert len(tally.read_text().splitlines()) == 2  # died, retried once, then given up
    (failure,) = outcome.summary["failed"]
    assert failure["model"] == "dies_always" and "died, also when retried once" in failure["error"]
    board = outcome.summary["datasets"][0]
    assert [r["rank"] for r in board["rows"]] == [1, 2, 3, None]
    folders = [Path(f) for row in board["rows"] for f in row["folders"]]
    assert len(folders) == 3 and all(f.parent == outcome.folder / "runs" for f in folders)
    for folder in folders:
        assert json.loads((folder / "status.json").read_text())["status"] == "complete"
    # The same combination trained here gives the same numbers: only the place differs.
    local = run_bench(
        BenchSpec(models=["linear"], data=["iris"], base={"epochs": 2}, baselines=False),
        registry=_registry(),
        runs_dir=tmp_path / "local",
    )
    here = local.summary["datasets"][0]["rows"][0]["metrics"]["accuracy"]["mean"]
    there = next(r for r in board["rows"] if r["model"] == "linear")["metrics"]["accuracy"]
    assert there["mean"] == pytest.approx(here)
    assert (outcome.folder / "summary.md").is_file()
    _check_logged(store, outcome)


def _check_logged(store: str, outcome) -> None:
    """The driver logged what came back as a local bench logs it: a child per trained run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("keras-zoo")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name == outcome.folder.name
    children = {r.info.run_name: r for r in runs if r is not parent}
    assert sorted(children) == ["dies_once-iris", "linear-iris", "mlp-iris"]
    linear = children["linear-iris"]
    history = client.get_metric_history(linear.info.run_id, "val_loss")
    assert sorted(m.step for m in history) == [1, 2]
    files = {a.path for a in client.list_artifacts(linear.info.run_id, "run")}
    assert {"run/config.json", "run/history.csv", "run/model.keras"} <= files


@pytest.mark.slow
def test_ctrl_c_on_the_driver_cancels_the_rest_and_keeps_what_finished(ray_runtime, tmp_path):
    from zoo.app.bench import BenchServices, BenchSpec, run_bench

    def interrupt(record, done, total):
        raise KeyboardInterrupt  # as Ctrl-C would, once the first result is in

    spec = BenchSpec(models=["linear"], data=["iris"], repeats=4, base={"epochs": 1})
    spec.baselines = False
    outcome = run_bench(
        spec,
        runs_dir=tmp_path,
        services=BenchServices(cluster=ClusterOptions("local"), on_result=interrupt),
    )
    counts = outcome.summary["counts"]
    assert outcome.status == "interrupted" and counts["ok"] >= 1 and counts["missing"] >= 1
    assert counts["ok"] + counts["missing"] == 4
    kept = list((outcome.folder / "results").glob("*.json"))
    assert len(kept) == counts["ok"] == len(list((outcome.folder / "runs").iterdir()))


@pytest.mark.slow
def test_a_search_on_ray_keeps_its_study_and_survives_a_dying_worker(ray_runtime, tmp_path):
    from zoo import RunConfig
    from zoo.app.tune import TuneRequest, tune

    marker = tmp_path / "once.txt"
    base = RunConfig(model="dies_once", data="iris", epochs=3, model_params={"marker": str(marker)})
    request = TuneRequest(
        base=base,
        trials=4,
        fixed_keys=frozenset({"model.marker"}),
        tune_dir=str(tmp_path),
        baselines=False,
        cluster=ClusterOptions("local"),
    )
    seen = []
    summary = tune(request, _registry(), on_trial=lambda trial, best: seen.append(trial.state))
    assert summary["trials"] == {"complete": 4, "pruned": 0, "failed": 0}
    assert len(seen) == 4 and len(marker.read_text().splitlines()) >= 2
    folder = Path(summary["folder"])
    assert (folder / "study.db").is_file() and (folder / "best.toml").is_file()
    assert Path(summary["best"]["run_folder"]).parent == folder
    rows = (folder / "trials.csv").read_text().splitlines()
    assert len(rows) == 5  # a header and the four trials


def test_resources_without_a_cluster_is_a_usage_error(zoo_cli, tmp_path):
    code, _, err = zoo_cli("bench", "-m", "linear", "-d", "iris", "--resources-per-run", "cpu=2")
    assert code == 2 and "give --cluster ADDRESS too" in err


@pytest.mark.slow
def test_the_bench_command_runs_on_the_cluster(ray_runtime, tmp_path, zoo_cli):
    code, out, err = zoo_cli(
        "bench", "-m", "linear", "-d", "iris", "--epochs", "1", "--no-baselines", "--json",
        "--cluster", "local", "--resources-per-run", "cpu=1,gpu=0", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["counts"]["ok"] == 1 and summary["status"] == "complete"
    (folder,) = summary["datasets"][0]["rows"][0]["folders"]
    assert Path(folder).parent == Path(summary["folder"]) / "runs"


@pytest.mark.slow
def test_workers_with_other_versions_are_refused_before_anything_runs(ray_runtime):
    from zoo.app.cluster import ClusterSession
    from zoo.app.cluster.options import registry_versions

    driver = registry_versions(_registry())
    session = ClusterSession(ClusterOptions("local"), driver)  # the same versions: accepted
    with pytest.raises(IncompatibleError, match="has keras-zoo") as caught:
        session.check_versions({**driver, "keras-zoo": "0.0.0-other"})
    assert "\n" not in str(caught.value)
