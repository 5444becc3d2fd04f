"""Runs you can trust: run folders, config files, overrides, stops, resume, predict, evaluate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.app.saved import load_run

pytestmark = pytest.mark.slow

HOUSING_CSV = Path(__file__).parents[1] / "datasets" / "boston_house_prices.csv"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One short complete housing run shared by the read-only tests below."""
    runs = tmp_path_factory.mktemp("runs")
    result = zoo.run(zoo.RunConfig(model="mlp", data="housing", epochs=20, runs_dir=str(runs)))
    return result.folder


def test_run_folder_holds_everything_and_says_complete(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    assert names >= {
        "config.json",
        "metrics.json",
        "history.csv",
        "model.keras",
        "curves.png",
        "environment.json",
        "status.json",
        "data.json",
    }
    assert not [n for n in names if n.startswith(".")], "no partial files left behind"
    assert json.loads((finished_run / "status.json").read_text())["status"] == "complete"
    assert (finished_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    env = json.loads((finished_run / "environment.json").read_text())
    assert env["keras_zoo"] == zoo.__version__ and env["seed"] == 0
    assert env["keras"] and env["tensorflow"] and env["python"]
    assert env["plugins"]["zoo.mlp"]["version"] == zoo.__version__
    assert len(env["data_fingerprint"]) == 64
    config = json.loads((finished_run / "config.json").read_text())
    assert config["preset_params"] == {"learning_rate": 0.001}  # defaults made explicit


def test_saved_run_loads_back_in_python(finished_run):
    saved = load_run(finished_run)
    assert saved.status["status"] == "complete"
    assert saved.metrics["test"]["mse"] > 0
    assert len(saved.history["loss"]) == 20
    assert saved.model.input_shape == (None, 13)


def write_housing_rows(path: Path, rows: slice) -> np.ndarray:
    lines = HOUSING_CSV.read_text().splitlines()[1:]
    path.write_text("\n".join([lines[0], *lines[1:][rows]]) + "\n")
    return np.loadtxt(lines[1:][rows], delimiter=",", dtype="float32")


def test_predict_round_trip_from_a_csv(zoo_cli, finished_run, tmp_path):
    table = write_housing_rows(tmp_path / "new.csv", slice(0, 7))
    out = tmp_path / "predictions.csv"
    code, _, err = zoo_cli(
        "predict", str(finished_run), "--input", str(tmp_path / "new.csv"), "--output", str(out)
    )
    assert code == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == "prediction" and len(lines) == 8
    expected = load_run(finished_run).model.predict(table[:, :13], verbose=0).ravel()
    np.testing.assert_allclose([float(v) for v in lines[1:]], expected, rtol=1e-5)


def test_predict_to_stdout(zoo_cli, finished_run, tmp_path):
    write_housing_rows(tmp_path / "new.csv", slice(0, 2))
    code, out, _ = zoo_cli("predict", str(finished_run), "--input", str(tmp_path / "new.csv"))
    assert code == 0 and len(out.splitlines()) == 3


def test_predict_rejects_missing_columns_in_one_line(zoo_cli, finished_run, tmp_path):
    (tmp_path / "bad.csv").write_text("CRIM,ZN\n1,2\n")
    code, out, err = zoo_cli(
        "predict",
        str(finished_run),
        "--input",
        str(tmp_path / "bad.csv"),
        "--output",
        str(tmp_path / "p.csv"),
    )
    assert code == 1 and "has no column 'INDUS', a feature of the model" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


def test_evaluate_on_the_run_s_own_test_part(zoo_cli, finished_run):
    code, out, err = zoo_cli("evaluate", str(finished_run), "--json")
    assert code == 0, err
    scored = json.loads(out)
    recorded = load_run(finished_run).metrics["test"]
    assert scored["metrics"]["mse"] == pytest.approx(recorded["mse"], rel=1e-5)
    assert "test part" in scored["part"]


def test_runs_table_lists_runs_with_status_and_metric(zoo_cli, finished_run):
    code, out, _ = zoo_cli("runs", "--runs-dir", str(finished_run.parent))
    assert code == 0
    assert finished_run.name in out and "complete" in out and "mse" in out


def test_a_killed_run_shows_as_crashed(zoo_cli, tmp_path):
    folder = tmp_path / "20260101-000000-mlp-housing"
    folder.mkdir()
    (folder / "config.json").write_text('{"model": "mlp", "data": "housing"}')
    (folder / "status.json").write_text('{"status": "running", "pid": 999999999}')
    code, out, _ = zoo_cli("runs", "--runs-dir", str(tmp_path))
    assert "crashed" in out


def test_tampered_model_file_is_refused(zoo_cli, finished_run, tmp_path):
    import shutil

    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    model = copy / "model.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    code, out, err = zoo_cli("evaluate", str(copy))
    assert code == 1 and "has changed since keras-zoo saved it" in err
    assert len(err.strip().splitlines()) == 1
    (copy / "model.sha256.json").unlink()  # no record: refused unless the user allows it
    code, out, err = zoo_cli("evaluate", str(copy))
    assert code == 1 and "Cannot verify" in err and "--allow-unverified" in err
    code, out, err = zoo_cli("evaluate", str(copy), "--allow-unverified")  # Keras refuses it
    assert code == 1 and "Cannot load" in err and "damaged" in err
    assert "Traceback" not in err


def test_not_a_run_folder(zoo_cli, tmp_path):
    code, _, err = zoo_cli("predict", str(tmp_path), "--input", "x.csv")
    assert code == 1 and "not a keras-zoo run folder" in err


def test_json_output_is_one_object_on_stdout(zoo_cli, tmp_path):
    code, out, err = zoo_cli(
        "run",
        "-m",
        "linear",
        "-d",
        "housing",
        "--epochs",
        "2",
        "--json",
        "--runs-dir",
        str(tmp_path),
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["metrics"]["rmse"] > 0 and payload["epochs_trained"] == 2
    assert Path(payload["folder"]).is_dir()
    assert "training" in err


def test_early_stopping_and_tensorboard(zoo_cli, tmp_path):
    code, out, err = zoo_cli(
        "run",
        "-m",
        "mlp",
        "-d",
        "housing",
        "--epochs",
        "400",
        "--patience",
        "1",
        "--reduce-lr",
        "--tensorboard",
        "--json",
        "--runs-dir",
        str(tmp_path),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["epochs_trained"] < 400
    assert any((Path(payload["folder"]) / "tensorboard").rglob("events.out.tfevents*"))


def test_nan_loss_stops_with_advice_and_marks_the_run_failed(zoo_cli, tmp_path):
    code, _, err = zoo_cli(
        "run",
        "-m",
        "mlp",
        "-d",
        "housing",
        "--epochs",
        "30",
        "--set",
        "learning_rate=1e30",
        "--runs-dir",
        str(tmp_path),
    )
    assert code == 1
    assert "loss became NaN" in err and "lower learning rate" in err
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "status.json").read_text())["status"] == "failed"
    assert not (folder / "metrics.json").exists()


def start_run(runs: Path, epochs: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zoo",
            "run",
            "-m",
            "mlp",
            "-d",
            "housing",
            "--epochs",
            str(epochs),
            "-q",
            "--runs-dir",
            str(runs),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_training(runs: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if list(runs.glob("*/status.json")):
            time.sleep(2.0)  # well into training
            return
        time.sleep(0.1)
    raise AssertionError(f"training did not start: {process.communicate()}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_cleanly_and_the_run_resumes(tmp_path, zoo_cli, signum):
    process = start_run(tmp_path, epochs=100_000)
    wait_for_training(tmp_path, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted after epoch" in err and "--resume" in err
    (folder,) = tmp_path.iterdir()
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "interrupted"
    done = status["epochs_done"]
    assert done > 0
    assert (folder / "model.keras").is_file() and (folder / "best.weights.h5").is_file()
    assert len((folder / "history.csv").read_text().splitlines()) == done + 1
    assert not (folder / "metrics.json").exists()
    if signum != signal.SIGINT:
        return
    code, out, err = zoo_cli("run", "--resume", str(folder), "--epochs", str(done + 3))
    assert code == 0, err
    assert f"after epoch {done} of {done + 3}: 3 epochs left" in err
    assert json.loads((folder / "status.json").read_text())["status"] == "complete"
    assert len((folder / "history.csv").read_text().splitlines()) == done + 4
    assert "MSE" in out


def test_only_an_interrupted_run_can_be_resumed(zoo_cli, finished_run):
    code, _, err = zoo_cli("run", "--resume", str(finished_run))
    assert code == 1 and "only an interrupted run" in err


def test_the_python_api_resume_says_the_same_with_a_config_left_at_its_defaults(finished_run):
    from zoo.core.errors import RunFolderError

    config = zoo.RunConfig(model="mlp", data="housing")  # seed_ensemble None: the model's own
    with pytest.raises(RunFolderError, match="only an interrupted run"):
        zoo.run(config, resume=finished_run)


def test_resume_refuses_to_change_the_model(zoo_cli, finished_run):
    code, _, err = zoo_cli("run", "--resume", str(finished_run), "--model", "linear")
    assert code == 2 and "only --epochs" in err


def test_python_api_sees_a_stop_request_as_run_interrupted(tmp_path):
    """The same guard works without a terminal: a signal raised from a Keras callback."""
    import keras

    class SelfInterrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(zoo.ZooError, match="interrupted after epoch 3"):
        zoo.run(
            zoo.RunConfig(model="mlp", data="housing", epochs=50, runs_dir=str(tmp_path)),
            progress=lambda epochs: SelfInterrupt(),
        )


def test_an_unwritable_runs_dir_is_a_clear_error_before_training(zoo_cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = zoo_cli(
        "run", "-m", "linear", "-d", "housing", "--epochs", "1", "--runs-dir", str(blocker / "runs")
    )
    assert code == 1 and "Cannot create a run folder" in err and "--no-save" in err
