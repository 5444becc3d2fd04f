"""Keras-on-tf.distribute details of ``--distribute``: sharding, batches that split evenly,
and two workarounds for Keras 3 under a strategy (see each function). Nothing here imports
TensorFlow: it is used only once the run has started it."""

from __future__ import annotations

import sys
from typing import Any

from zoo.core.config import DISTRIBUTE_CHOICES

MULTI_WORKER = DISTRIBUTE_CHOICES[1]


def shard(dataset: Any) -> Any:
    """A tf.data pipeline split between the workers by batch when several train together.

    Each worker then reads every N-th batch of the same (identically seeded) stream, instead
    of TensorFlow guessing from the source whether it can split files.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or not isinstance(dataset, tf.data.Dataset) or not tf.distribute.has_strategy():
        return dataset
    if tf.distribute.get_strategy().extended._in_multi_worker_mode():  # noqa: SLF001
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return dataset.with_options(options)
    return dataset


def defer_build(model: Any, distribution: Any) -> None:
    """Under a multi-worker strategy, let Keras build ``model``'s training state when it
    traces the first step.

    A model created in a strategy's scope is otherwise built eagerly from a first batch
    averaged across the replicas, which Keras 3 cannot do across workers (a PerReplica
    value it tries to turn into a tensor). Traced inside the scope, the variables are
    mirrored all the same: the strategy is the one in force during ``fit``. (With several
    replicas in one process the eager build is the one that works, on an even first batch.)
    """
    if distribution is None or distribution.kind != MULTI_WORKER:
        return
    if getattr(model, "_distribute_strategy", None) is not None:
        model._distribute_strategy = None  # noqa: SLF001 - see above


def even_batch(batch: int) -> int:
    """``batch`` rounded down to a multiple of the replicas in sync (at least one each).

    Keras under tf.distribute fails on a first batch that does not split evenly between the
    replicas (per-replica inputs of different shapes); later, shorter batches are fine.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or not tf.distribute.has_strategy():
        return batch
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return max(replicas, batch - batch % replicas)


def fix_scalar_log_reduction() -> None:
    """Work around Keras 3 averaging a multi-worker step's logs along an axis they lack.

    Keras reduces each replica's loss and metric values with ``strategy.reduce("MEAN", v,
    axis=0)`` under a multi-worker strategy, which fails for scalars ("Invalid reduction
    dimension 0"); the mean of scalars needs no axis. Only that case is changed.
    """
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "zoo_scalar_fix", False):
        return

    def reduce_per_replica(values: Any, strategy: Any, reduction: str = "auto") -> Any:
        if reduction not in ("auto", "mean") or not trainer._collective_all_reduce_multi_worker(
            strategy
        ):
            return original(values, strategy, reduction)

        def mean(value: Any) -> Any:
            if not trainer._is_per_replica_instance(value):
                return value
            scalar = value.values[0].shape.rank == 0
            return strategy.reduce("MEAN", value, axis=None if scalar else 0)

        import keras

        return keras.tree.map_structure(mean, values)

    reduce_per_replica.zoo_scalar_fix = True  # type: ignore[attr-defined]
    trainer.reduce_per_replica = reduce_per_replica
