"""``zoo serve`` against a naive server calling ``keras.Model.predict`` per request.

Both serve the same saved run (an MLP on a synthetic CSV file: six numeric columns and one
categorical) from a process of their own, one after the other; a client in this process
sends single-row JSON requests from N threads over keep-alive connections for a fixed time
and records each request's latency. The naive server is FastAPI too, parsing the same
records into the same raw-row array (category codes by the run's schema) and calling
``model.predict(x, verbose=0)`` for each request, one at a time (Keras models are not meant
to be called from several threads at once).

    python benchmarks/serve.py                   # writes its section in RESULTS.md
    python benchmarks/serve.py --seconds 20 --concurrency 1 16

Not a test: timings do not belong in tests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from report import Section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TITLE = "`zoo serve`: single-row requests against `keras.Model.predict` per request"

NAIVE_SERVER = """
import json, sys, threading
import numpy as np
from fastapi import FastAPI, Request
import uvicorn
from zoo.app.saved import load_run

run = load_run(sys.argv[1])
model, features = run.model, run.schema["features"]
lock = threading.Lock()
app = FastAPI()

def encode(record, feature):
    value = record.get(feature["name"])
    if feature["kind"] == "categorical":
        return feature["categories"].index(value) if value in feature["categories"] else -1
    return np.nan if value is None else float(value)

@app.post("/predict")
def predict(records: list[dict]):
    x = np.array([[encode(r, f) for f in features] for r in records], dtype="float32")
    with lock:
        outputs = model.predict(x, verbose=0)
    return {"predictions": run.labels(outputs)}

@app.get("/health")
def health():
    return {"status": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def train_run(home: Path) -> Path:
    """A saved MLP run on 2,000 synthetic rows (a binary target)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6))
    colors = rng.choice(["red", "green", "blue", "grey"], size=2000)
    y = (x[:, 0] - x[:, 1] + (colors == "red") > 0).astype(int)
    lines = ["x0,x1,x2,x3,x4,x5,color,y"]
    rows = zip(x, colors, y, strict=True)
    lines += [",".join([*(f"{v:.5f}" for v in r), c, str(t)]) for r, c, t in rows]
    (home / "rows.csv").write_text("\n".join(lines) + "\n")
    args = ["run", "-m", "mlp", "-d", str(home / "rows.csv"), "-t", "y", "--epochs", "5"]
    command = [sys.executable, "-m", "zoo", *args, "-q", "--runs-dir", str(home / "runs")]
    subprocess.run(command, check=True, capture_output=True)
    (folder,) = (home / "runs").iterdir()
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], port: int) -> subprocess.Popen:
    """Start a server process and wait until GET /health answers."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server {command[:4]} did not start")


def load(port: int, concurrency: int, seconds: float) -> dict[str, float]:
    """Single-row requests from ``concurrency`` threads for ``seconds``: req/s, p50, p99."""
    rng = np.random.default_rng(1)
    bodies = [
        json.dumps(
            [{**{f"x{j}": float(v) for j, v in enumerate(rng.normal(size=6))}, "color": "red"}]
        ).encode()
        for _ in range(64)
    ]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [0] * concurrency
    stop = time.perf_counter() + seconds

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        i = slot
        while time.perf_counter() < stop:
            begin = time.perf_counter()
            connection.request("POST", "/predict", bodies[i % len(bodies)], headers)
            answer = connection.getresponse()
            answer.read()
            latencies[slot].append(time.perf_counter() - begin)
            failures[slot] += answer.status != 200
            i += concurrency

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = np.array([t for per in latencies for t in per])
    return {
        "rps": len(every) / elapsed,
        "p50": float(np.percentile(every, 50)) * 1000,
        "p99": float(np.percentile(every, 99)) * 1000,
        "failed": sum(failures),
    }


def measure_side(command: list[str], port: int, levels: list[int], seconds: float) -> dict:
    process = start(command, port)
    try:
        load(port, max(levels), 2.0)  # warm-up: every code path traced once
        return {level: load(port, level, seconds) for level in levels}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def serve_section(levels: list[int], seconds: float) -> Section:
    with tempfile.TemporaryDirectory() as home:
        run = train_run(Path(home))
        port = free_port()
        zoo = measure_side(
            [sys.executable, "-m", "zoo", "serve", str(run), "--port", str(port)],
            port,
            levels,
            seconds,
        )
        port = free_port()
        naive = measure_side(
            [sys.executable, "-c", NAIVE_SERVER, str(run), str(port)], port, levels, seconds
        )
    rows = [["clients", "zoo serve req/s", "naive req/s", "ratio", "zoo p50 / p99 (ms)",
             "naive p50 / p99 (ms)", "p50 ratio", "p99 ratio"]]  # fmt: skip
    targets = []
    for level in levels:
        z, n = zoo[level], naive[level]
        rows.append(
            [
                str(level),
                f"{z['rps']:.0f}",
                f"{n['rps']:.0f}",
                f"{z['rps'] / n['rps']:.2f}x",
                f"{z['p50']:.1f} / {z['p99']:.1f}",
                f"{n['p50']:.1f} / {n['p99']:.1f}",
                f"{z['p50'] / n['p50']:.2f}x",
                f"{z['p99'] / n['p99']:.2f}x",
            ]
        )
        failed = z["failed"] + n["failed"]
        targets.append((f"{level} client(s): no failed request", failed == 0, str(failed)))
    notes = (
        f"Each level: {seconds:g} s of single-row JSON requests over keep-alive connections, "
        "after a 2 s warm-up; client and server share the machine's cores. `zoo serve` with "
        "its defaults (`--batch-wait-ms 2 --max-batch-rows 1024`); ratios are zoo / naive "
        f"(req/s: higher is better; latency: lower is better). Machine: {os.cpu_count()} "
        f"cores, load average (1 min) at the end {os.getloadavg()[0]:.1f}: other work on the "
        "machine slows both sides alike, so compare the ratios."
    )
    return Section(TITLE, rows, targets, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    section = serve_section(args.concurrency, args.seconds)
    section.write_into(args.output)
    print(section.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
