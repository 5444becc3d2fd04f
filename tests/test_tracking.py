"""MLflow tracking: `zoo run --track` and `zoo bench --track` against a real local store,
read back with MLflow's own client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.app.tracking import MlflowTracker, flatten

BLOCKED = """
import sys
sys.modules["mlflow"] = None  # as if it were not installed
from zoo.cli.main import main
main({args!r})
"""


@pytest.mark.parametrize(
    "args",
    [
        ["run", "-m", "linear", "-d", "iris", "--track", "sqlite:///unused.db"],
        ["bench", "-m", "linear", "-d", "iris", "--track", "sqlite:///unused.db"],
    ],
)
def test_tracking_without_mlflow_is_a_one_line_error_before_training(tmp_path, args):
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED.format(args=args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("zoo: error: Tracking")
    assert "pip install 'keras-zoo[mlflow]'" in errors[0]
    assert not (tmp_path / "runs").exists() and not (tmp_path / "unused.db").exists()


def test_flatten_names_nested_params():
    flat = flatten({"epochs": 2, "model_params": {"hidden": [8, 4]}, "data_params": {}})
    assert flat == {"epochs": 2, "model_params.hidden": [8, 4], "data_params": {}}


@pytest.fixture
def store(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts under ./mlruns
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield f"sqlite:///{tmp_path}/mlflow.db"
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the test's own mlflow.set_tracking_uri sets it


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def _runs(client):
    experiment = client.get_experiment_by_name("keras-zoo")
    return client.search_runs([experiment.experiment_id])


@pytest.mark.slow
def test_zoo_run_logs_params_epoch_metrics_test_metrics_artifacts_and_model(store, zoo_cli):
    code, out, err = zoo_cli(
        "run", "-m", "mlp", "-d", "iris", "--epochs", "3", "--set", "hidden=8", "--track", store
    )
    assert code == 0, err
    assert "logged to MLflow run" in err
    import os

    assert "MLFLOW_TRACKING_URI" not in os.environ  # later runs of the process are not tracked
    client = _client(store)
    (run,) = _runs(client)
    assert run.info.status == "FINISHED" and run.info.run_name == "mlp-iris"
    params = run.data.params
    assert params["model"].endswith("mlp") and params["epochs"] == "3"
    assert params["model_params.hidden"] == "8"
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in losses) == [1, 2, 3]
    assert "test_accuracy" in run.data.metrics and "val_loss" in run.data.metrics
    files = {a.path for a in client.list_artifacts(run.info.run_id, "run")}
    assert {"run/config.json", "run/metrics.json", "run/history.csv", "run/model.keras"} <= files
    import mlflow

    mlflow.set_tracking_uri(store)
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id], output_format="list"
    )
    assert [m.source_run_id for m in models] == [run.info.run_id]
    # Servable: the raw input columns by name, a few test rows as the example, predicted on.
    uri = models[0].model_uri
    info = mlflow.models.get_model_info(uri)
    assert info.signature.inputs.inputs[0].shape == (-1, 4)  # the Keras flavor's one tensor
    columns = info.metadata["input_columns"]
    assert len(columns) == 4 and columns[0].startswith("sepal length")
    example = mlflow.models.Model.load(uri).load_input_example(
        mlflow.artifacts.download_artifacts(uri)
    )
    assert list(example.columns) == columns and len(example) == 5
    assert mlflow.pyfunc.load_model(uri).predict(example).shape == (5, 3)
    # exported: served without keras-zoo's layers (a .keras file would need them imported)
    assert mlflow.models.Model.load(uri).flavors["keras"]["save_exported_model"]


@pytest.mark.slow
def test_a_bench_is_a_parent_run_with_one_finished_child_and_model_per_combination(
    store, tmp_path, zoo_cli
):
    import mlflow

    code, out, err = zoo_cli(
        "bench", "-m", "linear", "-d", "iris", "--epochs", "2", "--runs-dir", str(tmp_path),
        "--track", store, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "not logged" not in err
    summary = json.loads(out)
    client = _client(store)
    runs = _runs(client)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.run_name == Path(summary["folder"]).name
    assert parent.data.params["models"] == "linear" and parent.data.params["base.epochs"] == "2"
    names = sorted(r.info.run_name for r in children)
    assert names == ["linear-iris", "sklearn-gboost-iris", "sklearn-linear-iris"]
    assert [r.info.status for r in children] == ["FINISHED"] * 3
    trained = next(r for r in children if r.info.run_name == "linear-iris")
    assert trained.data.tags["zoo.repeat"] == "0"
    history = client.get_metric_history(trained.info.run_id, "val_loss")
    assert sorted(m.step for m in history) == [1, 2]
    row = summary["datasets"][0]["rows"]
    linear = next(r for r in row if r["model"] == "linear")
    assert trained.data.metrics["test_accuracy"] == linear["metrics"]["accuracy"]["mean"]
    mlflow.set_tracking_uri(store)
    models = mlflow.search_logged_models(
        experiment_ids=[parent.info.experiment_id], output_format="list"
    )
    assert [m.source_run_id for m in models] == [trained.info.run_id]  # one per trained model
    parent_files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"summary.json", "summary.csv", "summary.md", "chart-iris.png"} <= parent_files


def test_mlflow_is_one_tracker_and_a_second_is_one_class():
    import inspect

    from zoo.app.tracking import Tracker

    for name in ("parent", "log_run", "log_result", "log_artifacts"):
        ours = inspect.signature(getattr(MlflowTracker, name)).parameters
        assert list(ours) == list(inspect.signature(getattr(Tracker, name)).parameters), name
