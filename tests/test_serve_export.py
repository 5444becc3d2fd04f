"""zoo export and zoo serve, on one tiny classifier run (a numeric and a categorical column)
shared by every test here: the export checked against the Keras model, refusals written
nowhere, the server called over HTTP on a free port."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from helpers import heavy_imports

from zoo.cli.main import main

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve_export")]

ROWS = [
    {"a": 0.5, "color": "red"},
    {"a": None, "color": "purple"},  # a missing number and an unseen category: as predict
    {"a": -1.25, "color": None},
]


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory) -> Path:
    """A saved linear classifier (1 epoch) on 60 rows: ``a`` numeric, ``color`` categorical,
    ``y`` yes / no."""
    home = tmp_path_factory.mktemp("classifier")
    rng = np.random.default_rng(0)
    lines = ["a,color,y"]
    for _ in range(60):
        a, color = rng.normal(), rng.choice(["red", "green", "blue"])
        lines.append(f"{a:.4f},{color},{'yes' if a + (color == 'red') > 0.5 else 'no'}")
    (home / "cls.csv").write_text("\n".join(lines) + "\n")
    args = ["run", "-m", "linear", "-d", str(home / "cls.csv"), "-t", "y", "--epochs", "1"]
    try:
        main([*args, "-q", "--runs-dir", str(home / "runs")])
    except SystemExit as done:
        assert not done.code, f"the classifier run failed with exit code {done.code}"
    (folder,) = (home / "runs").iterdir()
    return folder


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name]


# -- export -------------------------------------------------------------------------------


def test_each_format_is_checked_against_the_keras_model(classifier_run, zoo_cli, tmp_path):
    import onnxruntime

    from zoo.app.saved import load_run

    for fmt, artifact in (("savedmodel", "saved_model"), ("tflite", "model.tflite")):
        code, out, err = zoo_cli(
            "export", str(classifier_run), "-f", fmt, "-o", str(tmp_path / fmt)
        )
        assert code == 0, err
        assert "max absolute difference" in out and (tmp_path / fmt / artifact).exists()
    code, out, err = zoo_cli("export", str(classifier_run), "--format", "onnx", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["check"]["rows"] == 12  # the run's test part: 20% of 60
    assert record["check"]["max_abs_difference"] <= record["check"]["tolerance"] < 1e-3
    assert [c["name"] for c in record["inputs"]] == ["a", "color"]
    exported = classifier_run / "export" / "onnx"
    assert record["folder"] == str(exported) and (exported / "export.json").exists()
    # The artifact takes raw rows, preparation included: a missing value, an unknown code.
    x = np.array([[0.5, 2.0], [np.nan, -1.0], [-1.25, 0.0]], dtype="float32")
    session = onnxruntime.InferenceSession(str(exported / "model.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, load_run(classifier_run).predict(x), atol=1e-5)


def test_an_existing_export_is_replaced_only_with_force(classifier_run, zoo_cli, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    code, _, err = zoo_cli("export", str(classifier_run), "-f", "tflite", "-o", str(target))
    assert code == 1 and "already exists; pass --force" in err and len(err.splitlines()) == 1
    assert (target / "keep.txt").read_text() == "mine"
    code, _, err = zoo_cli(
        "export", str(classifier_run), "-f", "tflite", "-o", str(target), "--force"
    )
    assert code == 0, err
    assert sorted(p.name for p in target.iterdir()) == ["export.json", "model.tflite"]
    assert _partials(tmp_path) == []


def test_a_format_without_its_converter_is_refused_before_loading(
    classifier_run, zoo_cli, monkeypatch
):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a)
    )
    code, _, err = zoo_cli("export", str(classifier_run), "-f", "onnx", "-o", "unused")
    assert code == 1
    assert "needs tf2onnx, which is not installed" in err and "keras-zoo[export]" in err
    assert not Path("unused").exists()


def test_a_failing_converter_or_a_disagreeing_artifact_writes_nothing(
    classifier_run, zoo_cli, tmp_path, monkeypatch
):
    from zoo.app import export

    def unsupported(model, artifact):
        raise RuntimeError("op 'FancyOp' is neither a custom op nor a flex op\nmore detail")

    monkeypatch.setitem(export.EXPORTERS, "tflite", unsupported)
    code, _, err = zoo_cli("export", str(classifier_run), "-f", "tflite", "-o", str(tmp_path / "t"))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "cannot be exported as tflite" in err and "FancyOp" in err
    real = export.RUNNERS["savedmodel"]
    monkeypatch.setitem(export.RUNNERS, "savedmodel", lambda path, x: real(path, x) + 0.5)
    code, _, err = zoo_cli(
        "export", str(classifier_run), "-f", "savedmodel", "-o", str(tmp_path / "s")
    )
    assert code == 1 and "disagrees with the Keras model" in err and "0.5" in err
    assert list(tmp_path.iterdir()) == []  # neither the export nor its partial folder


# -- serve --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(classifier_run):
    """``zoo serve``'s server on a free port, in a thread, with a 10 KB body limit and a
    50 ms batching window."""
    from zoo.app.saved import load_run
    from zoo.app.serve import ServeOptions, open_server
    from zoo.catalog.registry import Registry

    options = ServeOptions(port=0, max_body_mb=0.01, batch_wait_ms=50)
    app_server, sock = open_server(load_run(classifier_run), Registry.discover(warn=False), options)
    thread = threading.Thread(target=app_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):
        if app_server.started:
            break
        thread.join(0.05)
    assert app_server.started, "the server did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    app_server.should_exit = True
    thread.join(10)


def _call(url: str, body: bytes | None = None, content_type: str = "application/json"):
    """(status, JSON answer) of a GET, or of a POST of ``body``."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_serve_answers_as_zoo_predict_does(server, classifier_run, zoo_cli, tmp_path):
    status, answer = _call(f"{server}/predict", json.dumps(ROWS).encode())
    assert status == 200, answer
    csv_text = "a,color\n0.5,red\n,purple\n-1.25,\n"
    status, from_csv = _call(f"{server}/predict", csv_text.encode(), "text/csv")
    assert status == 200 and from_csv == answer
    (tmp_path / "rows.csv").write_text(csv_text)
    code, out, err = zoo_cli("predict", str(classifier_run), "-i", str(tmp_path / "rows.csv"))
    assert code == 0, err
    expected = [line.split(",") for line in out.strip().splitlines()[1:]]  # prediction,p_no,p_yes
    assert answer["predictions"] == [row[0] for row in expected]
    for probabilities, row in zip(answer["probabilities"], expected, strict=True):
        assert list(probabilities) == ["no", "yes"]
        assert [probabilities["no"], probabilities["yes"]] == pytest.approx(
            [float(v) for v in row[1:]], abs=1e-5
        )


