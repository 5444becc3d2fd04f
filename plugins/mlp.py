"""The tutorial's multi-layer perceptron: layer sizes, dropout and regularization configurable."""

from __future__ import annotations

from zoo.plugin import hookimpl, tabular_layers


def build_mlp(
    spec,
    hidden: tuple = (32, 16),
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    l2: float = 0.0,
    num_embeddings: str = "none",
    embedding_dim: int = 8,
    frequency_scale: float = 0.1,
):
    """A stack of Dense layers, then the task's output layer.

    Args:
        hidden: units of each hidden layer, input side first.
        activation: activation of the hidden layers (any Keras activation name).
        dropout: fraction of each hidden layer's outputs dropped while training (0 = none).
        batch_norm: batch-normalize each hidden layer before its activation.
        l2: L2 penalty on every Dense layer's weights (0 turns it off).
        num_embeddings: tabular data only: each column becomes a vector first (linear,
            piecewise or periodic, as in resnet and tabm); none feeds the columns as they are.
        embedding_dim: size of each column's embedding vector.
        frequency_scale: periodic embeddings: the spread of their initial frequencies.
    """
    import keras

    layers = [keras.Input(spec.input_shape)]
    embedding = tabular_layers().column_embedding(
        num_embeddings, embedding_dim, spec.input_shape, frequency_scale
    )
    if embedding is not None:
        layers.append(embedding)
    if len(spec.input_shape) > 1 or embedding is not None:
        layers.append(keras.layers.Flatten())
    for units in hidden:
        layers += _hidden_block(keras, int(units), activation, dropout, batch_norm, l2)
    layers.append(
        keras.layers.Dense(
            spec.output_units,
            activation=spec.output_activation,
            kernel_regularizer=_l2(keras, l2),
            name="output",
        )
    )
    return keras.Sequential(layers, name="mlp")


def _hidden_block(keras, units: int, activation: str, dropout: float, batch_norm: bool, l2: float):
    if not batch_norm:
        block = [
            keras.layers.Dense(units, activation=activation, kernel_regularizer=_l2(keras, l2))
        ]
    else:
        # The bias is redundant before batch normalization, which centres the outputs anyway.
        block = [
            keras.layers.Dense(units, use_bias=False, kernel_regularizer=_l2(keras, l2)),
            keras.layers.BatchNormalization(),
            keras.layers.Activation(activation),
        ]
    if dropout:
        block.append(keras.layers.Dropout(dropout))
    return block


def _l2(keras, l2: float):
    return keras.regularizers.L2(l2) if l2 else None


@hookimpl
def register_models(register):
    register(
        "mlp",
        build_mlp,
        description="Multi-layer perceptron; default 32-16 ReLU as in the Keras tutorial",
        input_kinds=("tabular", "image"),
        ranges={
            "hidden": "[1, inf)",
            "dropout": "[0, 1)",
            "l2": "[0, inf)",
            "embedding_dim": "[1, inf)",
            "frequency_scale": "(0, inf)",
        },
        search_space={
            "hidden": {"choices": ["32,16", "64,32", "128,64", "64,64", "128,64,32"]},
            "activation": {"choices": ["relu", "elu", "gelu", "tanh"]},
            "dropout": {"low": 0.0, "high": 0.5},
            "batch_norm": {"choices": [False, True]},
            "l2": {"choices": [0.0, 1e-5, 1e-4, 1e-3]},
        },
    )
