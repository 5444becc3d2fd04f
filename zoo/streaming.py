"""Training on a CSV file larger than memory: tf.data reads it from disk every epoch.

The runner sends a streamed data set here at one point (:func:`run_streamed`); the steps
are the in-memory run's, fed differently. A NumPy pass (:func:`zoo.csvstream.scan`) first
checks every row and fits the scaling on the training rows; then tf.data reads the file in
blocks of lines, parses them with ``tf.io.decode_csv`` in parallel, keeps the rows of the
wanted part (the same per-row hash as the scan) and shuffles within a window of blocks.
Memory stays flat whatever the file size; only the test part's targets and predictions are
kept, to score them.

Importing this module imports TensorFlow and Keras: only the runner does, to train.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from zoo.csvstream import GOLDEN, MIX1, MIX2, TEST, TRAIN, VALIDATION, RowSplit, StreamSplit, scan
from zoo.metrics import score
from zoo.models import ModelSpec

if TYPE_CHECKING:
    from zoo.data import Dataset
    from zoo.registry import Registry
    from zoo.runner import Plan, RunResult

BLOCK_LINES = 4096  # lines parsed per tf.data step
SHUFFLE_BLOCKS = 32  # rows are shuffled within a window of this many blocks...
MIX_BLOCKS = 8  # ...by merging this many shuffled blocks and permuting their rows
EVAL_BATCH = 4096


def run_streamed(
    checked: Plan,
    registry: Registry,
    data: Dataset,
    *,
    progress: Any = None,
    save: bool = True,
    resume: str | Path | None = None,
) -> RunResult:
    """The runner's steps for a streamed file: scan, build, fit, score, save."""
    from zoo import training
    from zoo.runfolder import RunFolder
    from zoo.runner import RunResult
    from zoo.session import Job

    config, started = checked.config, time.perf_counter()
    split = RowSplit(config.test_size, config.validation_size, config.split_seed)
    parts = scan(data.stream, split)  # every row checked before anything is written
    data = parts.dataset
    job = Job(checked, data, parts, RunFolder(Path(resume)) if resume else None)
    training.seed_everything(config.seed + job.initial_epoch)
    model = job.previous_model() if resume else build_model(checked, registry, data, parts)
    settings = registry.create("presets", checked.preset.qualified_name, **config.preset_params)
    settings = settings.for_task(data.task, checked.data.name)
    if save and job.folder is None:
        job.open_folder(registry)
    fit_started = time.perf_counter()
    history = job.fit(model, settings, progress)  # training.fit hands streams to fit_streamed
    timings = {"fit_s": _since(fit_started)}
    metrics = score(data.task, *test_outputs(model, parts))
    timings["total_s"] = _since(started)
    result = RunResult(config, data.task, metrics, history, model, job.folder_path, timings)
    if job.folder:
        job.folder.complete(result)
    return result


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def build_model(
    checked: Plan, registry: Registry, data: Dataset, parts: StreamSplit
) -> keras.Model:
    """The plugin's model behind a standardization layer fitted by the scan."""
    spec = ModelSpec.for_dataset(data)
    body = registry.create(
        "models", checked.model.qualified_name, spec, **checked.config.model_params
    )
    inputs = keras.Input(spec.input_shape, name="features")
    scale = keras.layers.Normalization(mean=parts.mean, variance=parts.variance, name="standardize")
    name = f"{checked.model.name}_{checked.data.name}".replace("-", "_")
    return keras.Model(inputs, body(scale(inputs)), name=name)


def fit_streamed(
    model: keras.Model,
    settings: Any,
    parts: StreamSplit,
    config: Any,
    callbacks: list[Any],
    initial_epoch: int = 0,
) -> dict[str, list[float]]:
    """``zoo.training.fit`` for a streamed file: compile, then fit from tf.data."""
    from zoo.training import MAX_STEPS_PER_EXECUTION

    steps = max(1, math.ceil(len(parts.x_train) / config.batch_size))
    compile_args = settings.resolve()
    if initial_epoch and getattr(model, "optimizer", None) is not None:
        compile_args["optimizer"] = model.optimizer  # resuming keeps the optimizer's state
    model.compile(**compile_args, steps_per_execution=min(steps, MAX_STEPS_PER_EXECUTION))
    validation = None
    if len(parts.x_val):
        # Declaring the batch count (known from the scan) lets Keras end each evaluation
        # cleanly instead of running the file out.
        batches = math.ceil(len(parts.x_val) / EVAL_BATCH)
        validation = part_pipeline(parts, VALIDATION).rebatch(EVAL_BATCH)
        validation = validation.apply(tf.data.experimental.assert_cardinality(batches))
    history = model.fit(
        training_stream(parts, config.batch_size, config.seed),
        epochs=config.epochs,
        steps_per_epoch=steps,
        validation_data=validation,
        callbacks=callbacks,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def test_outputs(model: keras.Model, parts: StreamSplit) -> tuple[np.ndarray, np.ndarray]:
    """The test part's targets and the model's outputs for them."""
    targets, outputs = [], []
    for x, y in part_pipeline(parts, TEST).rebatch(EVAL_BATCH).as_numpy_iterator():
        targets.append(y)
        outputs.append(np.asarray(model.predict_on_batch(x)))
    return np.concatenate(targets), np.concatenate(outputs)


# -- tf.data ------------------------------------------------------------------------------


def training_stream(parts: StreamSplit, batch_size: int, seed: int) -> tf.data.Dataset:
    """Endless, shuffled batches of the training rows, epoch after epoch."""
    blocks = part_pipeline(parts, TRAIN).repeat().shuffle(SHUFFLE_BLOCKS, seed=seed)
    mixed = blocks.ragged_batch(MIX_BLOCKS).map(_merged).enumerate()
    shuffled = mixed.map(lambda i, xy: _permuted(xy, seed, i), num_parallel_calls=tf.data.AUTOTUNE)
    return shuffled.rebatch(batch_size).prefetch(tf.data.AUTOTUNE)


def _merged(x: tf.RaggedTensor, y: tf.RaggedTensor) -> tuple[tf.Tensor, tf.Tensor]:
    return x.merge_dims(0, 1), y.merge_dims(0, 1)


def _permuted(xy: tuple[tf.Tensor, tf.Tensor], seed: int, index: tf.Tensor) -> Any:
    x, y = xy
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(x)[0]), seed=key)
    return tf.gather(x, order), tf.gather(y, order)


