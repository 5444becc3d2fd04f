"""A linear model: one Dense layer, the output activation chosen by the task."""

from __future__ import annotations

from zoo.plugin import hookimpl


def build_linear(spec, l2: float = 0.0):
    """Linear, logistic or softmax regression, depending on the task.

    Args:
        l2: L2 penalty on the weights (0 turns it off).
    """
    import keras

    regularizer = keras.regularizers.L2(l2) if l2 else None
    return keras.Sequential(
        [
            keras.Input(spec.input_shape),
            keras.layers.Flatten() if len(spec.input_shape) > 1 else keras.layers.Identity(),
            keras.layers.Dense(
                spec.output_units,
                activation=spec.output_activation,
                kernel_regularizer=regularizer,
                name="output",
            ),
        ],
        name="linear",
    )


@hookimpl
def register_models(register):
    register(
        "linear",
        build_linear,
        description="Linear / logistic / softmax regression: a single Dense layer",
        input_kinds=("tabular", "image"),
        ranges={"l2": "[0, inf)"},
        search_space={"l2": {"choices": [0.0, 1e-5, 1e-4, 1e-3, 1e-2]}},
    )
