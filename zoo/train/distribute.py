"""One run on many devices: data-parallel training through the backend's own distribution.

``RunConfig.distribute`` picks it:

- ``mirrored``: every device of this machine holds a replica (``tf.distribute.MirroredStrategy``
  under TensorFlow, ``keras.distribution.DataParallel`` under JAX);
- ``multi-worker``: several machines (or processes), described by the standard ``TF_CONFIG``
  (``tf.distribute.MultiWorkerMirroredStrategy``); only the chief writes the run folder.

The batch size of the run is the global one: each step splits it across the replicas. On a
machine without accelerators ``ZOO_CPU_DEVICES=N`` splits the CPU into N logical devices, so
that ``mirrored`` has replicas to mirror (what the tests use); it must be set before the
backend starts its devices, which :func:`prepare_devices` does at the start of a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.core.config import DISTRIBUTE_CHOICES
from zoo.core.errors import IncompatibleError, InvalidParameterError, shown
from zoo.train.sharding import defer_build as defer_build  # re-exported for the runner
from zoo.train.sharding import even_batch as even_batch  # and fitting
from zoo.train.sharding import fix_scalar_log_reduction
from zoo.train.sharding import shard as shard  # and fitting

if TYPE_CHECKING:
    from zoo.plan.planning import Plan

MIRRORED, MULTI_WORKER = DISTRIBUTE_CHOICES
CPU_DEVICES_ENV = "ZOO_CPU_DEVICES"
JAX_DEVICE_FLAG = "--xla_force_host_platform_device_count"


@dataclass
class Distribution:
    """A started distribution: how many replicas, on which devices, and who writes.

    Args:
        kind: ``mirrored`` or ``multi-worker``.
        backend: the Keras backend it runs under.
        devices: the devices of this process that hold replicas.
        replicas: replicas in sync across every worker.
        workers: processes taking part (1 for ``mirrored``).
        task: this process's ``TF_CONFIG`` task (``{"type": "worker", "index": 0}``), if any.
        chief: whether this process writes the run folder.
        strategy: the ``tf.distribute`` strategy (None under JAX).
    """

    kind: str
    backend: str
    devices: list[str]
    replicas: int
    workers: int = 1
    task: dict[str, Any] = field(default_factory=dict)
    chief: bool = True
    strategy: Any = None

    def record(self, batch_size: int) -> dict[str, Any]:
        """What environment.json keeps of it; ``batch_size`` is the run's global batch."""
        return {
            "kind": self.kind,
            "backend": self.backend,
            "api": _api_name(self),
            "replicas": self.replicas,
            "workers": self.workers,
            "devices": self.devices,
            "task": self.task or None,
            "global_batch_size": batch_size,
            "per_replica_batch_size": max(1, batch_size // max(1, self.replicas)),
        }


def prepare_devices(kind: str | None) -> None:
    """Before the backend is imported: ask JAX for ``ZOO_CPU_DEVICES`` host devices.

    JAX reads its flags once, when it starts its CPU backend; TensorFlow is split later, in
    :func:`start`, since its logical devices are configured through its API.
    """
    count = _cpu_devices()
    if kind is None or count < 2:
        return  # (JAX may be imported already: it reads the flag when it starts its backend)
    flags = os.environ.get("XLA_FLAGS", "")
    if JAX_DEVICE_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {JAX_DEVICE_FLAG}={count}".strip()


def start(kind: str | None) -> Distribution | None:
    """Start the distribution ``kind`` names (None: one device, nothing to start).

    Raises:
        IncompatibleError: multi-worker under a backend other than TensorFlow, or a
            ``TF_CONFIG`` that is missing or malformed.
    """
    if kind is None:
        return None
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        return _start_jax(kind)
    if backend != "tensorflow":
        raise IncompatibleError(
            f"--distribute needs the TensorFlow or JAX backend; KERAS_BACKEND is {shown(backend)}. "
            "Set KERAS_BACKEND=tensorflow (or jax), or train without --distribute."
        )
    if kind == MULTI_WORKER:
        return _start_multi_worker()
    return _start_mirrored()


@contextlib.contextmanager
def scope(distribution: Distribution | None) -> Iterator[None]:
    """Where the model must be built and compiled: the strategy's scope (TensorFlow) or the
    Keras distribution (JAX); nothing when not distributing."""
    if distribution is None:
        yield
        return
    if distribution.strategy is not None:
        with distribution.strategy.scope():
            yield
        return
    from zoo.train.sharding import data_parallel

    with data_parallel(distribution.devices).scope():
        yield


def active() -> bool:
    """Whether training runs under a distribution right now (inside :func:`scope`)."""
    keras = sys.modules.get("keras")
    if keras is not None and keras.distribution.distribution() is not None:
        return True
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.distribute.has_strategy()


def even_rows(arrays: tuple[Any, Any]) -> tuple[Any, Any]:
    """This process's share of an in-memory part, evenly divisible (JAX; see
    :func:`zoo.train.sharding.even_rows`); unchanged otherwise."""
    if "jax" not in sys.modules:
        return arrays
    from zoo.train.sharding import even_rows as share

    return share(arrays)


def local_batch(batch_size: int) -> int:
    """What this process feeds of each global batch (JAX, several processes: its share)."""
    if "jax" not in sys.modules:
        return batch_size
    from zoo.train.sharding import local_batch as share

    return share(batch_size)


def check_batch(distribution: Distribution | None, batch_size: int) -> None:
    """The global batch must split evenly between the replicas.

    Raises:
        InvalidParameterError: it does not.
    """
    if distribution is None or batch_size % distribution.replicas == 0:
        return
    replicas = distribution.replicas
    raise InvalidParameterError(
        f"batch_size={batch_size} does not split evenly over {replicas} replicas; the batch "
        f"size is the global one, so give a multiple of {replicas} (such as "
        f"--batch-size {max(replicas, batch_size - batch_size % replicas)})."
    )


@contextlib.contextmanager
def scratch_runs_dir(checked: Plan) -> Iterator[Plan]:
    """``checked`` with its run folder going to a temporary folder, deleted afterwards.

    A worker that is not the chief saves its copy there: saving reads (and may create)
    mirrored variables, collective operations that every worker must take part in.
    """
    with tempfile.TemporaryDirectory(prefix="zoo-worker-") as scratch:
        yield replace(checked, config=replace(checked.config, runs_dir=scratch))


def record_in(folder: Path, distribution: Distribution, batch_size: int) -> None:
    """Add the distribution to the run folder's environment.json."""
    from zoo.runs.folder import read_json, write_json

    path = folder / "environment.json"
    values = read_json(path)
    values["distribution"] = distribution.record(batch_size)
    write_json(path, values)


# -- TensorFlow ----------------------------------------------------------------------------


def _start_mirrored() -> Distribution:
    import tensorflow as tf

    _split_cpu(tf)
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = gpus or [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    return Distribution(
        MIRRORED, "tensorflow", devices, strategy.num_replicas_in_sync, 1, {}, True, strategy
    )


def _start_multi_worker() -> Distribution:
    import tensorflow as tf

    cluster, task = read_tf_config()
    _split_cpu(tf)
    fix_scalar_log_reduction()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    workers = sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))
    devices = [str(d) for d in strategy.extended.worker_devices]
    return Distribution(
        MULTI_WORKER,
        "tensorflow",
        devices,
        strategy.num_replicas_in_sync,
        workers,
        task,
        is_chief(cluster, task),
        strategy,
    )


TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)


def read_tf_config() -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The cluster and this process's task from ``TF_CONFIG``, checked: TensorFlow and JAX
    would fail on a malformed one with a traceback (or an index error) far from the cause.

    Raises:
        IncompatibleError: it is missing, not a JSON object, or its cluster or task is not
            what they must be (lists of addresses; a type the cluster lists and an index
            within its list).
    """
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        raise _bad_tf_config(
            "is not set; --distribute multi-worker needs it to describe the cluster and this "
            "process's task"
        )
    try:
        values = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _bad_tf_config(f"is not valid JSON ({str(exc)[:200]})") from None
    problem = _tf_config_problem(values)
    if problem:
        raise _bad_tf_config(problem)
    task = values["task"]
    return values["cluster"], {"type": task["type"], "index": int(task.get("index", 0))}


def _tf_config_problem(values: Any) -> str | None:
    """What is wrong with a parsed ``TF_CONFIG``, or None."""
    if not isinstance(values, dict):
        return f"is JSON {type(values).__name__}, not an object with 'cluster' and 'task'"
    cluster, task = values.get("cluster"), values.get("task")
    if not isinstance(cluster, dict) or not cluster:
        return f"has no 'cluster' object naming its workers (received {shown(cluster)})"
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            return f"lists the {shown(kind)} tasks as {shown(addresses)}, not a list of addresses"
    if not isinstance(task, dict) or "type" not in task:
        return f"has no 'task' object with a 'type' and an 'index' (received {shown(task)})"
    kind, index = task["type"], task.get("index", 0)
    if isinstance(index, str) and index.isdigit():
        index = int(index)  # TensorFlow's own reader takes "1" too
    if kind not in cluster:
        return f"gives the task type {shown(kind)}, which its cluster does not list"
    if isinstance(index, bool) or not isinstance(index, int):
        return f"gives the task index {shown(index)}, not a whole number"
    count = len(cluster[kind])
    if not count:
        return f"lists no {shown(kind)} task, though this process is one"
    if not 0 <= index < count:
        return (
            f"gives the task index {index}, but its cluster lists {count} {shown(kind)} "
            f"task(s): the index must be 0 to {count - 1}"
        )
    return None


def _bad_tf_config(problem: str) -> IncompatibleError:
    return IncompatibleError(
        f"TF_CONFIG {problem}. Set it on every worker like {TF_CONFIG_EXAMPLE}, each with its "
        "own task index."
    )


def is_chief(cluster: dict[str, Any], task: dict[str, Any]) -> bool:
    """The chief writes: the ``chief`` task, or worker 0 when the cluster names no chief."""
    if task["type"] == "chief":
        return True
    return "chief" not in cluster and task["type"] == "worker" and task["index"] == 0


def _split_cpu(tf: Any) -> None:
    """Split the CPU into ``ZOO_CPU_DEVICES`` logical devices on a machine without GPUs."""
    count = _cpu_devices()
    if count < 2 or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    # RuntimeError: devices already started (an earlier run in this process); keep them.
    with contextlib.suppress(RuntimeError):
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )


def _cpu_devices() -> int:
    text = os.environ.get(CPU_DEVICES_ENV, "")
    if not text:
        return 0
    if not text.isdigit() or int(text) < 1:
        raise InvalidParameterError(
            f"{CPU_DEVICES_ENV} must be a whole number of CPU devices (such as 2); received "
            f"{shown(text)}. Unset it or give a number."
        )
    return int(text)


# -- JAX -----------------------------------------------------------------------------------


def _start_jax(kind: str) -> Distribution:
    from zoo.train import sharding

    if kind == MULTI_WORKER:
        cluster, task = read_tf_config()
        _, processes = sharding.join_processes(cluster, task)
        found = sharding.devices()
        return Distribution(
            kind, "jax", found, len(found), processes, task, is_chief(cluster, task)
        )
    found = sharding.devices()
    return Distribution(MIRRORED, "jax", found, len(found))


def _api_name(distribution: Distribution) -> str:
    if distribution.strategy is not None:
        return f"tf.distribute.{type(distribution.strategy).__name__}"
    return "keras.distribution.DataParallel"
