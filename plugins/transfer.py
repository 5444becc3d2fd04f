"""Transfer learning: a frozen pretrained backbone and a new head for the task.

The backbone is a ``keras.applications`` model (ImageNet weights from Keras's cache,
downloaded there on first use unless ZOO_OFFLINE is set; with ``weights=none`` the backbone
starts random and trains with the head) or the body of an earlier keras-zoo run's saved model,
so a user can pretrain on one data set and transfer to another fully offline. Images are
resized and given three channels inside the model, so the saved model takes raw inputs.
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.plugin import (
    MODEL_FILE,
    BuiltModel,
    FineTune,
    IncompatibleError,
    InvalidParameterError,
    MissingFileError,
    did_you_mean,
    hookimpl,
    load_run_model,
    shown,
)


@dataclass(frozen=True)
class Application:
    """A ``keras.applications`` backbone and how our [0, 1] inputs map to what it expects."""

    constructor: str
    scale: float  # inputs arrive in [0, 1] (the runner's rescaling); x * scale + offset
    offset: float = 0.0
    takes_alpha: bool = False
    min_size: int = 32


APPLICATIONS = {
    # MobileNetV2 expects [-1, 1]; the others carry their own preprocessing from [0, 255].
    "mobilenet_v2": Application("MobileNetV2", 2.0, -1.0, takes_alpha=True),
    "mobilenet_v3_small": Application("MobileNetV3Small", 255.0, takes_alpha=True),
    "mobilenet_v3_large": Application("MobileNetV3Large", 255.0, takes_alpha=True),
    "efficientnet_b0": Application("EfficientNetB0", 255.0),
}
NO_WEIGHTS = ("none", "")
PRETRAINED_SIDE = 96  # the smallest size Keras has ImageNet weights for


def _backbone(keras, spec, backbone: str, weights: str, image_size: int, alpha: float):  # type: ignore[no-untyped-def]
    """The backbone model, the image shape it takes, and its input preprocessing (if any)."""
    if _is_saved_model(backbone):
        base = _saved_body(keras, backbone)
        return base, tuple(base.inputs[0].shape[1:]), None
    name, app = _application(backbone)
    # Random filters gain nothing from upscaled images, and cost 9x the memory at 96.
    pretrained = _weights_option(weights) is not None
    size = image_size or (PRETRAINED_SIDE if pretrained else 0)
    side = _image_side(spec.input_shape, size, app.min_size, name)
    base = _application_model(keras, name, app, weights, side, alpha)
    return base, (side, side, 3), keras.layers.Rescaling(app.scale, app.offset)


def build_transfer(
    spec,
    backbone: str = "mobilenet_v2",
    weights: str = "imagenet",
    image_size: int = 0,
    alpha: float = 1.0,
    head_units: int = 0,
    dropout: float = 0.2,
    fine_tune_layers: int = 0,
    fine_tune_epochs: int = 5,
    fine_tune_learning_rate: float = 1e-5,
):
    """A frozen pretrained backbone (trained too when random), pooling, dropout, a new output.

    Args:
        backbone: mobilenet_v2, mobilenet_v3_small/large, efficientnet_b0, or runs/NAME / .keras
        weights: imagenet (Keras's cache; downloaded once), none (backbone trained), or a path
        image_size: side images are resized to; 0: 96 with pretrained weights, else input size
        alpha: width multiplier of the MobileNet backbones (imagenet weights: 0.35 to 1.4)
        head_units: units of a ReLU Dense layer before the output (0 = none)
        dropout: fraction of the features dropped while training (0 = none)
        fine_tune_layers: unfreeze this many top backbone layers for a second phase (0 = off)
        fine_tune_epochs: epochs of the fine-tuning phase
        fine_tune_learning_rate: learning rate of the fine-tuning phase

    An earlier run as backbone (its folder, or its .keras file) gives its model minus the
    output layer; weights, image_size and alpha then do not apply. Batch normalization stays
    frozen when fine-tuning.
    """
    import keras

    _check_image_shape(spec.input_shape)
    _check_fine_tune(fine_tune_layers, fine_tune_epochs)
    # Pretrained weights are kept (frozen); random ones must learn, or the model can only
    # reach chance: with weights=none the whole backbone trains.
    pretrained = _is_saved_model(backbone) or _weights_option(weights) is not None
    base, target, preprocess = _backbone(keras, spec, backbone, weights, image_size, alpha)
    base.trainable = not pretrained
    if not pretrained:
        _quicker_batch_statistics(keras, base)
    inputs = keras.Input(spec.input_shape)
    x = _adapt_images(keras, inputs, target, backbone)
    if preprocess is not None:
        x = preprocess(x)
    # training=False keeps a pretrained backbone's batch normalization in inference mode, also
    # when fine-tuning; a backbone trained from scratch needs its batch statistics to learn.
    features = base(x, training=False) if pretrained else base(x)
    x = _head(keras, features, spec, head_units, dropout)
    model = keras.Model(inputs, x, name="transfer")
    if fine_tune_layers:
        plan = FineTune(base.name, fine_tune_layers, fine_tune_epochs, fine_tune_learning_rate)
        return BuiltModel(model, fine_tune=plan)
    return model


# -- checks ------------------------------------------------------------------------------


def _quicker_batch_statistics(keras, model, momentum: float = 0.9) -> None:
    """Let batch normalization's moving statistics settle within an epoch or two.

    Keras's default momentum (0.99) needs hundreds of steps to move the statistics from
    their initial values; until then a backbone trained from scratch predicts from the wrong
    statistics, and the validation and test parts see chance.
    """
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def _check_image_shape(input_shape: tuple[int, ...]) -> None:
    if len(input_shape) not in (2, 3):
        raise IncompatibleError(
            "Model 'transfer' expects images of shape (height, width) or (height, width, "
            f"channels); received input_shape={tuple(input_shape)}."
        )


def _check_fine_tune(layers: int, epochs: int) -> None:
    if layers < 0 or (layers and epochs < 1):
        raise InvalidParameterError(
            f"Fine-tuning needs fine_tune_layers >= 0 and, when it is on, fine_tune_epochs >= 1; "
            f"received fine_tune_layers={layers}, fine_tune_epochs={epochs}."
        )


def _application(backbone: str) -> tuple[str, Application]:
    key = backbone.lower().replace("-", "_")
    # Keras's own spelling (MobileNetV2) is accepted too.
    by_constructor = {app.constructor.lower(): name for name, app in APPLICATIONS.items()}
    key = by_constructor.get(key, key)
    if key not in APPLICATIONS:
        raise InvalidParameterError(
            f"Unknown backbone {shown(backbone)}.{did_you_mean(key, APPLICATIONS)} Expected one of "
            f"{', '.join(APPLICATIONS)}, or an earlier run's folder (runs/NAME) or .keras file."
        )
    return key, APPLICATIONS[key]


def _image_side(input_shape: tuple[int, ...], image_size: int, minimum: int, name: str) -> int:
    if image_size and image_size < minimum:
        raise InvalidParameterError(
            f"Backbone {shown(name)} needs images of at least {minimum}x{minimum}; received "
            f"image_size={image_size}. Use image_size >= {minimum}, or 0 for the default "
            f"({PRETRAINED_SIDE} with pretrained weights, else the input size)."
        )
    if image_size:
        return image_size
    return max(minimum, *input_shape[:2])


# -- backbones ---------------------------------------------------------------------------


def _application_model(keras, name: str, app: Application, weights: str, side: int, alpha: float):
    options: dict[str, Any] = {
        "include_top": False,
        "input_shape": (side, side, 3),
        "weights": _weights_option(weights),
    }
    if app.takes_alpha:
        options["alpha"] = alpha
    constructor = getattr(keras.applications, app.constructor)
    try:
        with _weights_through_cache():
            return constructor(**options)
    except ValueError as exc:
        if isinstance(exc, IncompatibleError | InvalidParameterError):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidParameterError(
            f"Backbone {shown(name)} cannot be built with weights={shown(weights)}, "
            f"image_size={side}, "
            f"alpha={alpha}: {reason}"
        ) from None


def _weights_option(weights: str) -> str | None:
    if weights is None or str(weights).lower() in NO_WEIGHTS:
        return None
    if weights == "imagenet":
        return weights
    path = Path(weights).expanduser()
    if not path.is_file():
        raise MissingFileError(
            f"Weights file {shown(str(path))} does not exist; weights must be imagenet, none, or "
            "the path to a weights file saved for this backbone without its top."
        )
    return str(path)


def _is_saved_model(backbone: str) -> bool:
    return backbone.endswith(".keras") or "/" in backbone or os.sep in backbone


def _saved_body(keras, location: str):
    """An earlier run's model minus its input scaling and its output layer."""
    path = Path(location).expanduser()
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise MissingFileError(
            f"No saved model at {shown(str(file))}; backbone must be a run folder holding "
            f"{MODEL_FILE} (runs/NAME), a .keras file, or one of {', '.join(APPLICATIONS)}."
        )
    # keras-zoo's loader: Keras's safe mode, the run's checksum verified.
    saved = load_run_model(file)
    # A run's model is: input -> scaling -> the builder's model; that nested model is the body.
    bodies = [layer for layer in saved.layers if isinstance(layer, keras.Model)]
    if len(bodies) != 1:
        raise IncompatibleError(
            f"{shown(str(file))} is not a keras-zoo run's model: expected one nested model after "
            f"the input scaling, found {len(bodies)}."
        )
    body = bodies[0]
    return keras.Model(body.inputs, body.layers[-1].input, name=f"pretrained_{body.name}")


# -- ImageNet weights: Keras's cache, downloaded on first use unless offline ----------------

OFFLINE_ENV = "ZOO_OFFLINE"  # set by ``zoo run --offline`` too
DOWNLOAD_TIMEOUT_S = 60.0  # per network operation: a dead connection fails, a slow one finishes


def offline() -> bool:
    """Whether the network must not be touched (ZOO_OFFLINE set to anything but 0 / empty)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def keras_cache_folder(subdir: str = "models") -> Path:
    """Where Keras looks for (and downloads) ``subdir`` files: $KERAS_HOME or ~/.keras."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    return Path(home) / subdir


def _weights_file(
    real, fname=None, origin=None, *args, cache_subdir="datasets", file_hash=None, **kw
):
    """Stands in for ``keras.utils.get_file`` (``real``): the cached file; else, unless
    offline, Keras's own download into its cache, with a timeout; else one clear error."""
    name = fname or os.path.basename(urllib.parse.urlsplit(origin or "").path)
    folder = keras_cache_folder(cache_subdir)
    # Keras falls back to /tmp/.keras when the cache folder is not writable.
    for candidate in (folder / name, Path("/tmp/.keras", cache_subdir, name)):
        if candidate.is_file():
            _check_hash(candidate, file_hash)
            return str(candidate)
    if offline():
        raise MissingFileError(
            f"ImageNet weights file {name} is not in Keras's cache folder {folder}, and "
            f"{OFFLINE_ENV} is set, so nothing is downloaded: put the file there (it is at "
            f"{origin}), unset {OFFLINE_ENV} to download it, or use weights=none."
        )
    return _download(real, name, origin, folder, cache_subdir, file_hash, *args, **kw)


def _download(real, name, origin, folder: Path, cache_subdir, file_hash, *args, **kw) -> str:
    import socket
    import sys
    from contextlib import redirect_stdout

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with redirect_stdout(sys.stderr):  # Keras reports the download on stdout: keep it clean
            return real(name, origin, *args, cache_subdir=cache_subdir, file_hash=file_hash, **kw)
    except Exception as exc:  # noqa: BLE001 - any failure: no network, timeout, bad file
        # Keras says "URL fetch failure on ORIGIN: CODE -- REASON": the reason is what is new.
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = text.rpartition(" -- ")[2][:160]
        raise MissingFileError(
            f"Could not download ImageNet weights file {name} into Keras's cache folder "
            f"{folder} ({reason}): put the file there by hand (it is at {origin}), or use "
            f"weights=none; set {OFFLINE_ENV}=1 to never try the network."
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


# The cached file names of each backbone's ImageNet weights without the top, whatever the
# width (alpha) and image size, as keras.applications names them.
WEIGHTS_FILES = {
    "mobilenet_v2": "mobilenet_v2_weights_*_no_top.h5",
    "mobilenet_v3_small": "weights_mobilenet_v3_small*_no_top*.h5",
    "mobilenet_v3_large": "weights_mobilenet_v3_large*_no_top*.h5",
    "efficientnet_b0": "efficientnetb0_notop.h5",
}
MOBILENET_V2_SIDES = (96, 128, 160, 192, 224)  # Keras has weights for these; else 224's


def check_transfer(
    backbone: str = "mobilenet_v2",
    weights: str = "imagenet",
    image_size: int = 0,
    alpha: float = 1.0,
    **_: Any,
) -> None:
    """What can be told before TensorFlow loads: the backbone's name, and, offline, that
    Keras's cache holds its ImageNet weights (the exact file for the default backbone,
    MobileNetV2; for the others any width's and size's, the exact one checked at build)."""
    if _is_saved_model(backbone):
        return
    name, _app = _application(backbone)
    if weights != "imagenet" or not offline():
        return
    wanted = WEIGHTS_FILES[name]
    if name == "mobilenet_v2":
        side = image_size or PRETRAINED_SIDE
        side = side if side in MOBILENET_V2_SIDES else 224
        wanted = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{side}_no_top.h5"
    folder = keras_cache_folder("models")
    if not any(any(where.glob(wanted)) for where in (folder, Path("/tmp/.keras/models"))):
        raise MissingFileError(
            f"ImageNet weights file {wanted} is not in Keras's cache folder {folder}, and "
            f"{OFFLINE_ENV} is set, so nothing is downloaded: put the file there, unset "
            f"{OFFLINE_ENV} to download it, or use weights=none."
        )


def _check_hash(path: Path, file_hash: str | None) -> None:
    from keras.src.utils import file_utils

    if file_hash and not file_utils.validate_file(str(path), file_hash):
        raise MissingFileError(
            f"Cached weights file {path} is damaged (its hash is not Keras's); delete it so "
            "that it downloads again, or replace it."
        )


@contextmanager
def _weights_through_cache() -> Iterator[None]:
    # keras.applications fetch weights through this module's get_file; standing in for it is
    # the one way to honour the offline switch and give one clear error on failure.
    from keras.src.utils import file_utils

    real = file_utils.get_file
    file_utils.get_file = functools.partial(_weights_file, real)
    try:
        yield
    finally:
        file_utils.get_file = real


# -- the model around the backbone --------------------------------------------------------


def _adapt_images(keras, inputs, target: tuple[int, ...], backbone: str):
    """Resize and repeat channels so the inputs have the backbone's ``target`` shape."""
    shape = tuple(inputs.shape[1:])
    x = inputs
    if len(shape) == 2:
        shape = (*shape, 1)
        x = keras.layers.Reshape(shape)(x)
    if len(target) != 3:
        raise IncompatibleError(
            f"Backbone {shown(backbone)} takes inputs of shape {target}, not images; pretrain on "
            "an "
            "image data set (e.g. digits) to transfer to images."
        )
    if shape[:2] != target[:2]:
        x = keras.layers.Resizing(target[0], target[1], name="resize")(x)
    if shape[2] != target[2]:
        if shape[2] != 1:
            raise IncompatibleError(
                f"Backbone {shown(backbone)} takes {target[2]}-channel images; the data set has "
                f"{shape[2]} channels (only 1-channel images are converted)."
            )
        # A standard layer rather than a custom one, so saved models reload anywhere.
        x = keras.layers.Concatenate(name="grey_to_channels")([x] * target[2])
    return x


def _head(keras, features, spec, head_units: int, dropout: float):
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    elif len(features.shape) > 2:
        features = keras.layers.Flatten(name="flatten")(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="head_dropout")(features)
    if head_units:
        features = keras.layers.Dense(int(head_units), activation="relu", name="head")(features)
    return keras.layers.Dense(spec.output_units, activation=spec.output_activation, name="output")(
        features
    )


@hookimpl
def register_models(register):
    register(
        "transfer",
        build_transfer,
        description="Transfer learning: frozen MobileNetV2 (or an earlier run) + a new head",
        input_kinds=("image",),
        check=check_transfer,
    )
