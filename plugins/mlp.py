"""The tutorial's multi-layer perceptron, with its layer sizes and activation configurable."""

from __future__ import annotations

from zoo.hookspecs import hookimpl


def build_mlp(spec, hidden: tuple = (32, 16), activation: str = "relu"):
    """A stack of Dense layers, then the task's output layer.

    Args:
        hidden: units of each hidden layer, input side first.
        activation: activation of the hidden layers (any Keras activation name).
    """
    import keras

    layers = [keras.Input(spec.input_shape)]
    if len(spec.input_shape) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(int(units), activation=activation) for units in hidden]
    layers.append(
        keras.layers.Dense(spec.output_units, activation=spec.output_activation, name="output")
    )
    return keras.Sequential(layers, name="mlp")


@hookimpl
def register_models(register):
    register(
        "mlp",
        build_mlp,
        description="Multi-layer perceptron; default 32-16 ReLU as in the Keras tutorial",
        input_kinds=("tabular", "image"),
    )
