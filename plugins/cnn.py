"""A small convolutional network for small images such as the 8x8 digits."""

from __future__ import annotations

from zoo.plugin import IncompatibleError, hookimpl


def build_cnn(
    spec,
    filters: tuple = (16, 32),
    kernel_size: int = 3,
    dense: int = 64,
    dropout: float = 0.25,
    batch_norm: bool = False,
    l2: float = 0.0,
):
    """Convolution blocks (conv, 2x2 max-pool while the image is big enough), then Dense layers.

    Args:
        filters: filters of each convolution block, input side first.
        kernel_size: height and width of every convolution kernel.
        dense: units of the Dense layer before the output (0 = none).
        dropout: fraction dropped before the output layer while training (0 = none).
        batch_norm: batch-normalize each convolution before its activation.
        l2: L2 penalty on every kernel (0 turns it off).
    """
    import keras

    regularizer = keras.regularizers.L2(l2) if l2 else None
    height, width = _image_size(spec.input_shape)
    layers = [keras.Input(spec.input_shape)]
    if len(spec.input_shape) == 2:
        layers.append(keras.layers.Reshape((height, width, 1)))
    for count in filters:
        layers += _conv_block(keras, int(count), kernel_size, batch_norm, regularizer)
        # Pooling a 1-pixel side would leave nothing; small images keep their size instead.
        if min(height, width) >= 2:
            layers.append(keras.layers.MaxPooling2D(2))
            height, width = height // 2, width // 2
    layers.append(keras.layers.Flatten())
    if dense:
        layers.append(
            keras.layers.Dense(int(dense), activation="relu", kernel_regularizer=regularizer)
        )
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(
        keras.layers.Dense(spec.output_units, activation=spec.output_activation, name="output")
    )
    return keras.Sequential(layers, name="cnn")


def _image_size(input_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(input_shape) not in (2, 3):
        raise IncompatibleError(
            f"Model 'cnn' expects images of shape (height, width) or (height, width, channels); "
            f"received input_shape={tuple(input_shape)}."
        )
    return input_shape[0], input_shape[1]


def _conv_block(keras, count: int, kernel_size: int, batch_norm: bool, regularizer):
    if not batch_norm:
        return [
            keras.layers.Conv2D(
                count,
                kernel_size,
                padding="same",
                activation="relu",
                kernel_regularizer=regularizer,
            )
        ]
    return [
        keras.layers.Conv2D(
            count, kernel_size, padding="same", use_bias=False, kernel_regularizer=regularizer
        ),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
    ]


@hookimpl
def register_models(register):
    register(
        "cnn",
        build_cnn,
        description="Small convolutional network for small images (e.g. 8x8 digits)",
        input_kinds=("image",),
        ranges={
            "filters": "[1, inf)",
            "kernel_size": "[1, inf)",
            "dense": "[0, inf)",
            "dropout": "[0, 1)",
            "l2": "[0, inf)",
        },
        search_space={
            "filters": {"choices": ["16,32", "32,64", "16,32,64"]},
            "kernel_size": {"choices": [3, 5]},
            "dense": {"choices": [0, 32, 64, 128]},
            "dropout": {"low": 0.0, "high": 0.5},
            "batch_norm": {"choices": [False, True]},
        },
    )
