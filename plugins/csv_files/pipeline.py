"""Training on a CSV file larger than memory: tf.data reads it from disk every epoch.

A streamed file's parts (``scan.StreamSplit``) hand these pipelines to training through the
data protocol's ``batches``. A NumPy pass (:func:`zoo.plugins.csv_files.scan.scan`) first
checks every row and fits the scaling on the training rows; then tf.data reads the file in
blocks of lines, parses them with ``tf.io.decode_csv`` in parallel, keeps the rows of the
wanted part (the same per-row hash as the scan) and shuffles within a window of blocks.
Memory stays flat whatever the file size; only the test part's targets and predictions are
kept, to score them.

Importing this module imports TensorFlow: only a streamed file's parts do, to feed training.
"""

from __future__ import annotations

from dataclasses import astuple
from typing import Any, Protocol

import numpy as np
import tensorflow as tf
from zoo.plugins.csv_files.layout import CsvLayout
from zoo.plugins.csv_files.parse import MISSING_NUMBER_WORDS, Block, read_block
from zoo.plugins.csv_files.rows import TRAIN, RowSplit, part_of_lines

from zoo.plugin import REGRESSION

SHUFFLE_BLOCKS = 32  # rows are shuffled within a window of this many blocks (32 MiB)...
MIX_BLOCKS = 8  # ...by merging this many shuffled blocks and permuting their rows


class _File(Protocol):
    @property
    def layout(self) -> CsvLayout: ...


class ScannedParts(Protocol):
    """What the pipelines read of a scanned file (``scan.StreamSplit``, which calls them)."""

    @property
    def stream(self) -> _File: ...

    @property
    def split(self) -> RowSplit: ...

    @property
    def schema(self) -> dict[str, Any]: ...

    @property
    def blocks(self) -> list[Block]: ...

    @property
    def spelled_missing(self) -> frozenset[str]: ...


# -- tf.data ------------------------------------------------------------------------------


def _plain(function: Any) -> Any:
    """``function`` traced as written: it has no Python control flow for autograph to turn
    into graph ops, and converting it costs more start-up time than reading 100,000 rows."""
    return tf.autograph.experimental.do_not_convert(function)


def training_stream(parts: ScannedParts, batch_size: int, seed: int) -> tf.data.Dataset:
    """Endless, shuffled batches of the training rows, epoch after epoch."""
    blocks = part_pipeline(parts, TRAIN).repeat().shuffle(SHUFFLE_BLOCKS, seed=seed)
    mixed = blocks.ragged_batch(MIX_BLOCKS).map(_plain(_merged)).enumerate()
    permute = _plain(lambda i, xy: _permuted(xy, seed, i))
    shuffled = mixed.map(permute, num_parallel_calls=tf.data.AUTOTUNE)
    return shuffled.rebatch(batch_size).prefetch(tf.data.AUTOTUNE)


def _merged(x: tf.RaggedTensor, y: tf.RaggedTensor) -> tuple[tf.Tensor, tf.Tensor]:
    return x.merge_dims(0, 1), y.merge_dims(0, 1)


def _permuted(xy: tuple[tf.Tensor, tf.Tensor], seed: int, index: tf.Tensor) -> Any:
    x, y = xy
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(x)[0]), seed=key)
    return tf.gather(x, order), tf.gather(y, order)


def part_pipeline(parts: ScannedParts, part: int) -> tf.data.Dataset:
    """Blocks of (inputs, targets) for the rows of one part, in file order."""
    layout = parts.stream.layout
    decode = _decoder(parts.schema, layout, parts.spelled_missing)
    where = np.asarray([astuple(block) for block in parts.blocks], dtype="int64").reshape(-1, 3)

    def block(spot: tf.Tensor) -> Any:
        # Declared stateless (it is: same block, same lines), so that under op determinism
        # tf.data still runs it in parallel and prefetches.
        lines = tf.numpy_function(
            lambda s: part_lines(layout.path, Block(*s.tolist()), parts.split, part),
            [spot],
            tf.string,
            stateful=False,
        )
        return decode(tf.reshape(lines, [-1]))

    spots = tf.data.Dataset.from_tensor_slices(where)
    return spots.map(_plain(block), num_parallel_calls=tf.data.AUTOTUNE)


