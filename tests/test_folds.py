"""Averaged runs: cross-validation folds (RunConfig.folds / SplitSpec.folds), what each
fold's parts hold, and seed ensembles (RunConfig.seed_ensemble); their one-line refusals."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import zoo
from zoo.core.dataset import split_dataset
from zoo.core.errors import DataError, InvalidParameterError
from zoo.core.parts import SplitSpec
from zoo.train.runner import load_checked, split_for_training


def parts_of(data: str, **options):
    config = zoo.RunConfig(model="mlp", data=data, **options)
    registry = zoo.Registry.discover(entry_points=False)
    return split_for_training(load_checked(zoo.plan(config, registry)), config)


def rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(x)}


def test_the_folds_cut_the_training_part_and_leave_the_test_part_alone():
    # housing: no two rows alike, so rows can be told apart by their values
    folds = [parts_of("housing", folds=4, fold=number) for number in range(4)]
    plain = parts_of("housing", validation_size=0.0)
    training = rows(plain.x_train)
    seen: set[bytes] = set()
    for parts in folds:
        np.testing.assert_array_equal(parts.x_test, plain.x_test)  # the tutorial's test part
        validation = rows(parts.x_val)
        assert validation and not validation & rows(parts.x_train)
        assert validation | rows(parts.x_train) == training
        assert not validation & seen  # each row validates in one fold only
        seen |= validation
    assert seen == training
    sizes = [len(parts.x_val) for parts in folds]
    assert max(sizes) - min(sizes) <= 1


def test_classification_folds_are_stratified():
    plain = parts_of("iris", validation_size=0.0)
    validated = 0
    for number in range(3):
        parts = parts_of("iris", folds=3, fold=number)
        assert len(parts.x_train) + len(parts.x_val) == len(plain.x_train)
        np.testing.assert_array_equal(parts.y_test, plain.y_test)
        counts = np.bincount(parts.y_val.astype(int), minlength=3)
        assert counts.max() - counts.min() <= 1, counts
        validated += len(parts.x_val)
    assert validated == len(plain.x_train)


def test_the_same_fold_is_the_same_rows_every_time():
    first, again = parts_of("housing", folds=5, fold=2), parts_of("housing", folds=5, fold=2)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    other = parts_of("housing", folds=5, fold=2, split_seed=7)
    assert rows(other.x_val) != rows(first.x_val)


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"folds": 0}, "folds must be a whole number from 1"),
        ({"folds": 101}, "from 1 (no cross-validation) to 100"),
        ({"folds": 5, "fold": 5}, "fold must be a whole number from 0 to folds-1 (4), or unset"),
        ({"folds": 5, "fold": -1}, "received fold=-1"),
        ({"folds": 2.5}, "received folds=2.5"),
    ],
)
def test_bad_fold_settings_are_one_clear_error(options, fragment):
    with pytest.raises(InvalidParameterError) as caught:
        zoo.RunConfig(model="mlp", data="housing", **options)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_more_folds_than_training_rows_is_refused():
    data = zoo.Dataset(np.arange(20.0).reshape(10, 2), np.arange(10.0), "regression")
    assert len(split_dataset(data, 0.2, 0.0).x_train) == 8
    with pytest.raises(DataError, match="cannot cut 8 training rows into 9 folds"):
        data.split(SplitSpec(test_size=0.2, folds=9, fold=0))


def test_a_class_with_fewer_rows_than_folds_is_one_line():
    x = np.arange(40.0).reshape(20, 2)
    y = np.array([0] * 18 + [1] * 2)
    data = zoo.Dataset(x, y, "binary")
    with pytest.raises(DataError) as caught:
        data.split(SplitSpec(test_size=0.2, folds=5, fold=0))
    message = str(caught.value)
    assert "class 1 has 2 rows in the training part, fewer than the 5 folds" in message
    assert "Use fewer --folds" in message
    assert "\n" not in message


def test_a_streamed_csv_file_refuses_folds(tmp_path):
    path = tmp_path / "big.csv"
    lines = ["a,b,y"] + [f"{i},{i % 7},{i * 0.5}" for i in range(200)]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        parts_of(str(path), target="y", data_params={"stream": True}, folds=3, fold=0)
    message = str(caught.value)
    assert "cross-validation folds need the rows in memory" in message
    assert "--set stream=false" in message and "\n" not in message


@pytest.mark.slow
def test_a_cross_validated_run_averages_the_models_of_its_folds(tmp_path, zoo_cli):
    import io

    from zoo.train.callbacks import EpochProgress

    config = zoo.RunConfig(
        model="mlp",
        data="regression",
        data_params={"rows": 120},
        epochs=3,
        folds=3,
        runs_dir=str(tmp_path),
    )
    shown = io.StringIO()
    result = zoo.run(config, progress=lambda epochs: EpochProgress(epochs, shown, width=120))
    # The progress line names the fold it trains.
    assert all(f"fold {n}/3: epoch 3/3" in shown.getvalue() for n in (1, 2, 3))
    folds = [zoo.run(replace(config, fold=number), save=False) for number in range(3)]
    parts = parts_of("regression", data_params={"rows": 120}, validation_size=0.0)
    assert len(parts.x_val) == 0  # the run's own parts: the whole training part, the test part
    expected = np.mean([f.model.predict(parts.x_test, verbose=0) for f in folds], axis=0)
    saved = zoo.load_run(result.folder)
    np.testing.assert_allclose(saved.model.predict(parts.x_test, verbose=0), expected, rtol=1e-5)
    first_losses = [f.history["val_loss"][0] for f in folds]
    assert result.history["val_loss"][0] == pytest.approx(np.mean(first_losses))
    code, _, err = zoo_cli("run", "--resume", str(result.folder), "--epochs", "5")
    assert code != 0 and "it is a cross-validated run (folds=3, seed_ensemble=1)" in err
    assert len(err.strip().splitlines()) == 1


def test_folds_and_distribute_are_refused_together():
    with pytest.raises(InvalidParameterError, match="folds and distribute cannot be combined"):
        zoo.RunConfig(model="mlp", data="housing", folds=3, distribute="mirrored")


@pytest.mark.slow
def test_a_cluster_trial_trains_every_fold_and_reports_each_history(tmp_path):
    from zoo.app.tune.parallel import train_trial

    config = zoo.RunConfig(
        model="mlp", data="regression", data_params={"rows": 120}, epochs=2, folds=3
    )
    record = train_trial({"trial": 0, "config": config.to_dict()}, tmp_path)
    assert "error" not in record
    assert len(record["histories"]) == 3 and record["history"] == record["histories"][0]
    assert all(len(h["val_loss"]) == 2 for h in record["histories"])


class _CountedLoads:
    """A plugin whose data set counts how often it is loaded."""

    def __init__(self) -> None:
        self.loads = 0

    @zoo.hookimpl
    def register_datasets(self, register):
        def load_counted():
            self.loads += 1
            rng = np.random.default_rng(0)
            x = rng.normal(size=(60, 2)).astype("float32")
            return zoo.Dataset(x=x, y=x @ np.array([1.0, -1.0]), task="regression")

        register(
            "counted",
            load_counted,
            description="60 rows, loads counted",
            task="regression",
            input_kind="tabular",
            shape=(2,),
            rows=60,
        )


def test_a_cross_validated_run_loads_its_data_once(tmp_path):
    counter = _CountedLoads()
    registry = zoo.Registry.discover(entry_points=False, extra=[("counted", counter)])
    config = zoo.RunConfig(model="linear", data="counted", epochs=1, folds=3)
    result = zoo.run(config, registry, save=False)
    assert counter.loads == 1  # one load, three folds and the test part cut from it
    assert set(result.metrics) >= {"mse", "rmse"}


def test_a_seed_ensemble_member_per_fold_and_seed():
    config = zoo.RunConfig(model="mlp", data="housing", folds=2, seed=7, seed_ensemble=3)
    members = [(m.fold, m.seed, m.seed_ensemble, m.folds) for m in config.members()]
    assert members == [(f, s, 1, 2) for f in (0, 1) for s in (7, 8, 9)]
    plain = zoo.RunConfig(model="mlp", data="housing", seed_ensemble=2)
    assert [(m.fold, m.seed) for m in plain.members()] == [(None, 0), (None, 1)]
    assert plain.averaged and not plain.cross_validated
    assert not zoo.RunConfig(model="mlp", data="housing").averaged


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"seed_ensemble": 0}, "received seed_ensemble=0 with seed=0"),
        ({"seed_ensemble": 101}, "from 1 (one model) to 100"),
        ({"seed_ensemble": 2.5}, "received seed_ensemble=2.5"),
        ({"seed_ensemble": True}, "received seed_ensemble=True"),
        ({"seed_ensemble": 2, "seed": 2**32 - 1}, "seed + seed_ensemble - 1 at most 2**32-1"),
        ({"seed_ensemble": 2, "distribute": "mirrored"}, "seed_ensemble and distribute cannot"),
    ],
)
def test_bad_seed_ensembles_are_one_clear_error(options, fragment):
    with pytest.raises(InvalidParameterError) as caught:
        zoo.RunConfig(model="mlp", data="housing", **options)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_a_seed_ensemble_averages_models_trained_with_consecutive_seeds(tmp_path, zoo_cli):
    code, out, err = zoo_cli(
        "run", "-m", "mlp", "-d", "regression", "--set", "rows=120", "--epochs", "3",
        "--seed", "3", "--seed-ensemble", "2", "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "2 models (seeds 3-4), for 3 epochs each" in err
    result = json.loads(out)
    config = zoo.RunConfig(model="mlp", data="regression", data_params={"rows": 120}, epochs=3)
    singles = [zoo.run(replace(config, seed=seed), save=False) for seed in (3, 4)]
    parts = parts_of("regression", data_params={"rows": 120})
    expected = np.mean([s.model.predict(parts.x_test, verbose=0) for s in singles], axis=0)
    saved = zoo.load_run(result["folder"])
    np.testing.assert_allclose(saved.model.predict(parts.x_test, verbose=0), expected, rtol=1e-5)
    assert saved.config["seed_ensemble"] == 2 and saved.config["seed"] == 3
    code, _, err = zoo_cli("run", "--resume", result["folder"], "--epochs", "5")
    assert code != 0 and "it is a seed ensemble (folds=1, seed_ensemble=2)" in err
    assert "--seed-ensemble 2" in err and len(err.strip().splitlines()) == 1


def test_progress_names_each_member_of_an_averaged_run():
    from zoo.cli.render import members_text
    from zoo.train.runner import member_label

    both = zoo.RunConfig(model="mlp", data="housing", folds=5, seed=3, seed_ensemble=2)
    labels = [member_label(both, member) for member in both.members()]
    assert labels[:3] == ["fold 1/5, seed 3", "fold 1/5, seed 4", "fold 2/5, seed 3"]
    assert members_text(both) == "one model per fold of 5 per seed (seeds 3-4)"
    seeds = zoo.RunConfig(model="mlp", data="housing", seed_ensemble=3)
    assert [member_label(seeds, m) for m in seeds.members()] == ["seed 0", "seed 1", "seed 2"]
    assert members_text(seeds) == "3 models (seeds 0-2)"
    folds = zoo.RunConfig(model="mlp", data="housing", folds=2, seed_ensemble=1)
    assert members_text(folds) == "one model per fold of 2"
