"""``--distribute`` under the JAX backend: ``keras.distribution.DataParallel`` over this
machine's devices, or over every process of a multi-worker job (``jax.distributed``, joined
through ``keras.distribution.initialize`` from the same ``TF_CONFIG`` TensorFlow reads).

Keras places each batch evenly over the devices, so the parts are cut to a multiple of the
device count; across processes each one feeds its own share of every batch.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from zoo.core.errors import IncompatibleError

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
            f"TF_CONFIG's task type {task['type']!r} has no part in a JAX job; give each "
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