def part_pipeline(parts: StreamSplit, part: int) -> tf.data.Dataset:
    """Blocks of (inputs, targets) for the rows of one part, in file order."""
    layout = parts.stream.layout
    decode = _decoder(parts.schema, layout)
    keep_part = _part_test(parts.split, part)

    def block(index: tf.Tensor, lines: tf.Tensor) -> Any:
        # Line numbers as the scan counts them: the header is line 1.
        numbers = tf.range(tf.size(lines, out_type=tf.int64), dtype=tf.int64)
        numbers += index * BLOCK_LINES + 2
        keep = (tf.strings.length(tf.strings.strip(lines)) > 0) & keep_part(numbers)
        return decode(tf.boolean_mask(lines, keep))

    lines = tf.data.TextLineDataset(layout.path, buffer_size=1 << 20).skip(1)
    return lines.batch(BLOCK_LINES).enumerate().map(block, num_parallel_calls=tf.data.AUTOTUNE)


def _part_test(split: RowSplit, part: int) -> Any:
    """A graph function: whether each line number belongs to ``part`` (as part_of_lines)."""
    low, high = split.bounds
    seed = tf.constant(split.seed & 0xFFFFFFFF, tf.uint32)

    def belongs(numbers: tf.Tensor) -> tf.Tensor:
        h = tf.cast(numbers % (1 << 32), tf.uint32) * tf.constant(GOLDEN, tf.uint32)
        h = tf.bitwise.bitwise_xor(h, seed)
        h = _xor_shift(h, 16) * tf.constant(MIX1, tf.uint32)
        h = _xor_shift(h, 13) * tf.constant(MIX2, tf.uint32)
        u = tf.cast(_xor_shift(h, 16), tf.float64) / 2.0**32
        if part == TEST:
            return u < low
        if part == VALIDATION:
            return (u >= low) & (u < high)
        return u >= high

    return belongs


def _xor_shift(h: tf.Tensor, bits: int) -> tf.Tensor:
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(bits, tf.uint32)))


def _decoder(schema: dict[str, Any], layout: Any) -> Any:
    """A graph function from CSV lines to (float32 inputs, targets) by the schema."""
    target = layout.target
    numeric_target = layout.kinds[target] == "number"
    defaults: list[Any] = [[0.0] if kind == "number" else [""] for kind in layout.kinds]
    if numeric_target and schema["task"] != "regression":
        defaults[target] = [tf.constant(0.0, tf.float64)]  # exact class values
    index = {name: i for i, name in enumerate(layout.columns)}
    encoders = [_feature_encoder(feature, index[feature["name"]]) for feature in schema["features"]]
    to_target = _target_encoder(schema, numeric_target)

    def decode(lines: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        fields = tf.io.decode_csv(lines, record_defaults=defaults, field_delim=layout.delimiter)
        x = tf.concat([encode(fields) for encode in encoders], axis=1)
        return x, to_target(fields[target])

    return decode


def _feature_encoder(feature: dict[str, Any], column: int) -> Any:
    if feature["kind"] == "numeric":
        return lambda fields: tf.reshape(fields[column], (-1, 1))
    table = _lookup(feature["categories"])
    depth = len(feature["categories"])
    return lambda fields: tf.one_hot(table.lookup(tf.strings.strip(fields[column])), depth)


def _target_encoder(schema: dict[str, Any], numeric: bool) -> Any:
    if schema["task"] == "regression":
        return lambda values: values
    if numeric:
        labels = tf.constant([float(c) for c in schema["classes"]], tf.float64)
        return lambda values: tf.searchsorted(labels, values, out_type=tf.int64)
    table = _lookup([str(c) for c in schema["classes"]])
    return lambda values: table.lookup(tf.strings.strip(values))


def _lookup(keys: list[str]) -> tf.lookup.StaticHashTable:
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.range(len(keys), dtype=tf.int64)
    )
    return tf.lookup.StaticHashTable(initializer, default_value=-1)
