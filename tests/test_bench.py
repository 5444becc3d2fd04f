"""zoo bench: the grid, the leaderboards and their exports, failures, interruption, resuming,
worker processes. Training tests use tiny data and two epochs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from bench_plugin import INTERRUPT_ENV, PLUGIN
from helpers import heavy_imports

from zoo import Registry
from zoo.app.bench import BenchSpec, Resume, read_grid_file, run_bench
from zoo.app.bench.export import leaderboard, leaderboards_text
from zoo.app.bench.grid import expand
from zoo.app.bench.spec import BenchFolder
from zoo.core.errors import InvalidParameterError, UnknownNameError

GRID = dict(
    models=["linear", "cnn", "broken"],
    data=["iris", "regression"],
    sets=["rows=200"],
    repeats=2,
    base={"epochs": 2},
    plugins=[PLUGIN],
)


@pytest.fixture(scope="module")
def registry():
    import bench_plugin

    return Registry.discover(extra=[("bench-tests", bench_plugin)])


# -- the grid (no training) ----------------------------------------------------------------


def test_grid_plans_every_combination_with_seeds_per_repeat_and_skips_the_incompatible(registry):
    grid = expand(BenchSpec(**GRID), registry)
    zoo_rows = [c for c in grid.combinations if c.kind == "zoo"]
    assert len(zoo_rows) == 2 * 2 * 2  # linear, broken x iris, regression x 2 repeats
    assert {c.config["seed"] for c in zoo_rows if c.repeat == 1} == {1}
    assert {c.config["split_seed"] for c in grid.combinations} == {42}
    regression = [c for c in grid.combinations if c.data == "regression"]
    assert all(c.config["data_params"] == {"rows": 200} for c in regression)
    assert all("rows" not in c.config["data_params"] for c in grid.combinations if c.data == "iris")
    baselines = {(c.model, c.data) for c in grid.combinations if c.kind == "baseline"}
    assert ("sklearn-gboost", "iris") in baselines and ("sklearn-linear", "regression") in baselines
    assert {(s.model, s.data) for s in grid.skipped} == {("cnn", "iris"), ("cnn", "regression")}
    assert "image" in grid.skipped[0].reason


def test_repeats_of_a_seed_ensemble_share_no_seed(registry):
    spec = {**GRID, "repeats": 3, "base": {"epochs": 2, "seed": 5, "seed_ensemble": 2}}
    grid = expand(BenchSpec(**spec), registry)
    linear = [c for c in grid.combinations if c.model == "linear" and c.data == "iris"]
    assert [(c.repeat, c.config["seed"]) for c in linear] == [(0, 5), (1, 7), (2, 9)]
    assert {c.config["seed_ensemble"] for c in linear} == {2}


@pytest.mark.slow
def test_each_run_of_a_bench_is_planned_once_at_most(tmp_path, monkeypatch):
    from zoo.app.bench import execute, grid
    from zoo.plan import planning

    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0].seed)
        return planning.plan(*args, **kwargs)

    monkeypatch.setattr(grid, "plan", counting)
    monkeypatch.setattr(execute, "plan", counting)
    spec = BenchSpec(
        models=["linear"], data=["iris"], repeats=3, base={"epochs": 1}, baselines=False
    )
    outcome = run_bench(spec, runs_dir=tmp_path)
    assert outcome.ran == 3 and outcome.status == "complete"
    records = BenchFolder.open(outcome.folder).results().values()
    assert sorted(r["seed"] for r in records) == [0, 1, 2]
    # Names resolved for the combination, then its plan with every --set; each repeat
    # reuses it with its own seed. 3 runs, at most 3 plans.
    assert len(calls) <= 3, calls


def test_wildcards_expand_and_skip_what_cannot_run(registry):
    grid = expand(BenchSpec(models=["*"], data=["iris"], baselines=False), registry)
    models = {c.model for c in grid.combinations}
    assert {"linear", "mlp", "broken"} <= models
    assert {s.model for s in grid.skipped} >= {"cnn", "transfer"}


@pytest.mark.parametrize(
    "spec, error, words",
    [
        ({"models": ["mlpp"], "data": ["iris"]}, UnknownNameError, "mlp"),
        ({"models": ["zz*"], "data": ["iris"]}, UnknownNameError, "No model matches"),
        (
            {"models": ["mlp"], "data": ["iris"], "sets": ["hiden=3"]},
            InvalidParameterError,
            "hidden",
        ),
        (
            {"models": ["mlp"], "data": ["iris"], "sets": ["hidden=x"]},
            InvalidParameterError,
            "hidden",
        ),
    ],
)
def test_bad_names_and_sets_are_one_line_errors(registry, spec, error, words):
    with pytest.raises(error) as caught:
        expand(BenchSpec(**spec), registry)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_repeats_must_be_positive():
    with pytest.raises(InvalidParameterError, match="repeats"):
        BenchSpec(models=["mlp"], data=["iris"], repeats=0)


def test_grid_file_takes_lists(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        'model = ["mlp", "linear"]\ndata = "iris,wine"\nrepeats = 2\nepochs = 3\n'
        'set = ["hidden=8"]\n[model_params]\ndropout = 0.1\n'
    )
    values = read_grid_file(path)
    assert values["model"] == ["mlp", "linear"] and values["data"] == ["iris", "wine"]
    assert values["repeats"] == 2 and values["set"] == ["hidden=8"]
    path.write_text("epochs = 'many'\n")
    with pytest.raises(InvalidParameterError, match="epochs must be int"):
        read_grid_file(path)
    path.write_text("modle = 'mlp'\n")
    with pytest.raises(InvalidParameterError, match="Did you mean: model"):
        read_grid_file(path)


# -- ranking and rendering (no training) ---------------------------------------------------


def _record(model, data, task, metrics, repeat=0, status="ok"):
    return {
        "key": f"{model}|{data}|p|{repeat}",
        "kind": "zoo",
        "model": model,
        "data": data,
        "preset": "p",
        "repeat": repeat,
        "status": status,
        "task": task,
        "metrics": metrics,
        "timings": {"fit_s": 1.0},
        "params": 100,
        "error": "boom" if status == "failed" else None,
    }


def test_a_loss_ranks_lowest_first_and_accuracy_highest_first():
    losses = [
        _record("a", "d", "regression", {"mse": 3.0}),
        _record("b", "d", "regression", {"mse": 1.0}),
        _record("c", "d", "regression", {}, status="failed"),
        _record("e", "d", "regression", {"mse": 2.0}),
    ]
    board = leaderboard("d", losses)
    assert [r["model"] for r in board["rows"]] == ["b", "e", "a", "c"]
    assert [r["rank"] for r in board["rows"]] == [1, 2, 3, None]
    accuracies = [
        _record("a", "d", "binary", {"accuracy": 0.7}),
        _record("b", "d", "binary", {"accuracy": 0.9}),
        _record("b", "d", "binary", {"accuracy": 0.8}, repeat=1),
    ]
    board = leaderboard("d", accuracies)
    assert [r["model"] for r in board["rows"]] == ["b", "a"]
    assert board["rows"][0]["metrics"]["accuracy"]["mean"] == pytest.approx(0.85)
    assert board["rows"][0]["metrics"]["accuracy"]["std"] == pytest.approx(0.0707, abs=1e-4)


def test_leaderboards_fit_80_columns_even_with_many_metrics_and_long_names():
    metrics = {"mse": 13.85123, "rmse": 3.7212, "mae": 2.4595, "r2": 0.81112}
    records = [
        _record(f"a-rather-long-model-name-{i}", "housing", "regression", metrics, repeat=r)
        for i in range(3)
        for r in range(2)
    ]
    board = leaderboard("housing", records)
    text = leaderboards_text({"datasets": [board], "skipped": [], "failed": []})
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "mse" in text.splitlines()[1]


# -- light imports -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["bench", "--help"], ["--help"], ["list"]])
def test_bench_help_and_listing_import_no_framework_and_no_mlflow(args):
    assert heavy_imports(args, ("tensorflow", "keras", "mlflow")) == []


# -- real benches --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One bench on tiny data: a model that trains, one incompatible, one that fails."""
    runs = tmp_path_factory.mktemp("bench")
    return run_bench(BenchSpec(**GRID), runs_dir=runs)