def part_lines(path: str, block: Block, split: RowSplit, part: int) -> np.ndarray:
    """The non-blank lines of one part in a block, as the scan numbered and assigned them."""
    lines = read_block(path, block).split(b"\n")[:-1]
    first = block.first_line
    keep = part_of_lines(np.arange(first, first + len(lines)), split) == part
    if b"" in lines or any(map(bytes.isspace, lines)):
        keep &= np.array([bool(line.strip()) for line in lines])
    return np.array([lines[i] for i in np.flatnonzero(keep)], dtype=object)


def _decoder(schema: dict[str, Any], layout: Any, spelled: frozenset[str]) -> Any:
    """A graph function from CSV lines to (float32 inputs, targets) by the schema.

    Numbers are parsed as numbers (an empty field is NaN), except in the columns where the
    scan found a missing value spelled out (``spelled``): those are read as text first,
    which costs about 2.5 times as much.
    """
    target = layout.target
    numeric_target = layout.kinds[target] == "number"
    defaults: list[Any] = [
        [NAN] if kind == "number" and name not in spelled else [""]
        for name, kind in zip(layout.columns, layout.kinds, strict=True)
    ]
    if numeric_target:
        defaults[target] = [0.0]
    if numeric_target and schema["task"] != REGRESSION:
        defaults[target] = [tf.constant(0.0, tf.float64)]  # exact class values
    index = {name: i for i, name in enumerate(layout.columns)}
    encoders = [
        _feature_encoder(feature, index[feature["name"]], feature["name"] in spelled)
        for feature in schema["features"]
    ]
    to_target = _target_encoder(schema, numeric_target)

    def decode(lines: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        fields = tf.io.decode_csv(lines, record_defaults=defaults, field_delim=layout.delimiter)
        x = tf.concat([encode(fields) for encode in encoders], axis=1)
        return x, to_target(fields[target])

    return decode


def _feature_encoder(feature: dict[str, Any], column: int, as_text: bool) -> Any:
    """Numbers with NaN where missing (infinities too), or category codes (-1 for an
    unlisted value): the in-memory reader's encoding (``encode.encode_chunk``)."""
    if feature["kind"] == "numeric":
        parse = _numbers if as_text else _finite_or_missing
        return lambda fields: tf.reshape(parse(fields[column]), (-1, 1))
    table = _lookup(feature["categories"])

    def codes(fields: Any) -> tf.Tensor:
        found = table.lookup(tf.strings.strip(fields[column]))
        return tf.reshape(tf.cast(found, tf.float32), (-1, 1))

    return codes


NAN = float("nan")
_MISSING_WORDS = tf.constant(sorted({"", *MISSING_NUMBER_WORDS}))


def _finite_or_missing(values: tf.Tensor) -> tf.Tensor:
    return tf.where(tf.math.is_inf(values), tf.constant(NAN, values.dtype), values)


def _numbers(text: tf.Tensor) -> tf.Tensor:
    """float32 of number fields; NaN for an empty field or a spelling of a missing one."""
    text = tf.strings.strip(text)
    lowered = tf.strings.lower(text)
    missing = tf.reduce_any(tf.equal(lowered[:, None], _MISSING_WORDS[None, :]), axis=1)
    numbers = _finite_or_missing(tf.strings.to_number(tf.where(missing, "0", text), tf.float32))
    return tf.where(missing, tf.constant(NAN, tf.float32), numbers)


def _target_encoder(schema: dict[str, Any], numeric: bool) -> Any:
    if schema["task"] == REGRESSION:
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
