"""The classic Keras tutorial recipe for the housing data, as a plain script: the baseline to beat.

An MLP 13 -> 32 -> 16 -> 1 (ReLU), Adam(learning_rate=1e-3), mean squared error, 100 epochs,
batch 32, validation on the test split each epoch, unscaled inputs; split test_size=0.2,
random_state=42. Only what no longer runs on current libraries was changed: scikit-learn has no
load_boston() any more (the CSV is read directly), Adam takes learning_rate (not lr), and
evaluate() returns a single number when no metric is compiled.

    python seed_baseline.py [CSV] [--seed N]

Prints one line: test MSE, fit seconds, and seconds to import and build.

Kept unchanged as the reference the benchmarks compare keras-zoo against; the benchmark passes
the bundled housing CSV explicitly.
"""
import argparse
import pathlib
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402
from keras.layers import Dense, Input  # noqa: E402
from keras.models import Sequential  # noqa: E402
from keras.optimizers import Adam  # noqa: E402
from keras.utils import set_random_seed  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("csv", nargs="?", default=str(pathlib.Path(__file__).parent.parent / "data" / "boston_house_prices.csv"))
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
set_random_seed(args.seed)

table = np.loadtxt(args.csv, delimiter=",", skiprows=2)
X, y = table[:, :13], table[:, 13]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = Sequential([Input((13,)), Dense(32, activation="relu"), Dense(16, activation="relu"), Dense(1)])
model.compile(optimizer=Adam(learning_rate=0.001), loss="mean_squared_error")
t1 = time.perf_counter()
model.fit(X_train, y_train, validation_data=(X_test, y_test), epochs=100, batch_size=32, verbose=0)
t2 = time.perf_counter()
loss = model.evaluate(X_test, y_test, verbose=0)
print(f"test_mse={loss:.4f} fit_s={t2 - t1:.2f} setup_s={t1 - t0:.2f}")
