"""The memory floor of the runtime: import Keras and fit a tiny model on ten rows.

Peak memory above this floor is what a program's data handling costs. Keras is imported as
keras-zoo imports it (without the optional packages it would load for features a run never
uses, JAX among them), so that the floor is the one keras-zoo runs on.
"""

from zoo.train.backend import import_backend_quietly

import_backend_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

x, y = np.zeros((10, 20), "float32"), np.zeros(10, "float32")
model = keras.Sequential(
    [
        keras.Input((20,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1),
    ]
)
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(x, y, epochs=1, batch_size=2, verbose=0)
