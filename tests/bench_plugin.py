"""An in-process plugin for the zoo bench tests: a model that always fails once TensorFlow is
loaded, and one that raises KeyboardInterrupt (as Ctrl-C would) while ZOO_TEST_INTERRUPT is set.

Benches load it by module name (``plugins=[["bench-tests", "bench_plugin"]]``), so worker
processes load it too.
"""

from __future__ import annotations

import os

from zoo import hookimpl

PLUGIN = ["bench-tests", "bench_plugin"]
INTERRUPT_ENV = "ZOO_TEST_INTERRUPT"


def build_broken(spec):
    """Fails when the runner builds it, after the plan said the combination fits."""
    raise RuntimeError("deliberately broken model")


def build_interrupter(spec):
    """A linear model, or Ctrl-C while ZOO_TEST_INTERRUPT is set."""
    import keras

    if os.environ.get(INTERRUPT_ENV):
        raise KeyboardInterrupt
    return keras.Sequential(
        [
            keras.Input(spec.input_shape),
            keras.layers.Dense(spec.output_units, spec.output_activation),
        ]
    )


@hookimpl
def register_models(register):
    register("broken", build_broken, description="fails at build, for the bench tests")
    register("interrupter", build_interrupter, description="Ctrl-C on demand, for the bench tests")