def _board(summary, data):
    return next(b for b in summary["datasets"] if b["data"] == data)


@pytest.mark.slow
def test_a_bench_ranks_every_data_set_with_baselines_failures_and_skips(finished):
    summary = finished.summary
    assert finished.status == "failed" and summary["status"] == "failed"  # broken failed
    assert summary["counts"] == {
        "combinations": 16,
        "ok": 12,
        "failed": 4,
        "skipped": 2,
        "missing": 0,
    }
    iris = _board(summary, "iris")
    assert iris["key_metric"] == "accuracy" and iris["higher_is_better"] is True
    means = [r["metrics"]["accuracy"]["mean"] for r in iris["rows"] if r["rank"]]
    assert means == sorted(means, reverse=True)
    regression = _board(summary, "regression")
    assert regression["key_metric"] == "mse" and regression["higher_is_better"] is False
    means = [r["metrics"]["mse"]["mean"] for r in regression["rows"] if r["rank"]]
    assert means == sorted(means)
    rows = {r["model"]: r for r in regression["rows"]}
    assert set(rows) == {"linear", "broken", "sklearn-linear", "sklearn-gboost"}
    assert len(rows["linear"]["metrics"]["mse"]["values"]) == 2
    assert rows["linear"]["metrics"]["mse"]["std"] is not None
    assert rows["linear"]["params"] == 11  # 10 weights + 1 bias (the scaling's are not trained)
    assert rows["broken"]["rank"] is None and rows["broken"]["status"] == "failed"
    assert "deliberately broken model" in rows["broken"]["errors"][0]
    assert rows["sklearn-linear"]["params"] is None
    assert {(s["model"], s["data"]) for s in summary["skipped"]} == {
        ("cnn", "iris"),
        ("cnn", "regression"),
    }


