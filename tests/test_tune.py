"""zoo tune end to end: tiny real searches (3 trials, a few epochs, 200 synthetic rows)."""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import saved_test_part
from tune_plugin import registry_with_tinynet

from zoo import Registry, RunConfig, load_run
from zoo.app.tune import TuneRequest, tune
from zoo.app.tune.finish import trial_rows
from zoo.app.tune.objective import make_objective, validation_score
from zoo.app.tune.space import build_space

pytestmark = pytest.mark.slow

TINY = ("-m", "mlp", "-d", "regression", "--set", "rows=200")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One tiny study through the command line, shared by the tests that read it."""
    from zoo.cli.main import main

    runs = tmp_path_factory.mktemp("tune")
    args = ["tune", *TINY, "--epochs", "3", "--trials", "3", "--runs-dir", str(runs), "--json"]
    try:
        main(args)
    except SystemExit as done:
        assert not done.code, f"zoo tune exited with {done.code}"
    (folder,) = runs.glob("tune-*-mlp-regression")
    return folder


def summary_of(folder):
    return json.loads((folder / "summary.json").read_text())


def test_a_tiny_search_writes_the_tune_folder(tuned):
    summary = summary_of(tuned)
    assert summary["trials"] == {"complete": 3, "pruned": 0, "failed": 0}
    assert (summary["model"], summary["data"]) == ("mlp", "regression")  # short, as typed
    for name in ("study.db", "tune.json", "trials.csv", "trials.md", "objective.png"):
        assert (tuned / name).is_file(), name
    assert (tuned / "importances.png").is_file()  # 3 completed trials: enough for importances
    with open(tuned / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["trial"] for r in rows] == ["0", "1", "2"]
    assert {"model.hidden", "preset.learning_rate", "run.batch_size"} <= set(rows[0])
    assert rows[0]["model.hidden"] == "32,16"  # trial 0 is the default configuration
    best = summary["best"]
    assert best["val_loss"] == min(float(r["val_loss"]) for r in rows)
    names = [c["name"] for c in summary["comparison"]]
    assert names == [f"best trial (#{best['trial']})", "default configuration"] + [
        "sklearn-linear",
        "sklearn-gboost",
    ]
    assert all("mse" in c["metrics"] for c in summary["comparison"])
    assert "Test part (scored once, after selection)" in (tuned / "trials.md").read_text()
    assert not [key for key in summary if key.startswith("_")]  # nothing internal in the file


def test_the_best_trial_reproduces_with_zoo_run_and_best_toml(tuned, zoo_cli, tmp_path):
    summary = summary_of(tuned)
    code, out, err = zoo_cli(
        "run", "-c", str(tuned / "best.toml"), "--runs-dir", str(tmp_path), "--json"
    )
    assert code == 0, err
    folder = json.loads(out)["folder"]
    score, _ = validation_score(load_run(folder).history)
    assert math.isclose(score, summary["best"]["val_loss"], rel_tol=1e-5)
    assert math.isclose(score, summary["best"]["reproduced_val_loss"], rel_tol=1e-5)


def _zoo(capfd, *args):
    """``zoo ARGS`` in this process, with what every process writes to fds 1 and 2."""
    from zoo.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    out, err = capfd.readouterr()
    return code, out, err


TENSORFLOW_NOTICES = ("absl", "cpu_feature_guard", "cuda", "oneDNN", "TensorFlow binary")


def test_a_copied_folder_resumes_its_own_study_from_two_quiet_worker_processes(
    tuned, capfd, tmp_path
):
    import shutil

    import optuna

    copy = Path(shutil.copytree(tuned, tmp_path / tuned.name))
    record = json.loads((tuned / "tune.json").read_text())
    code, out, err = _zoo(
        capfd, "tune", "--resume", str(copy), "--trials", "2", "--jobs", "2", "--no-baselines",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert not [w for w in TENSORFLOW_NOTICES if w in err], err  # workers start quietly too
    assert "zoo: scoring the best trial (#" in err
    original = optuna.load_study(study_name=record["study_name"], storage=record_url(tuned))
    assert len(original.trials) == 3  # the copy's own study.db took the new trials
    study = optuna.load_study(study_name=record["study_name"], storage=record_url(copy))
    assert len(study.trials) == 5
    processes = {t.user_attrs["process"] for t in study.trials[3:]}
    assert len(processes) == 2 and os.getpid() not in processes  # one trial per worker
    assert json.loads(out)["folder"] == str(copy)
    assert sum(json.loads(out)["trials"].values()) == 5
    code, _, err = _zoo(capfd, "tune", "--resume", str(copy), "--model", "linear")
    assert code != 0 and "its study tunes mlp on regression, not linear on regression" in err


def record_url(folder):
    return f"sqlite:///{folder / 'study.db'}"


def test_the_space_comes_from_a_test_plugins_declared_params_and_mlflow_gets_the_study(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts under ./mlruns
    registry = registry_with_tinynet()
    base = RunConfig(model="tinynet", data="regression", data_params={"rows": 200}, epochs=2)
    track = f"sqlite:///{tmp_path / 'mlflow.db'}"
    request = TuneRequest(
        base=base, trials=2, tune_dir=str(tmp_path), baselines=False, track=track, ensemble=2
    )
    summary = tune(request, registry)
    assert summary["trials"]["complete"] == 2
    params = summary["best"]["params"]
    assert {"model.units", "model.scale", "model.use_bias"} <= set(params)
    assert "model.activation" not in params  # text, without choices: kept at its default
    assert 2 <= params["model.units"] <= 32
    assert any("model.units: 2 .. 32, log (derived)" in d for d in summary["space"])
    runs = _mlflow_runs(track)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    kinds = sorted(r.data.tags["zoo.kind"] for r in children)
    assert kinds == ["best", "ensemble", "trial", "trial"]
    for child in children:
        tested = any(k.startswith("test_") for k in child.data.metrics)
        assert tested == (child.data.tags["zoo.kind"] != "trial")  # trials never see the test part
    (ensemble,) = [r for r in children if r.data.tags["zoo.kind"] == "ensemble"]
    assert ensemble.data.metrics["test_mse"] == pytest.approx(
        summary["comparison"][1]["metrics"]["mse"]
    )


def _mlflow_runs(uri):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments)


def test_pruning_stops_a_clearly_worse_trial():
    import optuna

    from zoo import plan

    registry = registry_with_tinynet()
    base = RunConfig(
        model="tinynet", data="regression", data_params={"rows": 200}, epochs=8, patience=20
    )
    checked = plan(base, registry)
    fixed = {"units": 8, "scale": 0.5, "use_bias": True, "batch_size": 32}
    space = build_space(
        checked.config,
        checked.model,
        checked.preset,
        {**fixed, "learning_rate": {"low": 1e-8, "high": 0.1, "log": True}},
    )
    study = optuna.create_study(
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    )
    for rate in (0.05, 0.05, 1e-8):  # two good trials, then one that cannot learn
        study.enqueue_trial({"preset.learning_rate": rate})
    study.optimize(make_objective(checked.config, space, registry, warmup_epochs=2), n_trials=3)
    states = [t.state for t in study.trials]
    assert states[:2] == [optuna.trial.TrialState.COMPLETE] * 2
    assert states[2] == optuna.trial.TrialState.PRUNED
    assert study.trials[2].user_attrs["epochs"] < 8  # stopped before its last epoch
    rows = trial_rows(study.trials)
    # Its loss at the epoch it was stopped is kept apart from the completed trials' losses.
    assert rows[2]["val_loss"] == "" and rows[2]["pruned_loss"] == study.trials[2].value
    assert rows[0]["pruned_loss"] == "" and rows[0]["val_loss"] == study.trials[0].value


def test_a_trial_with_larger_batches_is_judged_only_after_as_many_steps():
    import optuna

    from zoo import plan
    from zoo.app.tune.objective import first_judged_epoch

    registry = registry_with_tinynet()
    base = RunConfig(
        model="tinynet", data="regression", data_params={"rows": 200}, epochs=6, patience=20
    )
    checked = plan(replace(base, batch_size=32), registry)
    fixed = {"units": 8, "scale": 0.5, "use_bias": True}
    searched = {"learning_rate": {"low": 1e-8, "high": 0.1, "log": True}}
    space = build_space(
        checked.config,
        checked.model,
        checked.preset,
        {**fixed, **searched, "batch_size": {"choices": [32, 128]}},
    )
    study = optuna.create_study(
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    )
    # Two good trials, then the trial that could not learn above, in batches 4 times larger:
    # 4 times fewer steps per epoch, so not judged before epoch 8 (past its 6 epochs).
    for rate, batch in ((0.05, 32), (0.05, 32), (1e-8, 128)):
        study.enqueue_trial({"preset.learning_rate": rate, "run.batch_size": batch})
    study.optimize(make_objective(checked.config, space, registry, warmup_epochs=2), n_trials=3)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert study.trials[2].user_attrs["epochs"] == 6
    large, small = replace(checked.config, batch_size=128), replace(checked.config, batch_size=16)
    assert first_judged_epoch(large, checked.config, 30) == 120
    assert first_judged_epoch(small, checked.config, 30) == 30  # more steps: the usual warmup


@pytest.fixture(scope="module")
def cross_validated(tmp_path_factory):
    """A tiny study with two cross-validation folds per trial, its two trials averaged."""
    from zoo.cli.main import main

    runs = tmp_path_factory.mktemp("tune-folds")
    args = ["tune", *TINY, "--epochs", "4", "--trials", "2", "--folds", "2", "--ensemble", "top-2"]
    args.append("--reduce-lr")
    try:
        main([*args, "--runs-dir", str(runs), "--json", "--no-baselines"])
    except SystemExit as done:
        assert not done.code, f"zoo tune exited with {done.code}"
    (folder,) = runs.glob("tune-*-mlp-regression")
    return folder


def test_with_folds_each_trial_is_the_mean_of_its_folds(cross_validated):
    import optuna

    record = json.loads((cross_validated / "tune.json").read_text())
    study = optuna.load_study(study_name=record["study_name"], storage=record_url(cross_validated))
    for trial in study.trials:
        losses = trial.user_attrs["fold_val_losses"]
        assert len(losses) == 2
        assert math.isclose(trial.value, sum(losses) / 2, rel_tol=1e-9)
        assert 1 <= trial.user_attrs["best_epoch"] <= 4
    summary = summary_of(cross_validated)
    assert summary["folds"] == 2
    assert "2 cross-validation folds" in (cross_validated / "trials.md").read_text()


def test_with_folds_the_choice_is_its_fold_models_averaged(cross_validated, zoo_cli, tmp_path):
    summary = summary_of(cross_validated)
    best = summary["best"]
    assert best["config"]["folds"] == 2 and best["config"]["fold"] is None
    assert best["config"]["reduce_lr"] is True  # --reduce-lr: every trial, and the choice
    assert "reduce_lr = true" in (cross_validated / "best.toml").read_text()
    assert "reproduced_val_loss" not in best  # the run is not one of the trial's fold runs
    run = load_run(best["run_folder"])
    names = [layer.name for layer in run.model.layers]
    assert {"member_1", "member_2", "average"} <= set(names) and "member_3" not in names
    tested = summary["comparison"][0]["metrics"]
    code, out, err = zoo_cli(
        "run", "-c", str(cross_validated / "best.toml"), "--runs-dir", str(tmp_path), "--json"
    )
    assert code == 0, err
    again = json.loads(out)["metrics"]
    assert math.isclose(again["mse"], tested["mse"], rel_tol=1e-5)  # the same models, again


def test_the_top_k_ensemble_averages_the_best_trials_fold_models_into_a_run(
    cross_validated, zoo_cli
):
    import numpy as np

    from zoo.train.scoring import score

    summary = summary_of(cross_validated)
    ensemble = summary["ensemble"]
    assert sorted(ensemble["trials"]) == [0, 1]  # both trials, best first
    assert ensemble["trials"][0] == summary["best"]["trial"]
    members = json.loads((Path(ensemble["run_folder"]) / "ensemble.json").read_text())["members"]
    assert members == ensemble["member_folders"]
    assert members[0] == summary["best"]["run_folder"]  # the best trial's run, not trained twice
    runs = [load_run(m) for m in members]
    assert all(run.config["folds"] == 2 for run in runs)  # each member: its fold models averaged
    assert runs[1].config["preset_params"] != runs[0].config["preset_params"]
    names = [c["name"] for c in summary["comparison"]]
    assert names == [f"best trial (#{ensemble['trials'][0]})", "ensemble of top-2 trials"] + [
        "default configuration"
    ]
    x_test, y_test = saved_test_part(runs[0])
    mean = np.mean([run.predict(x_test) for run in runs], axis=0)
    expected = score("regression", y_test, mean)
    assert summary["comparison"][1]["metrics"]["mse"] == pytest.approx(expected["mse"], rel=1e-5)
    code, out, err = zoo_cli("evaluate", ensemble["run_folder"], "--json", "--no-save")
    assert code == 0, err
    assert json.loads(out)["metrics"]["mse"] == pytest.approx(expected["mse"], rel=1e-5)
    text = (cross_validated / "trials.md").read_text()
    assert f"Ensemble of the top-2 trials (#{ensemble['trials'][0]}, #" in text


def test_an_ensemble_larger_than_the_completed_trials_is_a_note_and_top_1_is_refused(
    tuned, zoo_cli, tmp_path
):
    import shutil

    copy = Path(shutil.copytree(tuned, tmp_path / tuned.name))
    code, _, err = zoo_cli("tune", "--resume", str(copy), "--trials", "1", "--ensemble", "top-1")
    assert code != 0
    assert "--ensemble must be top-K with K at least 2" in err and len(err.splitlines()) == 1
    assert len(list(copy.glob("*"))) == len(list(tuned.glob("*")))  # refused before anything ran
    code, out, err = zoo_cli(
        "tune", "--resume", str(copy), "--trials", "1", "--ensemble", "top-9", "--no-baselines",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert "ensemble" not in summary
    assert any(
        n.startswith("--ensemble top-9 skipped: 4 completed trial(s)") for n in summary["notes"]
    )
    assert [c["name"] for c in summary["comparison"]][1] == "default configuration"


def test_the_api_takes_k_or_top_k_and_refuses_k_below_2():
    from zoo.app.tune.request import check_request
    from zoo.core.errors import InvalidParameterError

    base = RunConfig(model="linear", data="housing")
    for good in (2, "top-3", None):
        check_request(TuneRequest(base=base, ensemble=good), Registry.discover())
    for bad in (1, 0, True, "top-1", "three"):
        with pytest.raises(InvalidParameterError, match=r"^--ensemble must be top-K with K at"):
            check_request(TuneRequest(base=base, ensemble=bad), Registry.discover())


@pytest.mark.parametrize(
    "given",
    [("--folds", "3"), ("--reduce-lr",), ("--set", "hidden=8"), ("--batch-size", "8")]
    + [("--validation-size", "0.3")],
)
def test_the_study_s_settings_cannot_change_on_resume(cross_validated, zoo_cli, given):
    code, _, err = zoo_cli("tune", "--resume", str(cross_validated), *given)
    assert code != 0 and f"{given[0]} cannot change" in err
    assert len(err.strip().splitlines()) <= 2  # click's usage line, then the error


def test_an_ensemble_member_that_fails_to_train_again_is_a_note_and_the_search_stands(tmp_path):
    from tune_plugin import FailsOnce

    # Two trials and the best trial's test run build 3 models; the second member, the 4th.
    registry = Registry.discover(entry_points=False, extra=[("fragile", FailsOnce(4))])
    base = RunConfig(model="fragile", data="regression", data_params={"rows": 200}, epochs=2)
    request = TuneRequest(base=base, trials=2, tune_dir=str(tmp_path), baselines=False, ensemble=2)
    summary = tune(request, registry)
    assert summary["trials"]["complete"] == 2 and "ensemble" not in summary
    (note,) = [n for n in summary["notes"] if n.startswith("--ensemble top-2 failed")]
    assert "MemoryError: no memory left" in note and "--resume" in note
    folder = Path(summary["folder"])
    names = [row["name"] for row in summary["comparison"]]
    assert names[0].startswith("best trial") and not any("ensemble" in n for n in names)
    saved = json.loads((folder / "summary.json").read_text())
    assert saved["notes"] == summary["notes"] and load_run(summary["best"]["run_folder"])
    # Nothing half-written: the best trial's run is the folder's only run.
    runs = [p.name for p in folder.iterdir() if p.is_dir()]
    assert runs == [Path(summary["best"]["run_folder"]).name]


def test_refit_scores_each_choice_as_zoo_run_seed_ensemble_trains_it(
    cross_validated, zoo_cli, tmp_path
):
    import shutil

    copy = Path(shutil.copytree(cross_validated, tmp_path / cross_validated.name))
    code, out, err = zoo_cli(
        "tune", "--resume", str(copy), "--trials", "1", "--refit", "2", "--ensemble", "top-2",
        "--no-baselines", "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["refit"] == 2 and summary["folds"] == 2  # trials still cross-validated
    best = summary["best"]["config"]
    assert (best["folds"], best["seed_ensemble"], best["validation_size"]) == (1, 2, 0.1)
    assert best["reduce_lr"] is True  # the study's settings carry over
    run = load_run(summary["best"]["run_folder"])
    names = {layer.name for layer in run.model.layers}
    assert {"member_1", "member_2", "average"} <= names and "member_3" not in names
    members = [load_run(m) for m in summary["ensemble"]["member_folders"]]
    assert [(m.config["folds"], m.config["seed_ensemble"]) for m in members] == [(1, 2)] * 2
    assert "2 models trained as zoo run trains it" in (copy / "trials.md").read_text()
    assert "seed_ensemble = 2" in (copy / "best.toml").read_text()
    code, out, err = zoo_cli("run", "-c", str(copy / "best.toml"), "--no-save", "--json")
    assert code == 0, err
    tested = summary["comparison"][0]["metrics"]["mse"]
    assert json.loads(out)["metrics"]["mse"] == pytest.approx(tested, rel=1e-5)


@pytest.mark.parametrize("bad", [-1, True, 101, "3", 2.0])
def test_refit_must_be_a_seed_ensemble_size(bad):
    from zoo.app.tune.request import check_request
    from zoo.core.errors import InvalidParameterError

    base = RunConfig(model="linear", data="housing")
    with pytest.raises(InvalidParameterError, match=r"^--refit must be a whole number from 0"):
        check_request(TuneRequest(base=base, refit=bad), Registry.discover())


def test_refit_past_the_last_seed_is_refused_before_the_search():
    from zoo.app.tune.request import check_request
    from zoo.core.errors import InvalidParameterError

    base = RunConfig(model="linear", data="housing", seed=2**32 - 1)
    with pytest.raises(InvalidParameterError, match="seed \\+ seed_ensemble - 1 at most"):
        check_request(TuneRequest(base=base, refit=2), Registry.discover())
