"""Plain Keras end to end on a CSV: read it whole with pandas, then fit one epoch.

    python plain_keras_csv.py FILE.csv BATCH_SIZE

The same network keras-zoo's ``mlp`` builds (32-16 ReLU, Adam 1e-3, MSE); the last column is
the target. What a user would write: ``pandas.read_csv`` (its C parser), float32 arrays,
``model.fit``. Prints the rows read and the seconds spent reading and fitting.
"""

import sys
import time

t0 = time.perf_counter()
import keras  # noqa: E402
import pandas as pd  # noqa: E402

path, batch_size = sys.argv[1], int(sys.argv[2])
frame = pd.read_csv(path)
x = frame.iloc[:, :-1].to_numpy("float32")
y = frame.iloc[:, -1].to_numpy("float32")
del frame
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
