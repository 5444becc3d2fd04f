"""Training defaults that do not hurt, and honest results on imbalanced classes: early stopping
by default (patience from the epochs, --patience 0 off), class weights (auto / balanced /
none), balanced accuracy and the leaderboard's ranking metric, advice that names the cause."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo.app.bench.export import leaderboard
from zoo.core.config import RunConfig, default_patience
from zoo.core.dataset import split_dataset
from zoo.core.errors import InvalidParameterError
from zoo.core.tasks import BINARY, MULTICLASS, REGRESSION, class_balance, ranking_metric
from zoo.train import scoring
from zoo.train.job import class_weights
from zoo.train.scoring import score


def skewed(rows: int = 400, positives: float = 0.05, seed: int = 0) -> zoo.Dataset:
    """A binary data set whose positives (``positives`` of the rows) sit a little apart."""
    rng = np.random.default_rng(seed)
    y = (np.arange(rows) < round(rows * positives)).astype("int64")
    y = rng.permutation(y)
    x = (rng.normal(size=(rows, 4)) + 1.2 * y[:, None]).astype("float32")
    return zoo.Dataset(x=x, y=y, task=BINARY, class_names=["no", "yes"])


def noise(rows: int = 80, seed: int = 0) -> zoo.Dataset:
    """A regression with targets unrelated to the inputs: a network can only overfit it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8)).astype("float32")
    return zoo.Dataset(x=x, y=rng.normal(size=rows).astype("float32"), task=REGRESSION)


class _Data:
    """The two data sets above, registered as ``skewed`` and ``noise``."""

    @zoo.hookimpl
    def register_datasets(self, register):
        register(
            "skewed", skewed, description="5 % positives", task=BINARY, input_kind="tabular",
            shape=(4,), rows=400, classes=2,
        )  # fmt: skip
        register(
            "noise", noise, description="targets unrelated to the inputs", task=REGRESSION,
            input_kind="tabular", shape=(8,), rows=80,
        )  # fmt: skip


@pytest.fixture(scope="module")
def registry():
    return zoo.Registry.discover(entry_points=False, extra=[("defaults-tests", _Data())])


# -- early stopping: the default patience, 0 for off ----------------------------------------


@pytest.mark.parametrize(
    ("epochs", "patience"), [(1, 5), (10, 5), (30, 7), (100, 25), (200, 50), (1000, 250)]
)
def test_the_default_patience_is_a_quarter_of_the_epochs_and_at_least_5(epochs, patience):
    assert default_patience(epochs) == patience
    assert RunConfig(model="m", data="d", epochs=epochs).patience == patience


