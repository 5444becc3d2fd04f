"""An in-process plugin for the zoo tune tests: a model that declares no search space."""

from __future__ import annotations

from zoo import Registry, hookimpl


def build_tinynet(
    spec, units: int = 8, scale: float = 0.5, use_bias: bool = True, activation: str = "relu"
):
    """One hidden layer.

    Args:
        units: hidden units.
        scale: standard deviation of the initial hidden weights.
        use_bias: give the hidden layer a bias.
        activation: the hidden layer's activation.
    """
    import keras

    init = keras.initializers.RandomNormal(stddev=scale)
    return keras.Sequential(
        [
            keras.Input(spec.input_shape),
            keras.layers.Dense(units, activation, use_bias=use_bias, kernel_initializer=init),
            keras.layers.Dense(spec.output_units, activation=spec.output_activation),
        ]
    )


class TinyPlugin:
    @hookimpl
    def register_models(self, register):
        register("tinynet", build_tinynet, description="one hidden layer, for the tune tests")


def registry_with_tinynet() -> Registry:
    return Registry.discover(entry_points=False, extra=[("tune-tests", TinyPlugin())])
