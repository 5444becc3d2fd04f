"""What a newcomer meets in the first hour, without training: help, listing, tables, the
progress line, the start line, advice on trivial results, batch sizes, the API's errors."""

from __future__ import annotations

import io
import json

import click
import pytest

import zoo
from zoo.cli import render
from zoo.cli.main import cli
from zoo.core.config import RunConfig
from zoo.core.tasks import BINARY, MULTICLASS, REGRESSION
from zoo.plan.planning import plan
from zoo.train import scoring


def _commands() -> list[tuple[str, ...]]:
    found = [()]
    for name, command in cli.commands.items():
        found.append((name,))
        if isinstance(command, click.Group):
            found += [(name, sub) for sub in command.commands]
    return found


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "zoo")
def test_every_help_renders_without_escapes(zoo_cli, path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = zoo_cli(*path, "--help")
    assert code == 0 and err == ""
    assert "\\b" not in out and "\b" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_run_help_keeps_its_examples_one_per_line(zoo_cli):
    _, out, _ = zoo_cli("run", "--help")
    lines = out.splitlines()
    examples = lines.index("  Examples:")
    assert lines[examples + 1].strip() == "zoo run --model mlp --data housing"
    assert lines[examples + 4].strip() == "zoo run -m mlp -d housing --folds 5 --patience 20"
    assert lines[examples + 5].strip() == "zoo run -m mlp -d housing --seed-ensemble 5"
    assert lines[examples + 6].strip().startswith("zoo run --resume runs/")


def test_bare_zoo_prints_the_help_and_succeeds(zoo_cli):
    code, out, err = zoo_cli()
    assert code == 0 and err == ""
    assert out.startswith("Usage: zoo") and "Commands:" in out and "run " in out


def test_a_bare_pattern_searches_every_kind(zoo_cli):
    code, out, err = zoo_cli("list", "m*")
    assert code == 0 and err == ""
    assert "MODELS" in out and "mlp" in out
    assert "DATASETS" not in out and "PRESETS" not in out  # no match there: not shown
    code, out, _ = zoo_cli("list", "*e*", "--json")
    kinds = {entry["kind"] for entry in json.loads(out)}
    assert code == 0 and kinds == {"dataset", "model", "preset"}


def test_a_misspelt_kind_is_refused_with_a_suggestion(zoo_cli):
    code, out, err = zoo_cli("list", "modls")
    assert code == 2 and out == ""
    assert "Did you mean: models?" in err and len(err.splitlines()) == 1
    code, _, err = zoo_cli("list", "nothing*")
    assert code == 0 and "nothing matches 'nothing*'" in err


@pytest.mark.parametrize("kind", ["", "datasets", "models", "presets"])
def test_listings_fit_80_columns(zoo_cli, kind, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = zoo_cli("list", *([kind] if kind else []))
    assert code == 0 and "description" in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("args", [("info", "transfer"), ("info", "housing"), ("plugins",)])
def test_info_and_plugins_fit_80_columns(zoo_cli, args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = zoo_cli(*args)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_wide_terminal_keeps_descriptions_on_one_line(zoo_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = zoo_cli("list", "presets")
    assert "Adam(1e-3) + mean squared error (the tutorial); MAE, RMSE" in out
    assert "zoo.presets" in out  # the plugin column comes back when there is room


def test_metrics_keep_four_decimals_each():
    table = render.metrics_table({"mse": 13.85, "r2": 0.811, "mae": 2.0})
    assert "0.8110" in table and "13.8500" in table and "2.0000" in table


def test_progress_line_fits_the_width_with_short_names():
    import keras
    import numpy as np

    from zoo.train.callbacks import EpochProgress

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae", keras.metrics.RootMeanSquaredError()])
    x, y = np.zeros((16, 3)), np.zeros(16)
    streams = {width: io.StringIO() for width in (60, 80, 200)}
    bars = [EpochProgress(3, stream=stream, width=width) for width, stream in streams.items()]
    model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=bars)
    for width, stream in streams.items():
        lines = [line for line in stream.getvalue().splitlines() if line.strip()]
        assert lines and all(len(line) <= width for line in lines), lines
        assert "epoch 3/3" in lines[-1] and "loss" in lines[-1]
        assert "root_mean_squared_error" not in stream.getvalue()
    assert "val_rmse" in lines[-1] and "0:00:0" in lines[-1]  # 200 columns: all, and times


def test_metric_text_keeps_whole_metrics_and_the_losses_first():
    from zoo.train.callbacks import metrics_text, short_name

    logs = {"mae": 2.5, "loss": 13.0, "root_mean_squared_error": 3.6, "val_loss": 14.0}
    assert short_name("val_root_mean_squared_error") == "val_rmse"
    assert metrics_text(logs, 200) == "loss 13  val_loss 14  mae 2.5  rmse 3.6"
    assert metrics_text(logs, 24) == "loss 13  val_loss 14"
    assert metrics_text(logs, 3) == ""


def test_early_stop_note_names_the_kept_epoch():
    from zoo.train.callbacks import early_stop_note

    history = {"loss": [5, 4, 3, 2, 1], "val_loss": [5, 3, 3.2, 3.4, 3.6]}  # a steady rise
    note = early_stop_note(history, planned=100, patience=3)
    assert "stopped after epoch 5 of 100" in note and "weights of epoch 2" in note
    assert "val_loss did not improve for 3 epochs" in note
    wandering = {"loss": [5, 4, 3, 2, 1], "val_loss": [5, 3, 3.5, 3.2, 3.1]}
    assert early_stop_note(wandering, planned=5, patience=3) is None  # ran to the end
    assert early_stop_note(history, planned=100, patience=None) is None


def test_start_line_counts_epochs_and_what_is_left():
    registry = zoo.Registry.discover()
    checked = plan(RunConfig(model="zoo.mlp:mlp", data="housing", epochs=1), registry)
    assert (
        render.start_line(checked, 0, resumed=False)
        == "zoo: training mlp on housing for 1 epoch..."
    )
    checked = plan(RunConfig(model="mlp", data="housing", epochs=60), registry)
    line = render.start_line(checked, 43, resumed=True)
    assert "after epoch 43 of 60" in line and "17 epochs left" in line


def test_plan_writes_qualified_names_back_and_labels_a_file_by_its_stem(tmp_path):
    source = tmp_path / "houses.csv"
    source.write_text("a,b,price\n" + "".join(f"{i},{i % 3},{2 * i}\n" for i in range(40)))
    config = RunConfig(model="mlp", data=str(source), target="price")
    checked = plan(config, zoo.Registry.discover())
    config = checked.config
    assert (config.model, config.data) == ("zoo.mlp:mlp", "zoo.csv_files:csv")
    assert config.preset and ":" in config.preset
    assert config.data_params["path"] == str(source)
    assert (checked.model_label, checked.data_label) == ("mlp", "houses")
    assert checked.to_dict()["model"] == "zoo.mlp:mlp"


@pytest.mark.parametrize(
    ("task", "metrics", "expected"),
    [
        (REGRESSION, {"r2": -0.02}, "no better than always predicting the mean"),
        (REGRESSION, {"r2": 0.0}, "test R² is 0.0000"),
        (MULTICLASS, {"accuracy": 0.5}, "no better than always answering the most common"),
        (BINARY, {"accuracy": 0.4}, "(0.5000 of the test part)"),
    ],
)
def test_trivial_results_get_one_line_of_advice(task, metrics, expected):
    warnings = scoring.review(task, metrics, {"loss": [3.0, 2.0, 1.0]}, _parts([0, 0, 1, 1]))
    assert len(warnings) == 1 and expected in warnings[0]
    assert "learning_rate" in warnings[0] and "\n" not in warnings[0]


def test_useful_results_get_no_advice():
    falling = [10.0 / (n + 1) for n in range(30)]
    assert scoring.review(REGRESSION, {"r2": 0.8}, {"loss": falling}) == []
    assert scoring.review(MULTICLASS, {"accuracy": 0.6}, {}, _parts([0, 0, 1, 2, 2])) == []
    # Without the test part in memory the majority share is unknown: no guess.
    assert scoring.review(MULTICLASS, {"accuracy": 0.1}, {}, None) == []


def test_a_flat_loss_is_noticed_after_the_first_epochs():
    flat = [200.0, 120.0, 89.0] + [89.0 - 0.001 * n for n in range(97)]
    (warning,) = scoring.review(REGRESSION, {"r2": 0.5}, {"loss": flat})
    assert "stayed at 89 from epoch 3 to 100" in warning
    short = flat[:9]  # too few epochs to call it flat
    assert scoring.review(REGRESSION, {"r2": 0.5}, {"loss": short}) == []


def _parts(labels: list[int]):
    import numpy as np

    from zoo.core.parts import TEST

    class Parts:
        def arrays(self, part):
            assert part == TEST
            return np.zeros((len(labels), 1)), np.asarray(labels)

    return Parts()


def test_prediction_batches_are_sized_by_the_model_s_memory():
    import keras

    from zoo.train.fitting import BUDGET_BYTES, MAX_BATCH, activation_values, predict_batch

    small = keras.Sequential([keras.Input((13,)), keras.layers.Dense(32), keras.layers.Dense(1)])
    assert activation_values(small) == 33 and predict_batch(small) == MAX_BATCH
    inputs = keras.Input((96, 96, 3))
    inner = keras.Sequential([keras.Input((96, 96, 3)), keras.layers.Conv2D(64, 3, padding="same")])
    big = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inner(inputs)))
    per_example = activation_values(big)
    assert per_example == 96 * 96 * 3 + 96 * 96 * 64 + 64  # input, nested conv, pooling
    batch = predict_batch(big)
    assert batch * per_example * 4 <= BUDGET_BYTES < (batch + 1) * per_example * 4


def test_creating_a_model_without_a_spec_says_what_is_needed():
    registry = zoo.Registry.discover()
    with pytest.raises(zoo.InvalidParameterError, match=r"pass a zoo.ModelSpec first") as caught:
        registry.create("models", "mlp")
    assert "received nothing" in str(caught.value)
    with pytest.raises(zoo.InvalidParameterError, match="received dict"):
        registry.create("models", "mlp", {"input_shape": (13,)})


def test_runs_table_fits_80_columns_and_drops_plugin_prefixes():
    runs = [
        {
            "folder": "20261128-193747-linear-breast_cancer",
            "model": "zoo.linear:linear",
            "data": "zoo.sklearn_datasets:breast_cancer",
            "metric": "accuracy",
            "value": 0.9123,
            "epochs": 1,
            "status": "complete",
        }
    ]
    narrow = render.runs_table(runs, width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "accuracy 0.9123" in narrow and "complete" in narrow
    wide = render.runs_table(runs, width=120)
    assert " breast_cancer " in wide and "zoo.linear" not in wide


def test_set_target_on_a_data_set_without_one_is_refused_as_target_is():
    registry = zoo.Registry.discover()
    with pytest.raises(zoo.ZooError, match="data set 'housing' has no target column"):
        plan(RunConfig(model="mlp", data="housing"), registry, ["target=price"])