def test_an_explicit_patience_is_kept_and_0_turns_early_stopping_off():
    assert RunConfig(model="m", data="d", epochs=100, patience=7).patience == 7
    assert RunConfig(model="m", data="d", epochs=100, patience=0).patience == 0


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"patience": -1}, "patience must be a whole number from 0 (no early stopping)"),
        ({"patience": True}, "received patience=True"),
        ({"class_weight": "foo"}, "class_weight must be one of auto, balanced, none"),
        ({"class_weight": "balance"}, "Did you mean: balanced?"),
    ],
)
def test_bad_patience_and_class_weight_are_one_line_errors(options, words):
    with pytest.raises(InvalidParameterError) as raised:
        RunConfig(model="m", data="d", **options)
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_the_cli_takes_patience_0_and_class_weight_and_records_both(zoo_cli):
    code, out, err = zoo_cli("run", "-m", "linear", "-d", "housing", "--dry-run")
    assert code == 0, err
    assert json.loads(out)["patience"] == 25 and json.loads(out)["class_weight"] == "auto"
    code, out, err = zoo_cli(
        "run", "-m", "linear", "-d", "iris", "--epochs", "30", "--patience", "0",
        "--set", "class_weight=balanced", "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["patience"] == 0 and json.loads(out)["class_weight"] == "balanced"
    code, _, err = zoo_cli("run", "-m", "linear", "-d", "iris", "--set", "class_weight=foo")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "class_weight" in err
    code, _, err = zoo_cli("run", "-m", "linear", "-d", "iris", "--patience", "-1")
    assert code != 0 and "--patience" in err


def test_early_stopping_needs_a_validation_part_and_a_patience():
    from zoo.train.callbacks import EarlyStopping, optional_callbacks

    def stopping(patience, has_validation):
        found = optional_callbacks(patience, None, reduce_lr=False, has_validation=has_validation)
        return [c for c in found if isinstance(c, EarlyStopping)]

    (early,) = stopping(20, True)
    assert early.patience == 20 and early.monitor == "val_loss"
    assert stopping(0, True) == [] and stopping(None, True) == []
    assert stopping(20, False) == []  # no validation part: no early stopping, no error


def test_the_best_weights_come_back_only_when_the_validation_loss_clearly_rose():
    from zoo.train.callbacks import restores_best

    assert restores_best([5.0, 3.0, 3.2, 3.4, 3.6, 3.8], 1)  # a steady rise: overfitting
    assert not restores_best([5.0, 3.0, 3.5, 3.1, 3.3, 3.05], 1)  # a noisy plateau
    assert not restores_best([5.0, 4.0, 3.0], 2)  # the best is the last
    assert restores_best([5.0, 3.0, 3.1], 1)  # patience 1: back to the best, as Keras


def test_the_kept_validation_loss_is_the_kept_weights_not_the_lowest_seen():
    from zoo import Registry, RunConfig, plan
    from zoo.app.bench.execute import kept_validation
    from zoo.train.callbacks import kept_epoch

    rising, wandering = [5.0, 3.0, 3.2, 3.4, 3.6, 3.8], [5.0, 3.0, 3.5, 3.1, 3.3, 3.05]
    assert kept_epoch(rising, patience=4) == 1  # went back to the lowest
    assert kept_epoch(wandering, patience=4) == 5  # kept the last weights
    assert kept_epoch(rising, patience=0) == 5  # no early stopping: the last
    checked = plan(RunConfig(model="linear", data="housing", patience=4), Registry.discover())
    assert kept_validation(checked, {"val_loss": wandering})["value"] == 3.05
    assert kept_validation(checked, {"val_loss": rising})["value"] == 3.0
    assert kept_validation(checked, {"loss": rising}) is None  # no validation part


def test_the_note_says_where_training_stopped_and_whose_weights_were_kept():
    from zoo.train.callbacks import early_stop_note

    rising = {"loss": [5, 4, 3, 2, 1, 0.5], "val_loss": [5, 3, 3.2, 3.4, 3.6, 3.8]}
    note = early_stop_note(rising, planned=100, patience=4)
    assert "stopped after epoch 6 of 100" in note and "kept the weights of epoch 2" in note
    wandering = {"loss": [5, 4, 3, 2, 1, 0.5], "val_loss": [5, 3, 3.5, 3.1, 3.3, 3.05]}
    note = early_stop_note(wandering, planned=100, patience=4)
    assert "stopped after epoch 6 of 100" in note and "kept the last weights" in note
    assert "epoch 2" in note
    ended = early_stop_note(rising, planned=6, patience=10)  # ran to the end, then went back
    assert "rose after epoch 2" in ended and "weights of epoch 2" in ended
    assert early_stop_note(wandering, planned=6, patience=10) is None
    assert early_stop_note(rising, planned=100, patience=0) is None


# -- class weights ----------------------------------------------------------------------------


def _parts(data: zoo.Dataset):
    return split_dataset(data)


def test_auto_class_weights_balance_a_rare_class_and_say_why():
    weights, why = class_weights("auto", _parts(skewed()))
    counts = np.bincount(_parts(skewed()).y_train, minlength=2)
    assert weights == pytest.approx({c: counts.sum() / (2 * counts[c]) for c in (0, 1)})
    assert weights[1] > 5 * weights[0]
    assert why is not None and "'yes'" in why and "% of the training part" in why


def test_balanced_and_none_do_what_they_say_and_auto_leaves_even_classes_alone():
    even = _parts(skewed(positives=0.5))
    assert class_weights("auto", even) == (None, None)
    assert class_weights("none", _parts(skewed())) == (None, None)
    weights, why = class_weights("balanced", even)
    assert why is None and weights == pytest.approx({0: 1.0, 1: 1.0}, rel=0.05)
    regression = _parts(noise())
    assert class_weights("balanced", regression) == (None, None)


def test_ten_even_classes_are_not_imbalanced():
    # Each of 10 classes holds about 10 % of the rows: "rarest under 10 %" would flag them.
    assert class_balance([174, 180, 177, 183, 181, 182, 181, 179, 174, 180]) > 0.9
    assert class_balance([95, 5]) == pytest.approx(0.1)


def test_row_weights_give_each_row_its_class_weight():
    from zoo.core.dataset import row_weights

    assert row_weights(np.array([0, 1, 1]), None) is None
    rows = row_weights(np.array([[0.0], [1.0], [1.0]]), {0: 0.5, 1: 4.0})
    assert rows.tolist() == [0.5, 4.0, 4.0]
    assert row_weights(np.array([2, 0]), {0: 3.0}).tolist() == [1.0, 3.0]


# -- metrics and the leaderboard ---------------------------------------------------------------


def test_classification_metrics_include_balanced_accuracy_and_the_class_balance():
    y = np.array([0] * 95 + [1] * 5)
    always_no = np.full((100, 1), 0.1)
    metrics = score(BINARY, y, always_no)
    assert metrics["accuracy"] == pytest.approx(0.95)
    assert metrics["balanced_accuracy"] == pytest.approx(0.5)
    assert metrics["class_balance"] == pytest.approx(0.1) and "auc" in metrics
    three = score(MULTICLASS, np.array([0, 1, 2, 2]), np.eye(3)[[0, 2, 2, 2]])
    assert three["balanced_accuracy"] == pytest.approx((1 + 0 + 1) / 3)


def _record(model: str, accuracy: float, balanced: float, balance: float) -> dict:
    metrics = {"accuracy": accuracy, "balanced_accuracy": balanced, "class_balance": balance}
    return {"kind": "zoo", "model": model, "preset": "p", "status": "ok", "task": BINARY,
            "metrics": metrics, "timings": {"fit_s": 1.0}}  # fmt: skip


def test_an_imbalanced_binary_leaderboard_ranks_by_balanced_accuracy():
    records = [_record("always-no", 0.95, 0.50, 0.1), _record("useful", 0.90, 0.80, 0.1)]
    board = leaderboard("skewed", records)
    assert board["key_metric"] == "balanced_accuracy" and board["higher_is_better"]
    assert [row["model"] for row in board["rows"]] == ["useful", "always-no"]
    assert board["class_balance"] == pytest.approx(0.1)
    assert all("class_balance" not in row["metrics"] for row in board["rows"])  # not a column
    even = leaderboard("even", [_record("a", 0.9, 0.9, 0.9), _record("b", 0.8, 0.85, 0.9)])
    assert even["key_metric"] == "accuracy"
    assert ranking_metric(REGRESSION, 0.01) == ("mse", False)


# -- advice that names the cause ---------------------------------------------------------------


def test_a_trivial_classifier_on_imbalanced_classes_is_told_about_the_imbalance():
    metrics = {"accuracy": 0.95, "balanced_accuracy": 0.5, "class_balance": 0.1}
    (line,) = scoring.review(BINARY, metrics, {"loss": [0.3, 0.2, 0.2]})
    assert "balanced accuracy 0.5000 is no better than always answering one class" in line
    assert "imbalanced" in line and "class_weight=balanced" in line
    assert "judge runs by balanced_accuracy" in line and "learning_rate" not in line


def test_weighted_classes_that_lose_accuracy_but_not_balanced_accuracy_pass():
    # Class weights trade accuracy (below the common class's 0.95) for the rare class.
    metrics = {"accuracy": 0.82, "balanced_accuracy": 0.9, "class_balance": 0.1}
    assert scoring.review(BINARY, metrics, {"loss": [0.3, 0.2, 0.2]}) == []


def test_a_trivial_classifier_that_overfits_is_told_so():
    rising = [0.7] * 5 + [0.7 + n * 0.05 for n in range(25)]
    history = {"loss": [1.0 / n for n in range(1, 31)], "val_loss": rising}
    metrics = {"accuracy": 0.5, "balanced_accuracy": 0.5, "class_balance": 1.0}
    (line,) = scoring.review(BINARY, metrics, history)
    assert "overfitting" in line and "--patience" in line and "dropout" in line
    assert "learning_rate" not in line


def test_a_trivial_classifier_with_a_flat_loss_gets_the_learning_rate_advice():
    flat = [0.7, 0.69, 0.69] + [0.69] * 20
    metrics = {"accuracy": 0.5, "balanced_accuracy": 0.5, "class_balance": 1.0}
    trivial, stopped = scoring.review(BINARY, metrics, {"loss": flat})
    assert "went flat" in trivial and "learning_rate" in trivial
    assert "stopped learning early" in stopped


def test_a_useless_regression_names_the_likely_causes_most_likely_first():
    rising = [1.0] * 5 + [1.0 + n * 0.1 for n in range(25)]
    overfit = {"loss": [1.0 / n for n in range(1, 31)], "val_loss": rising}
    (line,) = scoring.review(REGRESSION, {"r2": -0.1}, overfit)
    assert "likely causes, most likely first: 1) overfitting" in line
    assert line.index("overfitting") < line.index("learning_rate")
    (line,) = scoring.review(REGRESSION, {"r2": -0.1}, {"loss": [3.0, 2.0, 1.0]})
    assert "1) too few epochs" in line and "\n" not in line


# -- real (tiny) training ----------------------------------------------------------------------


@pytest.mark.slow
def test_early_stopping_is_on_by_default_recorded_and_off_with_0(registry, tmp_path):
    config = RunConfig(
        model="mlp", data="noise", epochs=60, preset_params={"learning_rate": 0.01},
        runs_dir=str(tmp_path),
    )  # fmt: skip
    stopped = zoo.run(config, registry)
    assert len(stopped.history["loss"]) < 60  # patience 15 on a loss that only rises
    folder = stopped.folder
    assert json.loads((folder / "config.json").read_text())["patience"] == 15
    status = json.loads((folder / "status.json").read_text())
    assert status["early_stopping"] == {"monitor": "val_loss", "patience": 15}
    full = zoo.run(RunConfig(**{**config.to_dict(), "patience": 0}), registry, save=False)
    assert len(full.history["loss"]) == 60
    unvalidated = RunConfig(**{**config.to_dict(), "validation_size": 0.0})
    assert unvalidated.patience == 15
    result = zoo.run(unvalidated, registry, save=True)  # no validation part: no early stop
    assert len(result.history["loss"]) == 60
    status = json.loads((result.folder / "status.json").read_text())
    assert status["early_stopping"] is None


@pytest.mark.slow
def test_class_weights_change_the_trained_model_and_auto_says_so(registry, tmp_path, capsys):
    def trained(class_weight: str, save: bool = False):
        config = RunConfig(
            model="linear", data="skewed", epochs=15, class_weight=class_weight,
            preset_params={"learning_rate": 0.05}, runs_dir=str(tmp_path),
        )  # fmt: skip
        return zoo.run(config, registry, save=save)

    none = trained("none")
    assert "class weights" not in capsys.readouterr().err
    balanced = trained("balanced")
    auto = trained("auto", save=True)
    err = capsys.readouterr().err
    assert err.count("zoo: class weights balanced (class_weight=auto)") == 1
    assert "'yes' is" in err and "class_weight=none" in err
    parts = _parts(skewed())
    leaning = {
        name: float(np.mean(result.model.predict(parts.x_test, verbose=0)))
        for name, result in (("none", none), ("balanced", balanced), ("auto", auto))
    }
    assert leaning["balanced"] > leaning["none"] + 0.1  # the rare class pulls harder
    assert leaning["auto"] == pytest.approx(leaning["balanced"], abs=1e-6)
    # Unweighted, the model always answers "no" (balanced accuracy 0.5, accuracy 0.95).
    assert balanced.metrics["balanced_accuracy"] > none.metrics["balanced_accuracy"] + 0.2
    status = json.loads((auto.folder / "status.json").read_text())
    assert set(status["class_weights"]) == {"no", "yes"}
    assert status["class_weights"]["yes"] > 5 * status["class_weights"]["no"]


@pytest.mark.slow
def test_an_imbalanced_bench_is_ranked_by_balanced_accuracy_and_says_so(registry, tmp_path):
    from zoo.app.bench import BenchSpec, run_bench
    from zoo.app.bench.export import leaderboards_text

    spec = BenchSpec(models=["linear"], data=["skewed"], base={"epochs": 3})
    outcome = run_bench(spec, registry=registry, runs_dir=tmp_path)
    (board,) = outcome.summary["datasets"]
    assert board["key_metric"] == "balanced_accuracy" and board["class_balance"] < 0.2
    assert all(row["rank"] for row in board["rows"])  # the baselines are ranked too
    assert "ranked by balanced_accuracy, higher is better" in leaderboards_text(outcome.summary)


WEIGHTED_LIKE_FIT = """
import json
import keras, numpy as np
from zoo.train.epoch_loop import fit_arrays
from zoo.core.config import FitOptions

rng = np.random.default_rng(0)
x = rng.normal(size=(40, 3)).astype("float32")
y = (x[:, 0] > 0.8).astype("float32")
weights = {0: 0.6, 1: 3.0}

def trained(train):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    return model, train(model)

weighted = FitOptions(5, 64, 0, class_weight=weights)
ours, mine = trained(lambda m: fit_arrays(m, (x, y), None, weighted, []))
fit, theirs = trained(lambda m: m.fit(x, y, batch_size=64, epochs=5, shuffle=False,
                                      class_weight=weights, verbose=0).history)
plain, _ = trained(lambda m: fit_arrays(m, (x, y), None, FitOptions(5, 64, 0), []))
gap = lambda a, b: max(float(np.abs(u - v).max()) for u, v in zip(a.get_weights(), b.get_weights()))
print(json.dumps({"ours": mine["loss"], "fit": theirs["loss"], "same": gap(ours, fit),
                  "unweighted": gap(ours, plain)}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_the_epoch_loop_weighs_rows_as_keras_fit_does(backend, tmp_path):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["ZOO_JAX_CACHE"] = str(tmp_path / "jax-cache")
    done = subprocess.run(
        [sys.executable, "-c", WEIGHTED_LIKE_FIT], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(found["ours"], found["fit"], rtol=1e-4)
    assert found["same"] < 1e-5 and found["unweighted"] > 1e-3


# --- The model's own training defaults: its preset and its batch size by data size ---------


def _build_small(spec, units: int = 4):
    import keras

    inputs = keras.Input(spec.input_shape)
    outputs = keras.layers.Dense(spec.output_units, spec.output_activation)(inputs)
    return keras.Model(inputs, outputs)


class _Declares:
    """Models that declare their training defaults, well and badly."""

    @zoo.hookimpl
    def register_models(self, register):
        register("huber-48", _build_small, description="x", preset="huber", batch_size=48)
        register("lost-auto", _build_small, description="x", preset="no-such", batch_size="auto")
        register("three-seeds", _build_small, description="x", seed_ensemble=3)


class _DeclaresBadly:
    @zoo.hookimpl
    def register_models(self, register):
        register("big-batch", _build_small, description="x", batch_size="big")


class _DeclaresBadSeeds:
    @zoo.hookimpl
    def register_models(self, register):
        register("many-seeds", _build_small, description="x", seed_ensemble="many")


@pytest.fixture(scope="module")
def declaring():
    extra = [("defaults-tests", _Data()), ("declares", _Declares())]
    return zoo.Registry.discover(entry_points=False, extra=extra)


@pytest.mark.parametrize(
    ("training_rows", "batch"),
    [(0.5, 32), (290, 32), (1052, 64), (1900, 128), (7200, 512), (10**7, 512)],
)
def test_auto_batch_size_gives_about_16_steps_within_32_to_512(training_rows, batch):
    from zoo.plan.planning import auto_batch_size

    assert auto_batch_size(training_rows) == batch


def _planned(registry, model, data, **options):
    return zoo.plan(RunConfig(model=model, data=data, **options), registry).config


def test_tabular_networks_train_with_adamw_and_batches_by_data_size(declaring):
    for model in ("resnet", "ft-transformer", "tabm"):
        small = _planned(declaring, model, "housing")
        assert (small.preset, small.batch_size) == ("zoo.presets:adamw", 32)
        # 12,500 rows: 9,000 training rows after the test and validation parts
        large = _planned(declaring, model, "regression", data_params={"rows": 12_500})
        assert large.batch_size == 512
        folded = _planned(declaring, model, "regression", data_params={"rows": 3000}, folds=5)
        assert folded.batch_size == 128  # 1,920 rows train each fold's model
    tutorial = _planned(declaring, "mlp", "housing")
    assert (tutorial.preset, tutorial.batch_size) == ("zoo.presets:adam-mse", 32)


def test_single_tabular_networks_average_5_seeds_on_small_training_parts(declaring):
    for model in ("resnet", "ft-transformer"):
        assert _planned(declaring, model, "housing").seed_ensemble == 5  # 363 training rows
        # 1,400 rows: 1,008 training rows, past the 1,000 where one model is steady enough
        assert (
            _planned(declaring, model, "regression", data_params={"rows": 1400}).seed_ensemble == 1
        )
        assert (
            _planned(declaring, model, "regression", data_params={"rows": 1380}).seed_ensemble == 5
        )
        assert _planned(declaring, model, "housing", folds=5).seed_ensemble == 1  # folds average
        assert _planned(declaring, model, "housing", seed_ensemble=2).seed_ensemble == 2
        last = _planned(declaring, model, "housing", seed=2**32 - 3)
        assert last.seed_ensemble == 3  # its seeds stay within 32 bits
    for model in ("tabm", "mlp", "linear"):  # tabm is an ensemble already; mlp the tutorial's
        assert _planned(declaring, model, "housing").seed_ensemble == 1
    assert _planned(declaring, "three-seeds", "noise").seed_ensemble == 3


def test_a_run_saved_before_seed_ensembles_reads_back_as_one_model(tmp_path):
    from zoo.runs.records import read_config

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model": "zoo.tabular_nets:resnet", "data": "zoo.housing:housing"}))
    assert read_config(path)["seed_ensemble"] == 1


def test_the_run_s_own_choices_win_over_the_model_s(declaring):
    config = _planned(declaring, "tabm", "housing", preset="adam-mse", batch_size=8)
    assert (config.preset, config.batch_size) == ("zoo.presets:adam-mse", 8)
    # --set names the model's preset's keys, and the plan records every value
    checked = zoo.plan(RunConfig(model="tabm", data="housing"), declaring, ["weight_decay=0.01"])
    assert checked.params("preset") == {"learning_rate": 1e-3, "weight_decay": 0.01}
    assert checked.to_dict()["batch_size"] == 32


def test_a_declared_preset_applies_only_where_it_exists_and_fits_the_task(declaring):
    assert _planned(declaring, "huber-48", "noise").preset == "zoo.presets:huber"
    assert _planned(declaring, "huber-48", "noise").batch_size == 48
    # huber is for regression: a binary data set gets its task's default preset
    assert _planned(declaring, "huber-48", "skewed").preset == "zoo.presets:adam-binary"
    lost = _planned(declaring, "lost-auto", "noise")
    assert (lost.preset, lost.batch_size) == ("zoo.presets:adam-mse", 32)  # 51 training rows


def test_a_model_declaring_a_bad_batch_size_or_seed_ensemble_is_refused_and_the_rest_loads():
    from zoo.catalog.registry import PluginWarning

    with pytest.warns(PluginWarning):
        registry = zoo.Registry.discover(entry_points=False, extra=[("bad", _DeclaresBadly())])
    record = registry.plugins["bad"]
    assert record.status == "failed" and "batch_size must be a positive int" in record.error
    with pytest.warns(PluginWarning):
        bad = zoo.Registry.discover(entry_points=False, extra=[("bad", _DeclaresBadSeeds())])
    error = bad.plugins["bad"].error
    assert "seed_ensemble must be a positive int, 'auto' or None" in error
    assert "big-batch" not in registry.names("models") and "tabm" in registry.names("models")


def test_the_cli_records_the_batch_size_the_model_chose(zoo_cli, tmp_path):
    runs = tmp_path / "runs"
    code, out, err = zoo_cli(
        "run", "-m", "tabm", "-d", "iris", "--epochs", "1", "--set", "members=2",
        "--set", "width=8", "--runs-dir", str(runs),
    )  # fmt: skip
    assert code == 0, err
    (folder,) = runs.iterdir()
    config = json.loads((folder / "config.json").read_text())
    assert (config["batch_size"], config["preset"]) == (32, "zoo.presets:adamw")
    code, out, _ = zoo_cli("info", "tabm")
    assert code == 0 and "adamw" in out and "auto" in out