@pytest.mark.slow
def test_the_bench_folder_holds_runs_exports_and_charts_that_parse_back(finished):
    folder = finished.folder
    assert folder.name.startswith("bench-")
    runs = [p for p in (folder / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 4  # linear on 2 data sets, 2 repeats (broken fails before its folder)
    assert json.loads((folder / "summary.json").read_text()) == json.loads(
        json.dumps(finished.summary)
    )
    with (folder / "summary.csv").open() as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == sum(len(b["rows"]) for b in finished.summary["datasets"])
    first = next(line for line in lines if line["data"] == "regression" and line["rank"] == "1")
    assert (
        float(first["mse_mean"])
        == _board(finished.summary, "regression")["rows"][0]["metrics"]["mse"]["mean"]
    )
    markdown = (folder / "summary.md").read_text()
    assert "## regression (regression): ranked by mse, lower is better" in markdown
    assert "| # " in markdown and "![accuracy on iris](chart-iris.png)" in markdown
    assert "## Skipped" in markdown and "## Failed" in markdown
    for data in ("iris", "regression"):
        assert (folder / f"chart-{data}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = leaderboards_text(finished.summary)
    assert all(len(line) <= 80 for block in text.split("\n\n")[:2] for line in block.splitlines())


@pytest.mark.slow
def test_resume_runs_what_is_missing_then_the_failed_ones_unless_told_to_skip_them(
    finished, tmp_path, zoo_cli
):
    copy = shutil.copytree(finished.folder, tmp_path / finished.folder.name)
    folder = BenchFolder(copy)
    gone = folder.result_path("linear|regression|adam-mse|1")
    assert gone.exists()
    gone.unlink()
    resumed = run_bench(resume=Resume(copy, skip_failed=True))
    assert resumed.ran == 1 and resumed.status == "failed"
    assert _metrics(resumed.summary) == _metrics(finished.summary)
    assert json.loads((copy / "bench.json").read_text())["status"] == "failed"
    retried = run_bench(resume=copy)  # the 4 failed combinations (broken) run again
    assert retried.ran == 4 and retried.status == "failed"
    assert {r["model"] for r in retried.summary["failed"]} == {"broken"}
    code, _, err = zoo_cli("bench", "--resume", str(copy), "--skip-failed")
    assert code == 1
    (line,) = [line for line in err.splitlines() if "error" in line]
    assert "Bench failed: 4 of 16 combination(s) failed" in line
    code, _, err = zoo_cli("bench", "-m", "linear", "-d", "iris", "--skip-failed")
    assert code == 2 and "--skip-failed goes with --resume" in err


def _metrics(summary):
    return {
        (b["data"], r["model"]): {m: s["values"] for m, s in r["metrics"].items()}
        for b in summary["datasets"]
        for r in b["rows"]
    }


@pytest.mark.slow
def test_two_workers_give_the_same_metrics_as_one_process(finished, tmp_path):
    spec = BenchSpec(
        **{**GRID, "models": ["linear", "broken"], "data": ["iris"], "sets": [], "repeats": 1}
    )
    parallel = run_bench(spec, runs_dir=tmp_path, jobs=2)
    assert parallel.status == "failed"  # broken
    mine = _metrics(parallel.summary)
    theirs = _metrics(finished.summary)
    assert set(mine) == {
        ("iris", m) for m in ("linear", "broken", "sklearn-linear", "sklearn-gboost")
    }
    assert all(mine[key] == {m: v[:1] for m, v in theirs[key].items()} for key in mine)
    assert "deliberately broken model" in parallel.summary["failed"][0]["error"]


@pytest.mark.slow
def test_an_interrupted_bench_keeps_finished_results_and_resumes(tmp_path, monkeypatch, zoo_cli):
    monkeypatch.setenv(INTERRUPT_ENV, "1")
    spec = BenchSpec(
        models=["linear", "interrupter"],
        data=["iris"],
        base={"epochs": 1},
        baselines=False,
        plugins=[PLUGIN],
    )
    stopped = run_bench(spec, runs_dir=tmp_path)
    assert stopped.status == "interrupted" and stopped.ran == 1
    assert stopped.summary["counts"]["missing"] == 1
    assert (stopped.folder / "summary.json").exists()
    monkeypatch.delenv(INTERRUPT_ENV)
    code, out, err = zoo_cli("bench", "--resume", str(stopped.folder), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "complete" and summary["counts"]["ok"] == 2
    assert "1 of 2 combinations already done" in err


@pytest.mark.slow
def test_the_command_reads_a_grid_file_and_prints_json(tmp_path, zoo_cli):
    grid = tmp_path / "grid.toml"
    grid.write_text('model = ["linear"]\ndata = ["iris"]\nepochs = 1\nbaselines = false\n')
    code, out, err = zoo_cli("bench", "-c", str(grid), "--runs-dir", str(tmp_path), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert [r["model"] for r in summary["datasets"][0]["rows"]] == ["linear"]
    assert Path(summary["folder"]).parent == tmp_path
    code, out, err = zoo_cli(
        "bench",
        "-m",
        "linear",
        "-d",
        "iris",
        "--epochs",
        "1",
        "--no-baselines",
        "--runs-dir",
        str(tmp_path),
    )
    assert code == 0, err
    assert out.startswith("iris (multiclass): ranked by accuracy, higher is better")


# -- ensembles -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["top-1", "top-0", "best", "top-x", "3", ["top-2"]])
def test_a_bad_ensemble_is_one_line_before_anything_runs(value):
    with pytest.raises(InvalidParameterError, match=r"^--ensemble must be top-K with K at least 2"):
        BenchSpec(models=["linear"], data=["iris"], ensemble=value)


def test_the_command_refuses_a_bad_ensemble_in_one_line(tmp_path, zoo_cli):
    code, _, err = zoo_cli(
        "bench", "-m", "linear", "-d", "iris", "--ensemble", "top-1", "--runs-dir", str(tmp_path)
    )
    assert code != 0
    (line,) = [line for line in err.splitlines() if "--ensemble" in line]
    assert "e.g. top-3" in line and "'top-1'" in line
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.fixture(scope="module")
def ensembled(tmp_path_factory, binary_csv):
    """A bench of two models on a tiny binary CSV file, their top-2 ensemble added."""
    spec = BenchSpec(
        models=["linear", "mlp"],
        data=[str(binary_csv)],
        base={"epochs": 2, "target": "status"},
        baselines=False,
        ensemble="top-2",
    )
    return run_bench(spec, runs_dir=tmp_path_factory.mktemp("ensemble"))


def _member_outputs(folder, x=None):
    """A member's own predictions: on its test part (and the labels) or on ``x``."""
    from helpers import saved_test_part

    from zoo.app.saved import load_run

    run = load_run(folder)
    if x is not None:
        return run.predict(x)
    x_test, y_test = saved_test_part(run)
    return y_test, run.predict(x_test)


@pytest.mark.slow
def test_an_ensemble_row_scores_the_averaged_outputs_and_is_a_run_that_evaluate_and_predict_take(
    ensembled, binary_csv, zoo_cli
):
    import numpy as np

    from zoo.train.scoring import score

    (board,) = ensembled.summary["datasets"]
    assert ensembled.status == "complete"
    rows = {r["model"]: r for r in board["rows"]}
    assert set(rows) == {"linear", "mlp", "ensemble(top-2)"}
    row = rows["ensemble(top-2)"]
    assert row["kind"] == "ensemble" and row["rank"] in (1, 2, 3)
    (folder,) = row["folders"]
    members = json.loads((Path(folder) / "ensemble.json").read_text())["members"]
    assert sorted(members) == sorted(rows[m]["folders"][0] for m in ("linear", "mlp"))
    outputs = [_member_outputs(m) for m in members]
    y_test = outputs[0][0]
    expected = score("binary", y_test, np.mean([o for _, o in outputs], axis=0))
    for metric, value in expected.items():
        if metric in row["metrics"]:
            assert row["metrics"][metric]["mean"] == pytest.approx(value, abs=1e-5)
    code, out, err = zoo_cli("evaluate", folder, "--json", "--no-save")
    assert code == 0, err
    assert json.loads(out)["metrics"]["accuracy"] == pytest.approx(expected["accuracy"])
    code, out, err = zoo_cli("predict", folder, "--input", str(binary_csv))
    assert code == 0, err
    probs = np.array([[float(p) for p in line[1:]] for line in csv.reader(out.splitlines()[1:])])
    from zoo.app.saved import load_run

    x = load_run(folder).read_inputs(Registry.discover(), binary_csv)
    mean = np.mean([_member_outputs(m, x) for m in members], axis=0).reshape(-1)
    np.testing.assert_allclose(probs[:, 1], mean, atol=1e-5)


@pytest.mark.slow
def test_an_ensemble_of_fewer_rows_than_the_board_picks_them_by_validation_loss(
    tmp_path, binary_csv
):
    from zoo.train.callbacks import kept_epoch

    spec = BenchSpec(
        models=["linear", "mlp"],
        presets=["adam-binary", "rmsprop", "sgd-momentum"],
        data=[str(binary_csv)],
        base={"epochs": 2, "target": "status"},
        baselines=False,
        ensemble="top-2",
    )
    outcome = run_bench(spec, runs_dir=tmp_path)
    (board,) = outcome.summary["datasets"]
    zoo_rows = [r for r in board["rows"] if r["kind"] == "zoo"]
    assert len(zoo_rows) == 6
    for row in zoo_rows:  # the kept weights' validation loss, read back from the run
        with open(Path(row["folders"][0]) / "history.csv") as handle:
            losses = [float(line["val_loss"]) for line in csv.DictReader(handle)]
        kept = losses[kept_epoch(losses, patience=5)]  # 2 epochs: the default patience
        assert row["validation"]["value"] == pytest.approx(kept)
    lowest = sorted(zoo_rows, key=lambda r: r["validation"]["value"])[:2]
    (row,) = [r for r in board["rows"] if r["kind"] == "ensemble"]
    assert row["ensemble"]["by"] == "validation loss"
    members = json.loads((Path(row["folders"][0]) / "ensemble.json").read_text())["members"]
    assert members == [r["folders"][0] for r in lowest]  # the lowest first: its config
    text = leaderboards_text(outcome.summary)
    names = ", ".join(f"{r['model']} ({r['preset']})" for r in lowest)
    assert f"ensemble(top-2) averages {names}: the lowest validation losses" in text
    assert "the lowest validation losses" in (outcome.folder / "summary.md").read_text()


def test_without_comparable_validation_losses_the_members_are_the_best_ranked():
    from zoo.app.bench.execute import ensemble_members

    def row(model, loss, value):
        return {"model": model, "validation": {"loss": loss, "value": value} if loss else None}

    same = [row("a", "mse", 3.0), row("b", "mse", 1.0), row("c", "mse", 2.0)]
    assert ensemble_members(same, 2) == ([same[1], same[2]], "validation loss")
    assert ensemble_members(same, 3) == (same, "every row")
    mixed = [row("a", "mse", 3.0), row("b", "huber", 1.0), row("c", "mse", 2.0)]
    assert ensemble_members(mixed, 2) == (mixed[:2], "test rank")
    missing = [row("a", "mse", 3.0), row("b", None, None), row("c", "mse", 2.0)]
    assert ensemble_members(missing, 2) == (missing[:2], "test rank")


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("adam-mse", "adamw", True),  # "mse" and the task's default name one loss
        ("adam-mse", "huber", False),
    ],
)
def test_validation_losses_compare_only_when_they_measure_the_same_loss(first, second, same):
    from zoo import RunConfig, plan
    from zoo.app.bench.execute import loss_identity

    registry = Registry.discover(entry_points=False, warn=False)
    plans = [
        plan(RunConfig(model="mlp", data="housing", preset=p), registry) for p in (first, second)
    ]
    assert (loss_identity(plans[0]) == loss_identity(plans[1])) is same


@pytest.mark.slow
def test_an_ensemble_larger_than_the_finished_rows_is_a_note(ensembled):
    from zoo.app.bench.execute import ensembles

    records, notes = ensembles(ensembled.summary, 3, ensembled.folder / "runs", Registry.discover())
    assert records == []
    (note,) = notes
    assert note["model"] == "ensemble(top-3)" and "2 finished zoo row(s)" in note["reason"]
    text = leaderboards_text({**ensembled.summary, "skipped": notes})
    assert "skipped: ensemble(top-3) on " in text
