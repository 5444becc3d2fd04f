"""Plain Keras end to end on a CSV: read it whole with NumPy, then fit one epoch.

    python plain_keras_csv.py FILE.csv BATCH_SIZE

The same network keras-zoo's ``mlp`` builds (32-16 ReLU, Adam 1e-3, MSE); the last column is
the target. Prints the rows read and the seconds spent reading and fitting.
"""

import sys
import time

t0 = time.perf_counter()
import keras  # noqa: E402
import numpy as np  # noqa: E402

path, batch_size = sys.argv[1], int(sys.argv[2])
table = np.loadtxt(path, delimiter=",", skiprows=1, dtype="float32")
x, y = table[:, :-1], table[:, -1]
t1 = time.perf_counter()
model = keras.Sequential(
    [
        keras.Input((x.shape[1],)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mean_squared_error")
model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
t2 = time.perf_counter()
print(f"rows={len(x)} read_s={t1 - t0:.2f} fit_s={t2 - t1:.2f}")
