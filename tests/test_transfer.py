"""Transfer learning, offline, on the 8x8 digits: no weights, a backbone from an earlier run,
ImageNet weights from Keras's cache (a download that fails, the offline switch), and the
fine-tuning phase."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
from probe_data import DIGITS_PLUGIN, registry_with_digits

import zoo
from zoo.catalog.manager import BUILTIN_PLUGINS

pytestmark = pytest.mark.slow

TINY = {"weights": "none", "image_size": 32, "alpha": 0.35}
DIGITS_SPEC = zoo.ModelSpec((8, 8, 1), "multiclass", 10, "softmax", "image")
MOBILENET_035_96 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"


@pytest.fixture(scope="module")
def registry() -> zoo.Registry:
    return registry_with_digits()


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to download fails at once instead of hanging or succeeding."""

    def refuse(*args, **kwargs):
        raise OSError("tests are offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)  # not even a name lookup


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def cnn_run(registry, tmp_path_factory) -> zoo.RunResult:
    """An earlier run to transfer from: a small CNN trained one epoch on digits."""
    runs = tmp_path_factory.mktemp("runs")
    config = zoo.RunConfig(model="cnn", data="digits", epochs=1, batch_size=256, runs_dir=str(runs))
    return zoo.run(config, registry)


def _run(registry, tmp_path, progress=None, **params) -> zoo.RunResult:
    config = zoo.RunConfig(
        model="transfer",
        data="digits",
        epochs=1,
        batch_size=512,
        runs_dir=str(tmp_path),
        model_params=params,
    )
    return zoo.run(config, registry, progress=progress)


def _nested(model, name_start: str):
    """The model nested (at any depth) in ``model`` whose name starts with ``name_start``."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            if layer.name.startswith(name_start):
                return layer
            found = _nested(layer, name_start)
            if found is not None:
                return found
    return None


def _assert_reloads(result: zoo.RunResult, x: np.ndarray) -> None:
    import keras

    reloaded = keras.models.load_model(result.folder / "model.keras")
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), result.model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_transfer_without_weights_trains_the_backbone_saves_and_reloads(registry, tmp_path):
    untrained = registry.create("models", "transfer", DIGITS_SPEC, **TINY)
    before = [w.copy() for w in _nested(untrained, "mobilenetv2").get_weights()]
    result = _run(registry, tmp_path, **TINY)
    assert result.model.output_shape == (None, 10)
    assert 0.0 <= result.metrics["accuracy"] <= 1.0
    backbone = _nested(result.model, "mobilenetv2")
    # Random features frozen could only reach chance: with weights=none the backbone learns.
    assert backbone is not None and backbone.trainable and backbone.trainable_weights
    assert len(before) == len(backbone.get_weights())
    _assert_reloads(result, registry.create("datasets", "digits").x[:8])


def test_a_random_backbone_trains_with_quickly_settling_batch_statistics(registry):
    model = registry.create("models", "transfer", DIGITS_SPEC, weights="none", alpha=0.35)
    backbone = _nested(model, "mobilenetv2")
    assert backbone.trainable and backbone.input_shape == (None, 32, 32, 3)  # not upscaled
    norms = [layer for layer in backbone.layers if _is_batch_norm(layer)]
    assert norms and all(layer.momentum == pytest.approx(0.9) for layer in norms)


def test_pretrained_backbones_stay_frozen(registry, tmp_path, cnn_run):
    model = registry.create("models", "transfer", DIGITS_SPEC, backbone=str(cnn_run.folder))
    assert not _nested(model, "pretrained_cnn").trainable
    # Only the new output layer learns: its kernel and bias.
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]


def test_transfer_from_an_earlier_run_keeps_its_body_frozen(registry, tmp_path, cnn_run):
    result = _run(registry, tmp_path, backbone=str(cnn_run.folder))
    pretrained = _nested(result.model, "pretrained_cnn")
    earlier = _nested(cnn_run.model, "cnn")
    assert pretrained is not None and not pretrained.trainable
    # The earlier body minus its output layer, weights unchanged by the new training.
    assert [layer.name for layer in pretrained.layers[1:]] == [
        layer.name for layer in earlier.layers[:-1]
    ]
    for before, after in zip(earlier.get_weights(), pretrained.get_weights(), strict=False):
        np.testing.assert_array_equal(before, after)
    assert result.model.output_shape == (None, 10)
    _assert_reloads(result, registry.create("datasets", "digits").x[:8])


def test_backbone_may_be_the_saved_model_file(registry, cnn_run):
    model = registry.create(
        "models", "transfer", DIGITS_SPEC, backbone=str(cnn_run.folder / "model.keras")
    )
    assert _nested(model, "pretrained_cnn") is not None


def test_fine_tuning_trains_the_top_backbone_layers_at_a_second_phase(registry, tmp_path, cnn_run):
    import io

    from zoo.train.callbacks import EpochProgress

    shown = io.StringIO()
    result = _run(
        registry,
        tmp_path,
        progress=lambda epochs: EpochProgress(epochs, shown, width=120),
        backbone=str(cnn_run.folder),
        dropout=0.0,
        fine_tune_layers=2,  # the earlier model's Dense(64) and Dropout
        fine_tune_epochs=2,
        fine_tune_learning_rate=1e-2,
    )
    assert len(result.history["loss"]) == 3  # 1 epoch frozen, then 2 fine-tuning
    # The second phase's progress line says it fine-tunes; the first's does not.
    lines = shown.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/1 ") and lines[-1].startswith("fine-tuning: epoch 2/2 ")
    pretrained = _nested(result.model, "pretrained_cnn")
    earlier = _nested(cnn_run.model, "cnn")
    dense = [layer.name for layer in earlier.layers if type(layer).__name__ == "Dense"][0]
    first_conv = earlier.layers[0].name
    tuned = pretrained.get_layer(dense).get_weights()[0]
    assert not np.allclose(tuned, earlier.get_layer(dense).get_weights()[0])
    np.testing.assert_array_equal(
        pretrained.get_layer(first_conv).get_weights()[0],
        earlier.get_layer(first_conv).get_weights()[0],
    )
    assert (result.folder / "history.csv").read_text().count("\n") == 4


def test_unfreezing_leaves_batch_normalization_and_lower_layers_frozen():
    import keras

    from zoo.train.fitting import optimizer_at, unfreeze_top

    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, alpha=0.35, input_shape=(32, 32, 3)
    )
    base.trainable = False
    unfreeze_top(base, 10)
    top = base.layers[-10:]
    assert all(layer.trainable for layer in top if not _is_batch_norm(layer))
    assert not any(layer.trainable for layer in base.layers if _is_batch_norm(layer))
    assert not any(layer.trainable for layer in base.layers[:-10])
    slower = optimizer_at(zoo.CompileSettings("adamw").optimizer, 1e-5)
    assert float(slower.learning_rate) == pytest.approx(1e-5)


def _is_batch_norm(layer) -> bool:
    return type(layer).__name__ == "BatchNormalization"


def test_a_failed_download_names_the_file_and_the_cache_folder(registry, empty_keras_home):
    with pytest.raises(zoo.MissingFileError) as caught:
        registry.create("models", "transfer", DIGITS_SPEC, alpha=0.35)
    message = str(caught.value)
    assert MOBILENET_035_96 in message and str(empty_keras_home / "models") in message
    assert "Could not download" in message and "tests are offline" in message
    assert "storage.googleapis.com" in message and "\n" not in message
    assert not list(empty_keras_home.rglob("*.h5"))  # no partial file left behind


def test_offline_never_touches_the_network(registry, empty_keras_home, monkeypatch):
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda *args: attempts.append(args))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args: attempts.append(args))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(zoo.MissingFileError) as caught:
        registry.create("models", "transfer", DIGITS_SPEC, alpha=0.35)
    message = str(caught.value)
    assert "ZOO_OFFLINE is set" in message and MOBILENET_035_96 in message
    assert str(empty_keras_home / "models") in message and attempts == []


@pytest.mark.parametrize("offline", [False, True])
def test_missing_imagenet_weights_is_one_line_in_the_cli(
    zoo_cli, empty_keras_home, monkeypatch, offline
):
    if "digits" not in zoo.Registry.discover().names("datasets"):
        monkeypatch.setitem(BUILTIN_PLUGINS, DIGITS_PLUGIN, "probe_data")
    monkeypatch.setenv("ZOO_OFFLINE", "0")  # restored after the test: --offline sets it
    flags = ["--offline"] if offline else []
    code, out, err = zoo_cli(
        "run", "-m", "transfer", "-d", "digits", "--no-save", "--set", "alpha=0.35", *flags
    )
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if line.startswith("zoo: error")]
    assert len(errors) == 1 and MOBILENET_035_96 in errors[0]
    assert str(empty_keras_home / "models") in errors[0]
    assert ("ZOO_OFFLINE is set" in errors[0]) == offline


def test_imagenet_weights_load_from_the_cache_or_a_path(registry, empty_keras_home, monkeypatch):
    import keras

    # A stand-in for the real file: same architecture, same (legacy h5) format and file name.
    source = keras.applications.MobileNetV2(
        include_top=False, weights=None, alpha=0.35, input_shape=(96, 96, 3)
    )
    cached = empty_keras_home / "models" / MOBILENET_035_96
    cached.parent.mkdir()
    _save_legacy_h5(source, cached)
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # a cached file needs no network
    for weights in ("imagenet", str(cached)):
        model = registry.create("models", "transfer", DIGITS_SPEC, alpha=0.35, weights=weights)
        loaded = _nested(model, "mobilenetv2").get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(loaded, source.get_weights(), strict=True))


def _save_legacy_h5(model, path) -> None:
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)


def test_missing_weights_path_or_run_is_a_clear_error(registry, tmp_path):
    with pytest.raises(zoo.MissingFileError, match="does not exist"):
        registry.create("models", "transfer", DIGITS_SPEC, weights=str(tmp_path / "no.h5"))
    with pytest.raises(zoo.MissingFileError, match="No saved model at"):
        registry.create("models", "transfer", DIGITS_SPEC, backbone=str(tmp_path / "runs/x"))


def test_tabular_backbone_is_refused_for_images(registry, tmp_path):
    tabular = zoo.run(
        zoo.RunConfig(model="linear", data="housing", epochs=1, runs_dir=str(tmp_path)), registry
    )
    with pytest.raises(zoo.IncompatibleError, match=r"takes inputs of shape \(13,\), not images"):
        registry.create("models", "transfer", DIGITS_SPEC, backbone=str(tabular.folder))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"backbone": "mobilenetv2x"}, "Did you mean: mobilenet_v2"),
        ({"image_size": 16}, "at least 32x32"),
        ({"fine_tune_layers": 3, "fine_tune_epochs": 0}, "fine_tune_epochs >= 1"),
    ],
)
def test_bad_hyperparameters_are_refused(registry, params, message):
    with pytest.raises(zoo.InvalidParameterError, match=message):
        registry.create("models", "transfer", DIGITS_SPEC, **{**TINY, **params})


@pytest.mark.parametrize("backbone", ["mobilenet_v3_small", "EfficientNetB0"])
def test_other_backbones_build_for_small_grey_images(registry, backbone):
    model = registry.create(
        "models", "transfer", DIGITS_SPEC, backbone=backbone, weights="none", image_size=32
    )
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("command", ["run", "bench", "tune"])
def test_every_training_command_takes_the_offline_switch(zoo_cli, monkeypatch, command):
    monkeypatch.setenv("ZOO_OFFLINE", "0")  # restored after the test: --offline sets it
    target = ["--models", "no-such-model"] if command == "bench" else ["--model", "no-such-model"]
    code, _, err = zoo_cli(command, "--offline", *target, "--data", "housing")
    assert code != 0 and "no-such-model" in err  # the switch parsed; the bad name refused
    assert os.environ["ZOO_OFFLINE"] == "1"
