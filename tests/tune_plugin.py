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


class FailsOnce:
    """A plugin whose model fails to build once, on build number ``failing`` (as a machine
    short of memory might): the search goes through, one training after it does not."""

    def __init__(self, failing: int) -> None:
        self.builds, self.failing = 0, failing

    def build(self, spec, units: int = 8):
        """One hidden layer.

        Args:
            units: hidden units.
        """
        self.builds += 1
        if self.builds == self.failing:
            raise MemoryError("no memory left for another model")
        return build_tinynet(spec, units=units)

    @hookimpl
    def register_models(self, register):
        register(
            "fragile",
            self.build,
            description="fails to build once",
            search_space={"units": {"low": 2, "high": 16}},
        )
