"""The backend's side of ``--distribute``: on TensorFlow, sharding, batches that split evenly
and two workarounds for Keras 3 under a strategy; on JAX, the processes joined and each
feeding its share. Nothing here imports a backend at module level: it is used only once the
run has started one."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from zoo.core.config import DISTRIBUTE_CHOICES
from zoo.core.errors import IncompatibleError, shown

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


WORKER_TYPES = ("chief", "worker")


def join_processes(cluster: dict[str, list[str]], task: dict[str, Any]) -> tuple[int, int]:
    """Join the job's other processes; returns (process index, process count).

    The first address (the chief's, else worker 0's) coordinates, as in TF_CONFIG's order.

    Raises:
        IncompatibleError: a task type other than chief or worker.
    """
    import jax
    import keras

    if task["type"] not in WORKER_TYPES:
        raise IncompatibleError(
            f"TF_CONFIG's task type {shown(task['type'])} has no part in a JAX job; give each "
            "process the type 'chief' or 'worker'."
        )
    addresses = [address for kind in WORKER_TYPES for address in cluster.get(kind, [])]
    chiefs = len(cluster.get("chief", []))
    index = task["index"] + (chiefs if task["type"] == "worker" else 0)
    # CPU devices of different processes exchange gradients through Gloo (GPUs use NCCL).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    with _native_stdout_to_stderr():  # Gloo announces its connections on stdout: not --json's
        keras.distribution.initialize(
            job_addresses=",".join(addresses), num_processes=len(addresses), process_id=index
        )
        jax.devices()  # the backend starts (and Gloo connects) here
    return index, len(addresses)


@contextlib.contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 sent to 2 for the duration (native libraries write to it directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def devices() -> list[str]:
    """Every device of the job (of every process, once joined)."""
    import keras

    return list(keras.distribution.list_devices())


def data_parallel(device_names: list[str]) -> Any:
    """The Keras distribution; each process shards its own data (see :func:`even_rows`)."""
    import keras

    return keras.distribution.DataParallel(devices=device_names, auto_shard_dataset=False)


def even_rows(arrays: tuple[Any, Any]) -> tuple[Any, Any]:
    """This process's share of a part, cut to a multiple of the job's devices.

    Keras refuses a batch that does not divide over the devices (the last, shorter batch of
    an epoch); at most devices - 1 rows are left out. With several processes, process i
    takes rows i, i + n, ...: equal shares, each a multiple of its own devices.
    """
    current = _distribution()
    if current is None:
        return arrays
    import jax

    count = int(current.device_mesh.devices.size)
    x, y = arrays
    rows = len(x) - len(x) % count
    step, index = jax.process_count(), jax.process_index()
    return x[:rows][index::step], y[:rows][index::step]


def local_batch(batch_size: int) -> int:
    """What this process feeds of each global batch: its share when several train together."""
    if _distribution() is None:
        return batch_size
    import jax

    return max(1, batch_size // jax.process_count())


def _distribution() -> Any:
    keras = sys.modules.get("keras")
    if keras is None or keras.backend.backend() != "jax":
        return None
    return keras.distribution.distribution()
