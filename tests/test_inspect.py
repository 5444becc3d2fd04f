"""Looking at past runs again: the detailed evaluation a run writes (evaluation.json, plots/),
``zoo show`` of one run, ``zoo compare`` of several, all read from the session's two tiny
runs (a regression, a binary classifier) or copies of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the session's tiny runs train

PNG = b"\x89PNG\r\n\x1a\n"


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _copy(run: Path, home: Path, name: str) -> Path:
    return Path(shutil.copytree(run, home / name))


def test_a_binary_run_writes_its_confusion_matrix_curves_and_plots(binary_run):
    evaluation = _json(binary_run / "evaluation.json")
    classes = _json(binary_run / "data.json")["class_names"]
    assert evaluation["task"] == "binary" and evaluation["classes"] == classes
    matrix = evaluation["confusion_matrix"]
    assert len(matrix) == 2 and sum(map(sum, matrix)) == evaluation["rows"] == 12
    assert set(evaluation["per_class"]) == set(classes)
    supports = [evaluation["per_class"][c]["support"] for c in classes]
    assert supports == [sum(row) for row in matrix]  # rows of the matrix: the true class
    roc = evaluation["roc_curve"]
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0 and len(roc["fpr"]) == len(roc["tpr"])
    auc = _json(binary_run / "metrics.json")["test"]["auc"]
    assert roc["auc"] == pytest.approx(auc)  # the same curve metrics.json summarises
    assert 0 <= evaluation["precision_recall_curve"]["average_precision"] <= 1
    assert evaluation["plots"] == [
        "plots/confusion_matrix.png",
        "plots/roc_curve.png",
        "plots/precision_recall_curve.png",
    ]
    for name in evaluation["plots"]:
        assert (binary_run / name).read_bytes()[:8] == PNG
    assert not [p for p in binary_run.rglob(".*")], "no partial files left behind"


def test_a_regression_run_writes_its_residuals_and_plots(tiny_run):
    evaluation = _json(tiny_run / "evaluation.json")
    sample = evaluation["sample"]
    assert evaluation["task"] == "regression" and len(sample["true"]) == evaluation["rows"]
    residuals = [p - t for t, p in zip(sample["true"], sample["predicted"], strict=True)]
    assert evaluation["residuals"]["mean"] == pytest.approx(sum(residuals) / len(residuals))
    assert evaluation["residuals"]["p05"] <= evaluation["residuals"]["p95"]
    assert evaluation["max_error"] == pytest.approx(max(map(abs, residuals)))
    assert sorted(p.name for p in (tiny_run / "plots").iterdir()) == [
        "predicted_vs_true.png",
        "residuals.png",
    ]


def test_plots_with_no_rows_are_none_and_a_blocked_folder_is_one_write_error(tmp_path):
    from zoo.core.errors import WriteFailed
    from zoo.runs.curves import evaluation_plots, plot_evaluation

    assert evaluation_plots({"task": "regression", "rows": 0}) == []
    (tmp_path / "plots").write_text("a file where the folder belongs")
    numbers = {"task": "binary", "classes": ["a", "b"], "confusion_matrix": [[1, 0], [0, 1]]}
    with pytest.raises(WriteFailed, match="Cannot write"):
        plot_evaluation(numbers, tmp_path / "plots")


def test_show_says_what_the_run_was_and_how_it_did(binary_run, zoo_cli):
    code, out, err = zoo_cli("show", str(binary_run))
    assert code == 0, err
    assert "complete, 2 epochs done" in out and "best epoch" in out
    assert (
        "target status (classes late, paid)" in out or "target status (classes paid, late)" in out
    )
    assert "ROC AUC" in out and "precision" in out  # the per-class table
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["income"] == ["numeric"] and lines["status"] == ["target"]  # column roles
    assert str(binary_run / "curves.png") in out
    code, out, err = zoo_cli("show", str(binary_run), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["metrics"]["test"] == _json(binary_run / "metrics.json")["test"]
    assert shown["metrics"]["best_epoch"]["monitor"] == "val_loss"
    assert shown["data"]["columns"][-1] == {"name": "status", "role": "target", "note": ""}
    assert shown["files"]["plots"] and shown["problems"] == []
    assert shown["config"] == _json(binary_run / "config.json")


def test_show_names_a_damaged_file_and_shows_the_rest(tiny_run, zoo_cli, tmp_path):
    for name in ("metrics.json", "evaluation.json", "history.csv", "data.json", "status.json"):
        copy = _copy(tiny_run, tmp_path, name)
        (copy / name).write_bytes(b"\xff\xfe garbage")
        code, out, err = zoo_cli("show", str(copy))
        assert code == 0, err
        assert f"{name} is not text" in out and re.search(r"^model +linear", out, re.M)
        code, out, err = zoo_cli("show", str(copy), "--json")
        assert code == 0 and json.loads(out)["problems"], err
    copy = _copy(tiny_run, tmp_path, "shapes")
    (copy / "metrics.json").write_text('{"test": {}, "timings": 3, "warnings": {"a": 1}}')
    (copy / "evaluation.json").write_text('{"per_class": 3, "residuals": [1], "plots": ["/etc"]}')
    code, out, err = zoo_cli("show", str(copy))
    assert code == 0 and "holds plots that are not file names" in out, err


def test_show_of_a_folder_that_is_no_run_is_one_line(zoo_cli, tmp_path):
    code, out, err = zoo_cli("show", str(tmp_path))
    assert code != 0 and not out
    assert err.count("\n") == 1 and "No run folder at" in err and "zoo runs" in err


def test_compare_sets_runs_side_by_side_and_stars_the_best(tiny_run, zoo_cli, tmp_path):
    first = _copy(tiny_run, tmp_path, "first")
    second = _copy(tiny_run, tmp_path, "second")
    config = _json(second / "config.json")
    config["model_params"]["l2"] = 0.5
    (second / "config.json").write_text(json.dumps(config))
    metrics = _json(second / "metrics.json")
    metrics["test"]["mse"] /= 2  # the second run is better on MSE only
    (second / "metrics.json").write_text(json.dumps(metrics))
    code, out, err = zoo_cli("compare", str(first), str(second))
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["model_params.l2"] == ["0.0", "0.5"]
    assert rows["MSE"][-1] == "*" and rows["MSE"].count("*") == 1
    assert "*" not in rows["R²"]  # equal values: no run is better
    assert "runs_dir" not in out and f"run 2: {second}" in out
    code, out, err = zoo_cli("compare", str(first), str(second), "--json")
    compared = json.loads(out)
    assert compared["best"]["mse"] == [1] and compared["best"]["r2"] == []
    assert compared["differences"] == {"model_params.l2": [0.0, 0.5]}
    assert compared["key_metric"] == "mse" and compared["notes"] == []


def test_compare_refuses_what_does_not_compare(tiny_run, binary_run, zoo_cli, tmp_path):
    code, out, err = zoo_cli("compare", str(tiny_run), str(binary_run))
    assert code != 0 and not out and err.count("\n") == 1
    assert "different tasks (binary, regression)" in err
    other = _copy(tiny_run, tmp_path, "other")
    config = _json(other / "config.json")
    config["data_params"]["path"] = str(tmp_path / "other.csv")
    (other / "config.json").write_text(json.dumps(config))
    code, out, err = zoo_cli("compare", str(tiny_run), str(other))
    assert code != 0 and "different data sets" in err and "--any-data" in err
    code, out, err = zoo_cli("compare", str(tiny_run), str(other), "--any-data")
    assert code == 0 and "note: the runs were trained on different data sets" in out, err
    code, out, err = zoo_cli("compare", str(tiny_run))
    assert code != 0 and "at least two run folders" in err


def test_show_and_compare_never_import_a_framework(tiny_run):
    # One process runs both commands, then lists the heavy packages it imported.
    run = str(tiny_run)
    script = (
        "import sys\n"
        "from zoo.cli.main import main\n"
        f"for args in ({['show', run]!r}, {['compare', run, run]!r}):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as done:\n"
        "        print('EXIT', done.code)\n"
        "heavy = ('tensorflow', 'keras', 'sklearn', 'matplotlib')\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in heavy)[:3])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and "EXIT" not in done.stdout, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"
