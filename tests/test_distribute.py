"""One run on many devices (``--distribute``): the option's checks, then real data-parallel
runs in fresh processes: mirrored over two logical CPU devices (TensorFlow and JAX), and a
two-worker job on loopback addresses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.core.config import RunConfig
from zoo.core.errors import IncompatibleError, InvalidParameterError
from zoo.train import distribute

ONE_WORKER = '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}'
RUN = [sys.executable, "-m", "zoo", "run", "-m", "mlp", "-d", "housing", "--epochs", "2", "-q"]


def test_the_value_is_checked_with_a_suggestion():
    with pytest.raises(InvalidParameterError, match="Did you mean: mirrored") as caught:
        RunConfig(model="mlp", data="housing", distribute="mirored")
    assert "\n" not in str(caught.value)
    assert RunConfig(model="mlp", data="housing", distribute="multi-worker").distribute


def test_the_command_refuses_an_unknown_strategy(zoo_cli):
    code, _, err = zoo_cli("run", "-m", "mlp", "-d", "housing", "--distribute", "tpu")
    assert code == 2 and "'mirrored'" in err and "'multi-worker'" in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "TF_CONFIG is not set"),
        ("{not json", "not valid JSON"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "no 'task' object"),
        ('["a:1"]', "JSON list, not an object"),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker"}}', "not a list of addresses"),
        (ONE_WORKER.replace('"index": 0', '"index": 1'), "the index must be 0 to 0"),
        (ONE_WORKER.replace('"index": 0', '"index": -1'), "the index must be 0 to 0"),
        (ONE_WORKER.replace('"index": 0', '"index": "x"'), "not a whole number"),
        (ONE_WORKER.replace('"type": "worker"', '"type": "chief"'), "does not list"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_multi_worker_needs_a_readable_tf_config(monkeypatch, text, words):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(IncompatibleError, match=words) as caught:
        distribute.read_tf_config()
    assert "\n" not in str(caught.value) and "TF_CONFIG='" in str(caught.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


CLUSTERS = JSON | st.dictionaries(
    st.sampled_from(["worker", "chief"]), st.lists(st.text(max_size=4), max_size=3)
)
TASKS = JSON | st.fixed_dictionaries(
    {"type": st.sampled_from(["worker", "chief", "ps"]), "index": st.integers(-2, 4)}
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cluster=CLUSTERS, task=TASKS)
def test_any_tf_config_is_read_or_refused_in_one_line(monkeypatch, cluster, task):
    text = json.dumps({"cluster": cluster, "task": task})
    with monkeypatch.context() as patch:
        patch.setenv("TF_CONFIG", text)
        try:
            found, mine = distribute.read_tf_config()
        except IncompatibleError as refused:
            assert str(refused).startswith("TF_CONFIG ") and "\n" not in str(refused)
            return
    assert 0 <= mine["index"] < len(found[mine["type"]])


def test_the_chief_is_the_chief_task_or_else_worker_zero():
    workers = {"worker": ["a:1", "b:1"]}
    assert distribute.is_chief(workers, {"type": "worker", "index": 0})
    assert not distribute.is_chief(workers, {"type": "worker", "index": 1})
    with_chief = {"chief": ["c:1"], **workers}
    assert distribute.is_chief(with_chief, {"type": "chief", "index": 0})
    assert not distribute.is_chief(with_chief, {"type": "worker", "index": 0})


def test_the_global_batch_must_split_evenly_and_cpu_devices_must_be_a_count(monkeypatch):
    two = distribute.Distribution("mirrored", "tensorflow", ["a", "b"], 2)
    distribute.check_batch(two, 32)
    with pytest.raises(InvalidParameterError, match="--batch-size 32"):
        distribute.check_batch(two, 33)
    assert two.record(32)["per_replica_batch_size"] == 16
    monkeypatch.setenv(distribute.CPU_DEVICES_ENV, "two")
    with pytest.raises(InvalidParameterError, match="ZOO_CPU_DEVICES"):
        distribute.prepare_devices("mirrored")


def _run(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen, timeout: int = 240) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def _one_folder(runs: Path) -> Path:
    (folder,) = runs.iterdir()
    assert json.loads((folder / "status.json").read_text())["status"] == "complete"
    assert (folder / "model.keras").is_file()
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_mirrored_over_two_cpu_devices_trains_and_records_it(tmp_path, backend):
    pytest.importorskip(backend)
    env = {distribute.CPU_DEVICES_ENV: "2", "KERAS_BACKEND": backend}
    args = [*RUN, "--distribute", "mirrored", "--runs-dir", str(tmp_path), "--json"]
    code, out, err = _finish(_run(args, env))
    assert code == 0, err[-2000:]
    folder = _one_folder(tmp_path)
    environment = json.loads((folder / "environment.json").read_text())
    record = environment["distribution"]
    assert record["kind"] == "mirrored" and record["backend"] == backend
    assert record["replicas"] == 2 and len(record["devices"]) == 2
    assert record["global_batch_size"] == 32 and record["per_replica_batch_size"] == 16
    assert json.loads((folder / "config.json").read_text())["distribute"] == "mirrored"
    assert json.loads(out)["metrics"]["mse"] > 0


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for item in sockets:
        item.bind(("127.0.0.1", 0))
    ports = [item.getsockname()[1] for item in sockets]
    for item in sockets:
        item.close()
    return ports


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_workers_on_loopback_both_finish_and_only_the_chief_writes(tmp_path, backend):
    pytest.importorskip(backend)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        args = [*RUN, "--distribute", "multi-worker", "--runs-dir", str(tmp_path / f"w{index}")]
        env = {"TF_CONFIG": json.dumps(config), "KERAS_BACKEND": backend}
        processes.append(_run([*args, "--json"], env))
    results = [_finish(process) for process in processes]
    for code, _, err in results:
        assert code == 0, err[-2000:]
    folder = _one_folder(tmp_path / "w0")
    assert not (tmp_path / "w1").exists() or not any((tmp_path / "w1").iterdir())
    record = json.loads((folder / "environment.json").read_text())["distribution"]
    assert record["workers"] == 2 and record["replicas"] == 2
    assert record["task"] == {"type": "worker", "index": 0} and record["backend"] == backend
    chief, other = (json.loads(out)["metrics"] for _, out, _ in results)
    assert chief == pytest.approx(other)  # the same weights on both: training was in sync