def test_health_and_schema(server):
    status, health = _call(f"{server}/health")
    assert status == 200 and health["status"] == "ok" and health["task"] == "binary"
    status, schema = _call(f"{server}/schema")
    assert status == 200 and schema["target"] == "y" and schema["classes"] == ["no", "yes"]
    assert schema["columns"] == [
        {"name": "a", "kind": "numeric"},
        {"name": "color", "kind": "categorical", "categories": ["blue", "green", "red"]},
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b"", "application/json", 400, "body is empty"),
        (b"[{", "application/json", 400, "Malformed JSON (line 1, column 3)"),
        (b"[]", "application/json", 400, "non-empty JSON list"),
        (b"[1]", "application/json", 422, "Record 1 is a JSON int"),
        (b'[{"a": 1}]', "application/json", 422, "lacks the column 'color'"),
        (b'[{"a": 1, "color": "red", "z": 2}]', "application/json", 422, "unknown column 'z'"),
        (b'[{"a": "high", "color": "red"}]', "application/json", 422, "'a' takes a number"),
        (b'[{"a": true, "color": "red"}]', "application/json", 422, "'a' takes a number"),
        (b'[{"a": 1, "color": ["red"]}]', "application/json", 422, "'color' takes text"),
        (b"a,color\n1\n", "text/csv", 400, "line 2 has 1 fields, the header 2"),
        (b"a,color\nhigh,red\n", "text/csv", 422, "'a' takes a number"),
        (b"a,colour\n1,red\n", "text/csv", 422, "unknown column 'colour'"),
        (b"<rows/>", "application/xml", 415, "Unsupported Content-Type 'application/xml'"),
        (
            b"[" + b'{"a": 1, "color": "red"},' * 600 + b"{}]",
            "application/json",
            413,
            "limit of 10,485 bytes",
        ),
    ],
)
def test_bad_requests_get_one_clear_detail(server, body, content_type, status, detail):
    got, answer = _call(f"{server}/predict", body, content_type)
    assert (got, list(answer)) == (status, ["detail"])
    assert detail in answer["detail"]


def test_concurrent_requests_share_model_calls_and_get_their_own_rows(server):
    rows = [{"a": float(a), "color": "red"} for a in np.linspace(-2, 2, 8)]
    status, alone = _call(f"{server}/predict", json.dumps(rows).encode())
    assert status == 200
    _, before = _call(f"{server}/health")
    with ThreadPoolExecutor(len(rows)) as pool:
        answers = list(
            pool.map(lambda r: _call(f"{server}/predict", json.dumps([r]).encode()), rows)
        )
    _, after = _call(f"{server}/health")
    assert [a["probabilities"][0]["yes"] for _, a in answers] == pytest.approx(
        [p["yes"] for p in alone["probabilities"]], abs=1e-6
    )
    assert after["rows"] - before["rows"] == len(rows)
    assert after["model_calls"] - before["model_calls"] < len(rows)  # some shared a call


def test_the_batcher_splits_outputs_and_isolates_a_failing_request():
    from zoo.app.serve import MicroBatcher

    calls = []

    def predict(rows):
        calls.append(len(rows))
        if ["bad"] in rows:
            raise ValueError("cannot encode")
        return np.array([[float(row[0])] for row in rows])

    async def scenario():
        batcher = MicroBatcher(predict, wait_s=0.05, max_rows=100)
        worker = asyncio.create_task(batcher.run())
        requests = [[["1"], ["2"]], [["3"]], [["bad"]], [["4"], ["5"], ["6"]]]
        answers = await asyncio.gather(
            *(batcher.outputs(r) for r in requests), return_exceptions=True
        )
        worker.cancel()
        batcher.worker.shutdown()
        return answers

    answers = asyncio.run(scenario())
    assert calls == [7, 2, 1, 1, 3]  # one call, then each request alone
    assert [a.ravel().tolist() for a in answers if not isinstance(a, Exception)] == [
        [1, 2],
        [3],
        [4, 5, 6],
    ]
    assert isinstance(answers[2], ValueError)


def test_serve_refuses_a_port_in_use_in_one_line(classifier_run, zoo_cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = zoo_cli("serve", str(classifier_run), "--port", port)
    assert code == 1 and f"Cannot listen on 127.0.0.1:{port}" in err
    assert len(err.strip().splitlines()) == 1


def test_serve_and_export_help_stay_light():
    heavy = ("tensorflow", "keras", "fastapi", "uvicorn", "onnx", "tf2onnx")
    assert heavy_imports(["serve", "--help"], heavy) == []
