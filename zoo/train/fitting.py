"""The Keras side of a run: seeding, input scaling inside the model, the fastest feeds,
prediction in batches sized by memory, and the optional second phase (``fine_tune``: a
builder's ``BuiltModel(model, fine_tune=FineTune(...))`` unfreezes the top of a frozen
backbone after the first fit, trained on slowly).

Everything here imports Keras, so only the runner imports this module, and only once it is
about to train. It sees data only through the data protocol (``zoo.core.parts``): parts that
hold arrays get the fast in-memory feeds, the others are fed their batches.

Seeding covers Python, NumPy and the Keras backend without importing TensorFlow needlessly:
``keras.utils.set_random_seed`` also seeds TensorFlow whenever it is installed, which imports
it: seconds of start-up under JAX or PyTorch for a run that never touches it. Under those
backends, and while nothing has imported TensorFlow, the same seeding is done here without it.

Prediction and validation batches are sized by memory, not by a fixed count of examples. A
fixed count is wrong both ways: 4,096 rows of a small MLP take a few megabytes, while 4,096
digits resized to 96x96x3 for a MobileNet backbone take gigabytes of activations. The size of
one example's activations is read off the model itself (every layer's output, nested models
included), so a batch stays within a fixed budget whatever the data set's size.
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from zoo.core.config import FitOptions
from zoo.core.dataset import steps_for
from zoo.core.errors import shown
from zoo.core.parts import TEST, TRAIN, VALIDATION, DataParts, Scaling
from zoo.core.spec import CompileSettings, FineTune
from zoo.train import distribute
from zoo.train import fitting as training

if TYPE_CHECKING:
    from zoo.core.spec import CompileSettings

MAX_STEPS_PER_EXECUTION = 256
FAST_VALIDATION_MAX_VALUES = 50_000_000


def input_preparation(scaling: Scaling) -> keras.layers.Layer:
    """The layer that prepares raw inputs, fitted on the training part (``scaling``).

    Images are scaled to [0, 1]; tabular columns are imputed, standardized and one-hot
    encoded (``zoo.core.layers.TabularPreparation``). The statistics live in the saved
    model, so it takes raw inputs.
    """
    if scaling.peak is not None:
        return keras.layers.Rescaling(1.0 / scaling.peak, name="scale_to_unit")
    from zoo.core.layers import TabularPreparation
    from zoo.core.schema import CATEGORICAL, NUMERIC, constant_columns

    assert scaling.mean is not None and scaling.variance is not None  # tabular statistics
    kinds = scaling.kinds or (NUMERIC,) * len(scaling.mean)
    constant = constant_columns(scaling.mean, scaling.variance)
    missing = scaling.missing if scaling.missing is not None else constant & False
    fill = scaling.fill if scaling.fill is not None else scaling.mean
    return TabularPreparation(
        numeric=[j for j, kind in enumerate(kinds) if kind == NUMERIC],
        mean=[float(v) for v in scaling.mean],
        variance=[1.0 if c else float(v) for v, c in zip(scaling.variance, constant, strict=True)],
        fill=[float(v) for v in fill],
        keep=[0.0 if c else 1.0 for c in constant],
        indicate=[int(i) for i in np.flatnonzero(missing)],
        categorical=[j for j, kind in enumerate(kinds) if kind == CATEGORICAL],
        vocabularies=[list(v) for v in scaling.vocabularies],
        name="prepare",
    )


def prepared_shape(
    preparation: keras.layers.Layer, input_shape: tuple[int, ...]
) -> tuple[int, ...]:
    """The shape of one example after ``preparation``: what the plugin's model takes."""
    return tuple(preparation.compute_output_shape((None, *input_shape))[1:])


def with_preparation(
    body: keras.Model,
    input_shape: tuple[int, ...],
    preparation: keras.layers.Layer,
    scaling: Scaling,
    name: str,
    target_transform: str = "none",
) -> keras.Model:
    """``body`` between the input preparation and, for regression, the target's scale (and
    the inverse of ``target_transform``)."""
    from zoo.core.layers import TargetScale

    inputs = keras.Input(input_shape, name="features")
    outputs = body(preparation(inputs))
    if scaling.target_mean is not None and scaling.target_std is not None:
        scale = TargetScale(
            scaling.target_mean, scaling.target_std, target_transform, name="target_scale"
        )
        outputs = scale(outputs)
    return keras.Model(inputs, outputs, name=name)


