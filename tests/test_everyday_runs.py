"""What a newcomer meets around real (tiny) runs: the advice on a useless result, the note on
early stopping, --json's resolved config, prediction columns, evaluate's default target,
curves for a one-epoch run, and a quiet Python API."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _run_json(zoo_cli, *args: str) -> tuple[dict, str]:
    code, out, err = zoo_cli("run", *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_a_useless_result_is_said_and_recorded(zoo_cli, tmp_path):
    # A learning rate that cannot move the weights: the model predicts near 0, far from the mean.
    payload, err = _run_json(
        zoo_cli, "-m", "linear", "-d", "housing", "--epochs", "1", "--runs-dir", str(tmp_path),
        "--set", "learning_rate=1e-9",
    )  # fmt: skip
    warnings = [line for line in err.splitlines() if line.startswith("zoo: warning:")]
    assert len(warnings) == 1 and "test R² is -" in warnings[0] and "learning_rate" in warnings[0]
    assert "for 1 epoch..." in err
    folder = Path(payload["folder"])
    recorded = json.loads((folder / "metrics.json").read_text())
    assert recorded["warnings"] == payload["warnings"] and len(payload["warnings"]) == 1
    # --json's config is the resolved one, as config.json holds it.
    assert payload["config"] == json.loads((folder / "config.json").read_text())


def test_early_stopping_says_which_weights_were_kept(zoo_cli, tmp_path):
    payload, err = _run_json(
        zoo_cli, "-m", "linear", "-d", "housing", "--epochs", "300", "--patience", "1",
        "--set", "learning_rate=1.0", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    done = payload["epochs_trained"]
    assert done < 300
    with open(Path(payload["folder"]) / "history.csv", newline="") as handle:
        losses = [float(row["val_loss"]) for row in csv.DictReader(handle)]
    best = int(np.argmin(losses)) + 1
    (note,) = [line for line in err.splitlines() if "early stopping" in line]
    assert f"after epoch {done} of 300" in note and f"kept the weights of epoch {best}" in note


def test_curves_of_a_one_epoch_run_are_not_blank(tmp_path):
    from matplotlib.image import imread

    from zoo.runs.curves import plot_history

    plot_history({"loss": [2.0], "val_loss": [3.0]}, tmp_path / "one.png")
    plot_history({"loss": [2.0, 1.0], "val_loss": [3.0, 2.0]}, tmp_path / "two.png")
    pixels = imread(tmp_path / "one.png")[..., :3]
    # Markers drawn: coloured (not grey) pixels exist although a line needs two points.
    assert (np.ptp(pixels, axis=-1) > 0.3).sum() > 50


def test_binary_predictions_have_a_column_per_class_named_by_label(zoo_cli, binary_run, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("income,age\n1.5,0.2\n-2,0.1\n")
    code, out, err = zoo_cli("predict", str(binary_run), "--input", str(data))
    assert code == 0, err
    header, *rows = list(csv.reader(out.splitlines()))
    classes = json.loads((binary_run / "data.json").read_text())["schema"]["classes"]
    assert header == ["prediction", *(f"p_{c}" for c in classes)]
    for label, *probs in rows:
        assert label in classes and sum(map(float, probs)) == pytest.approx(1.0, abs=1e-5)
        assert label == classes[int(np.argmax([float(p) for p in probs]))]
        assert all(len(p.replace(".", "").lstrip("0")) <= 7 for p in probs if "e" not in p)


def test_evaluate_on_a_new_file_uses_the_run_s_target(zoo_cli, binary_run, binary_csv, tmp_path):
    code, out, err = zoo_cli("evaluate", str(binary_run), "--data", str(binary_csv), "--json")
    assert code == 0, err
    assert json.loads(out)["part"].startswith("all 60 rows")
    # Another data set's detailed evaluation goes beside the run's own, not over it.
    written = json.loads((binary_run / "evaluations" / "loans" / "evaluation.json").read_text())
    assert written["part"].startswith("all 60 rows") and written["rows"] == 60
    other = tmp_path / "renamed.csv"
    other.write_text(binary_csv.read_text().replace("status", "outcome", 1))
    code, _, err = zoo_cli("evaluate", str(binary_run), "--data", str(other))
    assert code != 0 and "status" in err and len(err.strip().splitlines()) == 1
    code, out, err = zoo_cli("evaluate", str(binary_run), "--data", str(other), "-t", "outcome")
    assert code == 0, err


def test_the_python_api_is_as_quiet_as_the_cli(tmp_path):
    script = (
        "import zoo\n"
        "registry = zoo.Registry.discover()\n"
        "info = registry.create('datasets', 'iris').info\n"
        "registry.create('models', 'linear', zoo.ModelSpec.for_data(info))\n"
        "r = zoo.run(zoo.RunConfig(model='linear', data='iris', epochs=1), save=False)\n"
        "print(sorted(r.metrics))\n"
    )
    # The worst case: TensorFlow sets TF_CPP_MIN_LOG_LEVEL=1 in any process that imported it,
    # and a child inherits that low level, which lets CUDA's probe error through.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['accuracy', 'balanced_accuracy', 'class_balance', 'log_loss']"
    assert done.stderr == ""  # no oneDNN, cuInit or absl notices