def fit(
    model: keras.Model,
    settings: CompileSettings,
    parts: DataParts,
    options: FitOptions,
    callbacks: list[Any],
) -> dict[str, list[float]]:
    """Compile with the preset's settings and train; returns this call's per-epoch history.

    ``options.class_weight`` (class index -> weight) weighs the training rows' losses, never
    the validation part's, on every feed.
    """
    steps = steps_for(parts.rows(TRAIN), options.batch_size)
    compile_args = settings.resolve()
    initial_epoch, class_weight = options.initial_epoch, options.class_weight
    if initial_epoch and getattr(model, "optimizer", None) is not None:
        # Resuming: keep the optimizer the saved model came with, and its state.
        compile_args["optimizer"] = model.optimizer
    elif not initial_epoch:
        fit_embeddings(model, parts)
    if _epoch_loop_fits(model, parts) and not distribute.active():  # one device only
        from zoo.train.epoch_loop import fit_arrays

        model.compile(**compile_args)
        train = parts.arrays(TRAIN)
        assert train is not None  # _epoch_loop_fits checked it
        validation = parts.arrays(VALIDATION) if parts.rows(VALIDATION) else None
        return fit_arrays(model, train, validation, options, callbacks)
    # One compiled call per epoch (capped, so that a stop request is seen often enough):
    # the per-step Python overhead is the main cost on small data.
    # Under tf.distribute, Keras 3 fails to feed a multi-step call (a placeholder without a
    # value): one step per call there.
    per_call = 1 if distribute.active() else min(steps, MAX_STEPS_PER_EXECUTION)
    model.compile(**compile_args, steps_per_execution=per_call)
    history = model.fit(
        **_train_feed(parts, options, steps),
        **_validation_feed(parts, options, callbacks, predict_batch(model)),
        epochs=options.epochs,
        initial_epoch=initial_epoch,
        class_weight=class_weight,
        verbose=0,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


EMBEDDING_ROWS = 100_000  # bin edges are quantiles: a sample this large pins them down


def fit_embeddings(model: keras.Model, parts: DataParts) -> None:
    """Fit the piecewise embeddings' bin edges (``zoo.core.layers.NumericEmbedding``) on the
    training rows, prepared as the plugin's model receives them; before training, once."""
    from zoo.core.layers import piecewise_embeddings

    embeddings = piecewise_embeddings(model)
    if not embeddings:
        return
    try:
        preparation = model.get_layer("prepare")
    except ValueError:  # not a tabular model: nothing prepared to fit on
        return
    arrays = parts.arrays(TRAIN)
    if arrays is not None:
        x = arrays[0]
        if len(x) > EMBEDDING_ROWS:
            x = x[np.random.default_rng(0).choice(len(x), EMBEDDING_ROWS, replace=False)]
    else:  # a streamed part: its first rows, in file order
        taken, rows = [], 0
        for batch, _ in parts.batches(TRAIN, 4096).as_numpy_iterator():
            taken.append(batch)
            rows += len(batch)
            if rows >= EMBEDDING_ROWS:
                break
        x = np.concatenate(taken)
    prepared = [
        keras.ops.convert_to_numpy(preparation(x[i : i + 8192])) for i in range(0, len(x), 8192)
    ]
    for layer in embeddings:
        layer.fit_edges(np.concatenate(prepared))


def _epoch_loop_fits(model: keras.Model, parts: DataParts) -> bool:
    """Whether the compiled epoch loop (``zoo.train.epoch_loop``) can train on these parts:
    held in memory, with a validation part small enough to score in one call."""
    from zoo.train.epoch_loop import supported

    if parts.arrays(TRAIN) is None:
        return False
    rows = parts.rows(VALIDATION)
    validation = parts.arrays(VALIDATION) if rows else None
    if rows and (validation is None or rows > predict_batch(model)):
        return False
    return supported(validation)


def _train_feed(parts: DataParts, options: FitOptions, steps: int) -> dict[str, Any]:
    arrays = parts.arrays(TRAIN)
    if arrays is not None and keras.backend.backend() != "tensorflow":
        # JAX and PyTorch iterate NumPy arrays directly, faster than through tf.data.
        x, y = distribute.even_rows(arrays)
        batch = distribute.local_batch(options.batch_size)  # this process's share (JAX)
        return {"x": x, "y": y, "batch_size": batch, "shuffle": True}
    train = distribute.shard(parts.batches(TRAIN, options.batch_size, seed=options.seed))
    return {"x": train, "steps_per_epoch": steps, "shuffle": False}


def _validation_feed(
    parts: DataParts, options: FitOptions, callbacks: list[Any], batch: int
) -> dict[str, Any]:
    """How Keras gets the validation part: in one call when it fits ``batch`` (sized by the
    model's memory), else in batches of that size, so memory does not grow with the part."""
    rows = parts.rows(VALIDATION)
    if not rows:
        return {"callbacks": callbacks}
    arrays = parts.arrays(VALIDATION)
    tensorflow = keras.backend.backend() == "tensorflow"
    if arrays is not None and not tensorflow:
        return {"validation_data": distribute.even_rows(arrays), "callbacks": callbacks}
    fast = arrays is not None and not distribute.active()  # its direct call is one device's
    if fast and rows <= batch and arrays[0].size <= FAST_VALIDATION_MAX_VALUES:
        return {"callbacks": [OneCallValidation(*arrays), *callbacks]}
    batch = distribute.even_batch(max(options.batch_size, min(rows, batch)))
    # Declaring the batch count lets Keras end each evaluation cleanly.
    return {
        "validation_data": parts.batches(VALIDATION, batch),
        "validation_steps": steps_for(rows, batch),
        "callbacks": callbacks,
    }


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Model outputs for ``x``; one direct call when it fits in a single batch.

    ``model.predict`` builds a prediction function and an iterator first, which costs more
    than the prediction itself on a small test part. Batches are sized by the model's memory.
    """
    batch = predict_batch(model)
    if len(x) <= batch:
        return keras.ops.convert_to_numpy(model(x, training=False))
    return np.asarray(model.predict(x, batch_size=batch, verbose=0))


def part_outputs(model: keras.Model, parts: DataParts, part: str = TEST) -> tuple[Any, Any]:
    """The targets of ``part`` and the model's outputs for them."""
    arrays = parts.arrays(part)
    if arrays is not None:
        return arrays[1], predict(model, arrays[0])
    # Filled in place: the part's row count is known, and lists of batches joined at the end
    # would hold every value twice at the peak.
    rows, done = parts.rows(part), 0
    targets: np.ndarray | None = None
    outputs: np.ndarray | None = None
    for x, y in parts.batches(part, predict_batch(model)).as_numpy_iterator():
        out = np.asarray(model.predict_on_batch(x))
        if targets is None or outputs is None:
            targets = np.empty((rows, *y.shape[1:]), y.dtype)
            outputs = np.empty((rows, *out.shape[1:]), out.dtype)
        targets[done : done + len(y)], outputs[done : done + len(y)] = y, out
        done += len(y)
    if targets is None or outputs is None or done != rows:
        raise ValueError(f"the {part} part gave {done} rows, not the {rows} it counted")
    return targets, outputs


class OneCallValidation(keras.callbacks.Callback):
    """Validation loss and metrics after each epoch, in one compiled call.

    Keras's own per-epoch ``evaluate()`` sets up callbacks and iterators every epoch, which on
    small data costs as much as the training epoch. This runs the model's own ``test_step`` on
    the whole validation part at once, so the numbers are the ones ``evaluate()`` reports. It
    must come first among the callbacks, so that early stopping and the history see them.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        self.x, self.y = x, y
        self._step: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        import tensorflow as tf

        self.x, self.y = tf.constant(self.x), tf.constant(self.y)
        self._step = tf.function(lambda x, y: self.model.test_step((x, y)))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # The training metrics are already in ``logs``; fit resets them before the next epoch.
        self.model.reset_metrics()
        results = self._step(self.x, self.y)
        if logs is not None:
            logs.update({f"val_{k}": float(v) for k, v in results.items()})


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic kernels."""
    backend = keras.backend.backend()
    if backend == "tensorflow" or "tensorflow" in sys.modules or not _seed_keras_only(seed):
        # TensorFlow already runs (a streamed file's tf.data pipeline): seed it too.
        keras.utils.set_random_seed(seed)
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _seed_keras_only(seed: int) -> bool:
    """What ``set_random_seed`` does, minus TensorFlow; False if Keras's internals moved.

    Keras keeps the seed in its global state, where initializers and ``keras.random`` find
    it, and drops its global seed generator so that the next one starts from this seed.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # a Keras without these internals: take the public way
        return False
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)
    return True


MAX_BATCH = 4096  # beyond this, a bigger batch saves no measurable time on a small model
BUDGET_BYTES = 256 * 2**20  # activations of one prediction batch, summed over all layers
BYTES_PER_VALUE = 4  # float32


def predict_batch(model: Any, budget_bytes: int = BUDGET_BYTES) -> int:
    """The largest batch (at most ``MAX_BATCH``) whose activations fit ``budget_bytes``.

    The sum over all layers over-counts what a compiled graph keeps alive at once, so the
    real peak is well under the budget; a model whose layers cannot be read gets a batch
    sized by its inputs alone.
    """
    per_example = activation_values(model) * BYTES_PER_VALUE
    return max(1, min(MAX_BATCH, budget_bytes // max(per_example, 1)))


def activation_values(model: Any) -> int:
    """Values one example produces across every layer of ``model`` (nested models too)."""
    total = 0
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            total += activation_values(layer)
            continue
        total += sum(_values(tensor) for tensor in _outputs(layer))
    return total or sum(_values(t) for t in getattr(model, "inputs", None) or [])


def _outputs(layer: Any) -> list[Any]:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer called more than once, or never built
        return []
    return list(output) if isinstance(output, (list, tuple)) else [output]


def _values(tensor: Any) -> int:
    dims = tuple(getattr(tensor, "shape", ()))[1:]
    return math.prod(int(d) for d in dims if d is not None)


def fine_tune(
    model: keras.Model,
    plan: FineTune,
    settings: CompileSettings,
    parts: DataParts,
    options: FitOptions,
    callbacks: list[Any],
) -> dict[str, list[float]]:
    """Unfreeze the backbone's top layers and train ``plan.epochs`` more at the lower rate.

    Args:
        model: the trained model (input scaling in front of the builder's model).
        plan: what the builder asked for.
        settings: the run's compile settings; only the learning rate changes.
        parts: the data split.
        options: the first phase's options; only the epochs change.
        callbacks: the run's callbacks for this phase (stops, progress).

    Returns:
        The history of this phase.
    """
    unfreeze_top(find_layer(model, plan.backbone), plan.layers)
    slower = replace(settings, optimizer=optimizer_at(settings.optimizer, plan.learning_rate))
    # Recompiling (inside training.fit) is what makes the new trainable flags take effect.
    return training.fit(model, slower, parts, replace(options, epochs=plan.epochs), callbacks)


def find_layer(model: keras.Model, name: str) -> keras.Layer:
    """The layer called ``name`` in ``model`` or in any model nested in it."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_layer(layer, name)
            except KeyError:
                continue
    raise KeyError(f"No layer named {shown(name)} in model {shown(model.name)}.")


def unfreeze_top(backbone: keras.Layer, count: int) -> None:
    """Make the top ``count`` layers of ``backbone`` trainable, batch normalization excepted.

    Batch normalization stays frozen: updating its statistics on a small new data set would
    undo what the backbone learned.
    """
    backbone.trainable = True
    layers = list(getattr(backbone, "layers", [backbone]))
    top = set(map(id, layers[-count:])) if count > 0 else set()
    for layer in layers:
        layer.trainable = id(layer) in top
    for layer in _all_layers(backbone):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def _all_layers(layer: keras.Layer) -> list[keras.Layer]:
    nested = getattr(layer, "layers", [])
    return [layer, *(inner for child in nested for inner in _all_layers(child))]


def optimizer_at(identifier: Any, learning_rate: float) -> keras.optimizers.Optimizer:
    """A fresh optimizer like ``identifier``, with a constant ``learning_rate``.

    A learning-rate schedule is replaced too: the second phase trains at the given rate.
    """
    template = keras.optimizers.get(identifier)
    config = template.get_config()
    config["learning_rate"] = learning_rate
    return type(template).from_config(config)
